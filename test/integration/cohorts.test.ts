import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { rebuildCohorts } from '../../src/analytics/cohorts.js';
import { rebuildRollups } from '../../src/analytics/rollups.js';
import { retentionCohorts, type Cohort } from '../../src/warehouse/cohorts.queries.js';
import { tempWarehouse } from '../support/warehouse.js';
import { firstPurchases, load, localDate, periodOf, s4, u, type FxOrder, type Shop } from '../support/sales-fixture.js';

let wh: Warehouse;
const TZ = 'Europe/Berlin';
const STORE = 'cohort-shop';

/** Deterministic small shop: 40 customers and guests over Jan–Jun 2024, with cancellations and refund orders. */
function generate(): FxOrder[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const orders: FxOrder[] = [];
  let n = 0;
  const start = Date.parse('2024-01-01T00:00:00Z');
  for (let c = 1; c <= 40; c++) {
    const k = 1 + Math.floor(rnd() * 5);
    let t = start + Math.floor(rnd() * 120) * 86_400_000;
    for (let i = 0; i < k; i++) {
      t += Math.floor(rnd() * 30 * 86_400_000);
      const r = rnd();
      const net = `${10 + Math.floor(rnd() * 90)}.${String(Math.floor(rnd() * 100)).padStart(2, '0')}`;
      const created = new Date(t).toISOString();
      if (r < 0.1) {
        orders.push({ order_id: `r${++n}`, order_kind: 'refund', customer_id: `c${c}`, status: 'refunded', created_at: created, channel: 'web', country: 'DE', gross: `-${net}`, net: `-${net}`, refunded: net });
      } else {
        orders.push({
          order_id: `o${++n}`, customer_id: r < 0.2 ? '' : `c${c}`, status: r < 0.12 || (r >= 0.2 && r < 0.3) ? 'cancelled' : 'paid', created_at: created, channel: 'web', country: 'DE',
          gross: net, net, refunded: r > 0.9 ? '5.00' : '0',
        });
      }
    }
  }
  // Timezone edges: 31 Jan 23:30 UTC is 1 Feb in Berlin (February cohort); Sunday 23:30 UTC is Monday (next week).
  orders.push({ order_id: 'edge1', customer_id: 'e1', status: 'paid', created_at: '2024-01-31T23:30:00Z', channel: 'web', country: 'DE', gross: '10.00', net: '10.00' });
  orders.push({ order_id: 'edge2', customer_id: 'e2', status: 'paid', created_at: '2024-03-03T23:30:00Z', channel: 'web', country: 'DE', gross: '12.00', net: '12.00' });
  // A customer whose only order is cancelled is in no cohort.
  orders.push({ order_id: 'edge3', customer_id: 'e3', status: 'cancelled', created_at: '2024-02-10T10:00:00Z', channel: 'web', country: 'DE', gross: '12.00', net: '12.00' });
  // Alone in its month and week, until cancelled by a correction.
  orders.push({ order_id: 'edge4', customer_id: 'e4', status: 'paid', created_at: '2024-08-15T10:00:00Z', channel: 'web', country: 'DE', gross: '30.00', net: '30.00' });
  return orders;
}

let orders: FxOrder[];

