/**
 * The live-events fast path (LiveEventsLoader, behind the micro-batching events worker) against
 * the general pipeline (runBatch, loading the same batches one after the other) and against a
 * plain JS computation of which events must end up stored. Real engine, real Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { runBatch, type BatchResult } from '../../src/ingest/pipeline.js';
import { LiveEventsLoader } from '../../src/ingest/live-events.js';
import { liveMapper } from '../../src/jobs/events.job.js';
import type { SourceRow } from '../../src/ingest/parsers/source-row.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
let app: RunningApp;

before(async () => {
  app = await startApp({
    config: parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false' }),
    log: createLogger('silent'),
    api: true,
    worker: true,
    demo: false,
  });
});
after(async () => {
  await app.stop();
  tmp.cleanup();
});

const sql = <T>(q: string, params: Record<string, unknown> = {}) => app.services.warehouse.query<T>(q, params);

/** Batches with every case: duplicates within and across batches, derived ids, bad records, unknown entities. */
function generateBatches(): Record<string, unknown>[][] {
  const types = ['page_view', 'Product View', 'add_to_cart', 'checkout', 'purchase', 'teleport'];
  const batches: Record<string, unknown>[][] = [];
  for (let b = 0; b < 6; b++) {
    const batch: Record<string, unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const n = b * 40 + i;
      const ev: Record<string, unknown> = {
        event_id: `e${n % 150}`, // ids repeat across batches
        event_time: `2024-05-${String(1 + (n % 20)).padStart(2, '0')}T10:${String(n % 60).padStart(2, '0')}:00Z`,
        session_id: `s${n % 9}`,
        event_type: types[n % 6],
        product_id: n % 4 === 0 ? `P${n % 7}` : '',
        customer_id: n % 5 === 0 ? `C${n % 11}` : undefined,
        // Text that JSON must escape (quotes, backslashes, control characters, non-ASCII) in some records.
        properties: n % 13 === 0 ? 'not json' : n % 11 === 0 ? { n: n % 150, note: 'a "quoted" \\ back\\slash\nline\ttab ünï 😀 \u0001' } : { n: n % 150 },
      };
      if (n % 17 === 0) delete ev['event_id']; // derived id from the content
      if (n === 41) ev['event_id'] = '  '; // a blank id: none, the event gets one from its content
      if (n % 23 === 0) ev['event_time'] = 'soon';
      if (n % 29 === 0) ev['entity'] = 'teleports';
      if (n % 31 === 0) ev['entity'] = 'events';
      batch.push(ev);
      if (n % 19 === 0) batch.push({ ...ev }); // an identical repeat in the same batch
      if (n % 37 === 0) batch.push({ ...ev, session_id: 'changed' }); // same id, different content, same batch
    }
    // As JSON carries them (an undefined field is absent), so every path sees the same records.
    batches.push(JSON.parse(JSON.stringify(batch)) as Record<string, unknown>[]);
  }
  return batches;
}

async function* rowsOf(records: Record<string, unknown>[]): AsyncIterable<SourceRow> {
  let n = 0;
  for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
}

const counts = (r: BatchResult) => ({ read: r.read, inserted: r.inserted, unchanged: r.unchanged, rejected: r.rejected, days: r.affected.days, reasons: r.rejectsByReason });

async function storedEvents(store: string) {
  return sql<Record<string, string>>(
    `SELECT event_id, toString(event_time) AS t, session_id, customer_id, event_type, product_id, channel, properties, toString(row_hash) AS h
       FROM fact_events FINAL WHERE store_id = {s:String} ORDER BY event_id, t`,
    { s: store },
  );
}

async function rejectsOf(store: string) {
  return sql<Record<string, string>>(
    `SELECT replaceRegexpOne(batch_id, '^[a-z]+-', '') AS b, toString(row_number) AS row, field, reason_code, message, raw_payload
       FROM rejected_records WHERE store_id = {s:String} ORDER BY b, row_number`,
    { s: store },
  );
}

