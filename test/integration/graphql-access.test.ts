import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { hashApiKey } from '../../src/auth/api-keys.js';
import { Authenticator } from '../../src/auth/authenticate.js';
import { RateLimiter } from '../../src/http/rate-limit.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
const config = parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', EVENTS_MAX_BATCH: '20' });
let app: RunningApp;
let admin: string;

const start = () => startApp({ config, log: createLogger('silent'), api: true, worker: true, demo: false });

before(async () => {
  app = await start();
  admin = app.adminKey.key;
});
after(async () => {
  await app?.stop();
  tmp.cleanup();
});

interface GqlError {
  message: string;
  path?: string[];
  extensions: { code: string; argument?: string; retryAfter?: number; [k: string]: unknown };
}
interface GqlAnswer<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: GqlError[];
  text: string;
}

async function gql<T = any>(query: string, variables: Record<string, unknown> = {}, key?: string, header: 'bearer' | 'x-api-key' = 'bearer'): Promise<GqlAnswer<T>> {
  const auth: Record<string, string> = key === undefined ? {} : header === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
  const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  const body = JSON.parse(text) as { data?: T; errors?: GqlError[] };
  return { status: res.status, headers: res.headers, data: body.data ?? undefined, errors: body.errors, text };
}

const CREATE = `mutation($name: String!, $scopes: [Scope!]!, $stores: [ID!], $rateLimit: Int) {
  createApiKey(name: $name, scopes: $scopes, stores: $stores, rateLimit: $rateLimit) {
    key apiKey { id name scopes stores rateLimit createdAt revokedAt }
  }
}`;

async function createKey(vars: { name?: string; scopes: string[]; stores?: string[]; rateLimit?: number }): Promise<{ key: string; id: string }> {
  const r = await gql(CREATE, { name: 'test key', ...vars }, admin);
  assert.equal(r.errors, undefined, r.text);
  return { key: r.data.createApiKey.key, id: r.data.createApiKey.apiKey.id };
}

