import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { rebuildRollups } from '../../src/analytics/rollups.js';
import { categoryBreakdown, countryBreakdown, kpis, salesSeries, topProducts, type SalesFilter } from '../../src/warehouse/sales.queries.js';
import { tempWarehouse } from '../support/warehouse.js';
import {
  filterLines, load, localDate, periodOf, refGroups, refKpis, refLines, u, s4,
  type FxItem, type FxOrder, type FxPayment, type FxProduct, type RefFilter, type Shop,
} from '../support/sales-fixture.js';

let wh: Warehouse;
const TZ = 'Europe/Berlin'; // UTC+1 in winter
const STORE = 'shop1';

const products: FxProduct[] = [
  { product_id: 'P1', sku: 'SKU-1', name: 'Shirt', category: 'Apparel' },
  { product_id: 'P2', sku: 'SKU-2', name: 'Novel', category: 'Books' },
  { product_id: 'P3', sku: 'SKU-3', name: 'Jacket', category: 'Apparel' },
  { product_id: 'POST', sku: 'POST', name: 'Postage', category: 'non-merchandise' },
];
const ord = (o: Partial<FxOrder> & Pick<FxOrder, 'order_id' | 'customer_id' | 'created_at' | 'net'>): FxOrder => ({
  status: 'paid', channel: 'web', country: 'DE', gross: o.net, discount: '0', shipping: '0', tax: '0', refunded: '0', ...o,
});
const item = (order_id: string, line_number: number, product_id: string, quantity: number, unit_price: string, line_amount: string, discount = '0'): FxItem => ({
  order_id, line_number, product_id, quantity, unit_price, discount, line_amount,
});

// January: c1 new on 01-10; c2's order at 23:30 UTC lands on 01-11 local; a guest; a cancelled order.
const janOrders: FxOrder[] = [
  ord({ order_id: 'o1', customer_id: 'c1', created_at: '2024-01-10T10:00:00Z', gross: '100.00', discount: '10.00', shipping: '5.00', net: '95.00' }),
  ord({ order_id: 'o2', customer_id: 'c2', created_at: '2024-01-10T23:30:00Z', country: 'FR', channel: 'mobile', net: '50.00', refunded: '20.00', status: 'returned',
    shipped_at: '2024-01-11T10:00:00Z', delivered_at: '2024-01-12T10:00:00Z', returned_at: '2024-01-14T10:00:00Z' }),
  ord({ order_id: 'o3', customer_id: '', created_at: '2024-01-11T09:00:00Z', net: '35.00' }),
  ord({ order_id: 'o4', customer_id: 'c1', created_at: '2024-01-12T12:00:00Z', net: '30.00', status: 'cancelled' }),
];
const janItems: FxItem[] = [
  item('o1', 1, 'P1', 2, '30.00', '60.00'), item('o1', 2, 'P2', 1, '42.00', '40.00', '2.00'),
  item('o2', 1, 'P3', 1, '50.00', '50.00'),
  item('o3', 1, 'P1', 1, '30.00', '30.00'), item('o3', 2, 'POST', 1, '5.00', '5.00'),
  item('o4', 1, 'P2', 3, '10.00', '30.00'),
];
// February: c1 returns (3 lines, a refund that does not split evenly), c3 new, a refund order for c2.
const febOrders: FxOrder[] = [
  ord({ order_id: 'o5', customer_id: 'c1', created_at: '2024-02-05T08:00:00Z', country: 'FR', net: '100.00', refunded: '10.01' }),
  ord({ order_id: 'o6', customer_id: 'c3', created_at: '2024-02-05T20:00:00Z', channel: 'mobile', net: '50.00' }),
  ord({ order_id: 'o7', order_kind: 'refund', customer_id: 'c2', created_at: '2024-02-06T10:00:00Z', country: 'FR', gross: '-50.00', net: '-50.00', refunded: '50.00', status: 'refunded' }),
];
const febItems: FxItem[] = [
  item('o5', 1, 'P1', 1, '33.33', '33.33'), item('o5', 2, 'P2', 1, '33.33', '33.33'), item('o5', 3, 'P3', 1, '33.34', '33.34'),
  item('o6', 1, 'P3', 2, '25.00', '50.00'),
  item('o7', 1, 'P3', -1, '50.00', '-50.00'),
];
const payments: FxPayment[] = [
  { payment_id: 'pay1', order_id: 'o1', method: 'card', amount: '95.00', status: 'captured', paid_at: '2024-01-10T10:01:00Z' },
  { payment_id: 'pay2', order_id: 'o2', method: 'paypal', amount: '50.00', status: 'captured', paid_at: '2024-01-10T23:31:00Z' },
  { payment_id: 'pay3', order_id: 'o3', method: 'bank_transfer', amount: '35.00', status: 'pending', paid_at: '2024-01-11T09:00:00Z' },
  { payment_id: 'pay5a', order_id: 'o5', method: 'gift_card', amount: '30.00', status: 'captured', paid_at: '2024-02-05T08:01:00Z' },
  { payment_id: 'pay5b', order_id: 'o5', method: 'card', amount: '70.00', status: 'captured', paid_at: '2024-02-05T08:01:00Z' },
];
// Later: a late order of c3 in January (c3 becomes new on 01-05, no longer on 02-05), and c2's
// order o2 corrected: moved to 01-20 and to Belgium.
const lateOrder = ord({ order_id: 'o0', customer_id: 'c3', created_at: '2024-01-05T12:00:00Z', net: '20.00' });
const lateItems: FxItem[] = [item('o0', 1, 'P2', 2, '10.00', '20.00')];
const o2Corrected: FxOrder = { ...janOrders[1]!, created_at: '2024-01-20T09:00:00Z', country: 'BE',
  shipped_at: '2024-01-20T10:00:00Z', delivered_at: '2024-01-21T10:00:00Z', returned_at: '2024-01-23T10:00:00Z' };