/** Independent retention matrix over the fixture orders (JS reduce). */
function reference(list: FxOrder[], g: 'MONTH' | 'WEEK', from: string, to: string, periods: number): Cohort[] {
  const shop: Shop = { tz: TZ, orders: list, items: [], payments: [], products: [] };
  const first = firstPurchases(shop);
  const idx = (startDay: string, day: string) =>
    g === 'MONTH'
      ? (Number(day.slice(0, 4)) - Number(startDay.slice(0, 4))) * 12 + Number(day.slice(5, 7)) - Number(startDay.slice(5, 7))
      : Math.round((Date.parse(periodOf(day, 'WEEK')) - Date.parse(startDay)) / (7 * 86_400_000));
  const asOf = list.map((o) => localDate(o.created_at, TZ)).sort().at(-1)!;
  const cohorts = new Map<string, { members: Set<string>; active: Map<number, Set<string>>; revenue: Map<number, bigint> }>();
  for (const [cust, day] of first) {
    const start = periodOf(day, g);
    if (!cohorts.has(start)) cohorts.set(start, { members: new Set(), active: new Map(), revenue: new Map() });
    cohorts.get(start)!.members.add(cust);
  }
  for (const o of list) {
    if (!o.customer_id || !first.has(o.customer_id)) continue;
    const day = localDate(o.created_at, TZ);
    const fd = first.get(o.customer_id)!;
    if (day < fd) continue;
    const c = cohorts.get(periodOf(fd, g))!;
    const p = idx(periodOf(fd, g), day);
    const sale = (o.order_kind ?? 'sale') === 'sale';
    const booked = sale && o.status !== 'cancelled';
    const rev = booked ? u(o.net) - u(o.refunded) : !sale ? u(o.net) : 0n;
    if (booked) {
      if (!c.active.has(p)) c.active.set(p, new Set());
      c.active.get(p)!.add(o.customer_id);
    }
    c.revenue.set(p, (c.revenue.get(p) ?? 0n) + rev);
  }
  const round = (a: bigint, n: number) => {
    const q = (2n * (a < 0n ? -a : a) + BigInt(n)) / (2n * BigInt(n));
    return a < 0n ? -q : q;
  };
  return [...cohorts.entries()]
    .filter(([start]) => start >= from && start <= to)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([start, c]) => {
      const size = c.members.size;
      const last = Math.min(periods - 1, idx(start, asOf));
      let cum = 0n;
      const ps = [];
      for (let p = 0; p <= last; p++) {
        const rev = c.revenue.get(p) ?? 0n;
        cum += rev;
        const customers = c.active.get(p)?.size ?? 0;
        ps.push({ period: p, customers, rate: customers / size, revenue: s4(rev), cumulativeRevenuePerCustomer: s4(round(cum, size)) });
      }
      return { cohortStart: start, size, periods: ps };
    });
}

tempWarehouse(async (w) => {
  wh = w;
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, country: 'DE', currency: 'EUR', version: 1 }]);
  orders = generate();
  await load(wh, STORE, 'orders', orders, TZ);
});

test('monthly and weekly retention, revenue and LTV match a JS reduce over the orders; guests excluded', async () => {
  assert.ok(orders.some((o) => o.customer_id === '' && o.status !== 'cancelled'), 'the fixture has guest purchases');
  assert.ok(orders.some((o) => o.order_kind === 'refund') && orders.some((o) => o.status === 'cancelled'));
  const r = await rebuildCohorts(wh, { storeId: STORE });
  assert.ok(r.rows > 0);
  for (const [g, periods] of [['MONTH', 12], ['WEEK', 30], ['MONTH', 2]] as const) {
    const got = await retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: g, periods });
    assert.deepEqual(got, reference(orders, g, '2024-01-01', '2024-12-31', periods), `${g} × ${periods}`);
  }
  const some = await retentionCohorts(wh, { storeId: STORE, range: { from: '2024-02-01', to: '2024-03-31' }, granularity: 'MONTH', periods: 6 });
  assert.deepEqual(some.map((c) => c.cohortStart), ['2024-02-01', '2024-03-01']);
  assert.deepEqual(some, reference(orders, 'MONTH', '2024-02-01', '2024-03-31', 6));
  // Period 0 holds the whole cohort; sizes add up to the registered customers with a purchase.
  const all = await retentionCohorts(wh, { storeId: STORE, range: { from: '2000-01-01', to: '2099-12-31' }, granularity: 'WEEK', periods: 1 });
  for (const c of all) assert.equal(c.periods[0]!.customers, c.size);
  const buyers = firstPurchases({ tz: TZ, orders, items: [], payments: [], products: [] });
  assert.equal(all.reduce((s, c) => s + c.size, 0), buyers.size);
  assert.ok(!buyers.has('') && !buyers.has('e3'));
  // Timezone edges: e1 (31 Jan 23:30 UTC) is in the February cohort, e2 (Sunday 23:30 UTC) in the week of Monday 4 March.
  assert.equal(periodOf(buyers.get('e1')!, 'MONTH'), '2024-02-01');
  assert.equal(periodOf(buyers.get('e2')!, 'WEEK'), '2024-03-04');
});