test('the fast path stores exactly what runBatch stores, batch by batch, and what a plain computation expects', { timeout: 180_000 }, async () => {
  const testStart = Date.now() - 1000;
  const wh = app.services.warehouse;
  const batches = generateBatches();

  // Reference: the general pipeline, one batch after the other.
  const slow: BatchResult[] = [];
  for (const [i, records] of batches.entries()) {
    slow.push(
      await runBatch({
        wh, storeId: 'live-slow', batchId: `slow-${i}`, source: 'events', entity: 'events', format: 'json', timezone: 'UTC', retentionDays: 30,
        rows: rowsOf(records), mapper: liveMapper, chunkSize: 10_000,
      }),
    );
  }
  // The fast path: all batches in one load.
  const loader = new LiveEventsLoader(wh, { retentionDays: 30 });
  const fast = await loader.load(batches.map((records, i) => ({ batchId: `fast-${i}`, jobId: `job-${i}`, storeId: 'live-fast', timezone: 'UTC', records })));

  assert.deepEqual(fast.map(counts), slow.map(counts), 'per batch: read, inserted, unchanged, rejected, affected days, reasons');
  assert.deepEqual(await storedEvents('live-fast'), await storedEvents('live-slow'), 'the same stored events');
  assert.deepEqual(await rejectsOf('live-fast'), await rejectsOf('live-slow'), 'the same rejects, row by row');
  for (const r of fast) assert.equal(r.read, r.inserted + r.unchanged + r.rejected);

  // Independent: the valid events' distinct keys (computed here without the pipeline). An event
  // is its id on its UTC day: the same id on two days is two events, on the same day one.
  const validIds = new Set<string>();
  let readTotal = 0;
  for (const batch of batches) {
    for (const ev of batch) {
      readTotal++;
      const ok = ev['entity'] !== 'teleports' && ev['event_time'] !== 'soon' && ev['event_type'] !== 'teleport' && ev['properties'] !== 'not json';
      const blank = ev['event_id'] === undefined || String(ev['event_id']).trim() === '';
      if (ok) validIds.add(blank ? 'derived:' + JSON.stringify(ev) : `${String(ev['event_id'])}|${String(ev['event_time']).slice(0, 10)}`);
    }
  }
  const stored = await storedEvents('live-fast');
  assert.equal(stored.length, validIds.size);
  assert.equal(fast.reduce((a, r) => a + r.inserted, 0), validIds.size, 'each distinct valid event inserted exactly once');
  assert.equal(fast.reduce((a, r) => a + r.read, 0), readTotal);
  const [physical] = await sql<{ n: string; d: string }>("SELECT toString(count()) AS n, toString(uniqExact(event_id, toDate(event_time))) AS d FROM fact_events WHERE store_id = 'live-fast'");
  assert.equal(physical!.n, physical!.d, 'no event physically stored twice');

  // Bookkeeping: bronze rows and a reconciled ingest_batches row per batch.
  const bronze = await sql<{ b: string; n: string }>("SELECT batch_id AS b, toString(count()) AS n FROM raw_events WHERE store_id = 'live-fast' GROUP BY b ORDER BY b");
  assert.deepEqual(bronze, batches.map((records, i) => ({ b: `fast-${i}`, n: String(records.length) })));
  // The bronze copy is each record's JSON text, row by row, as the general path keeps it.
  const bronzeRows = (store: string) =>
    sql<Record<string, string>>(
      `SELECT replaceRegexpOne(batch_id, '^[a-z]+-', '') AS b, toString(row_number) AS row, source, payload, toString(retention_days) AS keep
         FROM raw_events WHERE store_id = {s:String} ORDER BY b, row_number`,
      { s: store },
    );
  const fastBronze = await bronzeRows('live-fast');
  assert.deepEqual(fastBronze, await bronzeRows('live-slow'));
  assert.deepEqual(
    fastBronze.map((r) => r.payload),
    batches.flatMap((records) => records.map((r) => JSON.stringify(r))),
    'bronze payloads are the records as received',
  );
  // Every stored event carries when its batch was received: its bronze rows' received_at, on both
  // paths (it had been left at the column's default, 1970-01-01).
  for (const store of ['live-fast', 'live-slow']) {
    const stamps = await sql<{ b: string; fact: string; bronze: string }>(
      `SELECT f.batch_id AS b, toString(min(f.received_at)) AS fact, toString(any(r.t)) AS bronze
         FROM fact_events AS f
         INNER JOIN (SELECT batch_id, min(received_at) AS t, max(received_at) AS t2 FROM raw_events WHERE store_id = {s:String} GROUP BY batch_id HAVING t = t2) AS r ON r.batch_id = f.batch_id
        WHERE f.store_id = {s:String} GROUP BY f.batch_id HAVING min(f.received_at) = max(f.received_at)`,
      { s: store },
    );
    const withFacts = await sql<{ n: string }>('SELECT toString(uniqExact(batch_id)) AS n FROM fact_events WHERE store_id = {s:String}', { s: store });
    assert.equal(String(stamps.length), withFacts[0]!.n, `${store}: one received_at per batch, the same on its bronze rows`);
    for (const r of stamps) {
      assert.equal(r.fact, r.bronze, `${store} ${r.b}`);
      assert.ok(Date.parse(r.fact.replace(' ', 'T') + 'Z') >= testStart, `${store} ${r.b}: received during this test, not ${r.fact}`);
    }
  }
  const rows = await sql<Record<string, string>>(
    "SELECT batch_id, status, job_id, toString(rows_read = rows_inserted + rows_unchanged + rows_rejected) AS ok FROM ingest_batches FINAL WHERE store_id = 'live-fast' ORDER BY batch_id",
  );
  assert.deepEqual(rows, batches.map((_, i) => ({ batch_id: `fast-${i}`, status: 'completed', job_id: `job-${i}`, ok: '1' })));
  // Inferred members, as the general path makes them.
  const members = (store: string) =>
    sql<{ k: string; id: string }>(
      `SELECT k, id FROM (SELECT 'c' AS k, customer_id AS id FROM dim_customer FINAL WHERE store_id = {s:String}
         UNION ALL SELECT 'p' AS k, product_id AS id FROM dim_product FINAL WHERE store_id = {s:String}) ORDER BY k, id`,
      { s: store },
    );
  assert.deepEqual(await members('live-fast'), await members('live-slow'));

  // Loading the same batches again changes nothing.
  const again = await loader.load(batches.map((records, i) => ({ batchId: `fast-again-${i}`, jobId: `job-again-${i}`, storeId: 'live-fast', timezone: 'UTC', records })));
  assert.equal(again.reduce((a, r) => a + r.inserted, 0), 0);
  assert.deepEqual(await storedEvents('live-fast'), stored);

  // Through the API: each batch validated and serialized there (prepareEvents), carried by its job,
  // loaded by the worker. POSTed one after the other, each loaded before the next: the same
  // outcome as runBatch, batch by batch, and the answer names the same rejects.
  const viaApi: BatchResult[] = [];
  const answers: { rejected: { index: number; field: string; reason: string }[] }[] = [];
  for (const records of batches) {
    const res = await fetch(`${app.url}/v1/events?store=live-api`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': app.adminKey.key }, body: JSON.stringify(records) });
    assert.equal(res.status, 202);
    const answer = (await res.json()) as { jobId: string; rejected: { index: number; field: string; reason: string }[] };
    answers.push(answer);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await app.services.queues.events.getJob(answer.jobId);
      if (job?.finishedOn) {
        assert.equal(job.failedReason ?? null, null, 'the job does not fail');
        // The job carries the body's own text (a JSON array), not the records serialised again.
        assert.deepEqual([job.data.count, job.data.recordsJson], [records.length, JSON.stringify(records)]);
        viaApi.push(job.returnvalue as BatchResult);
        break;
      }
      assert.ok(Date.now() < deadline, 'the events job completes');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.deepEqual(viaApi.map(counts), slow.map(counts), 'through the API, per batch: the same counts as runBatch');
  assert.deepEqual(await storedEvents('live-api'), await storedEvents('live-slow'), 'through the API: the same stored events');
  const apiBatch = new Map(viaApi.map((r, i) => [r.batchId, String(i)]));
  const byBatch = (rows: Record<string, string>[], name: (b: string) => string) => rows.map((r): Record<string, string> => ({ ...r, b: name(r.b!) })).sort((x, y) => x.b!.localeCompare(y.b!) || Number(x.row) - Number(y.row));
  const slowRejects = await rejectsOf('live-slow');
  assert.deepEqual(
    byBatch(await sql<Record<string, string>>("SELECT batch_id AS b, toString(row_number) AS row, field, reason_code, message, raw_payload FROM rejected_records WHERE store_id = 'live-api'"), (b) => apiBatch.get(b)!),
    byBatch(slowRejects, (b) => b),
    'through the API: the same rejects, row by row',
  );
  assert.deepEqual(
    answers.flatMap((a, i) => a.rejected.map((r) => ({ b: String(i), row: String(r.index + 1), field: r.field, reason_code: r.reason }))),
    slowRejects.map((r) => ({ b: r.b, row: r.row, field: r.field, reason_code: r.reason_code })),
    'the answers name exactly the rejects the batches record',
  );
  // (The app keeps bronze rows RAW_RETENTION_DAYS; the reference loads above asked for 30.)
  assert.deepEqual(
    byBatch(await sql<Record<string, string>>("SELECT batch_id AS b, toString(row_number) AS row, source, payload, toString(retention_days) AS keep FROM raw_events WHERE store_id = 'live-api'"), (b) => apiBatch.get(b)!),
    byBatch(await bronzeRows('live-slow'), (b) => b).map((r) => ({ ...r, keep: String(app.services.config.RAW_RETENTION_DAYS) })),
    'through the API: the same bronze copy',
  );

  // Jobs enqueued by an API in another process: nothing prepared in this one, so the worker
  // validates the job's records itself — the same outcome again, whether the records come as
  // objects (earlier versions) or as the JSON text of their array (as the API sends them).
  const { EVENTS_JOB } = await import('../../src/jobs/events.job.js');
  const runJobs = async (store: string, data: (records: Record<string, unknown>[]) => object): Promise<BatchResult[]> => {
    const results: BatchResult[] = [];
    for (const [i, records] of batches.entries()) {
      const job = await app.services.queues.events.add(EVENTS_JOB, { storeId: store, receivedAt: Date.now(), ...data(records) }, { jobId: `${store}-${i}-${Date.now()}` });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const done = await app.services.queues.events.getJob(job.id!);
        if (done?.finishedOn) {
          assert.equal(done.failedReason ?? null, null, 'the job does not fail');
          results.push(done.returnvalue as BatchResult);
          break;
        }
        assert.ok(Date.now() < deadline, 'the events job completes');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return results;
  };
  const viaJob = await runJobs('live-job', (records) => ({ records }));
  assert.deepEqual(viaJob.map(counts), slow.map(counts), 'from a job of another process, per batch: the same counts as runBatch');
  assert.deepEqual(await storedEvents('live-job'), await storedEvents('live-slow'), 'from a job of another process: the same stored events');
  const viaText = await runJobs('live-text', (records) => ({ count: records.length, recordsJson: JSON.stringify(records) }));
  assert.deepEqual(viaText.map(counts), slow.map(counts), 'records as text, per batch: the same counts as runBatch');
  assert.deepEqual(await storedEvents('live-text'), await storedEvents('live-slow'), 'records as text: the same stored events');
});

test('the events worker micro-batches concurrent POSTs: every batch acknowledged, stored once, reconciled', { timeout: 180_000 }, async () => {
  const batches = 24;
  const size = 200;
  const post = async (b: number) => {
    const events = Array.from({ length: size }, (_, i) => {
      const n = b * size + i;
      // Every batch repeats 20 ids of the previous one (idempotency across concurrently loaded batches).
      const id = i < 20 && b > 0 ? `w${(b - 1) * size + i}` : `w${n}`;
      return { event_id: id, event_time: '2024-06-01T12:00:00Z', session_id: `s${n % 13}`, event_type: i === 7 ? 'warp' : 'page_view' };
    });
    const res = await fetch(`${app.url}/v1/events?store=live-http`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': app.adminKey.key }, body: JSON.stringify(events) });
    assert.equal(res.status, 202);
    return (await res.json()) as { jobId: string; accepted: number };
  };
  const answers = await Promise.all(Array.from({ length: batches }, (_, b) => post(b)));
  assert.ok(answers.every((a) => a.accepted === size - 1));
  // Wait for every job to complete (bounded polling).
  const deadline = Date.now() + 150_000; // generous: the 2 cores are shared
  let results: BatchResult[] = [];
  for (;;) {
    const jobs = await Promise.all(answers.map((a) => app.services.queues.events.getJob(a.jobId)));
    const states = await Promise.all(jobs.map((j) => j!.getState()));
    if (states.every((s) => s === 'completed')) {
      // Read the jobs again: a job fetched before it completed has no return value yet.
      const done = await Promise.all(answers.map((a) => app.services.queues.events.getJob(a.jobId)));
      results = done.map((j) => j!.returnvalue as BatchResult);
      assert.ok(results.every((r) => r !== null && typeof r === 'object'), 'every completed job returns its batch result');
      break;
    }
    assert.ok(!states.includes('failed'), 'no job fails');
    assert.ok(Date.now() < deadline, `timed out: ${states.join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Expected: ids w0 … w(batches*size-1) except the ones each batch replaced by a repeat, minus the bad one per batch.
  const expected = new Set<string>();
  for (let b = 0; b < batches; b++) for (let i = 0; i < size; i++) if (i !== 7) expected.add(i < 20 && b > 0 ? `w${(b - 1) * size + i}` : `w${b * size + i}`);
  const [n] = await sql<{ n: string; d: string }>("SELECT toString(count()) AS n, toString(uniqExact(event_id)) AS d FROM fact_events WHERE store_id = 'live-http'");
  assert.deepEqual(n, { n: String(expected.size), d: String(expected.size) });
  assert.equal(results.reduce((a, r) => a + r.rejected, 0), batches);
  for (const r of results) assert.equal(r.read, r.inserted + r.unchanged + r.rejected);
  // Every job's final batch row is completed and reconciles. A load that failed part-way (possible
  // on a starved machine) leaves a 'failed' row for that attempt; its retry counts the events the
  // failed attempt already stored as unchanged, so the exact insert count holds only without one.
  const [rec] = await sql<{ done: string; ok: string; failed: string }>(
    `SELECT toString(countIf(status = 'completed')) AS done, toString(countIf(status = 'completed' AND rows_read = rows_inserted + rows_unchanged + rows_rejected)) AS ok,
            toString(countIf(status = 'failed')) AS failed
       FROM ingest_batches FINAL WHERE store_id = 'live-http'`,
  );
  assert.deepEqual({ done: rec!.done, ok: rec!.ok }, { done: String(batches), ok: String(batches) });
  assert.deepEqual(
    results.map((r) => r.batchId).sort(),
    (await sql<{ b: string }>("SELECT batch_id AS b FROM ingest_batches FINAL WHERE store_id = 'live-http' AND status = 'completed' ORDER BY b")).map((r) => r.b),
  );
  if (rec!.failed === '0') assert.equal(results.reduce((a, r) => a + r.inserted, 0), expected.size, 'each distinct event inserted by exactly one batch');
});

test('an events job with a malformed payload fails at once with the schema\'s message (no retries)', { timeout: 60_000 }, async () => {
  const { EVENTS_JOB } = await import('../../src/jobs/events.job.js');
  const bad = [
    { storeId: 'live-bad', receivedAt: Date.now(), records: [] },
    { storeId: 'live-bad', receivedAt: Date.now(), records: [{ event_type: 'page_view' }, 7] },
    { storeId: '', receivedAt: Date.now(), records: [{ event_type: 'page_view' }] },
    // Records as text (as the API sends them) that are not what the payload says.
    { storeId: 'live-bad', receivedAt: Date.now(), count: 1, recordsJson: 'not json' },
    { storeId: 'live-bad', receivedAt: Date.now(), count: 2, recordsJson: '[{"event_type":"page_view"}]' },
    { storeId: 'live-bad', receivedAt: Date.now(), count: 1, recordsJson: '[7]' },
    { storeId: 'live-bad', receivedAt: Date.now(), count: 0, recordsJson: '[]' },
  ];
  for (const [i, data] of bad.entries()) {
    const job = await app.services.queues.events.add(EVENTS_JOB, data, { jobId: `bad-payload-${i}-${Date.now()}`, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const j = await app.services.queues.events.getJob(job.id!);
      if ((await j?.getState()) === 'failed') {
        // Read again: the job object fetched just before it failed has no failedReason yet.
        const failed = (await app.services.queues.events.getJob(job.id!))!;
        assert.match(failed.failedReason, /^invalid events job: /);
        assert.equal(failed.attemptsMade, 1, 'not retried');
        break;
      }
      assert.ok(Date.now() < deadline, 'the job fails');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const [n] = await sql<{ n: string }>("SELECT toString(count()) AS n FROM raw_events WHERE store_id = 'live-bad'");
  assert.equal(n!.n, '0', 'nothing of them is stored');
});

test('an event is its id on its UTC day: a repeat on that day is unchanged, the id on another day is another event, and the check reads only the batch\'s days', { timeout: 120_000 }, async () => {
  const wh = app.services.warehouse;
  const DAYS = 60;
  const PER_DAY = 1000;
  const dayOf = (d: number) => `2024-03-01T00:00:00Z`.replace('01T', `${String(1 + (d % 28)).padStart(2, '0')}T`).replace('-03-', d < 28 ? '-03-' : d < 56 ? '-04-' : '-05-');
  const at = (d: number, i: number) => new Date(Date.parse(dayOf(d)) + i * 60_000).toISOString();
  const ev = (id: string, time: string) => ({ event_id: id, event_time: time, session_id: 's', event_type: 'page_view' });
  // 60 days of 1,000 events: d<day>-<i>.
  const history = Array.from({ length: DAYS }, (_, d) => Array.from({ length: PER_DAY }, (_, i) => ev(`d${d}-${i}`, at(d, i))));
  for (const [store, load] of [
    ['days-fast', (batches: Record<string, unknown>[][], tag: string, w = wh) => new LiveEventsLoader(w, { retentionDays: 30 }).load(batches.map((records, i) => ({ batchId: `${tag}-${i}`, jobId: `${tag}-${i}`, storeId: 'days-fast', timezone: 'UTC', records })))],
    [
      'days-slow',
      async (batches: Record<string, unknown>[][], tag: string, w = wh) => {
        const out: BatchResult[] = [];
        for (const [i, records] of batches.entries()) {
          out.push(await runBatch({ wh: w, storeId: 'days-slow', batchId: `${tag}-${i}`, source: 'events', entity: 'events', format: 'json', timezone: 'UTC', retentionDays: 30, rows: rowsOf(records), mapper: liveMapper, chunkSize: 10_000 }));
        }
        return out;
      },
    ],
  ] as const) {
    await load([history.flat()], 'history');
    // The id lookups of the next load may read at most 3 granules (8,192 rows each): the 1,000
    // events of day 30 fit in 1–2, the store holds 60,000. A read of the whole store throws.
    const bounded = {
      ...wh,
      query: <T>(q: string, params?: Record<string, unknown>, opts?: Parameters<typeof wh.query>[2]) =>
        wh.query<T>(/FROM fact_events/.test(q) && /IN_KEY|arrayJoin|\{keys:/.test(q) ? q.replace(/SETTINGS /, "SETTINGS max_rows_to_read = 24576, read_overflow_mode = 'throw', ") : q, params, opts),
    } as typeof wh;
    const day30 = history[30]!;
    const next = [
      ...day30.slice(0, 100), // repeats: same id, same day
      ev('d0-5', at(30, 5)), // an id of day 0, on day 30: another event
      ev('new-1', at(30, 7)),
    ];
    const [result] = (await load([next], 'next', bounded)) as BatchResult[];
    assert.deepEqual({ read: result!.read, inserted: result!.inserted, unchanged: result!.unchanged, rejected: result!.rejected }, { read: 102, inserted: 2, unchanged: 100, rejected: 0 }, store);
    const rows = await sql<{ id: string; days: string[] }>(
      `SELECT event_id AS id, arraySort(groupArray(toString(toDate(event_time)))) AS days FROM fact_events FINAL
        WHERE store_id = {s:String} AND event_id IN ('d0-5', 'new-1', 'd30-0') GROUP BY id ORDER BY id`,
      { s: store },
    );
    assert.deepEqual(rows, [
      { id: 'd0-5', days: [dayOf(0).slice(0, 10), dayOf(30).slice(0, 10)] },
      { id: 'd30-0', days: [dayOf(30).slice(0, 10)] },
      { id: 'new-1', days: [dayOf(30).slice(0, 10)] },
    ]);
    const [n] = await sql<{ n: string }>('SELECT toString(count()) AS n FROM fact_events WHERE store_id = {s:String}', { s: store });
    assert.equal(n!.n, String(DAYS * PER_DAY + 2), `${store}: each event stored once`);
    // Days past what a ClickHouse Date holds (2149-06-06; toDate of a later instant wraps around,
    // the validator accepts times to 2200): a repeat is still found (the check reads the whole
    // store for such a group), and the same id on another such day is still another event.
    const far = [ev('far-1', '2190-03-01T10:00:00Z'), ev('far-2', '2149-06-06T10:00:00Z'), ev('far-3', '2200-12-31T23:59:59Z')];
    const [first] = (await load([far], 'far')) as BatchResult[];
    const [again] = (await load([[...far, ev('far-1', '2190-03-02T10:00:00Z')]], 'far-again')) as BatchResult[];
    assert.deepEqual([first!.inserted, first!.unchanged, again!.inserted, again!.unchanged], [3, 0, 1, 3], `${store}: far days`);
    // Blank ids are none: two different events with a blank id are two events, each with an id
    // from its content (they had all shared the id '', and all but one were dropped as repeats).
    const [blanks] = (await load([[ev('  ', at(31, 1)), ev(' ', at(31, 2)), ev('  ', at(31, 1))]], 'blank')) as BatchResult[];
    assert.deepEqual([blanks!.inserted, blanks!.unchanged], [2, 1], `${store}: blank ids`);
    const [noId] = await sql<{ n: string }>("SELECT toString(count()) AS n FROM fact_events WHERE store_id = {s:String} AND trimBoth(event_id) = ''", { s: store });
    assert.equal(noId!.n, '0', `${store}: no event stored without an id`);
    // The same guard proves the check would have thrown on a whole-store read.
    await assert.rejects(
      bounded.query(`SELECT count() FROM fact_events WHERE store_id = {s:String} AND event_id IN (SELECT arrayJoin({keys:Array(String)})) SETTINGS max_threads = 1`, { s: store, keys: ['x'] }),
      /max_rows_to_read|Limit for rows|TOO_MANY_ROWS/i,
    );
  }
});
