/**
 * The analytics and entity parts of the GraphQL API, through HTTP against the app started
 * in-process. Two small generated shops are loaded through the real import path (files →
 * openRecordStream → runBatch); every number is checked against an independent computation over
 * the generated records (JS) or plain SQL over the fact rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { generateApiKey, storeApiKey } from '../../src/auth/api-keys.js';
import { generateDemoShop, writeDemoFiles, type DemoShop } from '../../src/demo/index.js';
import type { Entity } from '../../src/ingest/validate/entities.js';
import { importFile } from '../support/import-helpers.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir('ecomm-gql-analytics-');
const config = parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', MAX_RANGE_DAYS: '400', MAX_PAGE_SIZE: '200' });
let app: RunningApp;
let admin: string;
/** Read key limited to shop-a. */
let keyA: string;
/** Read key limited to shop-b. */
let keyB: string;

/** Two shops whose ids overlap (ORD-1000001 exists in both, with different contents). */
const STORES = [
  { id: 'shop-a', seed: 11, timezone: 'Europe/Berlin' },
  { id: 'shop-b', seed: 22, timezone: 'UTC' },
] as const;
const shops: Record<string, DemoShop> = {};
const ENTITY_ORDER: Entity[] = ['customers', 'products', 'orders', 'order_items', 'payments', 'events'];

before(async () => {
  app = await startApp({ config, log: createLogger('silent'), api: true, worker: false, demo: false });
  admin = app.adminKey.key;
  const wh = app.services.warehouse;
  for (const s of STORES) {
    const shop = generateDemoShop({ seed: s.seed, storeId: s.id, days: 60, scale: 0.05, dirtyRate: 0, start: '2026-03-01' });
    shops[s.id] = shop;
    await wh.insert('dim_store', [{ store_id: s.id, name: s.id, timezone: s.timezone, country: 'DE', currency: 'EUR', version: 1 }]);
    const dir = path.join(tmp.dir, 'fixture', s.id);
    const files = await writeDemoFiles(shop, dir, 'jsonl', { entities: ENTITY_ORDER });
    for (const f of files) {
      const r = await importFile({ wh, storeId: s.id, batchId: `fixture-${s.id}-${f.entity}`, file: f.path, entity: f.entity as Entity });
      assert.equal(r.rejected, 0, `${s.id} ${f.entity}: ${JSON.stringify(r.rejectsByReason)}`);
    }
  }
  keyA = generateApiKey();
  await storeApiKey(wh, { key: keyA, name: 'reader a', scopes: ['read'], stores: ['shop-a'] });
  keyB = generateApiKey();
  await storeApiKey(wh, { key: keyB, name: 'reader b', scopes: ['read'], stores: ['shop-b'] });
});

after(async () => {
  await app?.stop();
  tmp.cleanup();
});

interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions: { code: string; argument?: string; [k: string]: unknown };
}
interface GqlAnswer<T = any> {
  status: number;
  data?: T;
  errors?: GqlError[];
  text: string;
}

async function gql<T = any>(query: string, variables: Record<string, unknown> = {}, key: string = admin): Promise<GqlAnswer<T>> {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const body = JSON.parse(text) as { data?: T; errors?: GqlError[] };
  return { status: res.status, data: body.data ?? undefined, errors: body.errors, text };
}

/** The answer's data; fails the test with the whole answer when it carries errors. */
async function ok<T = any>(query: string, variables: Record<string, unknown> = {}, key: string = admin): Promise<T> {
  const r = await gql<T>(query, variables, key);
  assert.equal(r.errors, undefined, r.text);
  return r.data!;
}

function code(r: GqlAnswer): string | undefined {
  return r.errors?.[0]?.extensions.code;
}

/** A 2- or 4-decimal string rounded half away from zero to 2 decimals (what Money shows), exactly. */
function money2(v: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(v);
  assert.ok(m, `not a decimal: ${v}`);
  const frac = (m[3] ?? '').padEnd(3, '0');
  let units = BigInt(m[2]! + frac.slice(0, 2));
  if (Number(frac[2]) >= 5) units += 1n;
  const s = units.toString().padStart(3, '0');
  const out = `${s.slice(0, -2)}.${s.slice(-2)}`;
  return m[1] && units !== 0n ? `-${out}` : out;
}

/** Exact sum of decimal strings (at most 4 decimals) as a 4-decimal string. */
function sumDecimal(values: readonly string[]): string {
  let total = 0n;
  for (const v of values) {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(v)!;
    const u = BigInt(m[2]! + (m[3] ?? '').padEnd(4, '0').slice(0, 4));
    total += m[1] ? -u : u;
  }
  const neg = total < 0n;
  const s = (neg ? -total : total).toString().padStart(5, '0');
  return `${neg ? '-' : ''}${s.slice(0, -4)}.${s.slice(-4)}`;
}

const iso = (t: string) => new Date(t).toISOString();

/** Counts the warehouse queries over facts and dimensions while `fn` runs (API key lookups excluded). */
async function countingQueries<T>(fn: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const wh = app.services.warehouse;
  const original = wh.query.bind(wh);
  const queries: string[] = [];
  (wh as { query: typeof wh.query }).query = (async (sql: string, params?: Record<string, unknown>, opts?: unknown) => {
    if (/\b(fact_|dim_|agg_|gold_)/.test(sql)) queries.push(sql.replace(/\s+/g, ' ').slice(0, 120));
    return original(sql, params, opts as never);
  }) as typeof wh.query;
  try {
    return { result: await fn(), queries };
  } finally {
    (wh as { query: typeof wh.query }).query = original;
  }
}

