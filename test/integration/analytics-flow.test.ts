import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Queue } from 'bullmq';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/config.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { dataVersions } from '../../src/cache/data-version.js';
import {
  ANALYTICS_JOBS,
  INGEST_FLOW_STEPS,
  inflightFlow,
  lastFlowDuration,
  localDatesOfUtcDays,
  pendingDates,
  scheduleAnalytics,
  startFlow,
  stepJobId,
  type FlowStep,
  type StepPayload,
} from '../../src/jobs/analytics.flow.js';
import { flowSteps } from '../../src/jobs/analytics.job.js';
import { retryFailedJobs } from '../../src/jobs/retry.js';
import { importBatch, importBatches, queueCounts, recentRuns } from '../../src/warehouse/pipeline.queries.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
let app: RunningApp;
let admin: string;
let queue: Queue;

/** The webhook receiver: answers with the queued statuses (then 200), keeps every body. */
const hook = { bodies: [] as unknown[], statuses: [] as number[], server: undefined as http.Server | undefined, url: '' };

/** The app's log lines about the analytics duty cycle (the rest of the log is dropped). */
const dutyLogs: Array<{ level: number; store: string; lastDurationMs: number; waitMs: number; msg: string }> = [];
const log = pino({ level: 'info' }, { write: (line: string) => void (line.includes('duty cycle') && dutyLogs.push(JSON.parse(line))) });

/**
 * Starts the app. A duty cycle of 0.5 (not the default 0.2) keeps the waits after the flows of
 * the other tests short; the duty-cycle tests set the durations they need.
 */
async function start(env: Record<string, string> = {}) {
  app = await startApp({
    config: parseConfig({
      DATA_DIR: tmp.dir,
      PORT: '0',
      HOST: '127.0.0.1',
      DEMO_DATA: 'false',
      ANALYTICS_DEBOUNCE_MS: '800',
      ANALYTICS_MIN_INTERVAL_MS: '4000',
      ANALYTICS_MAX_DUTY_CYCLE: '0.5',
      ANOMALY_WEBHOOK_URL: hook.url,
      ...env,
    }),
    log,
    api: true,
    worker: true,
    demo: false,
  });
  admin = app.adminKey.key;
  queue = (app.services.queues as unknown as Record<string, Queue>)['analytics']!;
}

before(async () => {
  hook.server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d));
    req.on('end', () => {
      hook.bodies.push(JSON.parse(text));
      res.statusCode = hook.statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => hook.server!.listen(0, '127.0.0.1', () => r()));
  hook.url = `http://127.0.0.1:${(hook.server!.address() as AddressInfo).port}/hook`;
  await start();
});
after(async () => {
  await app.stop();
  await new Promise<void>((r) => hook.server!.close(() => r()));
  tmp.cleanup();
});

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sql = <T>(q: string, params: Record<string, unknown> = {}) => app.services.warehouse.query<T>(q, params);

async function postEvents(store: string, records: Record<string, unknown>[]) {
  const res = await fetch(`${app.url}/v1/events?store=${store}`, {
    method: 'POST',
    body: JSON.stringify(records),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
  });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()) as { jobId: string; accepted: number; rejected: { index: number; field: string; reason: string }[] };
}

const order = (id: string, createdAt: string, gross = '10.00') => ({ entity: 'orders', order_id: id, customer_id: `c-${id}`, status: 'paid', created_at: createdAt, gross, currency: 'USD' });

async function setTimezone(store: string, timezone: string) {
  await app.services.warehouse.insert('dim_store', [{ store_id: store, name: store, timezone, country: 'US', currency: 'USD', version: Date.now() }]);
}

async function eventsResult(jobId: string) {
  return waitFor(async () => {
    const job = await app.services.queues.events.getJob(jobId);
    return job?.finishedOn ? (job.returnvalue as { batchId: string; read: number; inserted: number; unchanged: number; rejected: number; affected: { days: string[] } }) : undefined;
  }, `events job ${jobId}`);
}

interface TriggerRun {
  flow_id: string;
  scope: string;
}
/** Completed triggers (one per flow started from ingest) of a store. */
const triggersOf = (store: string) =>
  sql<TriggerRun>(`SELECT flow_id, scope FROM pipeline_runs FINAL WHERE store_id = {s:String} AND job_name = {j:String} AND status = 'completed' ORDER BY started_at`, {
    s: store,
    j: ANALYTICS_JOBS.trigger,
  });

