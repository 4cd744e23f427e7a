import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runBatch, type BatchResult } from '../../src/ingest/pipeline.js';
import type { Entity } from '../../src/ingest/validate/entities.js';
import type { SourceRow } from '../../src/ingest/parsers/source-row.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
let seq = 0;
tempWarehouse((w) => (wh = w));

async function* rowsOf(records: Record<string, unknown>[]): AsyncIterable<SourceRow> {
  let n = 0;
  for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
}

function load(store: string, entity: Entity, records: Record<string, unknown>[], timezone = 'UTC'): Promise<BatchResult> {
  return runBatch({
    wh, storeId: store, batchId: `b${++seq}`, source: `${entity}.json`, entity, format: 'json', timezone, retentionDays: 30, rows: rowsOf(records), chunkSize: 3,
  });
}

async function one<T>(sql: string, params: Record<string, unknown> = {}): Promise<T> {
  return (await wh.query<T>(sql, params))[0]!;
}

const order = (id: string, extra: Record<string, unknown> = {}) => ({
  order_id: id, customer_id: 'c1', status: 'paid', created_at: '2024-03-01 10:00:00', channel: 'Web', country: 'de', currency: 'eur',
  gross: '100.00', discount: '10', shipping: '4.99', tax: '0', ...extra,
});

test('valid orders load; every validation rule rejects with row, field and reason; counts reconcile', async () => {
  const records = [
    order('o1'),
    order('o2', { gross: 50.5, net: '50.5' }),
    order('o3', { status: 'lost' }),
    order('o4', { gross: '-1' }),
    order('o5', { created_at: 'yesterday' }),
    order('o6', { shipped_at: '2024-02-01T00:00:00Z' }),
    order('o7', { shipped_at: '2024-03-02T00:00:00Z', delivered_at: '2024-03-01T11:00:00Z' }),
    { ...order('o8'), order_id: '' },
    order('o9', { country: 'Germany' }),
    order('o10', { returned_at: '2024-03-05T00:00:00Z', shipped_at: '2024-03-02T00:00:00Z', delivered_at: '2024-03-03T00:00:00Z' }),
  ];
  const r = await load('s1', 'orders', records);
  assert.deepEqual({ read: r.read, inserted: r.inserted, unchanged: r.unchanged, rejected: r.rejected }, { read: 10, inserted: 3, unchanged: 0, rejected: 7 });
  assert.deepEqual(r.rejectsByReason, { invalid_enum: 1, out_of_range: 1, invalid_value: 2, business_rule: 2, missing_field: 1 });
  const rejects = await wh.query<{ row_number: string; field: string; reason_code: string; message: string; raw_payload: string }>(
    'SELECT toString(row_number) AS row_number, field, reason_code, message, raw_payload FROM rejected_records WHERE batch_id = {b:String} ORDER BY row_number',
    { b: r.batchId },
  );
  assert.deepEqual(
    rejects.map((x) => [x.row_number, x.field, x.reason_code]),
    [['3', 'status', 'invalid_enum'], ['4', 'gross', 'out_of_range'], ['5', 'created_at', 'invalid_value'], ['6', 'shipped_at', 'business_rule'], ['7', 'delivered_at', 'business_rule'], ['8', 'order_id', 'missing_field'], ['9', 'country', 'invalid_value']],
  );
  assert.match(rejects[0]!.message, /^row 3: status "lost" is not one of/);
  assert.equal(JSON.parse(rejects[0]!.raw_payload).order_id, 'o3');
  const batch = await one<{ rows_read: string; rows_inserted: string; rows_unchanged: string; rows_rejected: string; status: string }>(
    'SELECT rows_read, rows_inserted, rows_unchanged, rows_rejected, status FROM ingest_batches FINAL WHERE batch_id = {b:String}', { b: r.batchId },
  );
  assert.deepEqual(batch, { rows_read: '10', rows_inserted: '3', rows_unchanged: '0', rows_rejected: '7', status: 'completed' });
  const bronze = await one<{ n: string }>('SELECT count() AS n FROM raw_orders WHERE batch_id = {b:String}', { b: r.batchId });
  assert.equal(bronze.n, '10', 'every received row is in bronze');
  // Cleaning: enums lower-cased, country/currency upper-cased, net computed exactly.
  const o1 = await one<Record<string, string>>("SELECT channel, country, currency, net, toString(created_at) AS created_at FROM fact_orders FINAL WHERE store_id = 's1' AND order_id = 'o1'");
  assert.deepEqual(o1, { channel: 'web', country: 'DE', currency: 'EUR', net: '94.99', created_at: '2024-03-01 10:00:00.000' });
});