let shop: Shop;
const lines = () => refLines(shop);
const ALL = { from: '2024-01-01', to: '2024-03-31' };

/** Every gold row of the store, states merged to counts, for comparing two rebuilds. */
async function snapshot(store = STORE) {
  const states = `uniqExactMerge(customers_state) AS c, uniqExactMerge(new_customers_state) AS nc`;
  const lineStates = `uniqExactMerge(orders_state) AS o, uniqExactMerge(cancelled_orders_state) AS co, uniqExactMerge(returned_orders_state) AS ro, ${states}`;
  const money = `toString(gross_revenue) AS g, toString(refunds) AS r, toString(net_revenue) AS n, toString(discounts) AS di, items, units,
                 toString(cancelled_value) AS cv, toString(returned_value) AS rv`;
  const daily = await wh.query(
    `SELECT toString(date) AS d, country, channel, payment_method, ${money}, orders, cancelled_orders, returned_orders, ${states}
     FROM gold_sales_daily FINAL WHERE store_id = {s:String} GROUP BY ALL ORDER BY ALL`, { s: store });
  const category = await wh.query(
    `SELECT toString(date) AS d, country, channel, category, ${money}, ${lineStates}
     FROM gold_sales_category_daily FINAL WHERE store_id = {s:String} GROUP BY ALL ORDER BY ALL`, { s: store });
  const product = await wh.query(
    `SELECT toString(date) AS d, category, product_id, ${money}, ${lineStates}
     FROM gold_sales_product_daily FINAL WHERE store_id = {s:String} GROUP BY ALL ORDER BY ALL`, { s: store });
  const pays = await wh.query(
    `SELECT toString(date) AS d, method, status, payments, toString(amount) AS a, uniqExactMerge(orders_state) AS o
     FROM gold_payments_daily FINAL WHERE store_id = {s:String} GROUP BY ALL ORDER BY ALL`, { s: store });
  const first = await wh.query(
    'SELECT customer_id, toString(first_date) AS f FROM gold_customer_first_purchase FINAL WHERE store_id = {s:String} ORDER BY customer_id', { s: store });
  return { daily, category, product, pays, first };
}