async function waitJobState(id: string, states: string[], timeoutMs = 30_000): Promise<Job> {
  return waitFor(async () => {
    const job = await queue.getJob(id);
    // Read again once the state matches: the first read may predate the state change.
    return job && states.includes(await job.getState()) ? queue.getJob(id) : undefined;
  }, `job ${id} in ${states.join('/')}`, timeoutMs);
}

test('an ingest batch triggers one flow over the store-local days it touched; the data version is bumped after every step', { timeout: 90_000 }, async () => {
  const store = 'flow-a';
  await setTimezone(store, 'America/New_York');
  // 02:00 UTC on May 1st is still April 30th in New York (UTC−4 in May).
  const answer = await postEvents(store, [order('A1', '2024-05-01T02:00:00Z'), order('A2', '2024-05-03T15:00:00Z')]);
  const batch = await eventsResult(answer.jobId);
  assert.deepEqual(batch.affected.days, ['2024-05-01', '2024-05-03']);
  const [trigger] = await waitFor(async () => ((await triggersOf(store)).length ? triggersOf(store) : undefined), 'the trigger');
  // Independent: the local dates of both ends of each UTC day, by fixed offset (no DST change in May).
  const nyDate = (ms: number) => new Date(ms - 4 * 3600_000).toISOString().slice(0, 10);
  const expected = [...new Set(batch.affected.days.flatMap((d) => [nyDate(Date.parse(d + 'T00:00:00Z')), nyDate(Date.parse(d + 'T23:59:59.999Z'))]))].sort();
  assert.deepEqual(JSON.parse(trigger!.scope).dates, expected);
  assert.deepEqual(localDatesOfUtcDays(batch.affected.days, 'America/New_York'), expected);

  const steps = flowSteps();
  // Every step is wired: aggregation → cohorts → segments → affinity → funnel → anomalies → quality → bump.
  assert.deepEqual(steps, [...INGEST_FLOW_STEPS]);
  const root = await waitJobState(stepJobId('bump', store, trigger!.flow_id), ['completed', 'failed']);
  assert.equal(await root.getState(), 'completed');
  assert.equal((await dataVersions(app.services.redis, [store]))[store], 1);

  // Every step that reads orders (all but the funnel) ran once, in order, and recorded its run; the
  // bump started after all others finished.
  const runs = await sql<{ job_name: string; job_id: string; status: string; rows: string; started: string; finished: string; scope: string }>(
    `SELECT job_name, job_id, status, toString(rows) AS rows, toString(toUnixTimestamp64Milli(started_at)) AS started,
            toString(toUnixTimestamp64Milli(finished_at)) AS finished, scope
       FROM pipeline_runs FINAL WHERE flow_id = {f:String} AND job_name != {t:String} ORDER BY started_at`,
    { f: trigger!.flow_id, t: ANALYTICS_JOBS.trigger },
  );
  assert.deepEqual(runs.map((r) => r.job_name), steps.filter((s) => s !== 'funnel').map((s) => ANALYTICS_JOBS[s]));
  assert.ok(runs.every((r) => r.status === 'completed'));
  for (const r of runs) assert.deepEqual(JSON.parse(r.scope).dates, expected);
  const bump = runs[runs.length - 1]!;
  for (const r of runs.slice(0, -1)) assert.ok(Number(r.finished) <= Number(bump.started), `${r.job_name} finished before the bump started`);
  // The rows recorded are what each BullMQ job returned.
  for (const r of runs) {
    const job = await queue.getJob(r.job_id);
    assert.equal(Number(r.rows), (job!.returnvalue as { rows: number }).rows, r.job_name);
  }

  // The aggregation covered the local days: the gold rollup holds each order on its New York date.
  const gold = await sql<{ d: string; g: string; n: string }>(
    `SELECT toString(date) AS d, toString(sum(gross_revenue)) AS g, toString(sum(orders)) AS n FROM gold_sales_daily FINAL
      WHERE store_id = {s:String} GROUP BY date ORDER BY date`,
    { s: store },
  );
  assert.deepEqual(gold, [
    { d: nyDate(Date.parse('2024-05-01T02:00:00Z')), g: '10', n: '1' },
    { d: nyDate(Date.parse('2024-05-03T15:00:00Z')), g: '10', n: '1' },
  ]);

  // pipeline.queries: recentRuns gives the same runs (newest first).
  const recent = await recentRuns(app.services.warehouse, { storeId: store, limit: 50, status: 'completed' });
  const ofFlow = recent.filter((r) => r.flowId === trigger!.flow_id && r.jobName !== ANALYTICS_JOBS.trigger);
  assert.deepEqual(ofFlow.map((r) => r.jobName).reverse(), runs.map((r) => r.job_name));
  assert.ok(ofFlow.every((r) => r.status === 'completed' && r.attempt === 1 && r.durationMs >= 0 && r.finishedAt !== null));

  // importBatches / importBatch: the counts the events job returned.
  const [b] = await importBatches(app.services.warehouse, { storeId: store, limit: 10 });
  assert.equal(b!.batchId, batch.batchId);
  assert.deepEqual([b!.read, b!.inserted, b!.unchanged, b!.rejected, b!.status], [batch.read, batch.inserted, batch.unchanged, batch.rejected, 'completed']);
});

