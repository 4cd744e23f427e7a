import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runSegments } from '../../src/analytics/segments.js';
import { customerSegments, segmentsOfCustomers } from '../../src/warehouse/segments.queries.js';
import { chTs, daysBetween, localDay, money, orderRow, rng, sameMoney, units, type OrderFact } from '../support/analytics-fixtures.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
tempWarehouse((w) => (wh = w));

const DAY = 86_400_000;
const TZ = 'America/New_York';
const STORE = 'rfm1';
const OTHER = 'rfm2';
const AS_OF = Date.parse('2024-06-30T12:00:00Z');

/** The documented (R, FM) → segment grid, written out as a table (rows R = 5…1, columns FM = 1…5). */
const GRID: Record<number, string[]> = {
  5: ['New', 'Potential Loyalist', 'Potential Loyalist', 'Champions', 'Champions'],
  4: ['New', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
  3: ['Hibernating', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
  2: ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose"],
  1: ['Lost', 'Lost', 'At Risk', 'At Risk', "Can't Lose"],
};
const ORDERED = ['Champions', 'Loyal', 'Potential Loyalist', 'New', 'At Risk', "Can't Lose", 'Hibernating', 'Lost'];

interface Expected {
  recency: number;
  frequency: number;
  monetary: bigint;
  r: number;
  f: number;
  m: number;
  segment: string;
}

/** RFM by the documented definition, over the logical (final, not deleted) orders. */
function expectedRfm(orders: OrderFact[], asOf: number, tz: string): Map<string, Expected> {
  const per = new Map<string, { last: number; frequency: number; monetary: bigint }>();
  for (const o of orders) {
    if (o.customer_id === '' || o.created_at > asOf) continue;
    const counted = o.order_kind === 'sale' && o.status !== 'cancelled';
    const c = per.get(o.customer_id) ?? { last: -Infinity, frequency: 0, monetary: 0n };
    if (counted) {
      c.last = Math.max(c.last, o.created_at);
      c.frequency++;
      c.monetary += o.net - (o.refunded ?? 0n);
    } else if (o.order_kind === 'refund') {
      c.monetary += o.net;
    }
    per.set(o.customer_id, c);
  }
  const asOfDay = localDay(asOf, tz);
  const base = [...per].filter(([, c]) => c.frequency > 0).map(([id, c]) => ({
    id,
    recency: daysBetween(localDay(c.last, tz), asOfDay),
    frequency: c.frequency,
    monetary: c.monetary,
  }));
  const n = base.length;
  const score = (worse: number) => 1 + Math.floor((5 * worse) / n);
  const out = new Map<string, Expected>();
  for (const c of base) {
    const r = score(base.filter((x) => x.recency > c.recency).length);
    const f = score(base.filter((x) => x.frequency < c.frequency).length);
    const m = score(base.filter((x) => x.monetary < c.monetary).length);
    const fm = Math.ceil((f + m) / 2);
    out.set(c.id, { ...c, r, f, m, segment: GRID[r]![fm - 1]! });
  }
  return out;
}

/** A random but reproducible store history with every case the definition names. */
function fixture(): { orders: OrderFact[]; rows: Record<string, unknown>[] } {
  const g = rng(42);
  const orders: OrderFact[] = [];
  const rows: Record<string, unknown>[] = [];
  let seq = 0;
  const add = (o: Omit<OrderFact, 'order_id'>, id = `o${++seq}`) => {
    const full = { ...o, order_id: id };
    orders.push(full);
    rows.push(orderRow(STORE, full));
    return full;
  };
  for (let c = 1; c <= 40; c++) {
    const customer = `c${String(c).padStart(2, '0')}`;
    // Most customers buy once (frequency ties), some often.
    const n = g.chance(0.5) ? 1 : g.int(2, 7);
    for (let k = 0; k < n; k++) {
      const created = AS_OF - g.int(0, 400) * DAY - g.int(0, 86_399) * 1000;
      const net = BigInt(g.int(500, 40_000)) * 100n;
      const status = g.chance(0.1) ? 'cancelled' : g.pick(['paid', 'delivered', 'returned', 'completed']);
      const refunded = status === 'returned' ? (net * BigInt(g.int(10, 100))) / 100n : 0n;
      add({ customer_id: customer, order_kind: 'sale', status, created_at: created, net, refunded });
    }
    // Refund orders (cancellation invoices: negative net), as the online-retail format stores them.
    if (g.chance(0.2)) add({ customer_id: customer, order_kind: 'refund', status: 'refunded', created_at: AS_OF - g.int(1, 100) * DAY, net: -BigInt(g.int(100, 5000)) * 100n });
  }
  // Guests: never segmented.
  for (let k = 0; k < 6; k++) add({ customer_id: '', order_kind: 'sale', status: 'paid', created_at: AS_OF - k * DAY, net: 990_000n });
  // After asOf: ignored.
  add({ customer_id: 'c01', order_kind: 'sale', status: 'paid', created_at: AS_OF + 2 * DAY, net: 10_000_000n });
  // Only cancelled / only refund orders: not a segmented customer.
  add({ customer_id: 'x-cancelled', order_kind: 'sale', status: 'cancelled', created_at: AS_OF - 3 * DAY, net: 50_000n });
  add({ customer_id: 'x-refund', order_kind: 'refund', status: 'refunded', created_at: AS_OF - 3 * DAY, net: -50_000n });
  // Store-local day: 03:00 UTC on the 30th is the 29th in New York → recency 1, not 0.
  add({ customer_id: 'tz', order_kind: 'sale', status: 'paid', created_at: Date.parse('2024-06-30T03:00:00Z'), net: 1_000_000n });
  // Corrected order: an older version with another amount is superseded.
  const corrected = add({ customer_id: 'c02', order_kind: 'sale', status: 'paid', created_at: AS_OF - 5 * DAY, net: 777_700n });
  rows.push(orderRow(STORE, { ...corrected, net: 1n }, 0));
  // Moved order: the old day's row is tombstoned, the new day's row counts.
  const moved = add({ customer_id: 'c03', order_kind: 'sale', status: 'paid', created_at: AS_OF - 2 * DAY, net: 123_400n });
  rows.push(orderRow(STORE, { ...moved, created_at: AS_OF - 300 * DAY }, 1), orderRow(STORE, { ...moved, created_at: AS_OF - 300 * DAY }, 2, 1));
  // Deleted order: only its tombstone is current; customer x-deleted has nothing left.
  rows.push(orderRow(STORE, { order_id: 'gone', customer_id: 'x-deleted', order_kind: 'sale', status: 'paid', created_at: AS_OF - DAY, net: 100n }, 1));
  rows.push(orderRow(STORE, { order_id: 'gone', customer_id: 'x-deleted', order_kind: 'sale', status: 'paid', created_at: AS_OF - DAY, net: 100n }, 2, 1));
  return { orders, rows };
}

async function checkAgainst(expected: Map<string, Expected>, storeId = STORE) {
  const ids = [...expected.keys(), '', 'x-cancelled', 'x-refund', 'x-deleted', 'nobody'];
  const got = await segmentsOfCustomers(wh, { storeId, customerIds: ids });
  assert.equal(got.size, expected.size, 'exactly the customers with a counted order are segmented (no guests)');
  for (const [id, e] of expected) {
    assert.deepEqual(got.get(id), { segment: e.segment, r: e.r, f: e.f, m: e.m }, `customer ${id}`);
  }
  // Stored recency/frequency/monetary of each customer, from the current result.
  const rows = await wh.query<{ customer_id: string; recency_days: number; frequency: number; monetary: string }>(
    `SELECT customer_id, recency_days, frequency, toString(monetary) AS monetary FROM customer_segments
      WHERE store_id = {s:String} AND result_id = (SELECT result_id FROM analytics_current_results FINAL WHERE store_id = {s:String} AND output = 'segments')`,
    { s: storeId },
  );
  assert.equal(rows.length, expected.size, 'the current result has one row per customer');
  for (const r of rows) {
    const e = expected.get(r.customer_id)!;
    assert.equal(Number(r.recency_days), e.recency, `recency of ${r.customer_id}`);
    assert.equal(Number(r.frequency), e.frequency, `frequency of ${r.customer_id}`);
    assert.equal(units(r.monetary), e.monetary, `monetary of ${r.customer_id}`);
  }
  // Per-segment summary.
  const summary = await customerSegments(wh, { storeId });
  assert.deepEqual(summary.map((s) => s.segment), ORDERED);
  for (const s of summary) {
    const members = [...expected.values()].filter((e) => e.segment === s.segment);
    assert.equal(s.customers, members.length, `${s.segment} count`);
    assert.ok(Math.abs(s.share - members.length / expected.size) < 1e-12, `${s.segment} share`);
    assert.ok(sameMoney(s.monetary, money(members.reduce((a, e) => a + e.monetary, 0n))), `${s.segment} monetary ${s.monetary}`);
    const avg = (f: (e: Expected) => number) => (members.length ? members.reduce((a, e) => a + f(e), 0) / members.length : 0);
    assert.ok(Math.abs(s.avgRecencyDays - avg((e) => e.recency)) < 1e-9, `${s.segment} avg recency`);
    assert.ok(Math.abs(s.avgFrequency - avg((e) => e.frequency)) < 1e-9, `${s.segment} avg frequency`);
  }
}

const fx = fixture();

test('RFM scores and segments equal a JS computation: ties, refunds, cancellations, guests, tz, corrections, tombstones', async () => {
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, version: 1 }]);
  await wh.insert('fact_orders', fx.rows);
  // Another store's customers must not influence this store's quintiles.
  await wh.insert('fact_orders', [orderRow(OTHER, { order_id: 'z1', customer_id: 'c01', order_kind: 'sale', status: 'paid', created_at: AS_OF, net: 10n ** 12n })]);

  assert.deepEqual(await customerSegments(wh, { storeId: STORE }), [], 'no result before the first run');
  const expected = expectedRfm(fx.orders, AS_OF, TZ);
  assert.ok(expected.size >= 40, 'fixture has the segmented customers');
  assert.ok(new Set([...expected.values()].map((e) => e.segment)).size >= 5, 'fixture spreads over several segments');
  assert.equal(expected.get('tz')!.recency, 1);

  const r = await runSegments(wh, { storeId: STORE, runId: 'run-1', asOf: new Date(AS_OF) });
  assert.equal(r.rows, expected.size);
  await checkAgainst(expected);
  const other = await segmentsOfCustomers(wh, { storeId: OTHER, customerIds: ['c01'] });
  assert.equal(other.size, 0, 'the other store was not computed');
});