describe('entities', () => {
  test('order(id) with nested items, payments, product and customer matches the generated records', async () => {
    const shop = shops['shop-a']!;
    const order = shop.orders.find((o) => o.customer_id !== '' && shop.payments.some((p) => p.order_id === o.order_id))!;
    const data = await ok(
      `query($id: ID!) { order(id: $id, store: "shop-a") {
          id store kind status createdAt channel country currency gross discount shipping tax net refunded customerId
          customer { id name country segment }
          items { lineNumber productId quantity unitPrice discount lineAmount product { id sku name category } }
          payments { id method amount status paidAt }
      } }`,
      { id: order.order_id },
    );
    const o = data.order;
    assert.deepEqual(
      { ...o, customer: undefined, items: undefined, payments: undefined },
      {
        id: order.order_id, store: 'shop-a', kind: 'sale', status: order.status, createdAt: iso(order.created_at), channel: order.channel,
        country: order.country, currency: order.currency, gross: money2(order.gross), discount: money2(order.discount), shipping: money2(order.shipping),
        tax: money2(order.tax), net: money2(order.net), refunded: money2(order.refunded), customerId: order.customer_id,
        customer: undefined, items: undefined, payments: undefined,
      },
    );
    const current = shop.customers.filter((c) => c.customer_id === order.customer_id).sort((a, b) => a.updated_at.localeCompare(b.updated_at)).at(-1)!;
    assert.deepEqual(o.customer, { id: current.customer_id, name: current.name, country: current.country, segment: current.segment });
    const items = shop.order_items.filter((i) => i.order_id === order.order_id).sort((a, b) => a.line_number - b.line_number);
    assert.deepEqual(
      o.items,
      items.map((i) => {
        const p = shop.products.filter((x) => x.product_id === i.product_id).at(-1)!;
        return {
          lineNumber: i.line_number, productId: i.product_id, quantity: i.quantity, unitPrice: money2(i.unit_price), discount: money2(i.discount),
          lineAmount: money2(i.line_amount), product: { id: p.product_id, sku: p.sku, name: p.name, category: p.category },
        };
      }),
    );
    const payments = shop.payments.filter((p) => p.order_id === order.order_id).sort((a, b) => a.paid_at.localeCompare(b.paid_at) || a.payment_id.localeCompare(b.payment_id));
    assert.deepEqual(o.payments, payments.map((p) => ({ id: p.payment_id, method: p.method, amount: money2(p.amount), status: p.status, paidAt: iso(p.paid_at) })));

    const missing = await ok('{ order(id: "no-such-order", store: "shop-a") { id } product(id: "nope", store: "shop-a") { id } customer(id: "nope", store: "shop-a") { id } }');
    assert.deepEqual(missing, { order: null, product: null, customer: null });
  });

  test('orders(filter, first, after) pages through every matching order newest first, with opaque cursors', async () => {
    const shop = shops['shop-b']!;
    // shop-b is in UTC: the store-local days are UTC days.
    const range = { from: '2026-03-10', to: '2026-03-24' };
    const expected = shop.orders
      .filter((o) => o.created_at.slice(0, 10) >= range.from && o.created_at.slice(0, 10) <= range.to && ['delivered', 'shipped'].includes(o.status))
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.order_id.localeCompare(a.order_id))
      .map((o) => o.order_id);
    assert.ok(expected.length > 12, `fixture has ${expected.length} matching orders`);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const data: any = await ok(
        `query($after: String, $filter: OrderFilterInput) { orders(store: "shop-b", first: 5, after: $after, filter: $filter) {
            edges { cursor node { id } } nodes { id status } pageInfo { hasNextPage endCursor } } }`,
        { after, filter: { range, statuses: ['delivered', 'shipped'] } },
        keyB,
      );
      const page = data.orders;
      pages++;
      assert.ok(page.nodes.length <= 5);
      assert.deepEqual(page.edges.map((e: any) => e.node.id), page.nodes.map((n: any) => n.id));
      assert.ok(page.nodes.every((n: any) => ['delivered', 'shipped'].includes(n.status)));
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1)?.cursor ?? null);
      seen.push(...page.nodes.map((n: any) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      assert.ok(pages < 20, 'pagination terminates');
    }
    assert.deepEqual(seen, expected);

    // Store-local days: shop-a is in Europe/Berlin, so an order at 23:30 UTC belongs to the next day.
    const a = shops['shop-a']!;
    const berlinDay = (t: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(t));
    const day = '2026-03-15';
    const expectedA = a.orders.filter((o) => berlinDay(o.created_at) === day).map((o) => o.order_id).sort();
    const dataA = await ok(`{ orders(first: 200, filter: { range: { from: "${day}", to: "${day}" } }) { nodes { id } pageInfo { hasNextPage } } }`, {}, keyA);
    assert.deepEqual(dataA.orders.nodes.map((n: any) => n.id).sort(), expectedA);
    assert.equal(dataA.orders.pageInfo.hasNextPage, false);
  });

  test('customers pagination covers every current customer once, by id', async () => {
    const shop = shops['shop-a']!;
    const expected = [...new Set(shop.customers.map((c) => c.customer_id))].sort();
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 50; i++) {
      const data: any = await ok(`query($after: String) { customers(first: 40, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`, { after }, keyA);
      seen.push(...data.customers.nodes.map((n: any) => n.id));
      if (!data.customers.pageInfo.hasNextPage) break;
      after = data.customers.pageInfo.endCursor;
    }
    assert.deepEqual(seen, expected);
    const vip = shop.customers.filter((c) => c.segment === 'vip');
    const lastVersion = new Map<string, string>();
    for (const c of [...shop.customers].sort((x, y) => x.updated_at.localeCompare(y.updated_at))) lastVersion.set(c.customer_id, c.segment);
    const expectedVip = [...lastVersion].filter(([, s]) => s === 'vip').map(([id]) => id).sort();
    assert.ok(vip.length > 0);
    const data = await ok('{ customers(first: 200, filter: { segments: ["vip"] }) { nodes { id segment } } }', {}, keyA);
    assert.deepEqual(data.customers.nodes.map((n: any) => n.id), expectedVip);
  });

  test('page arguments are checked: BAD_USER_INPUT names first / after', async () => {
    const tooBig = await gql('{ orders(first: 201) { nodes { id } } }', {}, keyA);
    assert.equal(code(tooBig), 'BAD_USER_INPUT', tooBig.text);
    assert.equal(tooBig.errors![0]!.extensions.argument, 'first');
    const zero = await gql('{ customers(first: 0) { nodes { id } } }', {}, keyA);
    assert.equal(zero.errors![0]!.extensions.argument, 'first');
    const badCursor = await gql('{ orders(after: "bm90IGEgY3Vyc29y") { nodes { id } } }', {}, keyA);
    assert.equal(code(badCursor), 'BAD_USER_INPUT');
    assert.equal(badCursor.errors![0]!.extensions.argument, 'after');
    // A customers cursor is not an orders cursor.
    const c = await ok('{ customers(first: 1) { pageInfo { endCursor } } }', {}, keyA);
    const crossed = await gql(`{ orders(after: "${c.customers.pageInfo.endCursor}") { nodes { id } } }`, {}, keyA);
    assert.equal(crossed.errors![0]!.extensions.argument, 'after');
  });

  test('stores lists the stores a key may read, with their time zone and currency', async () => {
    const all = await ok<{ stores: { id: string; name: string; timezone: string; country: string; currency: string }[] }>('{ stores { id name timezone country currency } }');
    const expected = await app.services.warehouse.query<{ id: string; timezone: string }>('SELECT store_id AS id, timezone FROM dim_store FINAL ORDER BY store_id');
    assert.deepEqual(all.stores.map((s) => [s.id, s.timezone]), expected.map((s) => [s.id, s.timezone]));
    assert.deepEqual(all.stores.find((s) => s.id === 'shop-a'), { id: 'shop-a', name: 'shop-a', timezone: 'Europe/Berlin', country: 'DE', currency: 'EUR' });
    const onlyB = await ok<{ stores: { id: string }[] }>('{ stores { id } }', {}, keyB);
    assert.deepEqual(onlyB.stores, [{ id: 'shop-b' }], 'a key limited to shop-b sees only shop-b');
  });

  test('store isolation: a key limited to shop-a never sees shop-b rows, directly or through nested fields', async () => {
    const a = shops['shop-a']!;
    const b = shops['shop-b']!;
    const id = 'ORD-1000001';
    assert.ok(a.orders.some((o) => o.order_id === id) && b.orders.some((o) => o.order_id === id), 'both shops have the id');
    const mine = await ok(`{ order(id: "${id}") { store gross items { productId lineAmount product { name } } } }`, {}, keyA);
    const expectedA = a.orders.find((o) => o.order_id === id)!;
    assert.equal(mine.order.store, 'shop-a');
    assert.equal(mine.order.gross, money2(expectedA.gross));
    assert.deepEqual(mine.order.items.map((i: any) => i.lineAmount), a.order_items.filter((i) => i.order_id === id).map((i) => money2(i.line_amount)));

    for (const q of [`{ order(id: "${id}", store: "shop-b") { id } }`, '{ orders(store: "shop-b") { nodes { id } } }', '{ customers(store: "shop-b") { nodes { id } } }', '{ product(id: "PROD-0001", store: "shop-b") { id } }']) {
      const r = await gql(q, {}, keyA);
      assert.equal(code(r), 'FORBIDDEN', `${q}: ${r.text}`);
      assert.equal(r.data?.order ?? r.data?.orders ?? r.data?.customers ?? r.data?.product ?? null, null);
    }
    // Nested: every order reached through shop-a customers belongs to shop-a and is one of shop-a's orders of that customer.
    const page = await ok('{ customers(first: 200) { nodes { id store orders(first: 100) { id store customerId gross } } } }', {}, keyA);
    const aOrders = new Map(a.orders.map((o) => [o.order_id, o]));
    let nested = 0;
    for (const c of page.customers.nodes) {
      assert.equal(c.store, 'shop-a');
      const expected = a.orders.filter((o) => o.customer_id === c.id).map((o) => o.order_id).sort();
      assert.deepEqual(c.orders.map((o: any) => o.id).sort(), expected);
      for (const o of c.orders) {
        assert.equal(o.store, 'shop-a');
        assert.equal(o.customerId, c.id);
        assert.equal(o.gross, money2(aOrders.get(o.id)!.gross));
        nested++;
      }
    }
    const shown = new Set(page.customers.nodes.map((c: any) => c.id));
    assert.equal(nested, a.orders.filter((o) => shown.has(o.customer_id)).length);
    assert.ok(nested > 50);

    // An all-stores key must name the store when the warehouse has several.
    const unnamed = await gql('{ orders { nodes { id } } }');
    assert.equal(code(unnamed), 'BAD_USER_INPUT');
    assert.equal(unnamed.errors![0]!.extensions.argument, 'store');
  });

  test('a page of customers with their orders, items, payments and products costs a constant number of warehouse queries', async () => {
    const q = `query($n: Int!) { customers(first: $n) { nodes { id orders(first: 20) { id items { quantity product { name } } payments { amount } customer { id } } } } }`;
    const small = await countingQueries(() => ok(q, { n: 10 }, keyA));
    const large = await countingQueries(() => ok(q, { n: 100 }, keyA));
    const ordersSeen = large.result.customers.nodes.reduce((s: number, c: any) => s + c.orders.length, 0);
    const itemsSeen = large.result.customers.nodes.reduce((s: number, c: any) => s + c.orders.reduce((t: number, o: any) => t + o.items.length, 0), 0);
    assert.equal(large.result.customers.nodes.length, 100);
    assert.ok(ordersSeen > 50 && itemsSeen > 100, `${ordersSeen} orders, ${itemsSeen} items`);
    // customers page, orders of customers, items, payments, products; customer { id } comes from the primed page.
    assert.equal(large.queries.length, 5, large.queries.join('\n'));
    assert.equal(small.queries.length, large.queries.length, small.queries.join('\n'));
  });
});

