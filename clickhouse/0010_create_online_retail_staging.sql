-- Working tables of the Online Retail import in the engine (src/ingest/formats/online-retail-sql.ts).
-- The engine reads the file, the rules of docs/online-retail.md run as SQL over these tables, and
-- the batch's partition of each table is dropped when the batch ends (one partition per batch, so
-- concurrent imports never see each other's rows). Nothing here is read by the API.

-- The file's lines as received, for an engine that cannot read the API's disk (a server): line
-- numbers from 0 (the header line), the bytes of each line without its LF. Batch id and line are
-- hex-encoded by the sender, so no transport re-encodes a byte (ISO-8859-1 files).
CREATE TABLE IF NOT EXISTS staging_online_retail_file
(
    batch_hex    String,
    row_number   UInt64,
    line_hex     String
)
ENGINE = MergeTree
PARTITION BY batch_hex
ORDER BY row_number;

-- The fields of each data line, as the CSV reader splits them (untrimmed).
CREATE TABLE IF NOT EXISTS staging_online_retail_fields
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
ENGINE = MergeTree
PARTITION BY batch_id
ORDER BY row_number;

-- Every distinct value of each column with what the format's value rules (in TypeScript) make of
-- it: blank?, valid?, the normalized value, its JSON text, a number, a flag and a reject message.
-- The per-line work then needs only joins.
CREATE TABLE IF NOT EXISTS staging_online_retail_values
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
ENGINE = MergeTree
PARTITION BY batch_id
ORDER BY (col, raw);

-- Each data line with its outcome: reason '' = accepted, else the reject reason, field and message.
CREATE TABLE IF NOT EXISTS staging_online_retail_lines
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
ENGINE = MergeTree
PARTITION BY batch_id
ORDER BY row_number;

-- The order items of the accepted lines as they will be stored, with the stored row of the same
-- key (if any) for the idempotent write.
CREATE TABLE IF NOT EXISTS staging_online_retail_items
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
ENGINE = MergeTree
PARTITION BY batch_id
ORDER BY row_number;

-- The orders of the accepted lines (one per invoice) as they will be stored, with the stored row of
-- the same order (if any).
CREATE TABLE IF NOT EXISTS staging_online_retail_orders
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
ENGINE = MergeTree
PARTITION BY batch_id
ORDER BY first_row;
