-- A hash of each silver row's business content, so a re-sent identical record is recognised as
-- unchanged (and not inserted again), while a corrected one is inserted with a newer version.
ALTER TABLE fact_orders ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE fact_order_items ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE fact_payments ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE fact_inventory_snapshots ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE fact_events ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE dim_customer ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;
ALTER TABLE dim_product ADD COLUMN IF NOT EXISTS row_hash UInt64 DEFAULT 0;

-- What an import was asked to do, for the API and for retries.
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS file_name String DEFAULT '';
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS job_id String DEFAULT '';
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS options String DEFAULT '{}';
