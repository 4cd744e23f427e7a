-- Outputs of the analytics checks: anomaly detections and data-quality results, stored per run.
-- A run may be retried with the same run_id; each attempt writes under its own `attempt` id and
-- the analytics_runs row (newest version wins) names the attempt that completed, so readers see
-- exactly one attempt's rows and a retry never doubles or mixes results.

-- One row per completed run of an analytics check (kind = 'anomalies' | 'quality').
CREATE TABLE IF NOT EXISTS analytics_runs
(
    store_id     LowCardinality(String),
    kind         LowCardinality(String),
    run_id       String,
    attempt      String,
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    series       UInt32 DEFAULT 0,                           -- anomalies: series scored
    points       UInt64 DEFAULT 0,                           -- anomalies: points scored; quality: checks run
    rows_written UInt64 DEFAULT 0,
    params       String DEFAULT '{}',                        -- model parameters / thresholds as JSON
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (store_id, kind, run_id);

-- Daily anomalies found by a run: one row per (date, metric, dimension, value) flagged.
CREATE TABLE IF NOT EXISTS anomaly_detections
(
    store_id         LowCardinality(String),
    run_id           String,
    attempt          String,
    date             Date,                                   -- store-local day
    metric           LowCardinality(String),                 -- net_revenue | orders | average_order_value | conversion_rate | return_rate
    dimension        LowCardinality(String),                 -- STORE | COUNTRY | CATEGORY
    dimension_value  String,
    actual           Decimal(38, 8),
    expected         Decimal(38, 8),
    lower            Decimal(38, 8),
    upper            Decimal(38, 8),
    mad              Decimal(38, 8),                         -- raw median absolute deviation of the history
    scale            Decimal(38, 8),                         -- the robust σ used: max(1.4826·MAD, floors)
    history_points   UInt8,
    score            Decimal(18, 6),                         -- robust z-score (actual − expected) / scale
    direction        LowCardinality(String),                 -- UP | DOWN
    severity         LowCardinality(String),                 -- LOW | MEDIUM | HIGH | CRITICAL
    params           String DEFAULT '{}',                    -- model parameters of the run, as JSON
    created_at       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (store_id, run_id, attempt, date, metric, dimension, dimension_value)
TTL toDateTime(created_at) + toIntervalDay(180);

-- Data-quality check results: one row per (table, check) of a run.
CREATE TABLE IF NOT EXISTS data_quality_results
(
    store_id        LowCardinality(String),
    run_id          String,
    attempt         String,
    table_name      LowCardinality(String),
    check_name      String,
    dimension       LowCardinality(String),                  -- COMPLETENESS | UNIQUENESS | VALIDITY | CONSISTENCY | FRESHNESS
    value           Decimal(38, 12),                         -- the measured badness: a share of rows, or hours for freshness
    warn_threshold  Decimal(38, 12),
    threshold       Decimal(38, 12),                         -- FAIL above this
    status          LowCardinality(String),                  -- PASS | WARN | FAIL
    offending       UInt64 DEFAULT 0,
    checked         UInt64 DEFAULT 0,
    sample_ids      Array(String),
    message         String,
    checked_at      DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(checked_at)
ORDER BY (store_id, run_id, attempt, table_name, check_name)
TTL toDateTime(checked_at) + toIntervalDay(180);
