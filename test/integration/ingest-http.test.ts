import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { generateApiKey, storeApiKey } from '../../src/auth/api-keys.js';
import { tempDir } from '../support/temp.js';
import { runCli as runCliAs } from '../support/cli.js';

const tmp = tempDir();
let app: RunningApp;
let admin: string;
let readOnly: string;
let otherStore: string;

before(async () => {
  app = await startApp({
    config: parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', EVENTS_MAX_BATCH: '50', EVENTS_MAX_BODY_BYTES: '20000' }),
    log: createLogger('silent'),
    api: true,
    worker: true,
    demo: false,
  });
  admin = app.adminKey.key;
  readOnly = generateApiKey();
  await storeApiKey(app.services.warehouse, { key: readOnly, name: 'reader', scopes: ['read'] });
  otherStore = generateApiKey();
  await storeApiKey(app.services.warehouse, { key: otherStore, name: 'shop-b ingest', scopes: ['ingest'], stores: ['shop-b'] });
});
after(async () => {
  await app.stop();
  tmp.cleanup();
});

const runCli = (args: string[], env: Record<string, string> = {}) => runCliAs({ url: app.url!, key: admin }, args, env);

const post = (p: string, body: string, key?: string, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${p}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}), ...headers } });

async function sql<T>(q: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return app.services.warehouse.query<T>(q, params);
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ecomm import uploads a CSV, follows the job and prints the reconciled summary; a second run is a no-op', { timeout: 180_000 }, async () => {
  const file = path.join(tmp.dir, 'orders.csv');
  fs.writeFileSync(
    file,
    'Order ID;Customer;status;created_at;gross;currency\n' +
      'A1;c1;paid;2024-05-01 10:00;10.50;EUR\n' +
      'A2;;shipped;2024-05-02 11:00;"1,5";EUR\n' + // decimal comma: rejected, not guessed
      'A3;c2;paid;2024-05-03 12:00;7;EUR\n',
  );
  const first = await runCli(['import', file, '--entity', 'orders', '--store', 'shop-a', '--map', 'Order ID=order_id,Customer=customer_id']);
  assert.equal(first.code, 0, first.err + first.out);
  assert.match(first.out, /Import completed/);
  assert.match(first.out, /read\s+3\n\s+inserted\s+2\n\s+unchanged\s+0\n\s+rejected\s+1/);
  assert.match(first.out, /invalid_value\s+1/);
  const [sum] = await sql<{ g: string; n: string }>("SELECT toString(sum(gross)) AS g, toString(count()) AS n FROM fact_orders FINAL WHERE store_id = 'shop-a'");
  assert.deepEqual(sum, { g: '17.5', n: '2' });

  const again = await runCli(['import', file, '--entity', 'orders', '--store', 'shop-a', '--map', 'Order ID=order_id,Customer=customer_id']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /Already submitted/, 'the same file for the same store is the same job');

  // The same rows in another file (another job) are all unchanged.
  const copy = path.join(tmp.dir, 'orders-again.csv');
  fs.writeFileSync(copy, fs.readFileSync(file, 'utf8') + '\n');
  const third = await runCli(['import', copy, '--entity', 'orders', '--store', 'shop-a', '--map', 'Order ID=order_id,Customer=customer_id']);
  assert.equal(third.code, 0, third.err);
  assert.match(third.out, /inserted\s+0\n\s+unchanged\s+2\n\s+rejected\s+1/);
  const batches = await sql<{ ok: string }>(
    "SELECT toString(countIf(rows_read = rows_inserted + rows_unchanged + rows_rejected)) AS ok FROM ingest_batches FINAL WHERE store_id = 'shop-a'",
  );
  assert.deepEqual(batches, [{ ok: '2' }], 'every batch reconciles');
});

test('import errors are clear: missing entity, unknown file, no server', async () => {
  const file = path.join(tmp.dir, 'x.csv');
  fs.writeFileSync(file, 'a,b\n1,2\n');
  const noEntity = await runCli(['import', file]);
  assert.equal(noEntity.code, 1);
  assert.match(noEntity.err, /BAD_USER_INPUT.*entity/);
  const missing = await runCli(['import', path.join(tmp.dir, 'nope.csv'), '--entity', 'orders']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such file/);
  const down = await runCli(['import', file, '--entity', 'orders'], { ECOMM_URL: 'http://127.0.0.1:9' });
  assert.equal(down.code, 1);
  assert.match(down.err, /Cannot reach the server/);
});