test('cohorts agree with plain SQL over the facts and with the rollups\' first purchases', async () => {
  await rebuildRollups(wh, { storeId: STORE });
  const sql = await wh.query<{ m: string; n: string }>(
    `SELECT toString(toStartOfMonth(f)) AS m, count() AS n FROM (
       SELECT customer_id, min(toDate(created_at, 'Europe/Berlin')) AS f FROM fact_orders FINAL
       WHERE store_id = {s:String} AND customer_id != '' AND order_kind = 'sale' AND status != 'cancelled' GROUP BY customer_id)
     GROUP BY m ORDER BY m`,
    { s: STORE },
  );
  const got = await retentionCohorts(wh, { storeId: STORE, range: { from: '2000-01-01', to: '2099-12-31' }, granularity: 'MONTH', periods: 1 });
  assert.deepEqual(got.map((c) => ({ m: c.cohortStart, n: String(c.size) })), sql);
  const fp = await wh.query<{ m: string; n: string }>(
    `SELECT toString(toStartOfMonth(first_date)) AS m, count() AS n FROM gold_customer_first_purchase FINAL WHERE store_id = {s:String} GROUP BY m ORDER BY m`,
    { s: STORE },
  );
  assert.deepEqual(fp, sql);
});

test('a rebuild after corrections replaces the matrix (a cohort that lost its only customer disappears)', async () => {
  const monthsBefore = (await retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: 'MONTH', periods: 1 })).map((c) => c.cohortStart);
  assert.ok(monthsBefore.includes('2024-08-01'));
  const changed: FxOrder[] = [
    { ...orders.find((o) => o.order_id === 'edge4')!, status: 'cancelled' },
    { ...orders.find((o) => o.order_id === 'edge2')!, status: 'cancelled' },
    { ...orders.find((o) => o.order_id === 'edge3')!, status: 'paid' },
  ];
  await load(wh, STORE, 'orders', changed, TZ);
  orders = orders.map((o) => changed.find((c) => c.order_id === o.order_id) ?? o);
  await rebuildCohorts(wh, { storeId: STORE });
  for (const g of ['MONTH', 'WEEK'] as const) {
    const got = await retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: g, periods: 40 });
    assert.deepEqual(got, reference(orders, g, '2024-01-01', '2024-12-31', 40), g);
  }
  const monthsAfter = (await retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: 'MONTH', periods: 1 })).map((c) => c.cohortStart);
  assert.deepEqual(monthsAfter, monthsBefore.filter((m) => m !== '2024-08-01'));
  const before = await wh.query('SELECT * EXCEPT (version) FROM gold_cohorts FINAL WHERE store_id = {s:String} ORDER BY ALL', { s: STORE });
  await rebuildCohorts(wh, { storeId: STORE });
  const again = await wh.query('SELECT * EXCEPT (version) FROM gold_cohorts FINAL WHERE store_id = {s:String} ORDER BY ALL', { s: STORE });
  assert.deepEqual(again, before, 'a repeated rebuild changes nothing');
});

test('bad arguments are refused with the argument named', async () => {
  await assert.rejects(retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: 'DAY' as 'MONTH', periods: 3 }), /granularity/);
  await assert.rejects(retentionCohorts(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-12-31' }, granularity: 'MONTH', periods: 0 }), /periods/);
});