function code(r: GqlAnswer): string | undefined {
  return r.errors?.[0]?.extensions.code;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

test('no key: health stays public, protected fields answer UNAUTHENTICATED; a bad key fails the whole request', async () => {
  const health = await gql('{ health { status } }');
  assert.equal(health.status, 200);
  assert.equal(health.data.health.status, 'ok');
  const anon = await gql('{ viewer { id } }');
  assert.equal(anon.status, 200);
  assert.equal(anon.data, undefined);
  assert.deepEqual(anon.errors!.map((e) => [e.path, e.extensions.code]), [[['viewer'], 'UNAUTHENTICATED']]);
  assert.match(anon.errors![0]!.message, /API key is required/);

  for (const header of ['bearer', 'x-api-key'] as const) {
    const bad = await gql('{ health { status } }', {}, 'ea_not-a-key', header);
    assert.equal(bad.status, 401);
    assert.equal(code(bad), 'UNAUTHENTICATED');
    assert.equal(bad.data, undefined);
  }
  const ok = await gql('{ viewer { name scopes } }', {}, admin, 'x-api-key');
  assert.deepEqual(ok.data.viewer.scopes.sort(), ['ADMIN', 'INGEST', 'READ']);
});

test('createApiKey returns a working key shown once; only its hash is stored; scopes are enforced', async () => {
  const created = await gql(CREATE, { name: '  reporting  ', scopes: ['READ'], stores: ['shop-a'], rateLimit: 120 }, admin);
  assert.equal(created.errors, undefined, created.text);
  const { key, apiKey } = created.data.createApiKey;
  assert.match(key, /^ea_[A-Za-z0-9_-]{40,}$/);
  assert.deepEqual({ ...apiKey, id: undefined, createdAt: undefined }, { id: undefined, name: 'reporting', scopes: ['READ'], stores: ['shop-a'], rateLimit: 120, createdAt: undefined, revokedAt: null });
  assert.ok(Math.abs(Date.parse(apiKey.createdAt) - Date.now()) < 60_000);
  assert.match(apiKey.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'DateTime: ISO 8601 UTC with milliseconds');

  const me = await gql('{ viewer { id name stores } }', {}, key);
  assert.deepEqual(me.data.viewer, { id: apiKey.id, name: 'reporting', stores: ['shop-a'] });

  // The read key may not manage keys.
  for (const q of ['{ apiKeys { id } }', `mutation { revokeApiKey(id: "${apiKey.id}") { id } }`]) {
    const r = await gql(q, {}, key);
    assert.equal(code(r), 'FORBIDDEN', r.text);
    assert.match(r.errors![0]!.message, /"admin" scope/);
  }
  const forbidden = await gql(CREATE, { name: 'x', scopes: ['ADMIN'] }, key);
  assert.equal(code(forbidden), 'FORBIDDEN');

  // The table holds the hash, never the key; the API never shows either again.
  const rows = await app.services.warehouse.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE key_id = {id:String}', { id: apiKey.id });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!['key_hash'], hashApiKey(key));
  const everything = JSON.stringify(await app.services.warehouse.query('SELECT * FROM api_keys'));
  assert.ok(!everything.includes(key), 'the plain key is nowhere in api_keys');
  assert.ok(!everything.includes(key.slice(3, 20)), 'not even a part of it');
  const listed = await gql('{ apiKeys { id name scopes stores rateLimit revokedAt } }', {}, admin);
  assert.ok(listed.data.apiKeys.some((k: { id: string }) => k.id === apiKey.id));
  assert.ok(!listed.text.includes(key) && !listed.text.includes(hashApiKey(key)), 'apiKeys shows neither key nor hash');
  const introspect = await gql('{ __type(name: "ApiKey") { fields { name } } }', {}, admin);
  assert.ok(!introspect.data.__type.fields.some((f: { name: string }) => /hash|key$/i.test(f.name)), 'no hash field in the schema');
});

test('BAD_USER_INPUT names the argument', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: '   ', scopes: ['READ'] }, 'name'],
    [{ name: 'x'.repeat(101), scopes: ['READ'] }, 'name'],
    [{ name: 'ok', scopes: [] }, 'scopes'],
    [{ name: 'ok', scopes: ['READ'], stores: ['bad store!'] }, 'stores'],
    [{ name: 'ok', scopes: ['READ'], rateLimit: -1 }, 'rateLimit'],
  ];
  for (const [vars, argument] of cases) {
    const r = await gql(CREATE, vars, admin);
    assert.equal(code(r), 'BAD_USER_INPUT', r.text);
    assert.equal(r.errors![0]!.extensions.argument, argument, r.text);
    assert.match(r.errors![0]!.message, new RegExp(`^${argument}: `));
  }
  const page = await gql('{ apiKeys(first: 0) { id } }', {}, admin);
  assert.equal(page.errors![0]!.extensions.argument, 'first');
  const revoke = await gql('mutation { revokeApiKey(id: "no-such-key") { id } }', {}, admin);
  assert.deepEqual([code(revoke), revoke.errors![0]!.extensions.argument], ['BAD_USER_INPUT', 'id']);
  // Type errors in variables are Apollo's own BAD_USER_INPUT; in the query text, validation failures.
  const badVar = await gql(CREATE, { name: 'ok', scopes: ['WRITE'] }, admin);
  assert.equal(code(badVar), 'BAD_USER_INPUT');
  const badLiteral = await gql('mutation { createApiKey(name: "x", scopes: [WRITE]) { key } }', {}, admin);
  assert.equal(code(badLiteral), 'GRAPHQL_VALIDATION_FAILED');
});

