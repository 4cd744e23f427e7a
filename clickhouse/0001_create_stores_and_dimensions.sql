-- Stores (tenants) and the conformed dimensions of the star schema.
-- Dimensions are small: no partitioning; ReplacingMergeTree(version) so a re-sent or corrected
-- member replaces the old one (read with FINAL or argMax).

CREATE TABLE IF NOT EXISTS dim_store
(
    store_id     LowCardinality(String),
    name         String,
    timezone     LowCardinality(String) DEFAULT 'UTC',
    country      LowCardinality(String) DEFAULT '',
    currency     LowCardinality(String) DEFAULT 'USD',
    created_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY store_id;

-- Customers as a slowly changing dimension of type 2: a change of country, region or segment
-- closes the current version (valid_to, is_current = 0) and opens a new one.
CREATE TABLE IF NOT EXISTS dim_customer
(
    store_id     LowCardinality(String),
    customer_id  String,
    valid_from   DateTime64(3, 'UTC'),
    valid_to     DateTime64(3, 'UTC') DEFAULT toDateTime64('2299-12-31 00:00:00', 3, 'UTC'),
    is_current   UInt8 DEFAULT 1,
    name         String DEFAULT '',
    email_hash   String DEFAULT '',
    country      LowCardinality(String) DEFAULT '',
    region       String DEFAULT '',
    city         String DEFAULT '',
    segment      LowCardinality(String) DEFAULT '',
    is_inferred  UInt8 DEFAULT 0,
    updated_at   DateTime64(3, 'UTC'),
    batch_id     String DEFAULT '',
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (store_id, customer_id, valid_from);

-- Products: type 1 (attributes overwritten in place by a newer version).
CREATE TABLE IF NOT EXISTS dim_product
(
    store_id     LowCardinality(String),
    product_id   String,
    sku          String DEFAULT '',
    name         String DEFAULT '',
    category     LowCardinality(String) DEFAULT 'uncategorized',
    brand        LowCardinality(String) DEFAULT '',
    list_price   Decimal(18, 4) DEFAULT 0,
    cost         Decimal(18, 4) DEFAULT 0,
    is_inferred  UInt8 DEFAULT 0,
    updated_at   DateTime64(3, 'UTC'),
    batch_id     String DEFAULT '',
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (store_id, product_id);

-- Calendar per country (holidays depend on the store's country); filled from the
-- date-holidays library by the application, never by hand.
CREATE TABLE IF NOT EXISTS dim_date
(
    country      LowCardinality(String),
    date         Date,
    year         UInt16,
    quarter      UInt8,
    month        UInt8,
    iso_year     UInt16,
    iso_week     UInt8,
    day_of_week  UInt8,
    is_weekend   UInt8,
    is_holiday   UInt8,
    holiday_name String DEFAULT '',
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (country, date);
