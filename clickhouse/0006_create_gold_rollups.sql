-- Gold layer: exact daily rollups and retention cohorts, rebuilt from the deduplicated facts by
-- src/analytics/rollups.ts and src/analytics/cohorts.ts (definitions in docs/metrics.md).
-- A rebuild writes the new rows of the days it covers with a newer version and a tombstone
-- (is_deleted = 1) for every group of those days that no longer exists, so each table is a
-- ReplacingMergeTree(version, is_deleted) read with FINAL. Dates are store-local dates.
-- Distinct counts (orders, customers) are kept exact over any range as uniqExact states, read
-- with uniqExactMerge.

-- First purchase (store-local date of the first non-cancelled sale) of every known customer:
-- decides "new" vs "returning" and the retention cohort. Guests ('' customer_id) are not in it.
CREATE TABLE IF NOT EXISTS gold_customer_first_purchase
(
    store_id       LowCardinality(String),
    customer_id    String,
    first_date     Date,
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (store_id, customer_id);

-- Daily sales per store x local date, at three grains written by one pass (rebuildRollups inserts
-- every grain into gold_sales_staging; the materialized views below route each grain to its table).
-- Nothing reads the staging table: its rows expire by TTL (a MergeTree rather than a Null table so
-- that it is replicated like every other table on a cluster). Order-level amounts are allocated to the order's lines (docs/metrics.md), so all
-- grains add up exactly to the same totals.
CREATE TABLE IF NOT EXISTS gold_sales_staging
(
    store_id                LowCardinality(String),
    grain                   LowCardinality(String),                 -- order | category | product
    date                    Date,
    country                 LowCardinality(String),
    channel                 LowCardinality(String),
    payment_method          LowCardinality(String),
    category                LowCardinality(String),
    product_id              String,
    gross_revenue           Decimal(18, 4),
    refunds                 Decimal(18, 4),
    net_revenue             Decimal(18, 4),
    discounts               Decimal(18, 4),
    orders                  UInt64,
    items                   UInt64,
    units                   Int64,
    cancelled_orders        UInt64,
    cancelled_value         Decimal(18, 4),
    returned_orders         UInt64,
    returned_value          Decimal(18, 4),
    orders_state            AggregateFunction(uniqExact, String),
    cancelled_orders_state  AggregateFunction(uniqExact, String),
    returned_orders_state   AggregateFunction(uniqExact, String),
    customers_state         AggregateFunction(uniqExact, String),
    new_customers_state     AggregateFunction(uniqExact, String),
    version                 UInt64,
    is_deleted              UInt8 DEFAULT 0
)
ENGINE = MergeTree
ORDER BY (store_id, grain, date)
TTL date + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1, merge_with_ttl_timeout = 3600;

-- Order grain: country x channel x payment method. Each order is in exactly one row, so orders
-- and money add up across rows; customers are exact uniqExact states.
CREATE TABLE IF NOT EXISTS gold_sales_daily
(
    store_id             LowCardinality(String),
    date                 Date,
    country              LowCardinality(String),
    channel              LowCardinality(String),
    payment_method       LowCardinality(String),
    gross_revenue           Decimal(18, 4),
    refunds                 Decimal(18, 4),
    net_revenue             Decimal(18, 4),
    discounts               Decimal(18, 4),
    orders               UInt64,
    items                UInt64,
    units                Int64,
    cancelled_orders     UInt64,
    cancelled_value      Decimal(18, 4),
    returned_orders      UInt64,
    returned_value       Decimal(18, 4),
    customers_state      AggregateFunction(uniqExact, String),
    new_customers_state  AggregateFunction(uniqExact, String),
    version              UInt64,
    is_deleted           UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(date)
ORDER BY (store_id, date, country, channel, payment_method);

-- Category grain: country x channel x category. An order spans categories, so its counts are
-- uniqExact states of order ids. Orders without lines have category ''.
CREATE TABLE IF NOT EXISTS gold_sales_category_daily
(
    store_id                LowCardinality(String),
    date                    Date,
    country                 LowCardinality(String),
    channel                 LowCardinality(String),
    category                LowCardinality(String),
    gross_revenue           Decimal(18, 4),
    refunds                 Decimal(18, 4),
    net_revenue             Decimal(18, 4),
    discounts               Decimal(18, 4),
    items                   UInt64,
    units                   Int64,
    cancelled_value         Decimal(18, 4),
    returned_value          Decimal(18, 4),
    orders_state            AggregateFunction(uniqExact, String),
    cancelled_orders_state  AggregateFunction(uniqExact, String),
    returned_orders_state   AggregateFunction(uniqExact, String),
    customers_state         AggregateFunction(uniqExact, String),
    new_customers_state     AggregateFunction(uniqExact, String),
    version                 UInt64,
    is_deleted              UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(date)
ORDER BY (store_id, date, country, channel, category);

-- Product grain: category x product (product_id '' = orders without lines).
CREATE TABLE IF NOT EXISTS gold_sales_product_daily
(
    store_id                LowCardinality(String),
    date                    Date,
    category                LowCardinality(String),
    product_id              String,
    gross_revenue           Decimal(18, 4),
    refunds                 Decimal(18, 4),
    net_revenue             Decimal(18, 4),
    discounts               Decimal(18, 4),
    items                   UInt64,
    units                   Int64,
    cancelled_value         Decimal(18, 4),
    returned_value          Decimal(18, 4),
    orders_state            AggregateFunction(uniqExact, String),
    cancelled_orders_state  AggregateFunction(uniqExact, String),
    returned_orders_state   AggregateFunction(uniqExact, String),
    customers_state         AggregateFunction(uniqExact, String),
    new_customers_state     AggregateFunction(uniqExact, String),
    version                 UInt64,
    is_deleted              UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(date)
ORDER BY (store_id, date, category, product_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS gold_sales_daily_mv TO gold_sales_daily AS
SELECT store_id, date, country, channel, payment_method, gross_revenue, refunds, net_revenue, discounts, orders, items, units,
       cancelled_orders, cancelled_value, returned_orders, returned_value, customers_state, new_customers_state, version, is_deleted
FROM gold_sales_staging WHERE grain = 'order';

CREATE MATERIALIZED VIEW IF NOT EXISTS gold_sales_category_daily_mv TO gold_sales_category_daily AS
SELECT store_id, date, country, channel, category, gross_revenue, refunds, net_revenue, discounts, items, units, cancelled_value, returned_value,
       orders_state, cancelled_orders_state, returned_orders_state, customers_state, new_customers_state, version, is_deleted
FROM gold_sales_staging WHERE grain = 'category';

CREATE MATERIALIZED VIEW IF NOT EXISTS gold_sales_product_daily_mv TO gold_sales_product_daily AS
SELECT store_id, date, category, product_id, gross_revenue, refunds, net_revenue, discounts, items, units, cancelled_value, returned_value,
       orders_state, cancelled_orders_state, returned_orders_state, customers_state, new_customers_state, version, is_deleted
FROM gold_sales_staging WHERE grain = 'product';

-- Payments per store x local date of the payment x method x status.
CREATE TABLE IF NOT EXISTS gold_payments_daily
(
    store_id       LowCardinality(String),
    date           Date,
    method         LowCardinality(String),
    status         LowCardinality(String),
    payments       UInt64,
    amount         Decimal(18, 4),
    orders_state   AggregateFunction(uniqExact, String),
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(date)
ORDER BY (store_id, date, method, status);

-- Retention matrix: customers grouped by the MONTH or (ISO) WEEK of their first purchase; per
-- later period (0 = the first one) the customers active and their net revenue. Only periods
-- with activity have a row; the reader fills elapsed periods (up to as_of) with zeros.
CREATE TABLE IF NOT EXISTS gold_cohorts
(
    store_id       LowCardinality(String),
    granularity    LowCardinality(String),                 -- MONTH | WEEK
    cohort_start   Date,
    period         UInt32,
    cohort_size    UInt64,
    customers      UInt64,
    revenue        Decimal(38, 4),
    as_of          Date,                                   -- last order date when computed: periods after it have not elapsed
    version        UInt64,
    is_deleted     UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (store_id, granularity, cohort_start, period);
