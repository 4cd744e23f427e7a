-- Gold outputs of the customer and product analytics: RFM segments, product affinity and the
-- session funnel. Definitions are in docs/analytics.md.
--
-- Segments and affinity are whole-store results: each computation writes all its rows under a new
-- result_id, then names that result in analytics_current_results (newest version wins), so a
-- reader sees exactly one complete result, never a mix of two runs or a half-written one. Results
-- older than the current and the previous one are deleted afterwards.

-- Which result of each whole-store output is current (output = 'segments' | 'affinity').
CREATE TABLE IF NOT EXISTS analytics_current_results
(
    store_id            LowCardinality(String),
    output              LowCardinality(String),
    window_days         UInt32 DEFAULT 0,                       -- affinity: the window; segments: 0
    result_id           String,
    run_id              String,
    previous_result_id  String DEFAULT '',
    as_of               DateTime64(3, 'UTC'),
    window_from         Date DEFAULT toDate(0),                 -- store-local first and last day read
    window_to           Date DEFAULT toDate(0),
    row_count           UInt64 DEFAULT 0,
    params              String DEFAULT '{}',
    computed_at         DateTime64(3, 'UTC'),
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (store_id, output, window_days);

-- RFM scores and segment of each customer, one row per (result, customer).
CREATE TABLE IF NOT EXISTS customer_segments
(
    store_id        LowCardinality(String),
    result_id       String,
    run_id          String,
    customer_id     String,
    as_of_date      Date,                                       -- store-local day recency is measured to
    last_order_at   DateTime64(3, 'UTC'),
    recency_days    UInt32,
    frequency       UInt32,
    monetary        Decimal(18, 4),
    r_score         UInt8,
    f_score         UInt8,
    m_score         UInt8,
    fm_score        UInt8,                                      -- ceil((f_score + m_score) / 2)
    segment         LowCardinality(String),
    computed_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (store_id, result_id, customer_id);

-- Frequently bought together: one row per ordered pair (product, other product) of a result.
CREATE TABLE IF NOT EXISTS product_affinity
(
    store_id          LowCardinality(String),
    result_id         String,
    run_id            String,
    window_days       UInt32,
    window_from       Date,
    window_to         Date,
    product_id        String,
    other_product_id  String,
    pair_orders       UInt64,                                   -- orders with both products
    product_orders    UInt64,                                   -- orders with product_id
    other_orders      UInt64,                                   -- orders with other_product_id
    window_orders     UInt64,                                   -- orders in the window
    -- support = pair_orders / window_orders, confidence = pair_orders / product_orders,
    -- lift = confidence / (other_orders / window_orders): derived when read, only counts are stored.
    computed_at       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (store_id, result_id, product_id, other_product_id);

-- Sessions reaching each funnel step, per store-local day (of the session's first event) and
-- channel. A recomputation of a day range replaces its rows (newer version) and tombstones the
-- (day, channel) rows that no longer have sessions; read with FINAL.
CREATE TABLE IF NOT EXISTS funnel_daily
(
    store_id       LowCardinality(String),
    date           Date,
    channel        LowCardinality(String),
    sessions       UInt64,
    product_views  UInt64,
    add_to_carts   UInt64,
    checkouts      UInt64,
    purchases      UInt64,
    run_id         String DEFAULT '',
    computed_at    DateTime64(3, 'UTC'),
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(date)
ORDER BY (store_id, date, channel);
