-- The Online Retail working tables (0010) kept in memory instead of on disk. They live only while
-- one import runs (each import writes and deletes its own batch's rows), so writing them as
-- MergeTree parts (sorted, compressed, one file per column) was pure cost: ≈ 0.3–0.5 s per table on
-- the real file, more than half of the import's writes. The import takes files up to a size limit
-- this way (src/ingest/formats/online-retail-sql.ts, ENGINE_IMPORT_MAX_BYTES) so the tables' memory
-- stays bounded; larger files take the streaming path.

DROP TABLE IF EXISTS staging_online_retail_file;

CREATE TABLE staging_online_retail_file
(
    batch_hex    String,
    row_number   UInt64,
    line_hex     String
)
ENGINE = Memory;

DROP TABLE IF EXISTS staging_online_retail_fields;

CREATE TABLE staging_online_retail_fields
(
    batch_id     String,
    row_number   UInt64,
    invoiceno    String,
    stockcode    String,
    description  String,
    quantity     String,
    invoicedate  String,
    unitprice    String,
    customerid   String,
    country      String
)
ENGINE = Memory;

DROP TABLE IF EXISTS staging_online_retail_values;

CREATE TABLE staging_online_retail_values
(
    batch_id     String,
    col          LowCardinality(String),
    raw          String,
    blank        UInt8,
    ok           UInt8,
    value        String,
    json         String,
    num          Int64,
    flag         UInt8,
    message      String,
    message2     String
)
ENGINE = Memory;

DROP TABLE IF EXISTS staging_online_retail_lines;

CREATE TABLE staging_online_retail_lines
(
    batch_id     String,
    row_number   UInt64,
    reason       LowCardinality(String),
    field        LowCardinality(String),
    message      String,
    order_id     String,
    order_json   String,
    invoice_type UInt8,                      -- 1 sale, 2 cancellation
    product_id   String,
    product_json String,
    merchandise  UInt8,
    customer_id  String,
    customer_json String,
    country      String,
    country_json String,
    description  String,
    quantity     Int64,
    price_units  Int64,                      -- unit price, ten-thousandths
    price_text   String,                     -- the stored unit_price as the pipeline writes it
    amount       Int128,                     -- quantity × unit price, ten-thousandths
    line_ms      Int64,                      -- the line's InvoiceDate as UTC epoch ms
    line_time    String                      -- the same as the pipeline writes DateTime64 values
)
ENGINE = Memory;

DROP TABLE IF EXISTS staging_online_retail_items;

CREATE TABLE staging_online_retail_items
(
    batch_id     String,
    row_number   UInt64,
    order_id     String,
    line_number  UInt32,
    product_id   String,
    created_at   DateTime64(3, 'UTC'),
    quantity     Int32,
    unit_price   Decimal(18, 4),
    line_amount  Decimal(18, 4),
    row_hash     UInt64,
    old_hash     UInt64,
    old_day      String
)
ENGINE = Memory;

DROP TABLE IF EXISTS staging_online_retail_orders;

CREATE TABLE staging_online_retail_orders
(
    batch_id     String,
    first_row    UInt64,                     -- the invoice's first accepted line
    order_id     String,
    order_kind   LowCardinality(String),
    customer_id  String,
    country      String,
    created_at   DateTime64(3, 'UTC'),
    gross        Decimal(18, 4),
    refunded     Decimal(18, 4),
    row_hash     UInt64,
    old_hash     UInt64,
    old_day      String
)
ENGINE = Memory;

-- The file's data lines decoded (as the CSV reader decodes them, without CR): read from the file
-- once, then checked, copied to bronze and split from here.
CREATE TABLE IF NOT EXISTS staging_online_retail_text
(
    batch_id     String,
    row_number   UInt64,                     -- 0 = the header line
    line         String
)
ENGINE = Memory;
