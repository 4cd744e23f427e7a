import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runBatch } from '../../src/ingest/pipeline.js';
import type { Entity } from '../../src/ingest/validate/entities.js';
import type { SourceRow } from '../../src/ingest/parsers/source-row.js';
import { computeDataQuality, runDataQuality, type QualityResult } from '../../src/analytics/quality.js';
import { dataQuality } from '../../src/warehouse/quality.queries.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
let seq = 0;
const NOW = Date.now();
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ch = (ms: number) => iso(ms).replace('T', ' ').replace('Z', '');

async function* rowsOf(records: Record<string, unknown>[]): AsyncIterable<SourceRow> {
  let n = 0;
  for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
}
function load(store: string, entity: Entity, records: Record<string, unknown>[]) {
  return runBatch({ wh, storeId: store, batchId: `dq${++seq}`, source: `${entity}.json`, entity, format: 'json', timezone: 'UTC', retentionDays: 30, rows: rowsOf(records) });
}

// --- the broken store, built row by row so each check has known offenders ------------------------

interface O { order_id: string; customer_id: string; country: string; status: string; created: number; gross: number }
interface I { order_id: string; line_number: number; product_id: string; amount: number }
interface P { payment_id: string; order_id: string; method: string; amount: number }
const bad = { orders: [] as O[], items: [] as I[], payments: [] as P[], events: [] as { event_id: string; session_id: string; at: number }[] };
const BAD_BASE = NOW - 5 * 24 * HOUR; // newest orders 5 days old: orders freshness fails
let badRejectBatch = '';

function buildBad() {
  for (let i = 1; i <= 40; i++) {
    const id = `o${i}`;
    bad.orders.push({
      order_id: id,
      customer_id: [5, 6, 15, 16].includes(i) ? 'ghost-cust' : `k${(i % 7) + 1}`,
      country: i <= 3 ? '' : 'DE',
      status: 'paid',
      created: BAD_BASE - i * HOUR,
      gross: 12,
    });
    // o7, o8: the line does not add up to the order's gross.
    bad.items.push({ order_id: id, line_number: 1, product_id: i === 9 || i === 17 ? 'p-missing' : i === 10 ? 'p-inferred' : 'P1', amount: i === 7 || i === 8 ? 10 : 12 });
    // o11..o13 paid short; o14's payment has no method.
    bad.payments.push({ payment_id: `pay${i}`, order_id: id, method: i === 14 ? '' : 'card', amount: i >= 11 && i <= 13 ? 7 : 12 });
  }
  // o41 is stored under two different days (a move that lost its tombstone); pending, no items.
  bad.orders.push({ order_id: 'o41', customer_id: '', country: 'DE', status: 'pending', created: BAD_BASE - 50 * HOUR, gross: 3 });
  bad.orders.push({ order_id: 'o41', customer_id: '', country: 'DE', status: 'pending', created: BAD_BASE - 100 * HOUR, gross: 3 });
  bad.items.push({ order_id: 'ghost-order', line_number: 1, product_id: 'P1', amount: 5 });
  bad.payments.push({ payment_id: 'pay-ghost', order_id: 'ghost-order-2', method: 'card', amount: 5 });
  for (let e = 1; e <= 5; e++) bad.events.push({ event_id: `e${e}`, session_id: e === 5 ? '' : `s${e}`, at: NOW - 10 * HOUR - e * 60_000 });
}