/** Store-local days around the UTC days a batch touched (a UTC day spans two local days). */
function localDaysOf(utcDays: string[]): { from: string; to: string } | null {
  if (utcDays.length === 0) return null;
  const shift = (d: string, n: number) => new Date(Date.parse(d + 'T00:00:00Z') + n * 86_400_000).toISOString().slice(0, 10);
  return { from: shift(utcDays[0]!, -1), to: shift(utcDays[utcDays.length - 1]!, 1) };
}

tempWarehouse(async (w) => {
  wh = w;
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, country: 'DE', currency: 'EUR', version: 1 }]);
  await load(wh, STORE, 'products', products, TZ);
});

test('late, repeated and corrected batches rebuilt by affected days equal a full rebuild', async () => {
  // Out of order: February first, each batch followed by a rebuild of the days it touched.
  const batches: Array<[import('../../src/ingest/validate/entities.js').Entity, object[]]> = [
    ['orders', febOrders], ['order_items', febItems], ['payments', payments.slice(3)],
    ['orders', janOrders], ['order_items', janItems], ['payments', payments.slice(0, 3)],
    ['orders', janOrders], // repeated: all unchanged
    ['orders', [lateOrder]], ['order_items', lateItems], // late data for an earlier day
    ['orders', [o2Corrected]], // corrected: another day and country
  ];
  for (const [entity, records] of batches) {
    const r = await load(wh, STORE, entity, records, TZ);
    const scope = localDaysOf(r.affected.days);
    if (scope) await rebuildRollups(wh, { storeId: STORE, ...scope });
  }
  shop = {
    tz: TZ, products, payments,
    orders: [lateOrder, janOrders[0]!, o2Corrected, ...janOrders.slice(2), ...febOrders],
    items: [...lateItems, ...janItems, ...febItems],
  };
  const incremental = await snapshot();
  const full = await rebuildRollups(wh, { storeId: STORE });
  assert.ok(full.rows > 0);
  assert.deepEqual(await snapshot(), incremental, 'incremental rebuilds equal a full rebuild');
  // c3's late January order made c3 new on 01-05, no longer on 02-05 (a day not in the late batch's scope).
  assert.deepEqual(incremental.first, [
    { customer_id: 'c1', f: '2024-01-10' }, { customer_id: 'c2', f: '2024-01-20' }, { customer_id: 'c3', f: '2024-01-05' },
  ]);
  const feb5 = await kpis(wh, { storeId: STORE, range: { from: '2024-02-05', to: '2024-02-05' } });
  assert.equal(feb5.newCustomers, 0);
  assert.equal(feb5.returningCustomers, 2);
});

test('a corrected order that moved day and country leaves no stale group', async () => {
  const groups = await salesSeries(wh, { storeId: STORE, range: { from: '2024-01-10', to: '2024-01-21' }, granularity: 'DAY', groupBy: ['COUNTRY'] });
  assert.deepEqual(groups.map((g) => [g.periodStart, g.country, g.orders]), [
    ['2024-01-10', 'DE', 1], ['2024-01-11', 'DE', 1], ['2024-01-12', 'DE', 0], ['2024-01-20', 'BE', 1],
  ]);
  // And the same after a day-range rebuild of just the old day: the FR row of 01-11 stays gone.
  await rebuildRollups(wh, { storeId: STORE, from: '2024-01-11', to: '2024-01-11' });
  const fr = await wh.query("SELECT count() AS n FROM gold_sales_daily FINAL WHERE store_id = {s:String} AND country = 'FR' AND date < '2024-02-01'", { s: STORE });
  assert.equal(Number((fr[0] as { n: string }).n), 0);
  // Rebuilding only o2's new day still finds its line, stored under the old day.
  await rebuildRollups(wh, { storeId: STORE, from: '2024-01-20', to: '2024-01-20' });
  const jan20 = await salesSeries(wh, { storeId: STORE, range: { from: '2024-01-20', to: '2024-01-20' }, granularity: 'DAY', groupBy: ['PRODUCT'] });
  assert.deepEqual(jan20.map((p) => [p.productId, p.units, p.netRevenue]), [['P3', 1, '30.0000']]);
});