test('re-importing the same data changes nothing; a corrected record replaces the old one', async () => {
  const records = [order('p1'), order('p2'), order('p3', { gross: '30' })];
  const first = await load('s2', 'orders', records);
  assert.equal(first.inserted, 3);
  const sum = () => one<{ g: string; n: string }>("SELECT toString(sum(gross)) AS g, toString(count()) AS n FROM fact_orders FINAL WHERE store_id = 's2'");
  const before = await sum();
  const again = await load('s2', 'orders', records);
  assert.deepEqual([again.read, again.inserted, again.unchanged, again.rejected], [3, 0, 3, 0]);
  assert.deepEqual(await sum(), before);
  const raw = await one<{ n: string }>("SELECT toString(count()) AS n FROM fact_orders WHERE store_id = 's2'");
  assert.equal(raw.n, '3', 'no new physical rows either');

  // p3 corrected (new amount) and moved to another day: old row gone, new one counted once.
  const corrected = await load('s2', 'orders', [order('p3', { gross: '35', created_at: '2024-03-05 09:00:00' })]);
  assert.deepEqual([corrected.inserted, corrected.unchanged], [1, 0]);
  assert.deepEqual(await sum(), { g: '235', n: '3' });
  const p3 = await wh.query<{ d: string }>("SELECT toString(toDate(created_at)) AS d FROM fact_orders FINAL WHERE store_id = 's2' AND order_id = 'p3'");
  assert.deepEqual(p3, [{ d: '2024-03-05' }]);
  assert.deepEqual(corrected.affected.days, ['2024-03-01', '2024-03-05']);

  // An older version arriving late does not win.
  const stale = await load('s2', 'orders', [order('p1', { gross: '1', updated_at: '2020-01-01T00:00:00Z' })]);
  assert.deepEqual([stale.inserted, stale.unchanged], [0, 1]);
  assert.deepEqual(await sum(), { g: '235', n: '3' });
});

test('items need their order; unknown products become inferred members a later record completes', async () => {
  await load('s3', 'orders', [order('q1')]);
  const items = await load('s3', 'order_items', [
    { order_id: 'q1', line_number: 1, product_id: 'SKU-1', quantity: 2, unit_price: '19.99' },
    { order_id: 'q1', line_number: 2, product_id: 'SKU-2', quantity: 0, unit_price: '5' },
    { order_id: 'nope', line_number: 1, product_id: 'SKU-1', quantity: 1, unit_price: '5' },
    { order_id: 'q1', line_number: 3, product_id: 'SKU-3', quantity: 1, unit_price: '-5' },
  ]);
  assert.deepEqual([items.read, items.inserted, items.unchanged, items.rejected], [4, 1, 0, 3]);
  assert.deepEqual(items.rejectsByReason, { out_of_range: 2, unknown_order: 1 });
  const line = await one<Record<string, string>>("SELECT line_amount, toString(created_at) AS c FROM fact_order_items FINAL WHERE store_id = 's3'");
  assert.deepEqual(line, { line_amount: '39.98', c: '2024-03-01 10:00:00.000' }, 'line amount exact; created_at from the order');
  const inferred = await one<Record<string, string>>("SELECT toString(is_inferred) AS i, category FROM dim_product FINAL WHERE store_id = 's3' AND product_id = 'SKU-1'");
  assert.deepEqual(inferred, { i: '1', category: 'uncategorized' });
  const cust = await one<Record<string, string>>("SELECT toString(is_inferred) AS i FROM dim_customer FINAL WHERE store_id = 's3' AND customer_id = 'c1'");
  assert.equal(cust.i, '1');
  await load('s3', 'products', [{ product_id: 'SKU-1', sku: 'SKU-1', name: 'Mug', category: 'Kitchen', list_price: '9.5' }]);
  const done = await wh.query<Record<string, string>>("SELECT toString(is_inferred) AS i, name, category FROM dim_product FINAL WHERE store_id = 's3' AND product_id = 'SKU-1'");
  assert.deepEqual(done, [{ i: '0', name: 'Mug', category: 'Kitchen' }]);
});

test('customers are SCD type 2: a country or segment change opens a new version', async () => {
  const r1 = await load('s4', 'customers', [
    { customer_id: 'k1', name: 'Ann', email: 'Ann@Example.com', country: 'DE', segment: 'standard', updated_at: '2024-01-01T00:00:00Z' },
    { customer_id: 'k1', name: 'Ann', email: 'Ann@Example.com', country: 'FR', segment: 'standard', updated_at: '2024-06-01T00:00:00Z' },
    { customer_id: 'k2', name: 'Bob', country: 'US', updated_at: '2024-01-01T00:00:00Z' },
  ]);
  assert.deepEqual([r1.inserted, r1.unchanged], [3, 0]);
  const versions = await wh.query<Record<string, string>>(
    "SELECT country, toString(is_current) AS cur, toString(valid_to) AS vt FROM dim_customer FINAL WHERE store_id = 's4' AND customer_id = 'k1' ORDER BY valid_from",
  );
  assert.deepEqual(versions, [
    { country: 'DE', cur: '0', vt: '2024-06-01 00:00:00.000' },
    { country: 'FR', cur: '1', vt: '2299-12-31 00:00:00.000' },
  ]);
  // A name fix is a correction in place; the same record again is unchanged.
  const r2 = await load('s4', 'customers', [
    { customer_id: 'k1', name: 'Anna', email: 'Ann@Example.com', country: 'FR', segment: 'standard', updated_at: '2024-07-01T00:00:00Z' },
    { customer_id: 'k2', name: 'Bob', country: 'US', updated_at: '2024-01-01T00:00:00Z' },
  ]);
  assert.deepEqual([r2.inserted, r2.unchanged], [1, 1]);
  const cur = await wh.query<Record<string, string>>("SELECT name, country FROM dim_customer FINAL WHERE store_id = 's4' AND customer_id = 'k1' AND is_current = 1");
  assert.deepEqual(cur, [{ name: 'Anna', country: 'FR' }]);
  const n = await one<{ n: string }>("SELECT toString(count()) AS n FROM dim_customer FINAL WHERE store_id = 's4' AND customer_id = 'k1'");
  assert.equal(n.n, '2');
});