tempWarehouse(async (w) => {
  wh = w;

  // The clean store goes through the real ingest pipeline.
  const t = (hoursAgo: number) => iso(NOW - hoursAgo * HOUR);
  await load('good', 'customers', Array.from({ length: 5 }, (_, i) => ({ customer_id: `c${i}`, name: `C ${i}`, email: `c${i}@x.org`, country: 'DE' })));
  await load('good', 'products', [
    { product_id: 'P1', name: 'Ball', category: 'toys' },
    { product_id: 'P2', name: 'Book', category: 'books' },
  ]);
  const orders = Array.from({ length: 30 }, (_, i) => ({
    order_id: `g${i}`, customer_id: i % 3 === 0 ? '' : `c${i % 5}`, status: i % 10 === 0 ? 'pending' : 'paid', created_at: t(1 + i * 2.5), country: 'DE', currency: 'EUR',
    channel: 'web', gross: '30.50', discount: '0', shipping: '0', tax: '0',
  }));
  await load('good', 'orders', orders);
  await load('good', 'order_items', orders.flatMap((o) => [
    { order_id: o.order_id, line_number: 1, product_id: 'P1', quantity: 2, unit_price: '10.25' },
    { order_id: o.order_id, line_number: 2, product_id: 'P2', quantity: 1, unit_price: '10.00' },
  ]));
  await load('good', 'payments', orders.filter((o) => o.status === 'paid').map((o) => ({ payment_id: `gp-${o.order_id}`, order_id: o.order_id, method: 'card', amount: '30.50', status: 'captured', paid_at: o.created_at })));
  await load('good', 'events', Array.from({ length: 12 }, (_, i) => ({ event_id: `ge${i}`, event_time: t(0.5 + i * 0.1), session_id: `gs${i >> 1}`, event_type: i % 2 ? 'purchase' : 'page_view' })));

  // The broken store: a customers file with rejects through the pipeline, the rest inserted directly.
  buildBad();
  const rejectBatch = await load('bad', 'customers', [
    ...Array.from({ length: 7 }, (_, i) => ({ customer_id: `k${i + 1}`, name: `K${i}`, email: `k${i}@x.org`, country: 'FR' })),
    { customer_id: 'k8', email: 'not-an-email', country: 'FR' },
    { customer_id: 'k9', email: 'also bad', country: 'FR' },
    { customer_id: '', email: 'x@y.org', country: 'FR' },
  ]);
  badRejectBatch = rejectBatch.batchId;
  await wh.insert('dim_customer', [
    // k1 gets a second open version (valid_from differs): two current rows for one customer.
    { store_id: 'bad', customer_id: 'k1', valid_from: ch(NOW - 48 * HOUR), is_current: 1, name: 'K1 again', country: 'FR', is_inferred: 0, updated_at: ch(NOW), version: 5 },
    { store_id: 'bad', customer_id: 'ghost-cust', valid_from: '1970-01-01 00:00:00', is_current: 1, is_inferred: 1, updated_at: ch(NOW), version: 1 },
  ]);
  await wh.insert('dim_product', [
    { store_id: 'bad', product_id: 'P1', sku: 'P1', name: 'Ball', category: 'toys', updated_at: ch(NOW), version: 1 },
    { store_id: 'bad', product_id: 'p-inferred', sku: 'p-inferred', is_inferred: 1, updated_at: ch(NOW), version: 1 },
  ]);
  const money = (x: number) => x.toFixed(2);
  await wh.insert('fact_orders', bad.orders.map((o) => ({
    store_id: 'bad', order_id: o.order_id, order_kind: 'sale', customer_id: o.customer_id, status: o.status, created_at: ch(o.created), country: o.country,
    currency: 'EUR', gross: money(o.gross), net: money(o.gross), updated_at: ch(o.created), version: 1, is_deleted: 0,
  })));
  const createdOf = new Map(bad.orders.map((o) => [o.order_id, o.created]));
  await wh.insert('fact_order_items', bad.items.map((i) => ({
    store_id: 'bad', order_id: i.order_id, line_number: i.line_number, product_id: i.product_id, created_at: ch(createdOf.get(i.order_id) ?? BAD_BASE),
    quantity: 1, unit_price: money(i.amount), line_amount: money(i.amount), updated_at: ch(NOW), version: 1, is_deleted: 0,
  })));
  await wh.insert('fact_payments', bad.payments.map((p) => ({
    store_id: 'bad', payment_id: p.payment_id, order_id: p.order_id, method: p.method, amount: money(p.amount), status: 'captured',
    paid_at: ch(createdOf.get(p.order_id) ?? BAD_BASE), updated_at: ch(NOW), version: 1, is_deleted: 0,
  })));
  await wh.insert('fact_events', bad.events.map((e) => ({
    store_id: 'bad', event_id: e.event_id, event_time: ch(e.at), session_id: e.session_id, event_type: 'page_view', received_at: ch(NOW), version: 1,
  })));
});

const find = (rs: QualityResult[], table: string, check: string) => {
  const r = rs.find((x) => x.table === table && x.check === check);
  assert.ok(r, `result ${table} ${check} in ${rs.map((x) => `${x.table}/${x.check}`).join(', ')}`);
  return r;
};

