/**
 * The two implementations of the Online Retail import — the streaming mapper through the pipeline
 * and the engine (SQL) import the job uses — and a fingerprint of everything a batch stores, so
 * tests can require both to store exactly the same rows.
 */
import type { Warehouse } from '../../src/warehouse/client.js';
import type { BatchResult } from '../../src/ingest/pipeline.js';
import { onlineRetailMapper } from '../../src/ingest/mappers.js';
import { importOnlineRetailInEngine } from '../../src/ingest/formats/online-retail-sql.js';
import { importFile } from './import-helpers.js';

export interface PathImport {
  wh: Warehouse;
  storeId: string;
  batchId: string;
  file: string;
  timezone: string;
  source?: string;
  /** Engine path only: how the engine gets the file (default: it reads it, embedded). */
  transfer?: 'file' | 'upload';
}

/** The streaming path: openRecordStream + runBatch with the online-retail mapper. */
export function importStreaming(o: PathImport): Promise<BatchResult & { ms: number }> {
  return importFile({
    wh: o.wh,
    storeId: o.storeId,
    batchId: o.batchId,
    file: o.file,
    entity: 'order_items',
    format: 'online-retail',
    read: { format: 'csv' },
    mapper: onlineRetailMapper({ timezone: o.timezone, storeId: o.storeId }),
    timezone: o.timezone,
    source: o.source ?? 'online_retail.csv',
  });
}

/** The engine path; `undefined` when it declines the file (then it wrote nothing). */
export async function importInEngine(o: PathImport): Promise<(BatchResult & { ms: number }) | undefined> {
  const started = performance.now();
  const r = await importOnlineRetailInEngine({
    wh: o.wh,
    storeId: o.storeId,
    batchId: o.batchId,
    path: o.file,
    source: o.source ?? 'online_retail.csv',
    timezone: o.timezone,
    retentionDays: 30,
    transfer: o.transfer,
  });
  return r && { ...r, ms: performance.now() - started };
}

/**
 * Per table, the row count and an order-independent hash of the rows' content (the silver rows as
 * FINAL shows them, with their row hashes; the batch's bronze rows, rejects and counts) — without
 * what differs by design between two imports (store, batch id, version, load times).
 */
const FINGERPRINT_SQL: Record<string, string> = {
  items: `SELECT order_id, line_number, product_id, created_at, quantity, unit_price, discount, line_amount, updated_at, row_hash, is_deleted
            FROM fact_order_items FINAL WHERE store_id = {s:String}`,
  orders: `SELECT order_id, order_kind, customer_id, status, created_at, shipped_at, delivered_at, returned_at, channel, country, currency,
                  gross, discount, shipping, tax, net, refunded, updated_at, row_hash, is_deleted
             FROM fact_orders FINAL WHERE store_id = {s:String}`,
  customers: `SELECT customer_id, valid_from, valid_to, country, region, segment, name, is_current, is_inferred, row_hash
                FROM dim_customer FINAL WHERE store_id = {s:String}`,
  products: `SELECT product_id, sku, name, category, brand, is_inferred, row_hash FROM dim_product FINAL WHERE store_id = {s:String}`,
  bronze: `SELECT row_number, payload, source FROM raw_order_items WHERE store_id = {s:String} AND batch_id = {b:String}`,
  rejects: `SELECT row_number, entity, field, reason_code, message, raw_payload, source FROM rejected_records WHERE store_id = {s:String} AND batch_id = {b:String}`,
  batch: `SELECT status, entity, format, source, rows_read, rows_inserted, rows_unchanged, rows_rejected FROM ingest_batches FINAL WHERE store_id = {s:String} AND batch_id = {b:String}`,
};

/** The fingerprint of a store's silver tables and of one of its batches. */
export async function fingerprint(wh: Warehouse, storeId: string, batchId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(FINGERPRINT_SQL)) {
    const [r] = await wh.query<{ n: string; h: string }>(`SELECT toString(count()) AS n, toString(sum(cityHash64(formatRow('TSV', *)))) AS h FROM (${sql})`, { s: storeId, b: batchId });
    out[name] = `${r!.n} rows, ${r!.h}`;
  }
  return out;
}
