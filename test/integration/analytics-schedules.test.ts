import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Queue } from 'bullmq';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { generateApiKey, storeApiKey } from '../../src/auth/api-keys.js';
import { dataVersions } from '../../src/cache/data-version.js';
import { ANALYTICS_JOBS, stepJobId, type FlowStep } from '../../src/jobs/analytics.flow.js';
import { flowSteps } from '../../src/jobs/analytics.job.js';
import { ANALYTICS_SCHEDULES, registerSchedules } from '../../src/jobs/schedules.js';
import { tempDir } from '../support/temp.js';
import { runCli as runCliAs } from '../support/cli.js';

const tmp = tempDir();
let app: RunningApp;
let admin: string;
let queue: Queue;
const hook = { bodies: [] as Array<{ storeId: string; anomalies: Array<{ date: string; metric: string; dimension: string; direction: string; severity: string }> }>, server: undefined as http.Server | undefined, url: '' };

before(async () => {
  hook.server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d));
    req.on('end', () => {
      hook.bodies.push(JSON.parse(text));
      res.end();
    });
  });
  await new Promise<void>((r) => hook.server!.listen(0, '127.0.0.1', () => r()));
  hook.url = `http://127.0.0.1:${(hook.server!.address() as AddressInfo).port}/hook`;
  app = await start();
  admin = app.adminKey.key;
  queue = (app.services.queues as unknown as Record<string, Queue>)['analytics']!;
});
function start(): Promise<RunningApp> {
  return startApp({
    config: parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', ANALYTICS_DEBOUNCE_MS: '300', ANOMALY_WEBHOOK_URL: hook.url, ANOMALY_WEBHOOK_MIN_SEVERITY: 'HIGH' }),
    log: createLogger('silent'),
    api: true,
    worker: true,
    demo: false,
  });
}

after(async () => {
  await app.stop();
  await new Promise<void>((r) => hook.server!.close(() => r()));
  tmp.cleanup();
});

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const sql = <T>(q: string, params: Record<string, unknown> = {}) => app.services.warehouse.query<T>(q, params);
const wait = (id: string, states = ['completed', 'failed']) =>
  waitFor<Job>(async () => {
    const j = await queue.getJob(id);
    return j && states.includes(await j.getState()) ? queue.getJob(id) : undefined;
  }, `job ${id}`);

async function postEvents(store: string, records: Record<string, unknown>[]) {
  const res = await fetch(`${app.url}/v1/events?store=${store}`, {
    method: 'POST',
    body: JSON.stringify(records),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
  });
  assert.equal(res.status, 202, await res.clone().text());
  const { jobId } = (await res.json()) as { jobId: string };
  return waitFor(async () => {
    const j = await app.services.queues.events.getJob(jobId);
    return j?.finishedOn ? (j.returnvalue as { affected: { days: string[] } }) : undefined;
  }, 'events job');
}

/** Waits until no analytics flow of the store is pending or running. */
async function settled(store: string) {
  await waitFor(async () => {
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'waiting-children', 'prioritized']);
    return !jobs.some((j) => (j.data as { storeId?: string })?.storeId === store);
  }, `flows of ${store} settled`);
}

const runCli = (args: string[], env: Record<string, string> = {}) => runCliAs({ url: app.url!, key: admin }, args, env);

/** 5 ordinary orders a day for `days` days from 2024-01-01 (UTC), then a day with 30 big ones. */
function shopWithSpike(days: number) {
  const records: Record<string, unknown>[] = [];
  const day = (i: number) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
  for (let i = 0; i < days; i++) {
    for (let k = 0; k < 5; k++) {
      records.push({ entity: 'orders', order_id: `o${i}-${k}`, customer_id: `c${(i * 5 + k) % 40}`, status: 'paid', created_at: `${day(i)}T1${k}:00:00Z`, gross: `${18 + ((i + k) % 5)}.00`, currency: 'USD' });
    }
  }
  for (let k = 0; k < 30; k++) records.push({ entity: 'orders', order_id: `spike-${k}`, customer_id: `c${k}`, status: 'paid', created_at: `${day(days)}T12:00:00Z`, gross: '100.00', currency: 'USD' });
  return { records, spikeDay: day(days) };
}

test('schedules are registered once, however often the app starts', async () => {
  await registerSchedules(queue);
  await registerSchedules(queue);
  const schedulers = await queue.getJobSchedulers();
  for (const s of ANALYTICS_SCHEDULES) {
    const mine = schedulers.filter((x) => x.key === s.id || (x as { id?: string }).id === s.id);
    assert.equal(mine.length, 1, s.id);
    assert.equal(mine[0]!.pattern, s.pattern);
    assert.equal(mine[0]!.tz, 'UTC');
  }
  assert.equal(schedulers.length, ANALYTICS_SCHEDULES.length);
});

