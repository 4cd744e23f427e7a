-- Silver facts. Every row can be re-sent or corrected, so each fact table is a
-- ReplacingMergeTree(version, is_deleted): the newest version of a key wins, and a tombstone
-- (is_deleted = 1) removes a key whose sort key changed. Partitioned by month of the business
-- timestamp; ORDER BY starts with the tenant and the day, the shape of every analytics query.

CREATE TABLE IF NOT EXISTS fact_orders
(
    store_id       LowCardinality(String),
    order_id       String,
    order_kind     LowCardinality(String) DEFAULT 'sale',   -- sale | refund (e.g. a cancellation invoice)
    customer_id    String DEFAULT '',                       -- '' = guest order
    status         LowCardinality(String),
    created_at     DateTime64(3, 'UTC'),
    shipped_at     Nullable(DateTime64(3, 'UTC')),
    delivered_at   Nullable(DateTime64(3, 'UTC')),
    returned_at    Nullable(DateTime64(3, 'UTC')),
    channel        LowCardinality(String) DEFAULT '',
    country        LowCardinality(String) DEFAULT '',
    currency       LowCardinality(String) DEFAULT '',
    gross          Decimal(18, 4),
    discount       Decimal(18, 4) DEFAULT 0,
    shipping       Decimal(18, 4) DEFAULT 0,
    tax            Decimal(18, 4) DEFAULT 0,
    net            Decimal(18, 4),
    refunded       Decimal(18, 4) DEFAULT 0,
    updated_at     DateTime64(3, 'UTC'),
    batch_id       String DEFAULT '',
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (store_id, toDate(created_at), order_id);

CREATE TABLE IF NOT EXISTS fact_order_items
(
    store_id       LowCardinality(String),
    order_id       String,
    line_number    UInt32,
    product_id     String,
    created_at     DateTime64(3, 'UTC'),                    -- the order's time, for partitioning
    quantity       Int32,
    unit_price     Decimal(18, 4),
    discount       Decimal(18, 4) DEFAULT 0,
    line_amount    Decimal(18, 4),
    updated_at     DateTime64(3, 'UTC'),
    batch_id       String DEFAULT '',
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (store_id, toDate(created_at), order_id, line_number);

CREATE TABLE IF NOT EXISTS fact_payments
(
    store_id       LowCardinality(String),
    payment_id     String,
    order_id       String,
    method         LowCardinality(String),
    amount         Decimal(18, 4),
    currency       LowCardinality(String) DEFAULT '',
    status         LowCardinality(String),
    installments   UInt8 DEFAULT 1,
    paid_at        DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC'),
    batch_id       String DEFAULT '',
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(paid_at)
ORDER BY (store_id, toDate(paid_at), payment_id);

CREATE TABLE IF NOT EXISTS fact_inventory_snapshots
(
    store_id       LowCardinality(String),
    snapshot_date  Date,
    product_id     String,
    warehouse_id   LowCardinality(String),
    on_hand        Int64,
    reserved       Int64 DEFAULT 0,
    unit_cost      Decimal(18, 4) DEFAULT 0,
    updated_at     DateTime64(3, 'UTC'),
    batch_id       String DEFAULT '',
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(snapshot_date)
ORDER BY (store_id, snapshot_date, warehouse_id, product_id);

CREATE TABLE IF NOT EXISTS fact_events
(
    store_id       LowCardinality(String),
    event_id       String,
    event_time     DateTime64(3, 'UTC'),
    session_id     String DEFAULT '',
    customer_id    String DEFAULT '',
    anonymous_id   String DEFAULT '',
    event_type     LowCardinality(String),                  -- page_view | product_view | add_to_cart | checkout | purchase | ...
    product_id     String DEFAULT '',
    channel        LowCardinality(String) DEFAULT '',
    properties     String DEFAULT '{}',                     -- JSON object as received
    received_at    DateTime64(3, 'UTC'),
    batch_id       String DEFAULT '',
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_time)
ORDER BY (store_id, toDate(event_time), event_type, event_id);