test('a day-range rebuild removes a group whose facts disappeared', async () => {
  // Cancel o3 (the guest order): its DE/bank_transfer group of 01-11 loses its orders and revenue.
  const o3Cancelled = { ...janOrders[2]!, status: 'cancelled' };
  await load(wh, STORE, 'orders', [o3Cancelled], TZ);
  await rebuildRollups(wh, { storeId: STORE, from: '2024-01-11', to: '2024-01-11' });
  shop.orders = shop.orders.map((o) => (o.order_id === 'o3' ? o3Cancelled : o));
  const k = await kpis(wh, { storeId: STORE, range: { from: '2024-01-11', to: '2024-01-11' } });
  assert.deepEqual(k, refKpis(filterLines(lines(), '2024-01-11', '2024-01-11')));
  assert.equal(k.orders, 0);
  assert.equal(k.cancelledOrders, 1);
  // Delete a whole group: o6's line is re-sent for a book; the DE/mobile/Apparel group of 02-05 disappears.
  const groups = () => wh.query<{ country: string; channel: string; category: string }>(
    "SELECT country, channel, category FROM gold_sales_category_daily FINAL WHERE store_id = {s:String} AND date = '2024-02-05' ORDER BY ALL", { s: STORE });
  assert.deepEqual(await groups(), [
    { country: 'DE', channel: 'mobile', category: 'Apparel' }, { country: 'FR', channel: 'web', category: 'Apparel' }, { country: 'FR', channel: 'web', category: 'Books' },
  ]);
  await load(wh, STORE, 'order_items', [item('o6', 1, 'P2', 2, '25.00', '50.00')], TZ);
  await rebuildRollups(wh, { storeId: STORE, from: '2024-02-05', to: '2024-02-05' });
  shop.items = shop.items.map((i) => (i.order_id === 'o6' ? item('o6', 1, 'P2', 2, '25.00', '50.00') : i));
  assert.deepEqual(await groups(), [
    { country: 'DE', channel: 'mobile', category: 'Books' }, { country: 'FR', channel: 'web', category: 'Apparel' }, { country: 'FR', channel: 'web', category: 'Books' },
  ]);
  const before = await snapshot();
  await rebuildRollups(wh, { storeId: STORE });
  assert.deepEqual(await snapshot(), before);
});

test('KPIs, filters and breakdowns match a JS reduce over the fixture', async () => {
  const filters: SalesFilter[] = [
    {}, { countries: ['FR'] }, { channels: ['mobile'] }, { categories: ['Apparel'] }, { productIds: ['P2', 'POST'] },
    { countries: ['DE', 'BE'], categories: ['Books', 'Apparel'] }, { countries: [], categories: [], channels: [], productIds: [] },
  ];
  const ranges = [ALL, { from: '2024-01-01', to: '2024-01-31' }, { from: '2024-02-05', to: '2024-02-06' }, { from: '2024-01-11', to: '2024-01-11' }];
  for (const range of ranges) {
    for (const filter of filters) {
      const got = await kpis(wh, { storeId: STORE, range, filter });
      assert.deepEqual(got, refKpis(filterLines(lines(), range.from, range.to, filter)), `kpis ${JSON.stringify(range)} ${JSON.stringify(filter)}`);
    }
  }
  const all = await kpis(wh, { storeId: STORE, range: ALL });
  // A few numbers by hand, so the model itself is checked: sales o0 20 + o1 95 + o2 50 + o5 100 + o6 50.
  assert.equal(all.grossRevenue, '315.0000');
  assert.equal(all.refunds, '80.0100'); // o2 20 + o5 10.01 + refund order o7 50
  assert.equal(all.netRevenue, '234.9900');
  assert.equal(all.orders, 5);
  assert.equal(all.customers, 3);
  assert.equal(all.averageOrderValue, '63.0000');
  const cats = await categoryBreakdown(wh, { storeId: STORE, range: ALL });
  assert.deepEqual(cats, refGroups(lines(), (l) => l.category).map((g) => ({ category: g.key, ...g.kpis })));
  // Allocated amounts add up exactly to the totals.
  assert.equal(s4(cats.reduce((s, c) => s + u(c.netRevenue), 0n)), all.netRevenue);
  const countries = await countryBreakdown(wh, { storeId: STORE, range: ALL, filter: { channels: ['web'] } });
  assert.deepEqual(countries, refGroups(filterLines(lines(), ALL.from, ALL.to, { channels: ['web'] }), (l) => l.country).map((g) => ({ country: g.key, ...g.kpis })));
});