test('an ingested anomaly reaches the webhook once; the daily checks run a checks flow per store', { timeout: 120_000 }, async () => {
  const store = 'spiky';
  const { records, spikeDay } = shopWithSpike(70);
  await postEvents(store, records);
  const body = await waitFor(async () => hook.bodies.find((b) => b.storeId === store), 'the webhook');
  // The injected spike: store net revenue (and orders) UP on the spike day, HIGH or above.
  const hit = body.anomalies.find((a) => a.date === spikeDay && a.metric === 'net_revenue' && a.dimension === 'STORE');
  assert.ok(hit, JSON.stringify(body.anomalies));
  assert.equal(hit.direction, 'UP');
  assert.ok(['HIGH', 'CRITICAL'].includes(hit.severity));
  assert.ok(body.anomalies.every((a) => ['HIGH', 'CRITICAL'].includes(a.severity)));
  await settled(store);
  const notified = hook.bodies.length;

  // Daily checks: one flow per known store (anomalies → data quality → data version).
  const other = 'quiet';
  await app.services.warehouse.insert('dim_store', [{ store_id: other, name: other, timezone: 'UTC', country: '', currency: 'USD', version: 1 }]);
  const before = await dataVersions(app.services.redis, [store, other]);
  const daily = await queue.add(ANALYTICS_JOBS.daily, {});
  await wait(daily.id!, ['completed']);
  const result = (await queue.getJob(daily.id!))!.returnvalue as { flows: Array<{ storeId: string; flowId: string; steps: FlowStep[] }> };
  const stores = (await sql<{ s: string }>('SELECT DISTINCT store_id AS s FROM dim_store FINAL ORDER BY s')).map((r) => r.s);
  assert.deepEqual(result.flows.map((f) => f.storeId).sort(), stores);
  for (const f of result.flows) {
    assert.deepEqual(f.steps, flowSteps(['anomalies', 'quality', 'bump']));
    await wait(stepJobId('bump', f.storeId, f.flowId), ['completed']);
  }
  const afterV = await dataVersions(app.services.redis, [store, other]);
  assert.equal(afterV[store], before[store]! + 1);
  assert.equal(afterV[other], before[other]! + 1);
  // The same detections are not sent again.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(hook.bodies.length, notified);
});

test('weekly reconciliation: equal rollups pass; facts that bypassed the flow are found, recorded and repaired', { timeout: 120_000 }, async () => {
  const store = 'recon';
  await postEvents(store, [
    { entity: 'orders', order_id: 'r1', customer_id: 'a', status: 'paid', created_at: '2024-03-01T10:00:00Z', gross: '30.00', currency: 'USD' },
    { entity: 'orders', order_id: 'r2', customer_id: 'b', status: 'paid', created_at: '2024-03-02T10:00:00Z', gross: '12.50', currency: 'USD' },
  ]);
  await waitFor(
    async () => (await sql(`SELECT 1 FROM pipeline_runs FINAL WHERE store_id = 'recon' AND job_name = {j:String} AND status = 'completed'`, { j: ANALYTICS_JOBS.bump })).length > 0,
    'the flow of the batch',
  );
  await settled(store);

  const runWeekly = async () => {
    const job = await queue.add(ANALYTICS_JOBS.weekly, {});
    await wait(job.id!, ['completed']);
    const { flows } = (await queue.getJob(job.id!))!.returnvalue as { flows: Array<{ storeId: string; flowId: string }> };
    const flow = flows.find((f) => f.storeId === store)!;
    for (const f of flows) await wait(stepJobId('bump', f.storeId, f.flowId), ['completed']);
    return sql<{ status: string; attempt: number; error: string; details: string }>(
      `SELECT status, attempt, error, details FROM pipeline_runs FINAL WHERE job_id = {j:String} ORDER BY attempt`,
      { j: stepJobId('aggregate', store, flow.flowId) },
    );
  };
  const clean = await runWeekly();
  assert.deepEqual(clean.map((r) => r.status), ['completed']);
  assert.equal(JSON.parse(clean[0]!.details).differences, 0);

  // An order written straight into the facts: the incremental rollups never saw it.
  await app.services.warehouse.command(
    `INSERT INTO fact_orders SELECT * REPLACE ('r3' AS order_id, toDateTime64('2024-03-02 11:00:00', 3, 'UTC') AS created_at)
       FROM (SELECT * FROM fact_orders FINAL WHERE store_id = 'recon' AND order_id = 'r2')`,
  );
  const dirty = await runWeekly();
  assert.deepEqual(dirty.map((r) => [r.status, Number(r.attempt)]), [['failed', 1], ['completed', 2]]);
  assert.match(dirty[0]!.error, /differ from a full rebuild/);
  const d = JSON.parse(dirty[0]!.details) as { onlyIncremental: Array<Record<string, string>>; onlyRebuild: Array<Record<string, string>> };
  const before = d.onlyIncremental.find((r) => r.table === 'gold_sales_daily' && r.date === '2024-03-02');
  const after = d.onlyRebuild.find((r) => r.table === 'gold_sales_daily' && r.date === '2024-03-02');
  assert.deepEqual([before?.orders, after?.orders], ['1', '2']);
  // Repaired: the rollup equals the facts, computed independently.
  const [gold] = await sql<{ g: string }>(`SELECT toString(sum(gross_revenue)) AS g FROM gold_sales_daily FINAL WHERE store_id = 'recon'`);
  const [facts] = await sql<{ g: string }>(`SELECT toString(sum(gross)) AS g FROM fact_orders FINAL WHERE store_id = 'recon'`);
  assert.equal(gold!.g, facts!.g);
  assert.equal(gold!.g, '55');
});