test('every check passes on clean data loaded through the pipeline', async () => {
  const rs = await computeDataQuality(wh, { storeId: 'good' });
  const notPass = rs.filter((r) => r.status !== 'PASS');
  assert.deepEqual(notPass.map((r) => `${r.table}/${r.check}: ${r.message}`), []);
  // Every dimension and every kind of check ran.
  for (const [table, check] of [
    ['fact_orders', 'not_empty:country'], ['fact_orders', 'unique_key'], ['fact_orders', 'freshness'], ['fact_orders', 'items_match_total'],
    ['fact_orders', 'unknown_customers'], ['fact_orders', 'reject_rate'], ['fact_order_items', 'orphan_items'], ['fact_order_items', 'unknown_products'],
    ['fact_payments', 'payments_cover_orders'], ['fact_payments', 'orphan_payments'], ['fact_events', 'not_empty:session_id'], ['fact_events', 'freshness'],
    ['dim_customer', 'unique_key'], ['dim_product', 'not_empty:category'],
  ]) find(rs, table!, check!);
  // Independent numbers: the paid orders created at least 24 h ago are the ones payments must cover.
  const eligible = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 10 !== 0 && 1 + i * 2.5 >= 24).length;
  assert.equal(find(rs, 'fact_payments', 'payments_cover_orders').checked, eligible);
  assert.equal(find(rs, 'fact_orders', 'items_match_total').checked, 30);
  assert.equal(find(rs, 'fact_order_items', 'unknown_products').checked, 60);
  assert.equal(find(rs, 'fact_orders', 'unknown_customers').checked, 20);
  assert.ok(Math.abs(find(rs, 'fact_orders', 'freshness').value - 1) < 0.05);
  assert.ok(Math.abs(find(rs, 'fact_events', 'freshness').value - 0.5) < 0.05);
});