/** The step names of a flow, in the order they ran (the trigger left out). */
const stepsRun = async (flowId: string) =>
  (await sql<{ job_name: string }>(`SELECT job_name FROM pipeline_runs FINAL WHERE flow_id = {f:String} AND job_name != {t:String} ORDER BY started_at`, { f: flowId, t: ANALYTICS_JOBS.trigger })).map((r) => r.job_name);

test('a flow runs only the steps that read the fact tables its batches changed; flows of a store start at most once per minimum interval', { timeout: 90_000 }, async () => {
  const store = 'flow-tables';
  const view = (id: string, time: string) => ({ entity: 'events', event_id: id, event_time: time, session_id: 's1', event_type: 'page_view', product_id: 'P1' });
  const events = await eventsResult((await postEvents(store, [view('E1', '2024-08-01T10:00:00Z'), view('E2', '2024-08-02T10:00:00Z')])).jobId);
  assert.deepEqual(events.affected, { days: ['2024-08-01', '2024-08-02'], tables: ['fact_events'] });
  const [first] = await waitFor(async () => ((await triggersOf(store)).length ? triggersOf(store) : undefined), 'the first flow');
  await waitJobState(stepJobId('bump', store, first!.flow_id), ['completed']);
  // User activity cannot move sales rollups, cohorts, segments or affinity: only the steps reading fact_events run.
  assert.deepEqual(await stepsRun(first!.flow_id), [ANALYTICS_JOBS.funnel, ANALYTICS_JOBS.anomalies, ANALYTICS_JOBS.quality, ANALYTICS_JOBS.bump]);
  assert.equal((await dataVersions(app.services.redis, [store]))[store], 1);

  // An order and a page view right after: the next flow waits for the store's minimum interval (4 s
  // here) and runs every step.
  const orders = await eventsResult((await postEvents(store, [order('T1', '2024-08-03T10:00:00Z'), view('E3', '2024-08-03T11:00:00Z')])).jobId);
  assert.deepEqual(orders.affected, { days: ['2024-08-03'], tables: ['fact_events', 'fact_orders'] });
  const both = await waitFor(async () => ((await triggersOf(store)).length === 2 ? triggersOf(store) : undefined), 'the second flow');
  await waitJobState(stepJobId('bump', store, both[1]!.flow_id), ['completed']);
  assert.deepEqual(await stepsRun(both[1]!.flow_id), flowSteps().map((s) => ANALYTICS_JOBS[s]));
  // The triggers record their start after the wait (and before setting the store's last start).
  const starts = await sql<{ flow_id: string; started: string }>(
    `SELECT flow_id, toString(toUnixTimestamp64Milli(started_at)) AS started FROM pipeline_runs FINAL
      WHERE store_id = {s:String} AND job_name = {t:String} AND status = 'completed' ORDER BY started_at`,
    { s: store, t: ANALYTICS_JOBS.trigger },
  );
  assert.deepEqual(starts.map((r) => r.flow_id), [first!.flow_id, both[1]!.flow_id]);
  const apart = Number(starts[1]!.started) - Number(starts[0]!.started);
  assert.ok(apart >= 4000, `flows started ${apart} ms apart`);
  const gold = await sql<{ n: string }>(`SELECT toString(sum(orders)) AS n FROM gold_sales_daily FINAL WHERE store_id = {s:String}`, { s: store });
  assert.equal(gold[0]!.n, '1');
});

