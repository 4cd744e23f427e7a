import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runAffinity } from '../../src/analytics/affinity.js';
import { rebuildRollups } from '../../src/analytics/rollups.js';
import { frequentlyBoughtTogether, topProductsByCategory } from '../../src/warehouse/affinity.queries.js';
import { chTs, close, localDay, money, orderRow, rng, sameMoney, type OrderFact } from '../support/analytics-fixtures.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
tempWarehouse((w) => (wh = w));

const STORE = 'aff1';
const TZ = 'Europe/Berlin';
const DAY = 86_400_000;
const AS_OF = Date.parse('2024-06-30T10:00:00Z');

interface Line {
  product_id: string;
  quantity: number;
  /** Ten-thousandths per unit. */
  price: bigint;
}
interface Order extends OrderFact {
  lines: Line[];
  deleted?: boolean;
}

const PRODUCTS = Array.from({ length: 12 }, (_, i) => ({ id: `P${String(i + 1).padStart(2, '0')}`, category: ['toys', 'books', 'garden'][i % 3]! }));
const NON_MERCH = 'POST';
const UNREGISTERED = 'P99';

const lineAmount = (l: Line) => BigInt(l.quantity) * l.price;

function orderFact(o: Order): Record<string, unknown> {
  return orderRow(STORE, o, 1);
}

function itemRows(o: Order, version = 1, isDeleted = 0): Record<string, unknown>[] {
  return o.lines.map((l, i) => ({
    store_id: STORE,
    order_id: o.order_id,
    line_number: i + 1,
    product_id: l.product_id,
    created_at: chTs(o.created_at),
    quantity: l.quantity,
    unit_price: money(l.price),
    discount: '0',
    line_amount: money(lineAmount(l)),
    updated_at: chTs(o.created_at),
    batch_id: 'fixture',
    version,
    is_deleted: isDeleted,
  }));
}

let seq = 0;
function randomOrders(seed: number, n: number, from: number, to: number): Order[] {
  const g = rng(seed);
  // Skewed popularity, and two products that go together on purpose.
  const weights = PRODUCTS.map((_, i) => 12 - i);
  const pickProduct = () => {
    let r = g.int(0, weights.reduce((a, b) => a + b, 0) - 1);
    for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) < 0) return PRODUCTS[i]!.id;
    return PRODUCTS[0]!.id;
  };
  const out: Order[] = [];
  for (let k = 0; k < n; k++) {
    const lines: Line[] = [];
    const size = g.int(1, 5);
    for (let j = 0; j < size; j++) lines.push({ product_id: pickProduct(), quantity: g.int(1, 3), price: BigInt(g.int(100, 5000)) * 100n });
    if (g.chance(0.3)) lines.push({ product_id: 'P11', quantity: 1, price: 99_000n }, { product_id: 'P12', quantity: 1, price: 55_000n });
    if (g.chance(0.2)) lines.push({ product_id: NON_MERCH, quantity: 1, price: 49_900n });
    if (g.chance(0.05)) lines.push({ product_id: UNREGISTERED, quantity: 2, price: 10_000n });
    const net = lines.reduce((a, l) => a + lineAmount(l), 0n);
    out.push({
      order_id: `a${++seq}`,
      customer_id: g.chance(0.2) ? '' : `c${g.int(1, 30)}`,
      order_kind: 'sale',
      status: g.chance(0.08) ? 'cancelled' : 'delivered',
      created_at: g.int(from, to),
      net,
      lines,
    });
  }
  return out;
}