test('net revenue, orders and customers agree with plain SQL over the fact tables', async () => {
  const sql = await wh.query<{ net: string; orders: string; customers: string }>(
    `SELECT toDecimalString(sumIf(net - refunded, booked) + sumIf(net, order_kind != 'sale'), 4) AS net,
            countIf(booked) AS orders, uniqExactIf(customer_id, booked AND customer_id != '') AS customers
     FROM (SELECT *, order_kind = 'sale' AND status != 'cancelled' AS booked FROM fact_orders FINAL WHERE store_id = {s:String})`,
    { s: STORE },
  );
  const k = await kpis(wh, { storeId: STORE, range: ALL });
  assert.equal(k.netRevenue, sql[0]!.net);
  assert.equal(k.orders, Number(sql[0]!.orders));
  assert.equal(k.customers, Number(sql[0]!.customers));
});

test('timezone: 23:30 UTC in a UTC+1 store is the next local date; HOUR series from the facts', async () => {
  assert.equal(localDate('2024-01-10T23:30:00Z', TZ), '2024-01-11');
  const o6day = await salesSeries(wh, { storeId: STORE, range: { from: '2024-02-05', to: '2024-02-05' }, granularity: 'HOUR' });
  const expected = refGroups(filterLines(lines(), '2024-02-05', '2024-02-05'), (l) => l.hourUtc);
  assert.deepEqual(o6day, expected.map((g) => ({ periodStart: g.key, ...g.kpis })));
  assert.deepEqual(o6day.map((p) => p.periodStart), ['2024-02-05T08:00:00Z', '2024-02-05T20:00:00Z']);
  const hours = await salesSeries(wh, { storeId: STORE, range: ALL, granularity: 'HOUR', groupBy: ['CATEGORY'], filter: { countries: ['DE'] } });
  const refH = refGroups(filterLines(lines(), ALL.from, ALL.to, { countries: ['DE'] }), (l) => `${l.hourUtc}\u0001${l.category}`);
  assert.deepEqual(hours, refH.map((g) => ({ periodStart: g.key.split('\u0001')[0]!, category: g.key.split('\u0001')[1]!, ...g.kpis })));
});

