// The API platform around the analytics resolvers: the Redis answer cache (hits, invalidation by
// data version, store isolation, single flight, Redis down), automatic persisted queries, query
// time budgets and client aborts, /metrics and request ids. The resolvers under test are small
// ones defined here (counting their computations), served by the real HTTP server over the real
// engine and a real Redis this file starts (and stops, for the Redis-down test).
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Arg, Authorized, Ctx, Field, ID, Int, ObjectType, Query, Resolver, buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { ensureRedis, type RedisHandle } from '../../src/redis/redis-server.js';
import { storeApiKey, generateApiKey, type Scope } from '../../src/auth/api-keys.js';
import { authChecker } from '../../src/auth/auth-checker.js';
import { storeArgument } from '../../src/auth/store-access.js';
import { ApiKeyResolver } from '../../src/resolvers/api-key.resolver.js';
import { HealthResolver } from '../../src/resolvers/health.resolver.js';
import { AnswerCache, cachedAnswer } from '../../src/cache/answer-cache.js';
import { bumpDataVersion } from '../../src/cache/data-version.js';
import type { RequestContext } from '../../src/schema/context.js';
import type { Services } from '../../src/app/services.js';
import { registry } from '../../src/metrics/metrics.js';
import { tempDir } from '../support/temp.js';
import { spawnShim } from '../support/clickhouse-http-shim.js';
import { createWarehouse } from '../../src/warehouse/client.js';
import { runInQueryScope } from '../../src/warehouse/query-scope.js';

const tmp = tempDir();
let redis: RedisHandle;
let app: RunningApp;
let schema: GraphQLSchema;
const servers: HttpServerHandle[] = [];
let main: HttpServerHandle;

/** Computations the test resolvers ran (cache misses), by operation. */
const computes: Record<string, number> = {};
const count = (op: string) => (computes[op] = (computes[op] ?? 0) + 1);

@ObjectType()
class OrderTotals {
  @Field(() => ID) store!: string;
  @Field(() => Int) orders!: number;
  @Field(() => String, { description: 'Money string as the engine rendered it.' }) gross!: string;
  @Field(() => String) computedAt!: string;
}

@Resolver()
class PlatformTestResolver {
  @Authorized('read')
  @Query(() => OrderTotals)
  async orderTotals(@Ctx() ctx: RequestContext, @Arg('store', () => ID, { nullable: true }) store: string | null): Promise<OrderTotals> {
    const storeId = storeArgument(ctx, store);
    return cachedAnswer(ctx, { op: 'orderTotals', args: { storeId }, storeIds: [storeId] }, async () => {
      count('orderTotals');
      const [row] = await ctx.services.warehouse.query<{ n: string; g: string }>(
        'SELECT count() AS n, toString(sum(gross)) AS g FROM fact_orders FINAL WHERE store_id = {s:String}',
        { s: storeId },
      );
      return { store: storeId, orders: Number(row!.n), gross: row!.g, computedAt: new Date().toISOString() };
    });
  }

  @Authorized('read')
  @Query(() => Int, { description: 'A computation that takes 300 ms, for single flight.' })
  async slowTotal(@Ctx() ctx: RequestContext, @Arg('tag', () => String) tag: string): Promise<number> {
    const storeId = storeArgument(ctx, null);
    return cachedAnswer(ctx, { op: 'slowTotal', args: { storeId, tag }, storeIds: [storeId] }, async () => {
      count(`slowTotal:${tag}`);
      await new Promise((r) => setTimeout(r, 300));
      const [row] = await ctx.services.warehouse.query<{ n: string }>('SELECT count() AS n FROM fact_orders FINAL WHERE store_id = {s:String}', { s: storeId });
      return Number(row!.n);
    });
  }