test('revokeApiKey: the key stops working within a second, on every process', async () => {
  const { key, id } = await createKey({ scopes: ['READ'] });
  const other = new Authenticator(app.services.warehouse); // another API process's key cache
  assert.ok(await other.lookup(key));
  assert.equal((await gql('{ viewer { id } }', {}, key)).data.viewer.id, id);

  const revoked = await gql(`mutation { revokeApiKey(id: "${id}") { id revokedAt } }`, {}, admin);
  assert.equal(revoked.errors, undefined, revoked.text);
  assert.ok(revoked.data.revokeApiKey.revokedAt);
  const t0 = Date.now();
  await waitFor(async () => (code(await gql('{ viewer { id } }', {}, key)) === 'UNAUTHENTICATED' ? true : undefined), 1500, 50);
  await waitFor(async () => ((await other.lookup(key)) === undefined ? true : undefined), 1500 - (Date.now() - t0), 50);
  assert.ok(Date.now() - t0 <= 1500, `refused after ${Date.now() - t0} ms`);

  const again = await gql(`mutation { revokeApiKey(id: "${id}") { revokedAt } }`, {}, admin);
  assert.equal(again.data.revokeApiKey.revokedAt, revoked.data.revokeApiKey.revokedAt, 'revoking twice changes nothing');
  const active = await gql('{ apiKeys { id } }', {}, admin);
  assert.ok(!active.data.apiKeys.some((k: { id: string }) => k.id === id));
  const all = await gql('{ apiKeys(includeRevoked: true) { id revokedAt } }', {}, admin);
  assert.ok(all.data.apiKeys.some((k: { id: string; revokedAt: string }) => k.id === id && k.revokedAt));
});

const INGEST = `mutation($store: ID, $events: [JSONObject!]!) {
  ingestEvents(store: $store, events: $events) { jobId received accepted duplicate rejected { index field reason message } }
}`;
const ev = (id: string, extra: Record<string, unknown> = {}) => ({ event_id: id, event_time: '2024-05-01T10:00:00Z', session_id: 's1', event_type: 'page_view', ...extra });

test('ingestEvents: ingest scope, store limits, batch limit, and the events land', { timeout: 30_000 }, async () => {
  const ingest = await createKey({ scopes: ['INGEST'], stores: ['gql-shop'] });
  const reader = await createKey({ scopes: ['READ'] });

  assert.equal(code(await gql(INGEST, { store: 'gql-shop', events: [ev('a')] }, reader.key)), 'FORBIDDEN');
  const otherStore = await gql(INGEST, { store: 'shop-b', events: [ev('a')] }, ingest.key);
  assert.equal(code(otherStore), 'FORBIDDEN');
  assert.match(otherStore.errors![0]!.message, /store "shop-b"/);
  const badStore = await gql(INGEST, { store: 'no spaces', events: [ev('a')] }, admin);
  assert.deepEqual([code(badStore), badStore.errors![0]!.extensions.argument], ['BAD_USER_INPUT', 'store']);
  const tooMany = await gql(INGEST, { events: Array.from({ length: 21 }, (_, i) => ev(`m${i}`)) }, ingest.key);
  assert.deepEqual([code(tooMany), tooMany.errors![0]!.extensions.argument], ['BAD_USER_INPUT', 'events'], tooMany.text);
  const empty = await gql(INGEST, { events: [] }, ingest.key);
  assert.equal(empty.errors![0]!.extensions.argument, 'events');

  // No store argument: the key's only store.
  const r = await gql(INGEST, { events: [ev('g1'), ev('g2', { event_type: 'teleport' }), ev('g3')] }, ingest.key);
  assert.equal(r.errors, undefined, r.text);
  assert.deepEqual({ ...r.data.ingestEvents, jobId: undefined }, {
    jobId: undefined,
    received: 3,
    accepted: 2,
    duplicate: false,
    rejected: [{ index: 1, field: 'event_type', reason: 'invalid_enum', message: r.data.ingestEvents.rejected[0].message }],
  });
  assert.match(r.data.ingestEvents.jobId, /^events__gql-shop__/);
  const again = await gql(INGEST, { events: [ev('g1'), ev('g2', { event_type: 'teleport' }), ev('g3')] }, ingest.key);
  assert.deepEqual([again.data.ingestEvents.duplicate, again.data.ingestEvents.jobId], [true, r.data.ingestEvents.jobId]);

  const landed = await waitFor(async () => {
    const rows = await app.services.warehouse.query<{ event_id: string }>("SELECT event_id FROM fact_events FINAL WHERE store_id = 'gql-shop' ORDER BY event_id");
    return rows.length === 2 ? rows.map((x) => x.event_id) : undefined;
  });
  assert.deepEqual(landed, ['g1', 'g3']);
});