test('POST /v1/events: auth, scope, store limits, batch limits, per-record rejects, idempotency ids', { timeout: 180_000 }, async () => {
  const ev = (id: string, extra: Record<string, unknown> = {}) => ({ event_id: id, event_time: '2024-05-01T10:00:00Z', session_id: 's1', event_type: 'page_view', ...extra });
  assert.equal((await post('/v1/events', JSON.stringify(ev('x')))).status, 401);
  const bad = await post('/v1/events', JSON.stringify(ev('x')), 'ea_wrong');
  assert.equal(bad.status, 401);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
  const forbidden = await post('/v1/events', JSON.stringify(ev('x')), readOnly);
  assert.equal(forbidden.status, 403);
  assert.equal((await post('/v1/events?store=shop-a', JSON.stringify(ev('x')), otherStore)).status, 403, 'a key limited to shop-b cannot write shop-a');
  const tooMany = await post('/v1/events?store=shop-b', JSON.stringify(Array.from({ length: 51 }, (_, i) => ev(`m${i}`))), otherStore);
  assert.equal(tooMany.status, 413);
  const tooBig = await post('/v1/events?store=shop-b', JSON.stringify([ev('big', { properties: { blob: 'x'.repeat(30_000) } })]), otherStore);
  assert.equal(tooBig.status, 413);

  const ndjson = [ev('e1'), ev('e2', { event_type: 'teleport' }), ev('e1'), { event_time: 'soon', event_type: 'page_view' }].map((e) => JSON.stringify(e)).join('\n');
  const res = await post('/v1/events', ndjson, otherStore, { 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 202);
  const answer = (await res.json()) as { accepted: number; received: number; rejected: { index: number; field: string; reason: string }[] };
  assert.equal(answer.received, 4);
  assert.equal(answer.accepted, 2);
  assert.deepEqual(answer.rejected.map((r) => [r.index, r.field, r.reason]), [[1, 'event_type', 'invalid_enum'], [3, 'event_time', 'invalid_value']]);
  const stored = await waitFor(async () => {
    const [b] = await sql<{ read: string; ins: string; unch: string; rej: string }>(
      "SELECT toString(rows_read) AS read, toString(rows_inserted) AS ins, toString(rows_unchanged) AS unch, toString(rows_rejected) AS rej FROM ingest_batches FINAL WHERE store_id = 'shop-b' AND status = 'completed'",
    );
    return b;
  });
  assert.deepEqual(stored, { read: '4', ins: '1', unch: '1', rej: '2' });
  // The same idempotency id in a later batch is accepted and still stored once.
  const later = await post('/v1/events', JSON.stringify({ events: [ev('e1'), ev('e3')] }), otherStore);
  assert.equal(later.status, 202);
  await waitFor(async () => {
    const [n] = await sql<{ n: string }>("SELECT toString(count()) AS n FROM fact_events FINAL WHERE store_id = 'shop-b'");
    return n!.n === '2' ? n : undefined;
  });
  const [rows] = await sql<{ n: string }>("SELECT toString(count()) AS n FROM fact_events WHERE store_id = 'shop-b' AND event_id = 'e1'");
  assert.equal(rows!.n, '1', 'e1 physically stored once');
  const rejects = await sql<{ reason_code: string; field: string }>("SELECT reason_code, field FROM rejected_records WHERE store_id = 'shop-b' ORDER BY row_number");
  assert.deepEqual(rejects, [{ reason_code: 'invalid_enum', field: 'event_type' }, { reason_code: 'invalid_value', field: 'event_time' }]);
  // NDJSON sent as application/json (what many clients do) is read line by line; a bad line is named.
  const asJson = await post('/v1/events', [ev('e4'), ev('e5')].map((e) => JSON.stringify(e)).join('\n'), otherStore);
  assert.equal(asJson.status, 202);
  assert.equal(((await asJson.json()) as { accepted: number }).accepted, 2);
  const badLine = await post('/v1/events', `${JSON.stringify(ev('e6'))}\n{"event_id": "e7",`, otherStore);
  assert.equal(badLine.status, 400);
  assert.match(((await badLine.json()) as { error: { message: string } }).error.message, /^line 2 is not valid JSON/);
  await waitFor(async () => {
    const [n] = await sql<{ n: string }>("SELECT toString(count()) AS n FROM fact_events FINAL WHERE store_id = 'shop-b'");
    return n!.n === '4' ? n : undefined;
  });
});