  @Authorized('read')
  @Query(() => Int, { description: 'A warehouse query that takes far longer than any budget.' })
  async heavy(@Ctx() ctx: RequestContext, @Arg('tag', () => String) tag: string): Promise<number> {
    const storeId = storeArgument(ctx, null);
    return cachedAnswer(ctx, { op: 'heavy', args: { tag }, storeIds: [storeId] }, async () => {
      count(`heavy:${tag}`);
      const [row] = await ctx.services.warehouse.query<{ n: string }>(
        'SELECT count() AS n FROM numbers(100000000000) WHERE sipHash64(number) % 7 = {x:UInt8}',
        { x: 3 },
      );
      return Number(row!.n);
    });
  }

  @Authorized('read')
  @Query(() => Int, { description: 'A query the engine refuses: its error must not reach the client.' })
  async broken(@Ctx() ctx: RequestContext): Promise<number> {
    const rows = await ctx.services.warehouse.query<{ n: number }>('SELECT no_such_column AS n FROM fact_orders WHERE store_id = {s:String}', { s: 'x' });
    return rows.length;
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] };
  text: string;
}

async function post(server: HttpServerHandle, query: string, variables: Record<string, unknown>, key?: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ query, variables, ...extra }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

async function newKey(scopes: Scope[], stores: string[] = []): Promise<string> {
  const key = generateApiKey();
  await storeApiKey(app.services.warehouse, { key, name: 'platform test', scopes, stores });
  return key;
}

/** Independent figures: the orders inserted by this test, per store. */
const inserted: Record<string, { orders: number; grossCents: number }> = {};
let orderSeq = 0;
async function insertOrders(storeId: string, grossCents: number[]): Promise<void> {
  const now = new Date().toISOString();
  await app.services.warehouse.insert(
    'fact_orders',
    grossCents.map((c) => ({
      store_id: storeId,
      order_id: `o-${++orderSeq}`,
      status: 'paid',
      created_at: '2026-10-15 12:00:00.000',
      gross: (c / 100).toFixed(2),
      net: (c / 100).toFixed(2),
      updated_at: now,
      version: Date.now(),
    })),
  );
  const t = (inserted[storeId] ??= { orders: 0, grossCents: 0 });
  t.orders += grossCents.length;
  t.grossCents += grossCents.reduce((a, b) => a + b, 0);
}
const cents = (money: string) => Math.round(Number(money) * 100);

/** Current value of a counter, or a histogram's observation count, summed over the series matching `labels`. */
async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  const histogram = String(m.type) === 'histogram';
  let sum = 0;
  for (const v of m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
    if (histogram && v.metricName !== `${name}_count`) continue;
    if (Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) sum += v.value;
  }
  return sum;
}

/** A fresh (uncached, parameterised) engine query: it waits behind any statement still running. */
async function engineProbe(): Promise<void> {
  const [row] = await app.services.warehouse.query<{ n: string }>('SELECT count() AS n FROM fact_orders FINAL WHERE store_id = {s:String} AND order_id != {r:String}', { s: 'shop-a', r: randomUUID() });
  assert.equal(Number(row!.n), inserted['shop-a']!.orders);
}

async function startServer(overrides: Record<string, unknown> = {}): Promise<HttpServerHandle> {
  const services: Services = { ...app.services, config: Object.freeze({ ...app.services.config, ...overrides }) as Services['config'] };
  const s = await startHttpServer({ services, schema, port: 0, host: '127.0.0.1' });
  servers.push(s);
  return s;
}