test('rate limits: a token bucket per key in Redis, shared by every process; 429 with Retry-After', async () => {
  const { key } = await createKey({ scopes: ['READ', 'INGEST'], rateLimit: 3 });
  const answers: GqlAnswer[] = [];
  for (let i = 0; i < 5; i++) answers.push(await gql('{ viewer { id } }', {}, key));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429, 429]);
  assert.deepEqual(answers.map((a) => code(a) ?? 'ok'), ['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  const limited = answers[3]!;
  const retryAfter = limited.errors![0]!.extensions.retryAfter!;
  // 3 per minute refill one token every 20 s.
  assert.ok(retryAfter >= 1 && retryAfter <= 20, `retryAfter ${retryAfter}`);
  assert.equal(limited.headers.get('retry-after'), String(retryAfter));
  assert.equal(answers[0]!.headers.get('x-ratelimit-limit'), '3');

  // The /v1 routes draw from the same bucket.
  const rest = await fetch(`${app.url}/v1/events`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(ev('r1')) });
  assert.equal(rest.status, 429);
  assert.ok(Number(rest.headers.get('retry-after')) >= 1);
  assert.equal(((await rest.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');

  // Another process (its own Redis connection and limiter) sees the same, empty bucket.
  const redis = new Redis(app.services.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const other = new RateLimiter(redis, { defaultPerMinute: 600, log: createLogger('silent') });
    const d = await other.take(hashApiKey(key), 3);
    assert.equal(d.allowed, false);
    assert.equal(d.failedOpen, undefined);
    // ...and a fresh key's bucket there is full, and drains for this process too.
    const fresh = await createKey({ scopes: ['READ'], rateLimit: 2 });
    assert.equal((await other.take(hashApiKey(fresh.key), 2)).allowed, true);
    assert.equal((await other.take(hashApiKey(fresh.key), 2)).allowed, true);
    assert.equal(code(await gql('{ viewer { id } }', {}, fresh.key)), 'RATE_LIMITED');
  } finally {
    redis.disconnect();
  }
});

test('query cost limits: too complex a query is refused before it runs, naming the limit', async () => {
  // 500 customers × 500 orders × their items and products: far more than any page is meant to hold.
  const r = await gql('{ customers(first: 500) { nodes { id orders(first: 500) { id items { quantity product { id name sku brand category } } } } } }', {}, admin);
  assert.equal(r.status, 400);
  assert.equal(code(r), 'GRAPHQL_VALIDATION_FAILED');
  assert.match(r.errors![0]!.message, /complexity budget of 1000000 \(MAX_QUERY_COMPLEXITY\)/);
  assert.equal(r.errors![0]!.extensions['limit'], 'maxComplexity');
  assert.ok((r.errors![0]!.extensions['actual'] as number) > 1_000_000);
  // The standard introspection query (deeply nested __type fields) is not limited.
  const { getIntrospectionQuery } = await import('graphql');
  const intro = await gql(getIntrospectionQuery(), {}, admin);
  assert.equal(intro.errors, undefined);
});

test('keys survive a restart of the app (and of its Redis)', { timeout: 60_000 }, async () => {
  const { key, id } = await createKey({ scopes: ['READ'] });
  await app.stop();
  app = await start();
  const me = await gql('{ viewer { id } }', {}, key);
  assert.equal(me.errors, undefined, me.text);
  assert.equal(me.data.viewer.id, id);
  assert.equal(code(await gql('{ viewer { id } }', {}, 'ea_unknown')), 'UNAUTHENTICATED');
});