test('many batches in a burst are coalesced into few flows that cover every day', { timeout: 120_000 }, async () => {
  const store = 'flow-burst';
  const n = 12;
  const answers = [];
  for (let i = 0; i < n; i++) answers.push(await postEvents(store, [order(`B${i}`, `2024-06-${String(i + 1).padStart(2, '0')}T12:00:00Z`)]));
  const days = new Set<string>();
  for (const a of answers) for (const d of (await eventsResult(a.jobId)).affected.days) days.add(d);
  assert.equal(days.size, n);
  // Wait until every day is in some flow and every flow is done.
  const covered = await waitFor(async () => {
    const t = await triggersOf(store);
    const dates = new Set(t.flatMap((r) => JSON.parse(r.scope).dates as string[]));
    return dates.size === n ? t : undefined;
  }, 'all days covered', 60_000);
  for (const t of covered) await waitJobState(stepJobId('bump', store, t.flow_id), ['completed']);
  assert.ok(covered.length < n / 2, `${covered.length} flows for ${n} batches`);
  console.log(`# coalescing: ${n} batches -> ${covered.length} flow(s)`);
  // No day twice (each batch's day is in exactly one flow) and the store's data version counts the flows.
  const all = covered.flatMap((r) => JSON.parse(r.scope).dates as string[]);
  assert.deepEqual([...all].sort(), [...days].sort());
  assert.equal((await dataVersions(app.services.redis, [store]))[store], covered.length);
});

test('coalescing: changes during the debounce join one flow; changes while it is in flight wait and join the next one', { timeout: 90_000 }, async () => {
  const store = 'flow-coalesce';
  const redis = app.services.redis;
  const lock = `ecomm:analytics:lock:${store}`;
  // Hold the store (as another worker's step would) so the first flow stays in flight.
  await redis.set(lock, 'held-by-test', 'PX', 60_000);
  const sept = Array.from({ length: 30 }, (_, i) => `2024-09-${String(i + 1).padStart(2, '0')}`);
  await Promise.all(sept.map((d) => scheduleAnalytics(app.services, store, [d])));
  const [first] = await waitFor(async () => ((await triggersOf(store)).length ? triggersOf(store) : undefined), 'the first flow');
  assert.deepEqual(JSON.parse(first!.scope).dates, sept, 'one flow for all 30 calls');
  assert.equal(await inflightFlow(redis, store), first!.flow_id);

  const oct = Array.from({ length: 20 }, (_, i) => `2024-10-${String(i + 1).padStart(2, '0')}`);
  for (const d of oct) await scheduleAnalytics(app.services, store, [d]);
  await new Promise((r) => setTimeout(r, 2500)); // > 3 debounce windows
  assert.equal((await triggersOf(store)).length, 1, 'no second flow while the first is in flight');
  assert.deepEqual(await pendingDates(redis, store), oct);

  await redis.del(lock);
  await waitJobState(stepJobId('bump', store, first!.flow_id), ['completed']);
  const all = await waitFor(async () => ((await triggersOf(store)).length === 2 ? triggersOf(store) : undefined), 'the second flow');
  assert.deepEqual(JSON.parse(all[1]!.scope).dates, oct);
  await waitJobState(stepJobId('bump', store, all[1]!.flow_id), ['completed']);
  assert.equal((await dataVersions(redis, [store]))[store], 2);
  assert.equal(await inflightFlow(redis, store), null);
});