test('each check fails on data built to break it, with the right numbers and sample ids', async () => {
  const rs = await computeDataQuality(wh, { storeId: 'bad' });
  const expectCheck = (table: string, check: string, status: string, offending: number, checked: number, samples?: string[]) => {
    const r = find(rs, table, check);
    assert.equal(r.status, status, `${table}/${check}: ${r.message}`);
    assert.equal(r.offending, offending, `${table}/${check} offending`);
    assert.equal(r.checked, checked, `${table}/${check} checked`);
    assert.ok(Math.abs(r.value - offending / checked) < 1e-12, `${table}/${check} value`);
    if (samples) assert.deepEqual(r.sampleIds, [...samples].sort(), `${table}/${check} samples`);
  };
  // Independent reference: plain filters over the rows the fixture inserted.
  const orderIds = new Set(bad.orders.map((o) => o.order_id));
  const noCountry = bad.orders.filter((o) => o.country === '').map((o) => o.order_id);
  expectCheck('fact_orders', 'not_empty:country', 'FAIL', noCountry.length, bad.orders.length, noCountry);
  expectCheck('fact_orders', 'not_empty:currency', 'PASS', 0, bad.orders.length, []);
  const noMethod = bad.payments.filter((p) => p.method === '').map((p) => p.payment_id);
  expectCheck('fact_payments', 'not_empty:method', 'FAIL', noMethod.length, bad.payments.length, noMethod);
  // An event is its id on its UTC day: samples name both.
  const e5 = bad.events.find((e) => e.event_id === 'e5')!;
  expectCheck('fact_events', 'not_empty:session_id', 'FAIL', 1, bad.events.length, [`e5|${new Date(e5.at).toISOString().slice(0, 10)}`]);

  const counts = new Map<string, number>();
  for (const o of bad.orders) counts.set(o.order_id, (counts.get(o.order_id) ?? 0) + 1);
  const dupOrders = [...counts].filter(([, c]) => c > 1).map(([k]) => k);
  expectCheck('fact_orders', 'unique_key', 'FAIL', dupOrders.length, counts.size, dupOrders);
  expectCheck('fact_payments', 'unique_key', 'PASS', 0, bad.payments.length, []);
  expectCheck('dim_customer', 'unique_key', 'FAIL', 1, 7, ['k1']);

  const rejects = find(rs, 'dim_customer', 'reject_rate');
  assert.equal(rejects.status, 'FAIL');
  assert.deepEqual([rejects.offending, rejects.checked], [3, 10]);
  assert.deepEqual(rejects.sampleIds, [`${badRejectBatch}#10`, `${badRejectBatch}#8`, `${badRejectBatch}#9`]);
  expectCheck('dim_customer', 'reject_rate:invalid_value', 'FAIL', 2, 10, [`${badRejectBatch}#8`, `${badRejectBatch}#9`]);
  expectCheck('dim_customer', 'reject_rate:missing_field', 'FAIL', 1, 10, [`${badRejectBatch}#10`]);

  // Σ lines per order vs gross, over orders that have lines.
  const lines = new Map<string, number>();
  for (const i of bad.items) lines.set(i.order_id, (lines.get(i.order_id) ?? 0) + i.amount);
  const withLines = bad.orders.filter((o) => lines.has(o.order_id));
  const mismatched = withLines.filter((o) => Math.abs(o.gross - lines.get(o.order_id)!) > 0.01).map((o) => o.order_id);
  expectCheck('fact_orders', 'items_match_total', 'FAIL', mismatched.length, withLines.length, mismatched);

  const paid = new Map<string, number>();
  for (const p of bad.payments) paid.set(p.order_id, (paid.get(p.order_id) ?? 0) + p.amount);
  const eligible = bad.orders.filter((o) => o.status !== 'pending' && o.created <= NOW - 24 * HOUR);
  const short = eligible.filter((o) => (paid.get(o.order_id) ?? 0) < o.gross - 0.01).map((o) => o.order_id);
  expectCheck('fact_payments', 'payments_cover_orders', 'FAIL', short.length, eligible.length, short);

  const orphanItems = bad.items.filter((i) => !orderIds.has(i.order_id)).map((i) => `${i.order_id}|${i.line_number}`);
  expectCheck('fact_order_items', 'orphan_items', 'FAIL', orphanItems.length, bad.items.length, orphanItems);
  const orphanPays = bad.payments.filter((p) => !orderIds.has(p.order_id)).map((p) => p.payment_id);
  expectCheck('fact_payments', 'orphan_payments', 'FAIL', orphanPays.length, bad.payments.length, orphanPays);

  const realCustomers = new Set(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  const withCustomer = bad.orders.filter((o) => o.customer_id !== '');
  const unknownCust = withCustomer.filter((o) => !realCustomers.has(o.customer_id));
  expectCheck('fact_orders', 'unknown_customers', 'FAIL', unknownCust.length, withCustomer.length, [...new Set(unknownCust.map((o) => o.customer_id))]);
  const realProducts = new Set(['P1']);
  const unknownProd = bad.items.filter((i) => !realProducts.has(i.product_id));
  expectCheck('fact_order_items', 'unknown_products', 'FAIL', unknownProd.length, bad.items.length, [...new Set(unknownProd.map((i) => i.product_id))]);

  const fresh = (table: string) => find(rs, table, 'freshness');
  const newestOrder = Math.max(...bad.orders.map((o) => o.created));
  assert.equal(fresh('fact_orders').status, 'FAIL');
  assert.ok(Math.abs(fresh('fact_orders').value - (NOW - newestOrder) / HOUR) < 0.1, `orders lag ${fresh('fact_orders').value}`);
  assert.equal(fresh('fact_events').status, 'WARN');
  assert.ok(Math.abs(fresh('fact_events').value - 10 - 1 / 60) < 0.1);
  // Thresholds and cadences are configurable: between warn and fail is a WARN.
  const tuned = await computeDataQuality(wh, { storeId: 'bad', thresholds: { unknown_customers: { warn: 0.05, fail: 0.2 } } });
  assert.equal(find(tuned, 'fact_orders', 'unknown_customers').status, 'WARN');
  const relaxed = await computeDataQuality(wh, { storeId: 'bad', freshness: { fact_orders: { warn: 24 * 7, fail: 24 * 14 } } });
  assert.equal(find(relaxed, 'fact_orders', 'freshness').status, 'PASS');
});

test('runs are stored; dataQuality returns the latest run only; a retry replaces its attempt', async () => {
  assert.deepEqual(await dataQuality(wh, { storeId: 'bad' }), []);
  const first = await runDataQuality(wh, { storeId: 'bad', runId: 'q1' });
  const stored = await dataQuality(wh, { storeId: 'bad' });
  assert.equal(stored.length, first.rows);
  const computed = await computeDataQuality(wh, { storeId: 'bad' });
  assert.deepEqual(
    stored.map((s) => [s.table, s.check, s.status, s.offending, s.checked, s.sampleIds.join(',')]).sort(),
    computed.map((s) => [s.table, s.check, s.status, s.offending, s.checked, s.sampleIds.join(',')]).sort(),
  );
  assert.ok(stored.every((s) => s.runId === 'q1' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(s.checkedAt)));
  await runDataQuality(wh, { storeId: 'bad', runId: 'q1' });
  assert.equal((await dataQuality(wh, { storeId: 'bad' })).length, first.rows, 'retry with the same run id does not double');
  // Fix the events' missing session: the next run passes that check.
  await wh.insert('fact_events', [{ store_id: 'bad', event_id: 'e5', event_time: ch(bad.events[4]!.at), session_id: 's5', event_type: 'page_view', received_at: ch(NOW), version: 2 }]);
  await runDataQuality(wh, { storeId: 'bad', runId: 'q2' });
  const latest = await dataQuality(wh, { storeId: 'bad' });
  assert.ok(latest.every((s) => s.runId === 'q2'));
  assert.equal(latest.find((s) => s.table === 'fact_events' && s.check === 'not_empty:session_id')!.status, 'PASS');
});