test('events: an idempotency id or identical content is stored once', async () => {
  const ev = { event_id: 'e1', event_time: '2024-03-01T10:00:00Z', session_id: 's', event_type: 'page_view', properties: { path: '/' } };
  const noId = { event_time: '2024-03-01T10:00:01Z', session_id: 's', event_type: 'add_to_cart', product_id: 'SKU-1' };
  const r1 = await load('s5', 'events', [ev, noId, noId, { ...ev, event_type: 'teleport', event_id: 'e2' }]);
  assert.deepEqual([r1.read, r1.inserted, r1.unchanged, r1.rejected], [4, 2, 1, 1]);
  const r2 = await load('s5', 'events', [ev, noId]);
  assert.deepEqual([r2.inserted, r2.unchanged], [0, 2]);
  const n = await one<{ n: string }>("SELECT toString(count()) AS n FROM fact_events WHERE store_id = 's5'");
  assert.equal(n.n, '2');
});

test('times without a zone are wall-clock time in the store time zone', async () => {
  await load('s6', 'orders', [order('t1', { created_at: '2024-07-01 12:00' }), order('t2', { created_at: '3/31/2024 1:30' }), order('t3', { created_at: '2024-10-27 01:30' })], 'Europe/London');
  const rows = await wh.query<Record<string, string>>("SELECT order_id, toString(created_at) AS c FROM fact_orders FINAL WHERE store_id = 's6' ORDER BY order_id");
  assert.deepEqual(rows, [
    { order_id: 't1', c: '2024-07-01 11:00:00.000' },
    { order_id: 't2', c: '2024-03-31 01:30:00.000' }, // 01:30 does not exist in London that night: resolved forward to 02:30 BST
    { order_id: 't3', c: '2024-10-27 00:30:00.000' }, // 01:30 happens twice that night: the first (BST) one
  ]);
});

test('the embedded engine starts with its memory settings, and an insert takes settings per statement', async () => {
  const settings = await wh.query<{ name: string; value: string }>(
    `SELECT name, value FROM system.server_settings WHERE name IN ('mark_cache_size', 'max_parts_cleaning_thread_pool_size', 'max_thread_pool_free_size', 'background_merges_mutations_concurrency_ratio')`,
  );
  assert.deepEqual(Object.fromEntries(settings.map((s) => [s.name, s.value])), {
    mark_cache_size: '134217728',
    max_parts_cleaning_thread_pool_size: '2',
    max_thread_pool_free_size: '16',
    background_merges_mutations_concurrency_ratio: '1',
  });
  // Its MergeTree settings come from the config file written at start: vertical merges.
  const mergeTree = await wh.query<{ name: string; value: string }>(
    `SELECT name, value FROM system.merge_tree_settings WHERE name IN ('vertical_merge_algorithm_min_rows_to_activate', 'vertical_merge_algorithm_min_columns_to_activate')`,
  );
  assert.deepEqual(Object.fromEntries(mergeTree.map((s) => [s.name, s.value])), {
    vertical_merge_algorithm_min_rows_to_activate: '1',
    vertical_merge_algorithm_min_columns_to_activate: '1',
  });
  // Inserts parse times as the other statements do (date_time_input_format = best_effort).
  await wh.command('CREATE TABLE IF NOT EXISTS t_insert_settings (id String, at DateTime64(3, \'UTC\'), note String) ENGINE = MergeTree ORDER BY id');
  await wh.insert('t_insert_settings', [
    { id: 'a', at: '2024-03-01T10:00:00Z', note: 'Grüße 😀' },
    { id: 'b', at: '2024-03-01 11:30:00.250', note: 'line\nbreak "quoted"' },
  ]);
  const rows = await wh.query<{ id: string; at: string; note: string }>('SELECT id, toString(at) AS at, note FROM t_insert_settings ORDER BY id');
  assert.deepEqual(rows, [
    { id: 'a', at: '2024-03-01 10:00:00.000', note: 'Grüße 😀' },
    { id: 'b', at: '2024-03-01 11:30:00.250', note: 'line\nbreak "quoted"' },
  ]);
  await wh.command('DROP TABLE t_insert_settings');
});