test('a failing step is retried with backoff, then failed: no bump, runs recorded; retryFailedJobs resumes the flow', { timeout: 120_000 }, async () => {
  const store = 'flow-fail';
  await postEvents(store, [order('F1', '2024-07-01T12:00:00Z')]).then((a) => eventsResult(a.jobId));
  const first = await waitFor(async () => (await triggersOf(store))[0], 'first flow');
  await waitJobState(stepJobId('bump', store, first.flow_id), ['completed']);
  const v0 = (await dataVersions(app.services.redis, [store]))[store]!;

  // Break the warehouse under the first step, then run a flow directly.
  const steps = flowSteps();
  await app.services.warehouse.command('RENAME TABLE fact_orders TO fact_orders_hidden');
  let flowId: string;
  try {
    const flow = await startFlow(queue, { storeId: store, scope: { dates: ['2024-07-01'] }, reason: 'rebuild', steps });
    flowId = flow.flowId;
    const firstStep = stepJobId(steps[0]!, store, flowId);
    const failed = await waitJobState(firstStep, ['failed'], 60_000);
    assert.equal(failed.attemptsMade, 3);
    assert.match(failed.failedReason, /fact_orders/);
    assert.equal(await (await queue.getJob(stepJobId('bump', store, flowId)))!.getState(), 'waiting-children');
    assert.equal((await dataVersions(app.services.redis, [store]))[store], v0, 'no bump after a failed step');
    const runs = await sql<{ status: string; attempt: number; error: string; started: string }>(
      `SELECT status, attempt, error, toString(toUnixTimestamp64Milli(started_at)) AS started FROM pipeline_runs FINAL
        WHERE job_id = {j:String} ORDER BY attempt`,
      { j: firstStep },
    );
    assert.deepEqual(runs.map((r) => [r.status, Number(r.attempt)]), [['failed', 1], ['failed', 2], ['failed', 3]]);
    assert.ok(runs.every((r) => /fact_orders/.test(r.error)));
    // Exponential backoff: 1 s, then 2 s between attempts.
    const gaps = runs.slice(1).map((r, i) => Number(r.started) - Number(runs[i]!.started));
    assert.ok(gaps[0]! >= 1000 && gaps[1]! >= 2000 && gaps[1]! > gaps[0]!, `gaps ${gaps.join(', ')}`);
    const failedRuns = await recentRuns(app.services.warehouse, { storeId: store, limit: 10, status: 'failed' });
    assert.deepEqual(failedRuns.map((r) => r.attempt).sort(), [1, 2, 3]);
    const counts = (await queueCounts(app.services.queues)).find((c) => c.queue === 'analytics')!;
    assert.equal(counts.failed, await queue.getFailedCount());
    assert.ok(counts.failed >= 1);
  } finally {
    await app.services.warehouse.command('RENAME TABLE fact_orders_hidden TO fact_orders');
  }
  const retried = await retryFailedJobs(app.services.queues, { queue: 'analytics' });
  assert.ok(retried[0]!.jobIds.includes(stepJobId(steps[0]!, store, flowId)));
  await waitJobState(stepJobId('bump', store, flowId), ['completed'], 60_000);
  assert.equal((await dataVersions(app.services.redis, [store]))[store], v0 + 1);
});

test('steps of a store wait, without spending attempts, while another worker holds the store', { timeout: 60_000 }, async () => {
  const store = 'flow-lock';
  const lock = `ecomm:analytics:lock:${store}`;
  await app.services.redis.set(lock, 'a-job-of-another-process', 'PX', 60_000);
  const steps = flowSteps();
  const flow = await startFlow(queue, { storeId: store, scope: { full: true }, reason: 'rebuild', steps });
  await new Promise((r) => setTimeout(r, 2500));
  const first = await queue.getJob(stepJobId(steps[0]!, store, flow.flowId));
  assert.ok(['delayed', 'waiting', 'active'].includes(await first!.getState()));
  const [none] = await sql<{ n: string }>(`SELECT toString(count()) AS n FROM pipeline_runs FINAL WHERE flow_id = {f:String}`, { f: flow.flowId });
  assert.equal(none!.n, '0', 'no step ran while the store was held');
  await app.services.redis.del(lock);
  await waitJobState(stepJobId('bump', store, flow.flowId), ['completed']);
  const runs = await sql<{ status: string; attempt: number }>(`SELECT status, attempt FROM pipeline_runs FINAL WHERE flow_id = {f:String}`, { f: flow.flowId });
  assert.equal(runs.length, steps.length);
  assert.ok(runs.every((r) => r.status === 'completed' && Number(r.attempt) === 1));
  assert.equal(await app.services.redis.exists(lock), 0, 'the lock is released');
});

