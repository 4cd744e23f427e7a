-- One row per run (one attempt of one pipeline job): what ran, on which store and scope, how it
-- ended. A run is written when it starts (status running) and again when it ends (completed or
-- failed) with a higher version, so the final status wins; read with FINAL.
CREATE TABLE IF NOT EXISTS pipeline_runs
(
    run_id       String,
    job_name     LowCardinality(String),
    queue        LowCardinality(String),
    job_id       String,
    flow_id      String DEFAULT '',
    store_id     String DEFAULT '',
    scope        String DEFAULT '{}',                       -- JSON: {"from","to"} store-local dates, {"dates":[…]} or {"full":true}
    status       LowCardinality(String),                    -- running | completed | failed
    attempt      UInt16 DEFAULT 1,
    started_at   DateTime64(3, 'UTC'),
    finished_at  Nullable(DateTime64(3, 'UTC')),
    duration_ms  UInt64 DEFAULT 0,
    rows         UInt64 DEFAULT 0,
    error        String DEFAULT '',
    details      String DEFAULT '',                         -- JSON: e.g. the differences a reconciliation found
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY run_id;