test('DAY, WEEK, MONTH, QUARTER and YEAR series, grouped and filtered, match the JS reduce', async () => {
  for (const granularity of ['DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR'] as const) {
    const got = await salesSeries(wh, { storeId: STORE, range: ALL, granularity });
    const ref = refGroups(lines(), (l) => periodOf(l.day, granularity));
    assert.deepEqual(got, ref.map((g) => ({ periodStart: g.key, ...g.kpis })), granularity);
  }
  const combos: Array<[('COUNTRY' | 'CATEGORY' | 'CHANNEL' | 'PAYMENT_METHOD' | 'PRODUCT')[], SalesFilter]> = [
    [['PAYMENT_METHOD'], {}], [['CHANNEL', 'COUNTRY'], { categories: ['Apparel'] }], [['PRODUCT'], { channels: ['web'] }], [['CATEGORY', 'PAYMENT_METHOD'], {}],
  ];
  const keyOf = { COUNTRY: 'country', CATEGORY: 'category', CHANNEL: 'channel', PAYMENT_METHOD: 'payment_method', PRODUCT: 'product_id' } as const;
  const outKey = { COUNTRY: 'country', CATEGORY: 'category', CHANNEL: 'channel', PAYMENT_METHOD: 'paymentMethod', PRODUCT: 'productId' } as const;
  for (const [groupBy, filter] of combos) {
    const got = await salesSeries(wh, { storeId: STORE, range: ALL, granularity: 'MONTH', groupBy, filter });
    const ref = refGroups(filterLines(lines(), ALL.from, ALL.to, filter), (l) => [periodOf(l.day, 'MONTH'), ...groupBy.map((g) => l[keyOf[g]])].join('\u0001'));
    const want = ref.map((g) => {
      const [p, ...ks] = g.key.split('\u0001');
      return { periodStart: p!, ...Object.fromEntries(groupBy.map((gb, i) => [outKey[gb], ks[i]])), ...g.kpis };
    });
    assert.deepEqual(got, want, `${groupBy.join('+')} ${JSON.stringify(filter)}`);
  }
  const pm = await salesSeries(wh, { storeId: STORE, range: { from: '2024-02-01', to: '2024-02-29' }, granularity: 'MONTH', groupBy: ['PAYMENT_METHOD'] });
  assert.deepEqual(pm.map((p) => p.paymentMethod), ['card', 'none'], 'o5 paid mostly by card; o6 and the refund order have no payment');
});

test('new vs returning customers and guests', async () => {
  const jan = await kpis(wh, { storeId: STORE, range: { from: '2024-01-01', to: '2024-01-31' } });
  // o0 (c3, new 01-05), o1 (c1, new 01-10), o2 (c2, new 01-20); the guest's o3 is cancelled now.
  assert.deepEqual([jan.customers, jan.newCustomers, jan.returningCustomers], [3, 3, 0]);
  const feb = await kpis(wh, { storeId: STORE, range: { from: '2024-02-01', to: '2024-02-29' } });
  // c1 (o5) and c3 (o6) bought before February; c2 only has a refund order (not a purchase).
  assert.deepEqual([feb.customers, feb.newCustomers, feb.returningCustomers], [2, 0, 2]);
  // A guest order counts in orders and revenue, never in customers.
  await load(wh, STORE, 'orders', [ord({ order_id: 'g1', customer_id: '', created_at: '2024-03-01T00:30:00Z', net: '20.00' })], TZ);
  await rebuildRollups(wh, { storeId: STORE, from: '2024-03-01', to: '2024-03-01' });
  shop.orders.push(ord({ order_id: 'g1', customer_id: '', created_at: '2024-03-01T00:30:00Z', net: '20.00' }));
  const mar = await kpis(wh, { storeId: STORE, range: { from: '2024-03-01', to: '2024-03-31' } });
  assert.deepEqual([mar.orders, mar.customers, mar.newCustomers, mar.grossRevenue], [1, 0, 0, '20.0000']);
  assert.deepEqual(mar, refKpis(filterLines(lines(), '2024-03-01', '2024-03-31')));
});

