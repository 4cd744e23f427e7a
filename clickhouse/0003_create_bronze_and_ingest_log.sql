-- Bronze: every received record exactly as received, kept for each row's retention_days
-- (RAW_RETENTION_DAYS at ingest time), then dropped by the TTL.

CREATE TABLE IF NOT EXISTS raw_orders
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_order_items
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_customers
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_products
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_payments
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_inventory
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

CREATE TABLE IF NOT EXISTS raw_events
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    row_number      UInt64,
    payload         String,
    received_at     DateTime64(3, 'UTC'),
    retention_days  UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (store_id, batch_id, row_number)
TTL toDateTime(received_at) + toIntervalDay(retention_days);

-- Every rejected input record, with the reason and the raw record, so nothing is lost.
CREATE TABLE IF NOT EXISTS rejected_records
(
    store_id     LowCardinality(String),
    batch_id     String,
    source       String,
    entity       LowCardinality(String),
    row_number   UInt64,
    field        String,
    reason_code  LowCardinality(String),
    message      String,
    raw_payload  String,
    rejected_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (store_id, batch_id, row_number);

-- One row per import or event batch; read = inserted + unchanged + rejected.
CREATE TABLE IF NOT EXISTS ingest_batches
(
    store_id        LowCardinality(String),
    batch_id        String,
    source          String,
    entity          LowCardinality(String),
    format          LowCardinality(String),
    content_hash    String,
    status          LowCardinality(String),                 -- queued | running | completed | failed
    rows_read       UInt64 DEFAULT 0,
    rows_inserted   UInt64 DEFAULT 0,
    rows_unchanged  UInt64 DEFAULT 0,
    rows_rejected   UInt64 DEFAULT 0,
    started_at      DateTime64(3, 'UTC'),
    finished_at     Nullable(DateTime64(3, 'UTC')),
    error           String DEFAULT '',
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (store_id, batch_id);