before(async () => {
  redis = await ensureRedis({ dataDir: tmp.dir });
  const config = parseConfig({ DATA_DIR: tmp.dir, REDIS_URL: redis.url, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', RATE_LIMIT_PER_MINUTE: '100000' });
  app = await startApp({ config, log: createLogger('silent'), api: false, worker: false, demo: false });
  schema = await buildSchema({ resolvers: [HealthResolver, ApiKeyResolver, PlatformTestResolver], authChecker, authMode: 'error', validate: false });
  main = await startServer();
  await insertOrders('shop-a', [1000, 2550, 199]);
  await insertOrders('shop-b', [70001]);
});

after(async () => {
  for (const s of servers) await s.close().catch(() => undefined);
  await app?.stop();
  await redis?.stop();
  tmp.cleanup();
});

const TOTALS = 'query($store: ID) { orderTotals(store: $store) { store orders gross computedAt } }';

test('a miss computes and stores; the identical query is then a hit with the identical answer and Cache-Control/Age', async () => {
  const key = await newKey(['read'], ['shop-a']);
  const before = computes.orderTotals ?? 0;
  const first = await post(main, TOTALS, {}, key);
  assert.equal(first.body.errors, undefined, first.text);
  assert.deepEqual({ ...first.body.data.orderTotals, computedAt: undefined }, { store: 'shop-a', orders: 3, gross: first.body.data.orderTotals.gross, computedAt: undefined });
  assert.equal(cents(first.body.data.orderTotals.gross), inserted['shop-a']!.grossCents, 'the engine sum equals the inserted cents');
  assert.equal(first.headers.get('x-answer-cache'), 'miss');
  assert.equal(first.headers.get('cache-control'), 'private, max-age=0');
  assert.equal(first.headers.get('age'), '0');

  await new Promise((r) => setTimeout(r, 1100));
  // Same question in other words (explicit store = the key's only store; variables reordered): same key.
  const second = await post(main, TOTALS, { store: 'shop-a' }, key);
  assert.equal(second.text, first.text, 'byte-identical answer, Money strings included');
  assert.equal(second.headers.get('x-answer-cache'), 'hit');
  assert.equal(second.headers.get('cache-control'), 'private, max-age=0');
  assert.ok(Number(second.headers.get('age')) >= 1, `age ${second.headers.get('age')}`);
  assert.equal(computes.orderTotals, before + 1, 'computed once');

  // A response with a field that is not answered through the cache is not cacheable.
  const mixed = await post(main, '{ orderTotals { orders } viewer { id } }', {}, key);
  assert.equal(mixed.body.errors, undefined, mixed.text);
  assert.equal(mixed.headers.get('cache-control'), 'no-store');
  // Errors: no-store.
  const failed = await post(main, '{ orderTotals(store: "shop-b") { orders } }', {}, key);
  assert.equal(failed.body.errors?.[0]?.extensions['code'], 'FORBIDDEN');
  assert.equal(failed.headers.get('cache-control'), 'no-store');
});

test('new data is invisible until the store\'s data version is bumped, then answered at once (no TTL)', async () => {
  const key = await newKey(['read'], ['shop-a']);
  const a1 = await post(main, TOTALS, {}, key);
  await insertOrders('shop-a', [5005]);
  const a2 = await post(main, TOTALS, {}, key);
  assert.equal(a2.headers.get('x-answer-cache'), 'hit');
  assert.deepEqual(a2.body.data, a1.body.data, 'same data version: the cached answer');
  const computed = computes.orderTotals ?? 0;

  await bumpDataVersion(app.services.redis, 'shop-a');
  const a3 = await post(main, TOTALS, {}, key);
  assert.equal(a3.headers.get('x-answer-cache'), 'miss');
  assert.equal(a3.body.data.orderTotals.orders, inserted['shop-a']!.orders);
  assert.equal(cents(a3.body.data.orderTotals.gross), inserted['shop-a']!.grossCents);
  assert.equal(computes.orderTotals, computed + 1);
  // Another store's bump does not touch shop-a's answers.
  await bumpDataVersion(app.services.redis, 'shop-b');
  assert.equal((await post(main, TOTALS, {}, key)).headers.get('x-answer-cache'), 'hit');
});

test('store isolation through the cache: a key limited to one store never gets another store\'s answer', async () => {
  const a = await newKey(['read'], ['shop-a']);
  const b = await newKey(['read'], ['shop-b']);
  const all = await newKey(['read']);
  const ra = await post(main, TOTALS, {}, a);
  assert.equal(ra.body.data.orderTotals.store, 'shop-a');
  // B asks for A's store (cached by now): refused, not served from the cache.
  const rb = await post(main, TOTALS, { store: 'shop-a' }, b);
  assert.equal(rb.body.errors?.[0]?.extensions['code'], 'FORBIDDEN');
  assert.equal(rb.body.data, null);
  // B without a store: its own store's numbers.
  const own = await post(main, TOTALS, {}, b);
  assert.deepEqual([own.body.data.orderTotals.store, own.body.data.orderTotals.orders, cents(own.body.data.orderTotals.gross)], ['shop-b', inserted['shop-b']!.orders, inserted['shop-b']!.grossCents]);
  // A key that sees every store has its own cache entries (the key's scope is part of the cache key).
  const wide = await post(main, TOTALS, { store: 'shop-a' }, all);
  assert.equal(wide.headers.get('x-answer-cache'), 'miss');
  assert.equal(wide.body.data.orderTotals.orders, inserted['shop-a']!.orders);
});

test('single flight: concurrent identical misses run one computation', async () => {
  const key = await newKey(['read'], ['shop-a']);
  const tag = randomUUID();
  const hitsBefore = await metricValue('ecomm_answer_cache_requests_total', { op: 'slowTotal', result: 'shared' });
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(main, 'query($t: String!) { slowTotal(tag: $t) }', { t: tag }, key)));
  for (const r of answers) assert.equal(r.body.data?.slowTotal, inserted['shop-a']!.orders, r.text);
  assert.equal(computes[`slowTotal:${tag}`], 1, 'one computation for 8 concurrent requests');
  const shared = (await metricValue('ecomm_answer_cache_requests_total', { op: 'slowTotal', result: 'shared' })) - hitsBefore;
  assert.equal(shared, 7);

  // Across processes: two caches on the same Redis (two API processes) compute once between them.
  const other1 = new AnswerCache({ redisUrl: redis.url, log: createLogger('silent') });
  const other2 = new AnswerCache({ redisUrl: redis.url, log: createLogger('silent') });
  try {
    await Promise.all([waitReady(other1), waitReady(other2)]);
    let n = 0;
    const compute = async () => {
      n++;
      await new Promise((r) => setTimeout(r, 300));
      return { money: '12.3400', at: 1 };
    };
    const k = other1.baseKeyOf('crossProcess', { tag }, '*', ['shop-a']);
    const [x, y] = await Promise.all([other1.answer(k, ['shop-a'], 'crossProcess', compute), other2.answer(k, ['shop-a'], 'crossProcess', compute)]);
    assert.equal(n, 1, 'the second process waited for the first one\'s answer');
    assert.deepEqual(x.value, { money: '12.3400', at: 1 });
    assert.deepEqual(y.value, x.value);
    assert.deepEqual([x.hit, y.hit].sort(), [false, true]);
  } finally {
    await other1.close();
    await other2.close();
  }
});