// ---------------------------------------------------------------------------------------------
// Sales: an independent computation of docs/metrics.md over the generated records (JS, exact
// integer arithmetic in 1/10000 units), compared with the API's answers.

/** Amount in 1/10000 units. */
const u4 = (s: string): bigint => {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s)!;
  const v = BigInt(m[2]! + (m[3] ?? '').padEnd(4, '0').slice(0, 4));
  return m[1] ? -v : v;
};
const s4 = (v: bigint): string => {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(4, '0')}`;
};
/** n / d rounded half away from zero to an integer. */
const divRound = (n: bigint, d: bigint): bigint => {
  const neg = n < 0n !== d < 0n;
  const a = n < 0n ? -n : n;
  const b = d < 0n ? -d : d;
  const q = (2n * a + b) / (2n * b);
  return neg ? -q : q;
};

interface RefLine { product: string; category: string; qty: number; gross: bigint; refund: bigint }
interface RefOrder {
  id: string; customer: string; day: string; hour: string; country: string; channel: string;
  booked: boolean; cancelled: boolean; returned: boolean;
  net: bigint; refunded: bigint; discount: bigint; lineDiscounts: bigint; lines: RefLine[];
}

const localDay = (t: string, tz: string) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(t));

/** The shop's orders as the metrics see them, with the order amounts allocated to lines in proportion to the line amounts. */
function refOrders(shop: DemoShop, tz: string): RefOrder[] {
  const category = new Map<string, string>();
  for (const p of [...shop.products].sort((a, b) => a.updated_at.localeCompare(b.updated_at))) category.set(p.product_id, p.category || 'uncategorized');
  const items = new Map<string, typeof shop.order_items>();
  for (const i of shop.order_items) items.set(i.order_id, [...(items.get(i.order_id) ?? []), i]);
  return shop.orders.map((o) => {
    const cancelled = o.status === 'cancelled';
    const booked = o.order_kind === 'sale' && !cancelled;
    const lines = (items.get(o.order_id) ?? []).sort((a, b) => a.line_number - b.line_number);
    const x = booked ? u4(o.net) : 0n;
    const xr = booked ? u4(o.refunded) : 0n;
    const total = lines.reduce((s, l) => s + u4(l.line_amount), 0n);
    const share = (amount: bigint, la: bigint, i: number, done: bigint) =>
      i === lines.length - 1 ? amount - done : total === 0n ? divRound(amount, BigInt(lines.length)) : divRound(amount * la, total);
    let doneG = 0n;
    let doneR = 0n;
    const refLines = lines.map((l, i) => {
      const g = share(x, u4(l.line_amount), i, doneG);
      const r = share(xr, u4(l.line_amount), i, doneR);
      doneG += g;
      doneR += r;
      return { product: l.product_id, category: category.get(l.product_id) ?? 'uncategorized', qty: l.quantity, gross: g, refund: r };
    });
    return {
      id: o.order_id, customer: o.customer_id, day: localDay(o.created_at, tz), hour: new Date(Math.floor(Date.parse(o.created_at) / 3_600_000) * 3_600_000).toISOString().replace('.000Z', 'Z'),
      country: o.country, channel: o.channel, booked, cancelled,
      returned: booked && (['returned', 'refunded'].includes(o.status) || o.returned_at !== null),
      net: u4(o.net), refunded: u4(o.refunded), discount: u4(o.discount), lineDiscounts: lines.reduce((s, l) => s + u4(l.discount), 0n), lines: refLines,
    };
  });
}

/** First purchase day per customer: the local day of its first booked sale. */
function firstDays(orders: RefOrder[]): Map<string, string> {
  const first = new Map<string, string>();
  for (const o of orders) if (o.booked && o.customer !== '' && (!first.has(o.customer) || o.day < first.get(o.customer)!)) first.set(o.customer, o.day);
  return first;
}

interface RefKpis {
  netRevenue: string; grossRevenue: string; refunds: string; discounts: string; orders: number; customers: number; newCustomers: number;
  returningCustomers: number; averageOrderValue: string | null; units: number; items: number; returnRate: number | null;
  cancelledOrders: number; cancelledValue: string; returnedOrders: number; returnedValue: string;
}

/** The KPIs of the orders (already restricted to a range / group), per docs/metrics.md. */
function refKpis(orders: RefOrder[], first: Map<string, string>): RefKpis {
  const booked = orders.filter((o) => o.booked);
  const gross = booked.reduce((s, o) => s + o.net, 0n);
  const refunds = booked.reduce((s, o) => s + o.refunded, 0n);
  const customers = new Set(booked.filter((o) => o.customer !== '').map((o) => o.customer));
  const fresh = new Set(booked.filter((o) => o.customer !== '' && first.get(o.customer) === o.day).map((o) => o.customer));
  const returned = booked.filter((o) => o.returned);
  const cancelled = orders.filter((o) => o.cancelled);
  return {
    netRevenue: s4(gross - refunds), grossRevenue: s4(gross), refunds: s4(refunds),
    discounts: s4(booked.reduce((s, o) => s + o.discount + o.lineDiscounts, 0n)),
    orders: booked.length, customers: customers.size, newCustomers: fresh.size, returningCustomers: customers.size - fresh.size,
    averageOrderValue: booked.length ? s4(divRound(gross, BigInt(booked.length))) : null,
    units: booked.reduce((s, o) => s + o.lines.reduce((t, l) => t + l.qty, 0), 0),
    items: booked.reduce((s, o) => s + o.lines.length, 0),
    returnRate: gross === 0n ? null : Number(refunds) / Number(gross),
    cancelledOrders: cancelled.length, cancelledValue: s4(cancelled.reduce((s, o) => s + (o.net < 0n ? -o.net : o.net), 0n)),
    returnedOrders: returned.length, returnedValue: s4(returned.reduce((s, o) => s + o.refunded, 0n)),
  };
}

const KPI_FIELDS = 'netRevenue grossRevenue refunds discounts orders customers newCustomers returningCustomers averageOrderValue units items returnRate cancelledOrders cancelledValue returnedOrders returnedValue';

/** The API's KPI fields compared with the reference (money as shown: 2 decimals; rates to 1e-9). */
function assertKpis(actual: Record<string, unknown>, expected: RefKpis, what: string): void {
  const { returnRate, ...rest } = expected;
  const shown = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'string' ? money2(v) : v]));
  const got = Object.fromEntries(Object.keys(shown).map((k) => [k, actual[k]]));
  assert.deepEqual(got, shown, what);
  if (returnRate === null) assert.equal(actual['returnRate'], null, what);
  else assert.ok(Math.abs((actual['returnRate'] as number) - returnRate) < 1e-9, `${what}: returnRate ${actual['returnRate']} vs ${returnRate}`);
}

const inRange = (r: { from: string; to: string }) => (o: RefOrder) => o.day >= r.from && o.day <= r.to;
const monday = (day: string) => {
  const t = Date.parse(day + 'T00:00:00Z');
  const dow = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - dow * 86_400_000).toISOString().slice(0, 10);
};

describe('sales analytics', () => {
  const ref: Record<string, RefOrder[]> = {};
  const first: Record<string, Map<string, string>> = {};

  before(async () => {
    const { rebuildRollups } = await import('../../src/analytics/rollups.js');
    const { rebuildCohorts } = await import('../../src/analytics/cohorts.js');
    for (const s of STORES) {
      await rebuildRollups(app.services.warehouse, { storeId: s.id });
      await rebuildCohorts(app.services.warehouse, { storeId: s.id });
      ref[s.id] = refOrders(shops[s.id]!, s.timezone);
      first[s.id] = firstDays(ref[s.id]!);
    }
  });

  test('kpis with compareToPreviousPeriod match the reference for both periods, and the change is exact', async () => {
    const range = { from: '2026-04-01', to: '2026-04-20' };
    const previous = { from: '2026-03-12', to: '2026-03-31' };
    const data = await ok(
      `query($range: DateRangeInput!) { kpis(range: $range, compareToPreviousPeriod: true) {
          store range { from to } ${KPI_FIELDS}
          previousPeriod { range { from to } ${KPI_FIELDS} }
          change { netRevenue { previous difference ratio } orders { previous difference ratio } averageOrderValue { previous difference ratio } returnRate { previous difference } }
      } }`,
      { range },
      keyA,
    );
    const k = data.kpis;
    const cur = refKpis(ref['shop-a']!.filter(inRange(range)), first['shop-a']!);
    const prev = refKpis(ref['shop-a']!.filter(inRange(previous)), first['shop-a']!);
    assert.ok(cur.orders > 20 && prev.orders > 20 && cur.newCustomers > 0 && cur.returningCustomers > 0, JSON.stringify(cur));
    assert.equal(k.store, 'shop-a');
    assert.deepEqual(k.range, range);
    assertKpis(k, cur, 'current period');
    assert.deepEqual(k.previousPeriod.range, previous);
    assertKpis(k.previousPeriod, prev, 'previous period');
    assert.equal(k.change.netRevenue.previous, money2(prev.netRevenue));
    assert.equal(k.change.netRevenue.difference, money2(s4(u4(cur.netRevenue) - u4(prev.netRevenue))));
    assert.ok(Math.abs(k.change.netRevenue.ratio - Number(u4(cur.netRevenue) - u4(prev.netRevenue)) / Number(u4(prev.netRevenue))) < 1e-9);
    assert.deepEqual(k.change.orders, { previous: prev.orders, difference: cur.orders - prev.orders, ratio: (cur.orders - prev.orders) / prev.orders });

    const plain = await ok(`{ kpis(range: { from: "2026-04-01", to: "2026-04-20" }) { orders previousPeriod { orders } change { orders { previous } } } }`, {}, keyA);
    assert.deepEqual(plain.kpis, { orders: cur.orders, previousPeriod: null, change: null });

    // A filter on the order grain.
    const web = await ok(`{ kpis(range: { from: "2026-04-01", to: "2026-04-20" }, filter: { channels: ["web"] }) { ${KPI_FIELDS} } }`, {}, keyA);
    assertKpis(web.kpis, refKpis(ref['shop-a']!.filter(inRange(range)).filter((o) => o.channel === 'web'), first['shop-a']!), 'web only');
  });

  test('salesSeries by DAY and CHANNEL, by WEEK and by HOUR match the reference', async () => {
    const range = { from: '2026-03-05', to: '2026-03-25' };
    const orders = ref['shop-a']!.filter(inRange(range));
    const daily = await ok(
      `query($range: DateRangeInput!) { salesSeries(range: $range, granularity: DAY, groupBy: [CHANNEL]) { periodStart channel country ${KPI_FIELDS} } }`,
      { range },
      keyA,
    );
    const groups = new Map<string, RefOrder[]>();
    for (const o of orders) groups.set(`${o.day}|${o.channel}`, [...(groups.get(`${o.day}|${o.channel}`) ?? []), o]);
    const keys = [...groups.keys()].sort();
    assert.deepEqual(daily.salesSeries.map((p: any) => `${p.periodStart}|${p.channel}`), keys);
    for (const p of daily.salesSeries) {
      assert.equal(p.country, null);
      assertKpis(p, refKpis(groups.get(`${p.periodStart}|${p.channel}`)!, first['shop-a']!), `${p.periodStart} ${p.channel}`);
    }

    const weekly = await ok(`query($range: DateRangeInput!) { salesSeries(range: $range, granularity: WEEK) { periodStart ${KPI_FIELDS} } }`, { range }, keyA);
    const weeks = [...new Set(orders.map((o) => monday(o.day)))].sort();
    assert.deepEqual(weekly.salesSeries.map((p: any) => p.periodStart), weeks);
    for (const p of weekly.salesSeries) assertKpis(p, refKpis(orders.filter((o) => monday(o.day) === p.periodStart), first['shop-a']!), `week ${p.periodStart}`);

    const day = { from: '2026-03-10', to: '2026-03-10' };
    const hourly = await ok(`query($range: DateRangeInput!) { salesSeries(range: $range, granularity: HOUR) { periodStart orders grossRevenue units } }`, { range: day }, keyA);
    const dayOrders = ref['shop-a']!.filter(inRange(day));
    const hours = [...new Set(dayOrders.map((o) => o.hour))].sort();
    assert.deepEqual(hourly.salesSeries.map((p: any) => p.periodStart), hours);
    for (const p of hourly.salesSeries) {
      const k = refKpis(dayOrders.filter((o) => o.hour === p.periodStart), first['shop-a']!);
      assert.deepEqual({ orders: p.orders, grossRevenue: p.grossRevenue, units: p.units }, { orders: k.orders, grossRevenue: money2(k.grossRevenue), units: k.units }, p.periodStart);
    }
  });

  test('topProducts, categoryBreakdown and countryBreakdown match the reference', async () => {
    const range = { from: '2026-03-01', to: '2026-04-30' };
    const orders = ref['shop-b']!.filter(inRange(range));
    const perProduct = new Map<string, { net: bigint; units: number }>();
    for (const o of orders) {
      if (!o.booked) continue;
      for (const l of o.lines) {
        const p = perProduct.get(l.product) ?? { net: 0n, units: 0 };
        p.net += l.gross - l.refund;
        p.units += l.qty;
        perProduct.set(l.product, p);
      }
    }
    const byRevenue = [...perProduct].sort(([a, x], [b, y]) => (y.net > x.net ? 1 : y.net < x.net ? -1 : y.units - x.units || a.localeCompare(b)));
    const byUnits = [...perProduct].sort(([a, x], [b, y]) => y.units - x.units || (y.net > x.net ? 1 : y.net < x.net ? -1 : a.localeCompare(b)));
    const data = await ok(
      `query($range: DateRangeInput!) {
         rev: topProducts(range: $range, by: REVENUE, limit: 5) { rank productId netRevenue units name }
         units: topProducts(range: $range, by: UNITS, limit: 5) { rank productId units }
       }`,
      { range },
      keyB,
    );
    assert.deepEqual(
      data.rev.map((p: any) => [p.rank, p.productId, p.netRevenue, p.units]),
      byRevenue.slice(0, 5).map(([id, p], i) => [i + 1, id, money2(s4(p.net)), p.units]),
    );
    assert.ok(data.rev.every((p: any) => p.name !== ''));
    assert.deepEqual(data.units.map((p: any) => [p.rank, p.productId, p.units]), byUnits.slice(0, 5).map(([id, p], i) => [i + 1, id, p.units]));

    const br = await ok(
      `query($range: DateRangeInput!) {
         categoryBreakdown(range: $range) { category netRevenue grossRevenue orders units items }
         countryBreakdown(range: $range) { country ${KPI_FIELDS} }
       }`,
      { range },
      keyB,
    );
    const cats = new Map<string, { gross: bigint; refund: bigint; orders: Set<string>; units: number; items: number }>();
    for (const o of orders) {
      if (!o.booked) continue;
      for (const l of o.lines) {
        const c = cats.get(l.category) ?? { gross: 0n, refund: 0n, orders: new Set(), units: 0, items: 0 };
        c.gross += l.gross;
        c.refund += l.refund;
        c.orders.add(o.id);
        c.units += l.qty;
        c.items++;
        cats.set(l.category, c);
      }
    }
    const gotCats = br.categoryBreakdown.filter((c: any) => c.orders > 0 || c.grossRevenue !== '0.00');
    assert.deepEqual(
      [...gotCats].sort((a: any, b: any) => a.category.localeCompare(b.category)),
      [...cats].sort(([a], [b]) => a.localeCompare(b)).map(([category, c]) => ({
        category, netRevenue: money2(s4(c.gross - c.refund)), grossRevenue: money2(s4(c.gross)), orders: c.orders.size, units: c.units, items: c.items,
      })),
    );
    const countries = [...new Set(orders.map((o) => o.country))].sort();
    assert.deepEqual(br.countryBreakdown.map((c: any) => c.country).sort(), countries);
    for (const c of br.countryBreakdown) assertKpis(c, refKpis(orders.filter((o) => o.country === c.country), first['shop-b']!), `country ${c.country}`);
  });

  test('retentionCohorts by MONTH and WEEK match the reference', async () => {
    const orders = ref['shop-a']!;
    const asOf = orders.reduce((m, o) => (o.day > m ? o.day : m), '');
    const monthStart = (d: string) => d.slice(0, 8) + '01';
    const monthIndex = (a: string, b: string) => (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7));
    const weekIndex = (a: string, b: string) => Math.floor((Date.parse(monday(b)) - Date.parse(a)) / (7 * 86_400_000));
    for (const [granularity, start, index, periods] of [
      ['MONTH', monthStart, monthIndex, 3],
      ['WEEK', monday, weekIndex, 4],
    ] as const) {
      const cohorts = new Map<string, { members: Set<string>; cells: Map<number, { customers: Set<string>; revenue: bigint }> }>();
      for (const o of orders) {
        const f = first['shop-a']!.get(o.customer);
        if (!f || o.day < f) continue;
        const cs = start(f);
        const c = cohorts.get(cs) ?? { members: new Set(), cells: new Map() };
        cohorts.set(cs, c);
        c.members.add(o.customer);
        const p = index(cs, o.day);
        const cell = c.cells.get(p) ?? { customers: new Set(), revenue: 0n };
        c.cells.set(p, cell);
        if (o.booked) {
          cell.customers.add(o.customer);
          cell.revenue += o.net - o.refunded;
        }
      }
      for (const metric of ['CUSTOMERS', 'REVENUE'] as const) {
        const data = await ok(
          `{ retentionCohorts(range: { from: "2026-01-01", to: "2026-12-31" }, granularity: ${granularity}, periods: ${periods}, metric: ${metric}) {
              cohortStart size periods { period customers rate revenue cumulativeRevenuePerCustomer value } } }`,
          {},
          keyA,
        );
        const expected = [...cohorts].sort(([a], [b]) => a.localeCompare(b)).map(([cohortStart, c]) => {
          const size = c.members.size;
          let cumulative = 0n;
          const last = Math.min(periods - 1, index(cohortStart, asOf));
          const ps = [];
          for (let p = 0; p <= last; p++) {
            const cell = c.cells.get(p);
            const n = cell?.customers.size ?? 0;
            cumulative += cell?.revenue ?? 0n;
            const perCustomer = s4(divRound(cumulative, BigInt(size)));
            ps.push({
              period: p, customers: n, rate: n / size, revenue: money2(s4(cell?.revenue ?? 0n)), cumulativeRevenuePerCustomer: money2(perCustomer),
              value: metric === 'REVENUE' ? perCustomer : (Number(divRound(BigInt(n) * 1_000_000n, BigInt(size))) / 1e6).toFixed(6),
            });
          }
          return { cohortStart, size, periods: ps };
        });
        assert.ok(expected.length >= 2 && expected.some((c) => c.periods.length > 1), `${granularity}: ${expected.length} cohorts`);
        assert.deepEqual(data.retentionCohorts, expected, `${granularity} ${metric}`);
      }
    }
    const bad = await gql('{ retentionCohorts(range: { from: "2026-01-01", to: "2026-12-31" }, periods: 0) { size } }', {}, keyA);
    assert.equal(bad.errors![0]!.extensions.argument, 'periods');
  });

  test('range and store arguments: BAD_USER_INPUT names the argument; another store is FORBIDDEN', async () => {
    const reversed = await gql('{ kpis(range: { from: "2026-04-02", to: "2026-04-01" }) { orders } }', {}, keyA);
    assert.equal(code(reversed), 'BAD_USER_INPUT', reversed.text);
    assert.equal(reversed.errors![0]!.extensions.argument, 'range.to');
    // MAX_RANGE_DAYS is 400 in this test: 400 days inclusive pass, 401 do not.
    const longest = await gql('{ kpis(range: { from: "2025-03-27", to: "2026-04-30" }) { orders } }', {}, keyA);
    assert.equal(longest.errors, undefined, longest.text);
    const tooLong = await gql('{ salesSeries(range: { from: "2025-03-26", to: "2026-04-30" }) { orders } }', {}, keyA);
    assert.equal(tooLong.errors![0]!.extensions.argument, 'range.to');
    assert.match(tooLong.errors![0]!.message, /401 days.*400/);
    const badDate = await gql('query($r: DateRangeInput!) { kpis(range: $r) { orders } }', { r: { from: '2026-02-30', to: '2026-03-01' } }, keyA);
    assert.equal(code(badDate), 'BAD_USER_INPUT', badDate.text);
    const badLimit = await gql('{ topProducts(range: { from: "2026-04-01", to: "2026-04-02" }, limit: 0) { productId } }', {}, keyA);
    assert.equal(badLimit.errors![0]!.extensions.argument, 'limit');
    const other = await gql('{ kpis(store: "shop-b", range: { from: "2026-04-01", to: "2026-04-02" }) { orders } }', {}, keyA);
    assert.equal(code(other), 'FORBIDDEN');
    const unnamed = await gql('{ countryBreakdown(range: { from: "2026-04-01", to: "2026-04-02" }) { country } }');
    assert.equal(code(unnamed), 'BAD_USER_INPUT');
    assert.equal(unnamed.errors![0]!.extensions.argument, 'store');
  });

  test('store isolation: the same query answers each key with its own store\'s numbers', async () => {
    const range = { from: '2026-03-01', to: '2026-04-30' };
    const q = `query($range: DateRangeInput!) { kpis(range: $range) { store orders grossRevenue } }`;
    const a = await ok(q, { range }, keyA);
    const b = await ok(q, { range }, keyB);
    const ra = refKpis(ref['shop-a']!.filter(inRange(range)), first['shop-a']!);
    const rb = refKpis(ref['shop-b']!.filter(inRange(range)), first['shop-b']!);
    assert.notEqual(ra.grossRevenue, rb.grossRevenue);
    assert.deepEqual(a.kpis, { store: 'shop-a', orders: ra.orders, grossRevenue: money2(ra.grossRevenue) });
    assert.deepEqual(b.kpis, { store: 'shop-b', orders: rb.orders, grossRevenue: money2(rb.grossRevenue) });
  });
});

// ---------------------------------------------------------------------------------------------
// Derived analytics (docs/analytics.md), computed by the analytics functions the flow runs, read
// through the API and compared with a JS computation of the documented definitions.

describe('derived analytics', () => {
  const AS_OF = '2026-04-30T00:00:00.000Z';

  before(async () => {
    const wh = app.services.warehouse;
    const { runSegments } = await import('../../src/analytics/segments.js');
    const { runAffinity } = await import('../../src/analytics/affinity.js');
    const { runFunnel } = await import('../../src/analytics/funnel.js');
    const { runAnomalies } = await import('../../src/analytics/anomalies.js');
    const { runDataQuality } = await import('../../src/analytics/quality.js');
    const { rebuildRollups } = await import('../../src/analytics/rollups.js');
    for (const s of STORES) {
      await rebuildRollups(wh, { storeId: s.id });
      await runSegments(wh, { storeId: s.id, runId: `seg-${s.id}`, asOf: AS_OF });
      await runAffinity(wh, { storeId: s.id, runId: `aff-${s.id}`, asOf: AS_OF, windowDays: 90 });
      await runFunnel(wh, { storeId: s.id, runId: `fun-${s.id}` });
      await runAnomalies(wh, { storeId: s.id, runId: `ano-${s.id}` });
      await runDataQuality(wh, { storeId: s.id, runId: `dq-${s.id}` });
    }
  });

  test('customerSegments match an RFM computed from the orders', async () => {
    const shop = shops['shop-a']!;
    const tz = 'Europe/Berlin';
    const asOfDay = localDay(AS_OF, tz);
    const per = new Map<string, { last: string; f: number; m: bigint }>();
    for (const o of shop.orders) {
      if (o.order_kind !== 'sale' || o.status === 'cancelled' || o.customer_id === '' || o.created_at > AS_OF) continue;
      const c = per.get(o.customer_id) ?? { last: '', f: 0, m: 0n };
      const d = localDay(o.created_at, tz);
      if (d > c.last) c.last = d;
      c.f++;
      c.m += u4(o.net) - u4(o.refunded);
      per.set(o.customer_id, c);
    }
    const rows = [...per].map(([id, c]) => ({ ...c, id, r: Math.round((Date.parse(asOfDay) - Date.parse(c.last)) / 86_400_000) }));
    const perCustomer = new Map<string, { segment: string; r: number; f: number; m: number }>();
    const n = rows.length;
    const score = (worse: number) => 1 + Math.floor((5 * worse) / n);
    const table: Record<number, string[]> = {
      5: ['New', 'Potential Loyalist', 'Potential Loyalist', 'Champions', 'Champions'],
      4: ['New', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
      3: ['Hibernating', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
      2: ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose"],
      1: ['Lost', 'Lost', 'At Risk', 'At Risk', "Can't Lose"],
    };
    const segments = new Map<string, { customers: number; monetary: bigint; recency: number; frequency: number }>();
    for (const c of rows) {
      const R = score(rows.filter((x) => x.r > c.r).length);
      const F = score(rows.filter((x) => x.f < c.f).length);
      const M = score(rows.filter((x) => x.m < c.m).length);
      const seg = table[R]![Math.ceil((F + M) / 2) - 1]!;
      perCustomer.set(c.id, { segment: seg, r: R, f: F, m: M });
      const s = segments.get(seg) ?? { customers: 0, monetary: 0n, recency: 0, frequency: 0 };
      s.customers++;
      s.monetary += c.m;
      s.recency += c.r;
      s.frequency += c.f;
      segments.set(seg, s);
    }
    const data = await ok('{ customerSegments { segment customers share monetary avgRecencyDays avgFrequency } }', {}, keyA);
    assert.equal(data.customerSegments.length, 8);
    for (const got of data.customerSegments) {
      const e = segments.get(got.segment) ?? { customers: 0, monetary: 0n, recency: 0, frequency: 0 };
      assert.equal(got.customers, e.customers, got.segment);
      assert.equal(got.monetary, money2(s4(e.monetary)), got.segment);
      assert.ok(Math.abs(got.share - e.customers / n) < 1e-9, got.segment);
      if (e.customers > 0) {
        assert.ok(Math.abs(got.avgRecencyDays - e.recency / e.customers) < 1e-9, `${got.segment} recency`);
        assert.ok(Math.abs(got.avgFrequency - e.frequency / e.customers) < 1e-9, `${got.segment} frequency`);
      }
    }
    assert.ok(segments.size >= 3, 'the fixture spreads customers over several segments');

    // Each customer's own segment and scores, batched through Customer.rfm.
    const page = await ok('{ customers(first: 200) { nodes { id rfm { segment r f m } } } }', {}, keyA);
    let segmented = 0;
    for (const c of page.customers.nodes) {
      assert.deepEqual(c.rfm, perCustomer.get(c.id) ?? null, c.id);
      if (c.rfm) segmented++;
    }
    assert.ok(segmented > 50);
  });

  test('frequentlyBoughtTogether matches baskets counted from the orders', async () => {
    const shop = shops['shop-a']!;
    const booked = new Set(shop.orders.filter((o) => o.order_kind === 'sale' && o.status !== 'cancelled').map((o) => o.order_id));
    const baskets = new Map<string, Set<string>>();
    for (const i of shop.order_items) {
      if (!booked.has(i.order_id) || i.quantity <= 0) continue;
      baskets.set(i.order_id, (baskets.get(i.order_id) ?? new Set()).add(i.product_id));
    }
    const n = baskets.size;
    const orders = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const b of baskets.values()) {
      for (const p of b) {
        orders.set(p, (orders.get(p) ?? 0) + 1);
        for (const q of b) if (p !== q) pairs.set(`${p}|${q}`, (pairs.get(`${p}|${q}`) ?? 0) + 1);
      }
    }
    const partners = (p: string) =>
      [...pairs]
        .filter(([k, c]) => k.startsWith(`${p}|`) && c >= 2)
        .map(([k, c]) => {
          const other = k.split('|')[1]!;
          const confidence = c / orders.get(p)!;
          return { otherProductId: other, pairOrders: c, support: c / n, confidence, lift: confidence / (orders.get(other)! / n) };
        })
        .sort((a, b) => b.confidence - a.confidence || b.lift - a.lift || b.pairOrders - a.pairOrders || a.otherProductId.localeCompare(b.otherProductId));
    const product = [...orders.keys()].sort((a, b) => partners(b).length - partners(a).length || a.localeCompare(b))[0]!;
    const expected = partners(product).slice(0, 5);
    assert.ok(expected.length >= 2, `${product} has ${expected.length} partners`);
    const data = await ok(`query($p: ID!) { frequentlyBoughtTogether(productId: $p, limit: 5) { productId otherProductId pairOrders support confidence lift } }`, { p: product }, keyA);
    assert.deepEqual(data.frequentlyBoughtTogether.map((a: any) => [a.productId, a.otherProductId, a.pairOrders]), expected.map((e) => [product, e.otherProductId, e.pairOrders]));
    data.frequentlyBoughtTogether.forEach((a: any, i: number) => {
      for (const k of ['support', 'confidence', 'lift'] as const) assert.ok(Math.abs(a[k] - expected[i]![k]) < 1e-9, `${k} of ${a.otherProductId}`);
    });
    const none = await ok('{ frequentlyBoughtTogether(productId: "no-such-product") { otherProductId } }', {}, keyA);
    assert.deepEqual(none.frequentlyBoughtTogether, []);
  });

  test('funnel by CHANNEL and in total matches sessions walked through the steps in order', async () => {
    const shop = shops['shop-a']!;
    const tz = 'Europe/Berlin';
    const range = { from: '2026-03-10', to: '2026-04-10' };
    const sessions = new Map<string, typeof shop.events>();
    for (const e of shop.events) if (e.session_id) sessions.set(e.session_id, [...(sessions.get(e.session_id) ?? []), e]);
    const groups = new Map<string, number[]>();
    for (const evs of sessions.values()) {
      evs.sort((a, b) => a.event_time.localeCompare(b.event_time));
      const firstEvent = evs[0]!;
      const day = localDay(firstEvent.event_time, tz);
      if (day < range.from || day > range.to) continue;
      const channel = firstEvent.channel || String(firstEvent.properties['channel'] ?? '').toLowerCase() || 'unknown';
      const reached = [1, 0, 0, 0, 0];
      let t = '';
      ['product_view', 'add_to_cart', 'checkout', 'purchase'].every((step, i) => {
        const hit = evs.find((e) => e.event_type === step && e.event_time >= t);
        if (!hit) return false;
        t = hit.event_time;
        reached[i + 1] = 1;
        return true;
      });
      for (const key of [channel, '*']) {
        const g = groups.get(key) ?? [0, 0, 0, 0, 0];
        reached.forEach((v, i) => (g[i]! += v));
        groups.set(key, g);
      }
    }
    const fields = 'channel sessions productViews addToCarts checkouts purchases viewRate cartRate checkoutRate purchaseRate overallConversion';
    const data = await ok(`query($r: DateRangeInput!) { byChannel: funnel(range: $r, groupBy: [CHANNEL]) { ${fields} } total: funnel(range: $r) { ${fields} } }`, { r: range }, keyA);
    const row = (channel: string | null, g: number[]) => ({
      channel, sessions: g[0], productViews: g[1], addToCarts: g[2], checkouts: g[3], purchases: g[4],
      viewRate: g[1]! / g[0]!, cartRate: g[1] ? g[2]! / g[1]! : null, checkoutRate: g[2] ? g[3]! / g[2]! : null,
      purchaseRate: g[3] ? g[4]! / g[3]! : null, overallConversion: g[4]! / g[0]!,
    });
    assert.deepEqual(data.byChannel, [...groups].filter(([k]) => k !== '*').sort(([a], [b]) => a.localeCompare(b)).map(([k, g]) => row(k, g)));
    assert.deepEqual(data.total, [row(null, groups.get('*')!)]);
    assert.ok(groups.get('*')![4]! > 0, 'some sessions purchase');
  });

  test('anomalies and dataQuality answer the latest runs, filtered and limited to the key\'s store', async () => {
    const wh = app.services.warehouse;
    const range = { from: '2026-03-01', to: '2026-04-30' };
    const all = await ok(`query($r: DateRangeInput!) { anomalies(range: $r) { date metric dimension dimensionValue actual expected severity direction score runId } }`, { r: range }, keyA);
    const sql = await wh.query<{ n: string }>(
      `SELECT count() AS n FROM anomaly_detections WHERE store_id = 'shop-a' AND (run_id, attempt) IN
         (SELECT run_id, attempt FROM analytics_runs FINAL WHERE store_id = 'shop-a' AND kind = 'anomalies' ORDER BY finished_at DESC LIMIT 1)
         AND date BETWEEN '2026-03-01' AND '2026-04-30'`,
    );
    assert.equal(all.anomalies.length, Number(sql[0]!.n));
    assert.ok(all.anomalies.every((a: any) => a.runId === 'ano-shop-a'));
    const order = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
    const high = await ok(`query($r: DateRangeInput!) { anomalies(range: $r, minSeverity: HIGH, metric: NET_REVENUE, dimension: STORE) { date metric dimension severity } }`, { r: range }, keyA);
    assert.deepEqual(
      high.anomalies.map((a: any) => a.date),
      all.anomalies.filter((a: any) => order.indexOf(a.severity) >= 2 && a.metric === 'NET_REVENUE' && a.dimension === 'STORE').map((a: any) => a.date),
    );
    const other = await gql(`query($r: DateRangeInput!) { anomalies(range: $r, store: "shop-b") { date } }`, { r: range }, keyA);
    assert.equal(code(other), 'FORBIDDEN');

    const dq = await ok('{ dataQuality { table check dimension status value threshold warnThreshold offending checked sampleIds checkedAt runId } }', {}, keyA);
    const dqSql = await wh.query<{ table_name: string; check_name: string; status: string }>(
      `SELECT table_name, check_name, status FROM data_quality_results WHERE store_id = 'shop-a' AND run_id = 'dq-shop-a' ORDER BY table_name, dimension, check_name`,
    );
    assert.ok(dqSql.length > 0);
    assert.deepEqual(dq.dataQuality.map((c: any) => [c.table, c.check, c.status]), dqSql.map((r) => [r.table_name, r.check_name, r.status]));
    assert.ok(dq.dataQuality.every((c: any) => c.runId === 'dq-shop-a' && !Number.isNaN(Date.parse(c.checkedAt))));
  });
});

// ---------------------------------------------------------------------------------------------
// Pipeline, imports and the admin mutations (the app runs without workers here, so queued jobs stay queued).

describe('pipeline, imports and admin mutations', () => {
  let adminA: string;
  let ingestA: string;

  before(async () => {
    const wh = app.services.warehouse;
    adminA = generateApiKey();
    await storeApiKey(wh, { key: adminA, name: 'admin a', scopes: ['admin'], stores: ['shop-a'] });
    ingestA = generateApiKey();
    await storeApiKey(wh, { key: ingestA, name: 'ingest a', scopes: ['ingest'], stores: ['shop-a'] });
    const { recordRun } = await import('../../src/jobs/run-recorder.js');
    await recordRun(wh, { jobName: 'aggregate', queue: 'analytics', jobId: 'j-ok-a', storeId: 'shop-a', attempt: 1 }, async () => ({ rows: 7 }));
    await recordRun(wh, { jobName: 'segments', queue: 'analytics', jobId: 'j-bad-a', storeId: 'shop-a', attempt: 1 }, async () => {
      throw new Error('engine went away');
    }).catch(() => undefined);
    await recordRun(wh, { jobName: 'aggregate', queue: 'analytics', jobId: 'j-bad-b', storeId: 'shop-b', attempt: 1 }, async () => {
      throw new Error('shop-b failure');
    }).catch(() => undefined);
  });

  test('pipeline lists runs and failures with reasons, only of the key\'s store; queue counts only for all-store keys', async () => {
    const q = '{ pipeline { queues { queue waiting active delayed failed completed } recentRuns { jobName jobId storeId status rows } failures { jobId storeId error } } }';
    const a = await ok(q, {}, keyA);
    assert.equal(a.pipeline.queues, null);
    assert.ok(a.pipeline.recentRuns.every((r: any) => r.storeId === 'shop-a'));
    assert.deepEqual(a.pipeline.recentRuns.map((r: any) => [r.jobId, r.status, r.rows]).sort(), [['j-bad-a', 'failed', 0], ['j-ok-a', 'completed', 7]]);
    assert.deepEqual(a.pipeline.failures.map((f: any) => [f.jobId, f.storeId]), [['j-bad-a', 'shop-a']]);
    assert.match(a.pipeline.failures[0].error, /engine went away/);

    const all = await ok(q);
    assert.deepEqual(all.pipeline.failures.map((f: any) => f.jobId).sort(), ['j-bad-a', 'j-bad-b']);
    const counts = await app.services.queues.ingest.getJobCounts('waiting', 'prioritized', 'active', 'failed');
    const ingest = all.pipeline.queues.find((x: any) => x.queue === 'ingest');
    assert.equal(ingest.waiting, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
    assert.equal(ingest.failed, counts.failed ?? 0);
    const forbidden = await gql('{ pipeline(store: "shop-b") { failures { jobId } } }', {}, keyA);
    assert.equal(code(forbidden), 'FORBIDDEN');
  });

  test('imports and importBatch show the batches with counts, rejects by reason and a sample', async () => {
    const wh = app.services.warehouse;
    const { runBatch } = await import('../../src/ingest/pipeline.js');
    async function* rows() {
      const bad = [
        { order_id: 'x1', status: 'lost', created_at: '2026-04-01 10:00:00', gross: '1' },
        { order_id: 'x2', status: 'paid', created_at: '2026-04-01 10:00:00', gross: '-5' },
        { order_id: 'x3', status: 'lost', created_at: '2026-04-01 10:00:00', gross: '2' },
      ];
      let n = 0;
      for (const fields of bad) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
    }
    const r = await runBatch({ wh, storeId: 'shop-a', batchId: 'bad-batch-a', source: 'bad.json', entity: 'orders', format: 'json', timezone: 'UTC', retentionDays: 30, rows: rows() });
    assert.equal(r.rejected, 3);
    const list = await ok('{ imports(limit: 100) { batchId storeId entity read inserted unchanged rejected status rejectsByReason { reason } } }', {}, keyA);
    assert.ok(list.imports.every((b: any) => b.storeId === 'shop-a' && b.rejectsByReason === null));
    const fixtureOrders = list.imports.find((b: any) => b.batchId === 'fixture-shop-a-orders');
    assert.deepEqual(
      { read: fixtureOrders.read, inserted: fixtureOrders.inserted, rejected: fixtureOrders.rejected, status: fixtureOrders.status },
      { read: shops['shop-a']!.orders.length, inserted: shops['shop-a']!.orders.length, rejected: 0, status: 'completed' },
    );
    assert.ok(!list.imports.some((b: any) => b.batchId.startsWith('fixture-shop-b')));

    const one = await ok('{ importBatch(id: "bad-batch-a") { batchId read rejected rejectsByReason { reason count } sampleRejects { rowNumber field reason message raw } } }', {}, keyA);
    const expectedReasons = await wh.query<{ reason: string; n: string }>(
      "SELECT reason_code AS reason, count() AS n FROM rejected_records WHERE batch_id = 'bad-batch-a' GROUP BY reason ORDER BY n DESC, reason",
    );
    assert.deepEqual(one.importBatch.rejectsByReason, expectedReasons.map((x) => ({ reason: x.reason, count: Number(x.n) })));
    assert.equal(one.importBatch.rejectsByReason.reduce((s: number, x: any) => s + x.count, 0), 3);
    assert.deepEqual(one.importBatch.sampleRejects.map((x: any) => [x.rowNumber, x.field]), [[1, 'status'], [2, 'gross'], [3, 'status']]);
    assert.equal(JSON.parse(one.importBatch.sampleRejects[0].raw).order_id, 'x1');
    // Another store's batch is invisible.
    const hidden = await ok('{ importBatch(id: "fixture-shop-b-orders") { batchId } }', {}, keyA);
    assert.equal(hidden.importBatch, null);
  });

  test('startImport queues a file under DATA_DIR/incoming once; paths outside it are refused', async () => {
    const fs = await import('node:fs');
    const dir = path.join(tmp.dir, 'incoming');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'late-orders.csv'), 'order_id,status,created_at,gross\nL1,paid,2026-04-02 10:00:00,10.00\n');
    fs.writeFileSync(path.join(tmp.dir, 'secret.csv'), 'x\n1\n');
    const m = `mutation($path: String!, $entity: String) { startImport(path: $path, entity: $entity, format: "csv") { jobId state store file entity duplicate } }`;
    const first = await ok(m, { path: 'late-orders.csv', entity: 'orders' }, ingestA);
    assert.equal(first.startImport.store, 'shop-a');
    assert.equal(first.startImport.duplicate, false);
    assert.equal(first.startImport.entity, 'orders');
    const job = await app.services.queues.ingest.getJob(first.startImport.jobId);
    assert.equal(job?.data.storeId, 'shop-a');
    assert.equal(job?.data.path, fs.realpathSync(path.join(dir, 'late-orders.csv')));
    const again = await ok(m, { path: 'late-orders.csv', entity: 'orders' }, ingestA);
    assert.deepEqual([again.startImport.jobId, again.startImport.duplicate], [first.startImport.jobId, true]);

    for (const p of ['../secret.csv', '/etc/passwd', 'missing.csv', '.']) {
      const r = await gql(m, { path: p, entity: 'orders' }, ingestA);
      assert.equal(code(r), 'BAD_USER_INPUT', `${p}: ${r.text}`);
      assert.equal(r.errors![0]!.extensions.argument, 'path');
    }
    const noEntity = await gql(m, { path: 'late-orders.csv' }, ingestA);
    assert.equal(noEntity.errors![0]!.extensions.argument, 'entity');
    const reader = await gql(m, { path: 'late-orders.csv', entity: 'orders' }, keyA);
    assert.equal(code(reader), 'FORBIDDEN');
  });

  test('retryFailedJobs and rebuildAggregates need the admin scope and queue real jobs', async () => {
    const denied = await gql('mutation { retryFailedJobs { queue } }', {}, keyA);
    assert.equal(code(denied), 'FORBIDDEN');
    const limited = await gql('mutation { retryFailedJobs { queue } }', {}, adminA);
    assert.equal(code(limited), 'FORBIDDEN');
    const unknown = await gql('mutation { retryFailedJobs(queue: "nope") { queue } }');
    assert.equal(unknown.errors![0]!.extensions.argument, 'queue');
    // A job that failed for good is put back to waiting.
    const queue = app.services.queues.maintenance;
    const { Worker } = await import('bullmq');
    const { QUEUE_PREFIX, bullConnection } = await import('../../src/jobs/queues.js');
    const connection = bullConnection(app.services.redisUrl);
    const worker = new Worker('maintenance', async () => { throw new Error('boom'); }, { connection, prefix: QUEUE_PREFIX });
    await queue.add('test-failing', {}, { jobId: 'd1-failing-job', attempts: 1 });
    const deadline = Date.now() + 10_000;
    while ((await queue.getFailed()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await worker.close();
    connection.disconnect();
    const failedBefore = (await queue.getFailed()).map((j) => j.id);
    const seen = await ok('{ pipeline { failedJobs { queue jobId name failedReason attemptsMade failedAt } } }');
    const mineFailed = seen.pipeline.failedJobs.find((j: any) => j.jobId === 'd1-failing-job');
    assert.deepEqual({ ...mineFailed, failedAt: undefined }, { queue: 'maintenance', jobId: 'd1-failing-job', name: 'test-failing', failedReason: 'boom', attemptsMade: 1, failedAt: undefined });
    assert.ok(Math.abs(Date.parse(mineFailed.failedAt) - Date.now()) < 60_000);
    // A job without a store is not shown to a key limited to stores.
    const limitedView = await ok('{ pipeline { failedJobs { jobId } } }', {}, keyA);
    assert.ok(!limitedView.pipeline.failedJobs.some((j: any) => j.jobId === 'd1-failing-job'));
    assert.deepEqual(failedBefore, ['d1-failing-job']);
    const retried = await ok('mutation { retryFailedJobs(queue: "maintenance") { queue retried jobIds } }');
    assert.deepEqual(retried.retryFailedJobs, [{ queue: 'maintenance', retried: failedBefore.length, jobIds: failedBefore }]);
    assert.equal((await queue.getFailed()).length, 0);

    const rebuilt = await ok('mutation { rebuildAggregates(store: "shop-a", range: { from: "2026-04-01", to: "2026-04-03" }) { store flowId rootJobId steps } }', {}, adminA);
    assert.equal(rebuilt.rebuildAggregates.length, 1);
    const flow = rebuilt.rebuildAggregates[0];
    assert.equal(flow.store, 'shop-a');
    assert.ok(flow.steps.length >= 2 && flow.steps[0] === 'aggregate', flow.steps.join(','));
    const { analyticsQueue } = await import('../../src/jobs/analytics.flow.js');
    const root = await analyticsQueue(app.services).getJob(flow.rootJobId);
    assert.equal(root?.data.storeId, 'shop-a');
    assert.deepEqual(root?.data.scope, { from: '2026-04-01', to: '2026-04-03' });
    // adminA sees only shop-a: without a store it rebuilds only shop-a.
    const mine = await ok('mutation { rebuildAggregates { store } }', {}, adminA);
    assert.deepEqual(mine.rebuildAggregates.map((f: any) => f.store), ['shop-a']);
    const other = await gql('mutation { rebuildAggregates(store: "shop-b") { store } }', {}, adminA);
    assert.equal(code(other), 'FORBIDDEN');
    const reversed = await gql('mutation { rebuildAggregates(store: "shop-a", range: { from: "2026-04-03", to: "2026-04-01" }) { store } }');
    assert.equal(reversed.errors![0]!.extensions.argument, 'range.to');
  });
});