test('top products: merchandise only, by net revenue (sales minus refunds) and by units', async () => {
  const ranked = (by: 'REVENUE' | 'UNITS', filter: RefFilter = {}) => {
    const merch = filterLines(lines(), ALL.from, ALL.to, filter).filter((l) => l.has_line && l.category !== 'non-merchandise');
    const per = new Map<string, { net: bigint; units: number; orders: Set<string> }>();
    for (const l of merch) {
      const p = per.get(l.product_id) ?? { net: 0n, units: 0, orders: new Set<string>() };
      p.net += l.gross - l.refund;
      if (l.booked) {
        p.units += l.quantity;
        p.orders.add(l.order_id);
      }
      per.set(l.product_id, p);
    }
    const info = new Map(products.map((p) => [p.product_id, p]));
    return [...per.entries()]
      .sort(([a, x], [b, y]) => (by === 'REVENUE' ? Number(y.net - x.net) || y.units - x.units : y.units - x.units || Number(y.net - x.net)) || (a < b ? -1 : 1))
      .map(([id, p]) => ({ productId: id, sku: info.get(id)!.sku, name: info.get(id)!.name, category: info.get(id)!.category, netRevenue: s4(p.net), units: p.units, orders: p.orders.size }));
  };
  assert.deepEqual(await topProducts(wh, { storeId: STORE, range: ALL, by: 'REVENUE', limit: 10 }), ranked('REVENUE'));
  assert.deepEqual(await topProducts(wh, { storeId: STORE, range: ALL, by: 'UNITS', limit: 2 }), ranked('UNITS').slice(0, 2));
  // A country filter is answered from the fact lines (the product rollup has no country).
  assert.deepEqual(await topProducts(wh, { storeId: STORE, range: ALL, by: 'REVENUE', limit: 10, filter: { countries: ['FR'] } }), ranked('REVENUE', { countries: ['FR'] }));
  assert.deepEqual(await topProducts(wh, { storeId: STORE, range: ALL, by: 'UNITS', limit: 10, filter: { categories: ['Books'] } }), ranked('UNITS', { categories: ['Books'] }));
  const top = await topProducts(wh, { storeId: STORE, range: ALL, by: 'REVENUE', limit: 10 });
  assert.ok(!top.some((p) => p.productId === 'POST'), 'postage is not merchandise');
  const p3 = top.find((p) => p.productId === 'P3')!;
  assert.ok(u(p3.netRevenue) < u('50.00') + u('33.34'), 'the refund order o7 is subtracted from P3');
});

test('bad arguments are refused with the argument named', async () => {
  await assert.rejects(kpis(wh, { storeId: STORE, range: { from: '2024-02-01', to: '2024-01-01' } }), /range: from/);
  await assert.rejects(kpis(wh, { storeId: STORE, range: { from: '2024-13-01', to: '2024-01-01' } }), /range.from/);
  await assert.rejects(topProducts(wh, { storeId: STORE, range: ALL, by: 'REVENUE', limit: 0 }), /limit/);
  await assert.rejects(salesSeries(wh, { storeId: STORE, range: ALL, granularity: 'DECADE' as 'DAY' }), /granularity/);
});

test("a customer whose first purchase is cancelled: rebuilding that day alone finds the next purchase in the history, as a full rebuild does", async () => {
  const S = 'shop-lost';
  await wh.insert('dim_store', [{ store_id: S, name: S, timezone: TZ, country: 'DE', currency: 'EUR', version: 1 }]);
  const first = ord({ order_id: 'l1', customer_id: 'k1', created_at: '2024-03-01T10:00:00Z', net: '10.00' });
  const next = ord({ order_id: 'l2', customer_id: 'k1', created_at: '2024-03-10T10:00:00Z', net: '20.00' });
  await load(wh, S, 'orders', [first, next], TZ);
  await load(wh, S, 'order_items', [item('l1', 1, 'P1', 1, '10.00', '10.00'), item('l2', 1, 'P1', 1, '20.00', '20.00')], TZ);
  await rebuildRollups(wh, { storeId: S });
  const newOn = async (day: string) => (await kpis(wh, { storeId: S, range: { from: day, to: day } })).newCustomers;
  assert.deepEqual([await newOn('2024-03-01'), await newOn('2024-03-10')], [1, 0]);
  // The first purchase is cancelled. The only day rebuilt is 03-01, where k1 no longer buys: its
  // first purchase is now 03-10, outside the rebuilt day, found only by reading k1's whole history.
  await load(wh, S, 'orders', [{ ...first, status: 'cancelled' }], TZ);
  const r = await rebuildRollups(wh, { storeId: S, from: '2024-03-01', to: '2024-03-01' });
  assert.deepEqual(r.days, ['2024-03-01', '2024-03-10']);
  assert.deepEqual([await newOn('2024-03-01'), await newOn('2024-03-10')], [0, 1]);
  const scoped = await snapshot(S);
  assert.deepEqual(scoped.first, [{ customer_id: 'k1', f: '2024-03-10' }]);
  await rebuildRollups(wh, { storeId: S });
  assert.deepEqual(await snapshot(S), scoped);
});