async function waitReady(c: AnswerCache): Promise<void> {
  for (let i = 0; i < 100 && !c.usable; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(c.usable, 'cache connection ready');
}

test('automatic persisted queries: not found → register → by hash, over POST and GET, stored in Redis', async () => {
  const key = await newKey(['read'], ['shop-b']);
  const query = `query PQ { orderTotals { store orders gross } } # ${randomUUID()}`;
  const sha256Hash = createHash('sha256').update(query).digest('hex');
  const ext = { persistedQuery: { version: 1, sha256Hash } };
  const unknown = await post(main, undefined as unknown as string, {}, key, { extensions: ext });
  assert.equal(unknown.body.errors?.[0]?.extensions['code'], 'PERSISTED_QUERY_NOT_FOUND', unknown.text);
  const registered = await post(main, query, {}, key, { extensions: ext });
  assert.equal(registered.body.errors, undefined, registered.text);
  assert.equal(registered.body.data.orderTotals.store, 'shop-b');
  const byHash = await post(main, undefined as unknown as string, {}, key, { extensions: ext });
  assert.deepEqual(byHash.body, registered.body);
  const params = new URLSearchParams({ extensions: JSON.stringify(ext) });
  const get = await fetch(`${main.url}/graphql?${params}`, { headers: { authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' } });
  assert.equal(get.status, 200);
  assert.deepEqual(await get.json(), registered.body);
  assert.equal(await app.services.redis.exists(`ecomm:apq:apq:${sha256Hash}`), 1, 'the query text is in Redis, for every API process');
  const wrong = await post(main, '{ orderTotals { orders } }', {}, key, { extensions: ext });
  assert.ok(wrong.body.errors?.length, 'a hash that does not match the query is refused');
  assert.equal(wrong.body.errors[0].extensions.code, 'BAD_USER_INPUT', 'as a client error, not INTERNAL');
});

test('a warehouse query over its time budget is stopped and answered with TIMEOUT; INTERNAL errors name no SQL', async () => {
  const fast = await startServer({ QUERY_TIMEOUT_MS: 300 });
  const key = await newKey(['read'], ['shop-a']);
  const t0 = Date.now();
  const r = await post(fast, 'query($t: String!) { heavy(tag: $t) }', { t: randomUUID() }, key);
  const ms = Date.now() - t0;
  assert.equal(r.body.errors?.[0]?.extensions['code'], 'TIMEOUT', r.text);
  assert.ok(ms < 2500, `answered after ${ms} ms`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.ok(!/SELECT|numbers|sipHash|stack/i.test(r.text), r.text);
  // The engine is free again right away: the statement was stopped, not left running.
  const t1 = Date.now();
  await engineProbe();
  assert.ok(Date.now() - t1 < 1500, `next query took ${Date.now() - t1} ms`);

  const broken = await post(main, '{ broken }', {}, key);
  assert.equal(broken.body.errors?.[0]?.extensions['code'], 'INTERNAL');
  assert.ok(!/SELECT|no_such_column|fact_orders|at .*\.js|Code: \d+/i.test(broken.text), broken.text);
  assert.deepEqual(Object.keys(broken.body.errors![0]!.extensions), ['code']);
});

test('a client that goes away releases its query: aborted at once, and stopped on the engine by its budget', async () => {
  const server = await startServer({ QUERY_TIMEOUT_MS: 5000 });
  const key = await newKey(['read'], ['shop-a']);
  const abortedBefore = await metricValue('ecomm_warehouse_query_duration_seconds', { kind: 'query', outcome: 'aborted' });
  const controller = new AbortController();
  const t0 = Date.now();
  const pending = fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: 'query($t: String!) { heavy(tag: $t) }', variables: { t: randomUUID() } }),
    signal: controller.signal,
  });
  await new Promise((r) => setTimeout(r, 400));
  controller.abort();
  await assert.rejects(pending);
  // The server's warehouse call ends as "aborted" right after the client left (well before the 2 s budget).
  let aborted = 0;
  for (let i = 0; i < 120 && aborted === 0; i++) {
    aborted = (await metricValue('ecomm_warehouse_query_duration_seconds', { kind: 'query', outcome: 'aborted' })) - abortedBefore;
    if (aborted === 0) await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(aborted, 1, 'the warehouse query was aborted');
  assert.ok(Date.now() - t0 < 4000, `aborted after ${Date.now() - t0} ms, before its 5 s budget`);
  // The engine stops the statement by its budget at the latest: the next query runs well before the 100-billion-row scan could end.
  await engineProbe();
  assert.ok(Date.now() - t0 < 5000 + 3000, `engine free after ${Date.now() - t0} ms`);
});

test('server engine: an aborted query is killed on the server by its query id (KILL QUERY, via the HTTP test shim)', { timeout: 60_000 }, async () => {
  const dir = tempDir('ecomm-shim-');
  const shim = await spawnShim({ path: dir.dir });
  const wh = await createWarehouse(parseConfig({ DATA_DIR: dir.dir, CLICKHOUSE_URL: shim.url }));
  try {
    const gone = new AbortController();
    const queryId = `q-abort-${randomUUID()}`;
    const t0 = Date.now();
    const running = runInQueryScope({ signal: gone.signal, timeoutMs: 1500 }, () =>
      wh.query('SELECT count() AS n FROM numbers(100000000000) WHERE sipHash64(number) % 7 = {x:UInt8}', { x: 3 }, { queryId }),
    );
    setTimeout(() => gone.abort(new Error('client went away')), 300);
    await assert.rejects(running);
    assert.ok(Date.now() - t0 < 1200, `released after ${Date.now() - t0} ms`);
    // The shim runs one statement at a time, so the KILL reaches its log once the scan has stopped (at its 1.5 s budget).
    let kills: { query: string }[] = [];
    for (let i = 0; i < 100 && kills.length === 0; i++) {
      kills = (await shim.requests()).filter((e) => /^KILL QUERY WHERE query_id = \{id:String\}/.test(e.query));
      if (kills.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(kills.length, 1, 'one KILL QUERY sent to the server');
    const scans = (await shim.requests(queryId)).filter((e) => e.query.includes('numbers(100000000000)'));
    assert.equal(scans.length, 1);
    assert.equal(scans[0]!.exception_code, 159, 'the scan itself was stopped by max_execution_time (TIMEOUT_EXCEEDED)');
  } finally {
    await wh.close();
    await shim.stop();
    dir.cleanup();
  }
});

test('/metrics exposes request, resolver, warehouse, cache and queue series; request ids are echoed', async () => {
  const key = await newKey(['read'], ['shop-a']);
  const r = await post(main, TOTALS, {}, key, {}, { 'x-request-id': 'rid-platform-1' });
  assert.equal(r.headers.get('x-request-id'), 'rid-platform-1');
  const generated = await post(main, TOTALS, {}, key);
  assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const res = await fetch(`${main.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  for (const series of [
    /^ecomm_http_requests_total\{route="\/graphql",method="POST",status="200"\} \d+/m,
    /^ecomm_graphql_requests_total\{operation="orderTotals",outcome="ok"\} \d+/m,
    /^ecomm_graphql_request_duration_seconds_bucket\{le="0.005",operation="orderTotals"\} \d+/m,
    /^ecomm_graphql_resolver_duration_seconds_count\{field="Query.orderTotals"\} \d+/m,
    /^ecomm_warehouse_query_duration_seconds_count\{kind="query",outcome="ok"\} \d+/m,
    /^ecomm_answer_cache_requests_total\{op="orderTotals",result="hit"\} \d+/m,
    /^ecomm_answer_cache_requests_total\{op="orderTotals",result="miss"\} \d+/m,
    /^ecomm_answer_cache_computes_total\{op="orderTotals"\} \d+/m,
    /^ecomm_queue_jobs\{queue="ingest",state="waiting"\} 0/m,
    /^ecomm_persisted_queries_total\{result="hit"\} \d+/m,
    /^ecomm_process_resident_memory_bytes \d+/m,
  ]) {
    assert.ok(series.test(text), `missing ${series.source}`);
  }
  const hits = Number(/^ecomm_answer_cache_requests_total\{op="orderTotals",result="hit"\} (\d+)/m.exec(text)![1]);
  assert.ok(hits >= 4, `hits ${hits}`);
});

// Last: it stops this file's Redis.
test('Redis down: the API still answers, uncached and quickly', async () => {
  const key = await newKey(['read'], ['shop-b']);
  const warm = await post(main, TOTALS, {}, key);
  assert.equal(warm.body.errors, undefined, warm.text);
  const computed = computes.orderTotals ?? 0;
  await redis.stop();
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const r = await post(main, TOTALS, {}, key);
    const ms = Date.now() - t0;
    assert.equal(r.body.errors, undefined, r.text);
    assert.deepEqual([r.body.data.orderTotals.orders, cents(r.body.data.orderTotals.gross)], [inserted['shop-b']!.orders, inserted['shop-b']!.grossCents]);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('x-answer-cache'), 'bypass');
    assert.ok(ms < 1000, `answered in ${ms} ms`);
  }
  assert.equal(computes.orderTotals, computed + 3, 'computed each time');
});