/** Hand-built orders around the random ones: refunds, edges of the window, deletions. */
function specialOrders(): Order[] {
  const refund: Order = {
    order_id: 'r1', customer_id: 'c1', order_kind: 'refund', status: 'refunded', created_at: AS_OF - 2 * DAY, net: -300_000n,
    lines: [{ product_id: 'P01', quantity: -2, price: 150_000n }],
  };
  refund.net = lineAmount(refund.lines[0]!);
  const returned: Order = {
    order_id: 'ret1', customer_id: 'c2', order_kind: 'sale', status: 'returned', created_at: AS_OF - 3 * DAY, net: 400_000n, refunded: 200_000n,
    lines: [{ product_id: 'P02', quantity: 1, price: 300_000n }, { product_id: 'P03', quantity: 1, price: 100_000n }],
  };
  const list: Order[] = [
    refund,
    returned,
    // 2024-06-01 00:30 in Berlin: the window's first day (30 days to 2024-06-30).
    { order_id: 'edge-in', customer_id: 'c3', order_kind: 'sale', status: 'paid', created_at: Date.parse('2024-05-31T22:30:00Z'), net: 0n,
      lines: [{ product_id: 'P05', quantity: 1, price: 10_000n }, { product_id: 'P07', quantity: 1, price: 10_000n }] },
    // 2024-05-31 23:30 in Berlin: one day before the window.
    { order_id: 'edge-out', customer_id: 'c3', order_kind: 'sale', status: 'paid', created_at: Date.parse('2024-05-31T21:30:00Z'), net: 0n,
      lines: [{ product_id: 'P05', quantity: 1, price: 10_000n }, { product_id: 'P07', quantity: 1, price: 10_000n }] },
    // Deleted order (tombstone): not a basket.
    { order_id: 'del1', customer_id: 'c4', order_kind: 'sale', status: 'paid', created_at: AS_OF - DAY, net: 0n, deleted: true,
      lines: [{ product_id: 'P09', quantity: 1, price: 10_000n }, { product_id: 'P10', quantity: 1, price: 10_000n }] },
  ];
  return list.map((o) => ({ ...o, net: o.net || o.lines.reduce((a, l) => a + lineAmount(l), 0n) }));
}

/** Every order written so far (its status as first written; later corrections are read back). */
const loaded: Order[] = [];

async function load(orders: Order[]) {
  loaded.push(...orders);
  await wh.insert('fact_orders', orders.map(orderFact));
  await wh.insert('fact_order_items', orders.flatMap((o) => itemRows(o)));
  const deleted = orders.filter((o) => o.deleted);
  await wh.insert('fact_orders', deleted.map((o) => orderRow(STORE, o, 2, 1)));
  await wh.insert('fact_order_items', deleted.flatMap((o) => itemRows(o, 2, 1)));
}

const categoryOf = (id: string) => (id === NON_MERCH ? 'non-merchandise' : PRODUCTS.find((p) => p.id === id)?.category ?? 'uncategorized');

interface PairStats {
  pair: number;
  a: number;
  b: number;
  n: number;
  support: number;
  confidence: number;
  lift: number;
}

/** Pair statistics by the documented definition, from the logical orders. */
function expectedPairs(orders: Order[], from: string, to: string, minPairs: number): Map<string, PairStats> {
  const baskets: Set<string>[] = [];
  for (const o of orders) {
    if (o.deleted || o.order_kind !== 'sale' || o.status === 'cancelled') continue;
    const day = localDay(o.created_at, TZ);
    if (day < from || day > to) continue;
    const basket = new Set(o.lines.filter((l) => l.quantity > 0 && categoryOf(l.product_id) !== 'non-merchandise').map((l) => l.product_id));
    if (basket.size > 0) baskets.push(basket);
  }
  const n = baskets.length;
  const count = new Map<string, number>();
  const pairs = new Map<string, number>();
  for (const b of baskets) {
    for (const x of b) {
      count.set(x, (count.get(x) ?? 0) + 1);
      for (const y of b) if (x !== y) pairs.set(`${x}>${y}`, (pairs.get(`${x}>${y}`) ?? 0) + 1);
    }
  }
  const out = new Map<string, PairStats>();
  for (const [key, pair] of pairs) {
    if (pair < minPairs) continue;
    const [x, y] = key.split('>') as [string, string];
    const a = count.get(x)!;
    const b = count.get(y)!;
    const confidence = pair / a;
    out.set(key, { pair, a, b, n, support: pair / n, confidence, lift: confidence / (b / n) });
  }
  return out;
}

async function storedPairs(windowDays: number): Promise<Map<string, PairStats>> {
  const rows = await wh.query<{ product_id: string; other_product_id: string; pair_orders: string; product_orders: string; other_orders: string; window_orders: string }>(
    `SELECT product_id, other_product_id, pair_orders, product_orders, other_orders, window_orders
       FROM product_affinity
      WHERE store_id = {s:String} AND result_id = (
        SELECT result_id FROM analytics_current_results FINAL WHERE store_id = {s:String} AND output = 'affinity' AND window_days = {w:UInt32})`,
    { s: STORE, w: windowDays },
  );
  return new Map(rows.map((r) => [`${r.product_id}>${r.other_product_id}`, {
    pair: Number(r.pair_orders), a: Number(r.product_orders), b: Number(r.other_orders), n: Number(r.window_orders),
    // Only counts are stored; the ratios are those the API derives from them.
    support: Number(r.pair_orders) / Number(r.window_orders),
    confidence: Number(r.pair_orders) / Number(r.product_orders),
    lift: Number(r.pair_orders) / Number(r.product_orders) / (Number(r.other_orders) / Number(r.window_orders)),
  }]));
}