test('a rerun replaces the result; a retried run id does not double rows; stale results are cleaned up', async () => {
  // New facts: a lost customer comes back, a customer's orders are all deleted, a big refund.
  const first = expectedRfm(fx.orders, AS_OF, TZ);
  const lost = [...first.entries()].find(([, e]) => e.segment === 'Lost' || e.segment === 'Hibernating')![0];
  const victim = [...first.keys()].find((id) => id !== lost && id.startsWith('c'))!;
  const later = AS_OF + 10 * DAY;
  const next = fx.orders.filter((o) => o.customer_id !== victim);
  const added: OrderFact[] = [
    { order_id: 'n1', customer_id: lost, order_kind: 'sale', status: 'delivered', created_at: later - DAY, net: 5_000_000n },
    { order_id: 'n2', customer_id: lost, order_kind: 'sale', status: 'paid', created_at: later - 2 * DAY, net: 4_000_000n },
    { order_id: 'n3', customer_id: 'c05', order_kind: 'refund', status: 'refunded', created_at: later - DAY, net: -3_000_000n },
  ];
  next.push(...added);
  await wh.insert('fact_orders', added.map((o) => orderRow(STORE, o)));
  await wh.insert('fact_orders', fx.orders.filter((o) => o.customer_id === victim).map((o) => orderRow(STORE, o, 5, 1)));
  // A leftover of an old run, computed long ago, that no reader points to.
  await wh.insert('customer_segments', [
    { store_id: STORE, result_id: 'ancient', run_id: 'old', customer_id: 'c01', as_of_date: '2020-01-01', last_order_at: chTs(AS_OF), recency_days: 0, frequency: 1, monetary: '1', r_score: 1, f_score: 1, m_score: 1, fm_score: 1, segment: 'Lost', computed_at: chTs(Date.now() - 3 * 3600_000) },
  ]);

  const expected = expectedRfm(next, later, TZ);
  assert.notEqual(expected.get(lost)!.segment, first.get(lost)!.segment, 'the returning customer changes segment');
  assert.equal(expected.has(victim), false);
  await runSegments(wh, { storeId: STORE, runId: 'run-2', asOf: new Date(later).toISOString() });
  await runSegments(wh, { storeId: STORE, runId: 'run-2', asOf: later });
  await checkAgainst(expected);

  const results = await wh.query<{ result_id: string; run_id: string; n: string }>(
    `SELECT result_id, run_id, count() AS n FROM customer_segments WHERE store_id = {s:String} GROUP BY result_id, run_id ORDER BY min(computed_at)`,
    { s: STORE },
  );
  assert.ok(!results.some((r) => r.result_id === 'ancient'), 'a stale result is deleted');
  assert.ok(results.length <= 3, 'superseded results do not pile up beyond the grace period');
  assert.ok(results.every((r) => r.run_id !== 'old'));
});