test('a job with a bad payload fails at once (no retries)', { timeout: 30_000 }, async () => {
  const job = await queue.add(ANALYTICS_JOBS.aggregate, { storeId: 'x' }, { attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
  const failed = await waitJobState(job.id!, ['failed']);
  // Started once, never retried although 3 attempts were allowed.
  assert.equal(failed.attemptsStarted, 1);
  assert.match(failed.failedReason, /invalid aggregate job/);
  assert.equal(await failed.getState(), 'failed');
  await failed.remove();
});

test('importBatch: rejects by reason and a sample of rejected rows', { timeout: 30_000 }, async () => {
  const store = 'flow-rejects';
  const records = [
    order('R1', '2024-08-01T10:00:00Z'),
    { entity: 'orders', order_id: 'R2', status: 'paid', gross: '1', currency: 'USD' }, // no created_at
    { entity: 'orders', order_id: 'R3', status: 'nonsense', created_at: '2024-08-01T10:00:00Z', gross: '1', currency: 'USD' },
    { entity: 'orders', order_id: 'R4', status: 'paid', gross: '2', currency: 'USD' }, // no created_at
  ];
  const answer = await postEvents(store, records);
  const result = await eventsResult(answer.jobId);
  const b = await importBatch(app.services.warehouse, { batchId: result.batchId });
  assert.ok(b);
  assert.equal(b.rejected, result.rejected);
  // Independent: the rejects the API answered with, counted by reason.
  const expected = new Map<string, number>();
  for (const r of answer.rejected) expected.set(r.reason, (expected.get(r.reason) ?? 0) + 1);
  assert.deepEqual(new Map(b.rejectsByReason!.map((r) => [r.reason, r.count])), expected);
  assert.deepEqual(b.sampleRejects!.map((r) => r.rowNumber), answer.rejected.map((r) => r.index + 1));
  assert.deepEqual(JSON.parse(b.sampleRejects![0]!.raw).order_id, 'R2');
  assert.equal(await importBatch(app.services.warehouse, { batchId: 'nope' }), null);
});

test('the anomaly webhook job posts JSON, is retried with backoff when the receiver fails, and is recorded', { timeout: 60_000 }, async () => {
  hook.bodies.length = 0;
  hook.statuses.push(500, 503);
  const body = {
    type: 'anomalies.detected',
    storeId: 'hooked',
    runId: 'run-1',
    minSeverity: 'HIGH',
    sentAt: new Date().toISOString(),
    anomalies: [{ date: '2024-05-01', metric: 'net_revenue', dimension: 'STORE', dimensionValue: '', actual: '500.00', expected: '100.00', lower: '80.00', upper: '120.00', score: 9.5, direction: 'UP', severity: 'CRITICAL', runId: 'run-1' }],
  };
  const job = await queue.add(ANALYTICS_JOBS.notify, { body }, { jobId: 'notify-test', attempts: 4, backoff: { type: 'exponential', delay: 200 } });
  await waitJobState(job.id!, ['completed']);
  assert.equal(hook.bodies.length, 3);
  assert.deepEqual(hook.bodies[2], body);
  const runs = await sql<{ status: string }>(`SELECT status FROM pipeline_runs FINAL WHERE job_id = 'notify-test' ORDER BY attempt`);
  assert.deepEqual(runs.map((r) => r.status), ['failed', 'failed', 'completed']);
});

const lastStartKey = (store: string) => `ecomm:analytics:last-start:${store}`;
const lastDurationKey = (store: string) => `ecomm:analytics:last-duration:${store}`;
const pageView = (id: string, time: string) => ({ entity: 'events', event_id: id, event_time: time, session_id: 's1', event_type: 'page_view', product_id: 'P1' });

/** The first flow of a store, from one batch, run to its end: the bump job (the flow's root). */
async function firstFlow(store: string): Promise<{ flowId: string; bump: Job }> {
  await eventsResult((await postEvents(store, [pageView(`${store}-0`, '2024-11-01T10:00:00Z')])).jobId);
  const [first] = await waitFor(async () => ((await triggersOf(store)).length ? triggersOf(store) : undefined), 'the first flow');
  return { flowId: first!.flow_id, bump: await waitJobState(stepJobId('bump', store, first!.flow_id), ['completed']) };
}

/**
 * A steady stream: a batch of the store every 300 ms until its second flow has started; returns
 * that flow's start (the `startedAt` its trigger gave its steps) and the batches sent.
 */
async function streamUntilSecondFlow(store: string): Promise<{ startedAt: number; batches: number }> {
  let batches = 0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [, second] = await triggersOf(store);
    if (second) {
      const bump = await waitJobState(stepJobId('bump', store, second.flow_id), ['completed']);
      return { startedAt: (bump.data as StepPayload).startedAt!, batches };
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the second flow');
    batches++;
    await postEvents(store, [pageView(`${store}-${batches}`, '2024-11-02T10:00:00Z')]);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('a flow records its duration; under a steady stream the next flow starts no sooner than that duration over the duty cycle after the last start', { timeout: 120_000 }, async () => {
  const store = 'flow-duty';
  const redis = app.services.redis;
  const { bump } = await firstFlow(store);
  const observedAt = Date.now();
  const lastStart = Number(await redis.get(lastStartKey(store)));
  assert.equal((bump.data as StepPayload).startedAt, lastStart, 'the steps carry the start the trigger stored');
  // The duration recorded is the flow's wall time: at least until its last step started, at most
  // until it finished (and until the test saw it done).
  const recorded = await lastFlowDuration(redis, store);
  assert.ok(recorded !== null && recorded > 0, `recorded ${recorded}`);
  assert.ok(recorded >= bump.processedOn! - lastStart, `recorded ${recorded} ms, the bump started ${bump.processedOn! - lastStart} ms after the flow`);
  assert.ok(recorded <= bump.finishedOn! - lastStart && recorded <= observedAt - lastStart, `recorded ${recorded} ms, done after ${bump.finishedOn! - lastStart} ms`);
  assert.equal((bump.returnvalue as { details: { flowDurationMs: number } }).details.flowDurationMs, recorded);
  assert.ok((await redis.ttl(lastDurationKey(store))) > 0, 'the duration expires');
  console.log(`# duty cycle: a flow of one batch recorded ${recorded} ms`);

  // Deterministic from here: a last flow of 5 s at a duty cycle of 0.5 stretches the interval from
  // the minimum (4 s) to 10 s after the last start.
  await redis.set(lastDurationKey(store), '5000', 'EX', 3600);
  dutyLogs.length = 0;
  const next = await streamUntilSecondFlow(store);
  const apart = next.startedAt - lastStart;
  assert.ok(apart >= 10_000, `the flows started ${apart} ms apart`);
  assert.ok(apart < 20_000, `the flows started ${apart} ms apart`);
  // One info line for the held-back trigger, not one per batch.
  const held = dutyLogs.filter((l) => l.store === store);
  assert.ok(next.batches >= 10, `${next.batches} batches`);
  assert.equal(held.length, 1, JSON.stringify(held));
  assert.equal(held[0]!.level, 30);
  assert.equal(held[0]!.lastDurationMs, 5000);
  assert.ok(held[0]!.waitMs > 0 && held[0]!.waitMs <= 10_000 - 800, `waited ${held[0]!.waitMs} ms`);
  console.log(`# duty cycle 0.5, last flow 5000 ms: the next flow started ${apart} ms after it (${next.batches} batches meanwhile)`);
});

test('with the duty cycle at 1 only the minimum interval holds the next flow back, however long the last one took', { timeout: 180_000 }, async () => {
  const store = 'flow-duty-off';
  await app.stop();
  await start({ ANALYTICS_MAX_DUTY_CYCLE: '1' });
  try {
    const redis = app.services.redis;
    await firstFlow(store);
    const lastStart = Number(await redis.get(lastStartKey(store)));
    // At 0.5 this would hold the next flow 40 s; at 1 the minimum interval (4 s) applies.
    await redis.set(lastDurationKey(store), '20000', 'EX', 3600);
    dutyLogs.length = 0;
    const next = await streamUntilSecondFlow(store);
    const apart = next.startedAt - lastStart;
    assert.ok(apart >= 4000 && apart < 20_000, `the flows started ${apart} ms apart`);
    assert.deepEqual(dutyLogs.filter((l) => l.store === store), []);
    console.log(`# duty cycle 1, last flow 20000 ms: the next flow started ${apart} ms after it`);
  } finally {
    await app.stop();
    await start();
  }
});

// Keep a reference so the FlowStep type import is used in all builds.
export type _Steps = FlowStep;