function assertPairs(got: Map<string, PairStats>, want: Map<string, PairStats>, label: string) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${label}: the same pairs`);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.deepEqual({ pair: g.pair, a: g.a, b: g.b, n: g.n }, { pair: w.pair, a: w.a, b: w.b, n: w.n }, `${label}: counts of ${k}`);
    assert.ok(close(g.support, w.support) && close(g.confidence, w.confidence) && close(g.lift, w.lift), `${label}: ratios of ${k}`);
  }
}

const orders = [...randomOrders(11, 160, AS_OF - 45 * DAY, AS_OF), ...specialOrders()];

test('pairs, support, confidence and lift equal a JS count over the baskets; threshold, merchandise, window edges, deletions', async () => {
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, version: 1 }]);
  await wh.insert('dim_product', [
    ...PRODUCTS.map((p) => ({ store_id: STORE, product_id: p.id, sku: `SKU-${p.id}`, name: `Product ${p.id}`, category: p.category, updated_at: chTs(AS_OF), version: 1 })),
    { store_id: STORE, product_id: NON_MERCH, sku: 'POST', name: 'Postage', category: 'non-merchandise', updated_at: chTs(AS_OF), version: 1 },
  ]);
  await load(orders);

  const want = expectedPairs(orders, '2024-06-01', '2024-06-30', 2);
  assert.ok(want.has('P11>P12') && want.get('P11>P12')!.lift > 1, 'the planted pair is found with lift > 1');
  assert.ok(![...want.keys()].some((k) => k.includes(NON_MERCH)), 'no non-merchandise pairs');
  assert.ok(expectedPairs(orders, '2024-06-01', '2024-06-30', 1).size > want.size, 'the threshold drops pairs');

  const r = await runAffinity(wh, { storeId: STORE, runId: 'a1', windowDays: 30, asOf: AS_OF });
  assert.equal(r.rows, want.size);
  assertPairs(await storedPairs(30), want, 'window 30');

  // The API query: one product's partners, best first (confidence, lift, pairs, id), limited.
  for (const pid of ['P01', 'P11', 'P05']) {
    const partners = [...want.entries()].filter(([k]) => k.startsWith(`${pid}>`)).map(([k, s]) => ({ other: k.split('>')[1]!, ...s }));
    partners.sort((x, y) => y.confidence - x.confidence || y.lift - x.lift || y.pair - x.pair || (x.other < y.other ? -1 : 1));
    const got = await frequentlyBoughtTogether(wh, { storeId: STORE, productId: pid, limit: 3 });
    assert.deepEqual(got.map((g) => g.otherProductId), partners.slice(0, 3).map((p) => p.other), `partners of ${pid}`);
    got.forEach((g, i) => {
      assert.equal(g.productId, pid);
      assert.equal(g.pairOrders, partners[i]!.pair);
      assert.ok(close(g.support, partners[i]!.support) && close(g.confidence, partners[i]!.confidence) && close(g.lift, partners[i]!.lift));
    });
  }
  assert.deepEqual(await frequentlyBoughtTogether(wh, { storeId: 'nobody', productId: 'P01', limit: 5 }), []);
});

test('windows are kept apart; a rerun of a window replaces it', async () => {
  const want7 = expectedPairs(orders, '2024-06-24', '2024-06-30', 2);
  await runAffinity(wh, { storeId: STORE, runId: 'a2', windowDays: 7, asOf: AS_OF });
  assertPairs(await storedPairs(7), want7, 'window 7');
  assertPairs(await storedPairs(30), expectedPairs(orders, '2024-06-01', '2024-06-30', 2), 'window 30 untouched');
  // Without a window the API reads the most recent computation (window 7); with one, that window.
  const latest = await frequentlyBoughtTogether(wh, { storeId: STORE, productId: 'P11', limit: 1 });
  assert.equal(latest[0]?.pairOrders, want7.get('P11>P12')?.pair);
  const w30 = await frequentlyBoughtTogether(wh, { storeId: STORE, productId: 'P11', limit: 1, windowDays: 30 });
  assert.equal(w30[0]?.pairOrders, expectedPairs(orders, '2024-06-01', '2024-06-30', 2).get('P11>P12')?.pair);

  // New orders, a cancelled basket and a higher threshold: the window-30 result is replaced.
  const more = randomOrders(12, 40, AS_OF - 20 * DAY, AS_OF);
  await load(more);
  const cancelled = orders.find((o) => o.status !== 'cancelled' && o.order_kind === 'sale' && !o.deleted && o.lines.length > 2 && localDay(o.created_at, TZ) >= '2024-06-01')!;
  await wh.insert('fact_orders', [orderRow(STORE, { ...cancelled, status: 'cancelled' }, 3)]);
  const now = [...orders.map((o) => (o === cancelled ? { ...o, status: 'cancelled' } : o)), ...more];
  await runAffinity(wh, { storeId: STORE, runId: 'a3', windowDays: 30, asOf: AS_OF, minPairOrders: 3 });
  assertPairs(await storedPairs(30), expectedPairs(now, '2024-06-01', '2024-06-30', 3), 'window 30 rerun');
});

test('top products per category by revenue and units equal a JS sum over the booked lines', async () => {
  await rebuildRollups(wh, { storeId: STORE });
  const facts = await wh.query<{ order_id: string; status: string }>(
    `SELECT order_id, status FROM fact_orders FINAL WHERE store_id = {s:String} AND is_deleted = 0`,
    { s: STORE },
  );
  const statusOf = new Map(facts.map((f) => [f.order_id, f.status]));
  const range = { from: '2024-06-10', to: '2024-06-30' };
  const stats = new Map<string, { category: string; revenue: bigint; units: number; orders: Set<string> }>();
  for (const o of loaded) {
    const status = statusOf.get(o.order_id);
    if (status === undefined) continue; // deleted
    const day = localDay(o.created_at, TZ);
    if (day < range.from || day > range.to) continue;
    const booked = o.order_kind === 'sale' && status !== 'cancelled';
    const gross = o.lines.reduce((a, l) => a + lineAmount(l), 0n);
    for (const l of o.lines) {
      const category = categoryOf(l.product_id);
      if (category === 'non-merchandise') continue;
      const s = stats.get(l.product_id) ?? { category, revenue: 0n, units: 0, orders: new Set<string>() };
      if (booked) {
        // The order's refund allocated to its lines in proportion to their amounts (exact here).
        const refund = ((o.refunded ?? 0n) * lineAmount(l)) / gross;
        assert.equal(((o.refunded ?? 0n) * lineAmount(l)) % gross, 0n, 'fixture refunds divide exactly');
        s.revenue += lineAmount(l) - refund;
        s.units += l.quantity;
        s.orders.add(o.order_id);
      } else if (o.order_kind === 'refund') {
        s.revenue += lineAmount(l); // single-line refund orders: the whole refund on that line
      }
      stats.set(l.product_id, s);
    }
  }
  for (const by of ['REVENUE', 'UNITS'] as const) {
    const got = await topProductsByCategory(wh, { storeId: STORE, range, by, limit: 3 });
    assert.ok(got.length >= 9, 'three products in each of the three categories at least');
    const want: { category: string; productId: string; revenue: bigint; units: number; orders: number }[] = [];
    const categories = [...new Set([...stats.values()].map((s) => s.category))].sort();
    for (const category of categories) {
      const ranked = [...stats.entries()]
        .filter(([, s]) => s.category === category && (s.revenue !== 0n || s.units !== 0))
        .map(([productId, s]) => ({ category, productId, revenue: s.revenue, units: s.units, orders: s.orders.size }))
        .sort((x, y) => {
          const rev = x.revenue === y.revenue ? 0 : x.revenue > y.revenue ? -1 : 1;
          const uni = y.units - x.units;
          return (by === 'REVENUE' ? rev || uni : uni || rev) || (x.productId < y.productId ? -1 : 1);
        });
      want.push(...ranked.slice(0, 3));
    }
    assert.deepEqual(
      got.map((g) => ({ category: g.category, productId: g.productId, units: g.units, orders: g.orders })),
      want.map((w) => ({ category: w.category, productId: w.productId, units: w.units, orders: w.orders })),
      `ranking by ${by}`,
    );
    got.forEach((g, i) => {
      assert.ok(sameMoney(g.netRevenue, money(want[i]!.revenue)), `${by} revenue of ${g.productId}: ${g.netRevenue}`);
      assert.equal(g.rank, want.slice(0, i + 1).filter((w) => w.category === g.category).length);
      if (g.productId !== UNREGISTERED) assert.equal(g.sku, `SKU-${g.productId}`);
    });
    assert.ok(got.some((g) => g.category === 'uncategorized') || !stats.has(UNREGISTERED), 'unregistered products are uncategorized');
  }
});