test('ecomm rebuild: through the server, shows progress, bumps the data version; errors are clear', { timeout: 120_000 }, async () => {
  const store = 'recon';
  await settled(store);
  const v0 = (await dataVersions(app.services.redis, [store]))[store]!;
  const r = await runCli(['rebuild', '--store', store, '--from', '2024-03-01', '--to', '2024-03-02']);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /Queued 1 rebuild flow\(s\) over 2024-03-01 to 2024-03-02/);
  assert.match(r.out, /Rebuild completed/);
  for (const step of flowSteps()) assert.match(r.out, new RegExp(`\\n  ${step}\\s+completed`));
  assert.equal((await dataVersions(app.services.redis, [store]))[store], v0 + 1);
  const scopes = await sql<{ scope: string }>(
    `SELECT DISTINCT scope FROM pipeline_runs FINAL WHERE store_id = {s:String} AND job_name = 'aggregate' AND status = 'completed' AND scope LIKE '%from%'`,
    { s: store },
  );
  assert.deepEqual(scopes.map((s) => JSON.parse(s.scope)), [{ from: '2024-03-01', to: '2024-03-02' }]);

  const noWait = await runCli(['rebuild', '--no-wait']);
  assert.equal(noWait.code, 0, noWait.err);
  const stores = (await sql<{ s: string }>('SELECT DISTINCT store_id AS s FROM dim_store FINAL')).length;
  assert.match(noWait.out, new RegExp(`Queued ${stores} rebuild flow\\(s\\) over the whole history`));

  const half = await runCli(['rebuild', '--from', '2024-03-01']);
  assert.equal(half.code, 2, half.err + half.out);
  assert.match(half.err, /both --from and --to/);
  // The server's answers the CLI prints: an admin key is needed; dates are checked.
  const reader = generateApiKey();
  await storeApiKey(app.services.warehouse, { key: reader, name: 'reader', scopes: ['read', 'ingest'] });
  const post = (key: string, body: unknown) =>
    fetch(`${app.url}/v1/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const forbidden = await post(reader, { store });
  assert.equal(forbidden.status, 403);
  assert.equal(((await forbidden.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  for (const bad of [{ from: '2024-02-30', to: '2024-03-01' }, { from: '2024-03-02', to: '2024-03-01' }, { from: '2024-03-01' }]) {
    const r = await post(admin, bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'BAD_USER_INPUT');
  }
  const down = await runCli(['rebuild'], { ECOMM_URL: 'http://127.0.0.1:9' });
  assert.equal(down.code, 1, down.err);
  assert.match(down.err, /Cannot reach the server/);
  await settled(store);
});

test('after a restart on the same data the schedules are still one of each', { timeout: 60_000 }, async () => {
  const versions = await dataVersions(app.services.redis, ['recon']);
  await app.stop();
  app = await start();
  queue = (app.services.queues as unknown as Record<string, Queue>)['analytics']!;
  // The same Redis data survived the restart (so registering again really met the old schedulers).
  assert.deepEqual(await dataVersions(app.services.redis, ['recon']), versions);
  const schedulers = await queue.getJobSchedulers();
  assert.deepEqual(schedulers.map((x) => x.key).sort(), ANALYTICS_SCHEDULES.map((x) => x.id).sort());
});
