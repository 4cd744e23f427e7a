/**
 * Ingestion benchmarks (issue: ingestion pipeline). Run: npm run bench -- ingest
 *  1. The full Online Retail file end to end (HTTP upload → job → validated facts, dims, rejects
 *     committed) next to the raw engine loading the same CSV into a plain table, same run, same engine.
 *  2. Live events: batches of 500 POSTed by concurrent clients (a separate process); acknowledged events/s and the time
 *     from acknowledgement until the batch is queryable (p50/p95/p99).
 *  3. Peak memory (RSS) of the process importing a large generated CSV (BENCH_BIG_CSV_MB, default 1024).
 * BENCH_THREADS=1 also prints the live-events phases' CPU per thread name (main, node = V8 helpers,
 * libuv and the engine's calling threads, the engine's pools) to stderr.
 * BENCH_ENGINE=server runs the app on CLICKHOUSE_URL against the HTTP shim over chdb
 * (test/support/clickhouse-http-shim.ts) in a process of its own: the production shape, where the
 * engine's memory is not the app's. The big-csv part then reports both processes' peaks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { startApp, type RunningApp } from '../src/app/app.js';
import { spawnShim, type ShimProcess } from '../test/support/clickhouse-http-shim.js';
import { tempDir } from '../test/support/temp.js';
import { makeBatch, makeEvent, nowMs, type ClientRun } from './event-clients.js';
import { describeMemory, fileSystemOf, fmt, machineLine, memoryComposition, percentile, rssOf, rssSampler, sharedDataset, writeSubsection } from './support.js';

async function upload(app: RunningApp, file: string, query: Record<string, string>): Promise<{ jobId: string }> {
  const size = fs.statSync(file).size;
  const res = await fetch(`${app.url}/v1/imports?${new URLSearchParams({ filename: path.basename(file), ...query })}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.adminKey.key}`, 'content-length': String(size) },
    body: fs.createReadStream(file) as unknown as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  if (res.status !== 202) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { jobId: string };
}

async function waitForJob(app: RunningApp, jobId: string): Promise<{ read: number; inserted: number; unchanged: number; rejected: number }> {
  for (;;) {
    const job = await app.services.queues.ingest.getJob(jobId);
    const state = await job?.getState();
    // Read the job again once it finished: the one read before has no result yet.
    if (state === 'completed') return (await app.services.queues.ingest.getJob(jobId))!.returnvalue;
    if (state === 'failed') throw new Error(`job failed: ${(await app.services.queues.ingest.getJob(jobId))!.failedReason}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function onlineRetail(app: RunningApp): Promise<string> {
  const file = sharedDataset('online-retail', 'online_retail.csv');
  if (!file) return 'Skipped: ../shared/datasets/online-retail/online_retail.csv is absent.\n';
  const wh = app.services.warehouse;
  // Raw engine: the same CSV into a plain MergeTree table of Strings, no validation.
  await wh.command('DROP TABLE IF EXISTS bench_raw_online_retail');
  await wh.command(
    `CREATE TABLE bench_raw_online_retail (InvoiceNo String, StockCode String, Description String, Quantity String, InvoiceDate String, UnitPrice String, CustomerID String, Country String) ENGINE = MergeTree ORDER BY tuple()`,
  );
  const t0 = performance.now();
  await wh.command(`INSERT INTO bench_raw_online_retail SELECT * FROM file({path:String}, 'CSVWithNames', 'InvoiceNo String, StockCode String, Description String, Quantity String, InvoiceDate String, UnitPrice String, CustomerID String, Country String')`, { path: file }, { maxExecutionTime: 600 });
  const rawMs = performance.now() - t0;
  const [rawCount] = await wh.query<{ n: string }>('SELECT toString(count()) AS n FROM bench_raw_online_retail');

  const mem = rssSampler();
  const t1 = performance.now();
  const { jobId } = await upload(app, file, { format: 'online-retail', store: 'bench-uk', timezone: 'Europe/London' });
  const uploadMs = performance.now() - t1;
  const result = await waitForJob(app, jobId);
  const e2eMs = performance.now() - t1;
  const peak = mem.stop();
  await wh.command('DROP TABLE IF EXISTS bench_raw_online_retail');
  const ratio = e2eMs / rawMs;
  return `Full file: ${fmt(Number(rawCount!.n))} lines, 45.6 MB, ISO-8859-1.

| what | time | rows/s |
| --- | --- | --- |
| raw engine: \`INSERT … SELECT FROM file(…, CSVWithNames)\` into a plain table | ${fmt(rawMs / 1000, 2)} s | ${fmt(Number(rawCount!.n) / (rawMs / 1000))} |
| ecommerce-analytics: upload → job → validated facts, dims, rejects, bronze committed | ${fmt(e2eMs / 1000, 2)} s (upload ${fmt(uploadMs / 1000, 2)} s) | ${fmt(result.read / (e2eMs / 1000))} |

| target | measured | met |
| --- | --- | --- |
| end to end ≤ 5× raw (aim 2×) | **${fmt(ratio, 1)}× raw** | ${ratio <= 5 ? 'yes' : 'no'} |
| peak RSS < 500 MB | ${fmt(peak)} MB (whole process: API + worker + embedded engine) | ${peak < 500 ? 'yes' : 'no'} |

Batch: read ${fmt(result.read)}, inserted ${fmt(result.inserted)}, unchanged ${fmt(result.unchanged)}, rejected ${fmt(result.rejected)}; reader: ${(result as { reader?: string }).reader ?? '?'} (engine = the rules as SQL in the engine, stream = the streaming mapper); milliseconds per step of the job: ${JSON.stringify((result as { timings?: unknown }).timings ?? {})}. Measured ${new Date().toISOString().slice(0, 16)}Z, data on ${fileSystemOf(fs.realpathSync(os.tmpdir()))}; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (other work shares the 2 cores). The peak RSS includes what the engine kept from the raw load just before.
`;
}

/** CPU ticks (1/100 s) per thread of this process, by thread id, with the thread's name. */
function threadCpu(): Map<string, { name: string; ticks: number }> {
  const out = new Map<string, { name: string; ticks: number }>();
  for (const id of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(id, { name: id === String(process.pid) ? 'main' : name.replace(/[0-9]+$/, ''), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the thread ended
    }
  }
  return out;
}

async function liveEvents(app: RunningApp): Promise<string> {
  const batches = Number(process.env.BENCH_EVENT_BATCHES ?? 2000);
  const batchSize = 500;
  const concurrency = Number(process.env.BENCH_EVENT_CLIENTS ?? 8);
  const store = `bench-events-${Date.now()}`;
  const wh = app.services.warehouse;

  // Raw engine, same run: the same events as JSONEachRow into a plain MergeTree table, batches of 500, one at a time.
  await wh.command('DROP TABLE IF EXISTS bench_raw_events');
  await wh.command(
    'CREATE TABLE bench_raw_events (event_id String, event_time DateTime64(3), session_id String, event_type String, product_id String) ENGINE = MergeTree ORDER BY tuple()',
  );
  const rawBatches = Math.min(batches, 100);
  const r0 = performance.now();
  for (let b = 0; b < rawBatches; b++) {
    await wh.insert('bench_raw_events', makeBatch(b, batchSize).map((e) => ({ ...e, event_time: e.event_time.replace('T', ' ').replace('Z', '') })));
  }
  const rawRate = (rawBatches * batchSize) / ((performance.now() - r0) / 1000);
  await wh.command('DROP TABLE IF EXISTS bench_raw_events');

  /**
   * POSTs batches [first, first + count) from `concurrency` clients in a child process
   * (bench/event-clients.ts), as fast as acknowledged or, with `rate`, paced to that many
   * events/s; returns acknowledged and stored (all queryable) rates, the ack → queryable latencies
   * of sampled batches and this process's CPU per event (API, worker, engine; not the clients').
   */
  async function phase(first: number, count: number, rate?: number) {
    const latencies: number[] = [];
    const pending: { last: ReturnType<typeof makeEvent>; ack: number }[] = [];
    // The clock starts when the clients have built their bodies (their `start` line).
    let t0 = 0;
    let cpu0 = process.cpuUsage();
    let th0 = threadCpu();
    let started!: () => void;
    const start = new Promise<void>((r) => (started = r));
    const run: ClientRun = { url: app.url!, key: app.adminKey.key, store, first, count, batchSize, concurrency, rate };
    const child = spawn(process.execPath, [fileURLToPath(new URL('./event-clients.js', import.meta.url))], {
      env: { ...process.env, EVENT_CLIENTS: JSON.stringify(run) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let ackedAt = 0;
    let clientCpuMs = 0;
    // V8's collections in this process while the phase runs (their pauses stop the main thread).
    const gcs = { young: 0, full: 0, ms: 0 };
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.young++;
        else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.full++;
        gcs.ms += e.duration;
      }
    });
    let rest = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const [what, a, b] = line.split(' ');
        if (what === 'start') {
          gc.observe({ entryTypes: ['gc'] });
          t0 = Number(a);
          cpu0 = process.cpuUsage();
          th0 = threadCpu();
          clientCpuMs = -Number(b);
          started();
        } else if (what === 'ack') pending.push({ last: makeEvent(Number(a)), ack: Number(b) });
        else if (what === 'done') {
          ackedAt = Number(a);
          clientCpuMs += Number(b);
        }
      }
    });
    const exited = new Promise<void>((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`event clients exited with ${code}`)))));
    // Queryability probe: a sampled batch is visible once its last event is in fact_events. The
    // probe names the event's whole sort key, so it reads a granule, not the store's event ids
    // (50 probes a second must not be what the engine spends its time on).
    let probing = true;
    await Promise.race([start, exited]);
    const probe = (async () => {
      while (probing || pending.length > 0) {
        const p = pending[0];
        if (!p) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const rows = await wh.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM fact_events
            WHERE store_id = {s:String} AND toDate(event_time) = toDate(parseDateTime64BestEffort({t:String}, 3, 'UTC'))
              AND event_type = {type:String} AND event_id = {id:String}`,
          { s: store, t: p.last.event_time, type: p.last.event_type, id: p.last.event_id },
        );
        if (rows[0]!.n !== '0') {
          latencies.push(nowMs() - p.ack);
          pending.shift();
        } else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await exited;
    } finally {
      probing = false;
      await probe;
    }
    const ackMs = ackedAt - t0;
    // Everything stored: wait until every event of the phase is in the table.
    const expected = (first + count) * batchSize;
    for (;;) {
      const [c] = await wh.query<{ n: string }>('SELECT toString(count()) AS n FROM fact_events WHERE store_id = {s:String}', { s: store });
      if (Number(c!.n) >= expected) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const allMs = nowMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    gc.disconnect();
    if (process.env.BENCH_THREADS) {
      const th1 = threadCpu();
      const by = new Map<string, number>();
      for (const [id, v] of th1) by.set(v.name, (by.get(v.name) ?? 0) + v.ticks - (th0.get(id)?.ticks ?? 0));
      console.error(`threads (ticks/100k events):`, [...by].filter(([, t]) => t > 0).sort((a, b) => b[1] - a[1]).map(([n, t]) => `${n} ${Math.round((t * 100000) / (count * batchSize))}`).join(', '));
    }
    const events = count * batchSize;
    // Whole-process CPU (every thread: API, worker, engine) per event.
    const cpuUsPerEvent = (cpu.user + cpu.system) / events;
    return { acked: events / (ackMs / 1000), stored: events / (allMs / 1000), latencies, events, cpuUsPerEvent, clientCpuUsPerEvent: (clientCpuMs * 1000) / events, gcs };
  }

  const flat = await phase(0, batches);
  const total = batches * batchSize;
  const paceRate = Number(process.env.BENCH_EVENT_RATE ?? Math.round((flat.stored * 0.8) / 1000) * 1000);
  const pacedBatches = Math.max(20, Math.round((paceRate * 20) / batchSize)); // ~20 s at that rate
  const paced = await phase(batches, pacedBatches, paceRate);
  const [check] = await wh.query<{ n: string; batches: string; ok: string }>(
    `SELECT toString(uniqExact(event_id)) AS n, (SELECT toString(count()) FROM ingest_batches FINAL WHERE store_id = {s:String}) AS batches,
            (SELECT toString(countIf(rows_read = rows_inserted + rows_unchanged + rows_rejected)) FROM ingest_batches FINAL WHERE store_id = {s:String}) AS ok
       FROM fact_events WHERE store_id = {s:String}`,
    { s: store },
  );
  const [flows] = await wh.query<{ flows: string; steps: string; ms: string }>(
    `SELECT toString(uniqExactIf(flow_id, flow_id != '')) AS flows, toString(count()) AS steps, toString(sum(duration_ms)) AS ms
       FROM pipeline_runs FINAL WHERE store_id = {s:String} AND queue = 'analytics' AND status = 'completed'`,
    { s: store },
  );
  const perStep = await wh.query<{ job_name: string; n: string; ms: string }>(
    `SELECT job_name, toString(count()) AS n, toString(sum(duration_ms)) AS ms
       FROM pipeline_runs FINAL WHERE store_id = {s:String} AND queue = 'analytics' AND status = 'completed'
      GROUP BY job_name ORDER BY sum(duration_ms) DESC`,
    { s: store },
  );
  const lat = (l: number[]) => `p50 / p95 / p99 ${fmt(percentile(l, 50))} / ${fmt(percentile(l, 95))} / ${fmt(percentile(l, 99))} ms (${l.length} sampled batches)`;
  const stored = flat.stored;
  const p99 = percentile(paced.latencies, 99);
  return `Phase 1, flat out: ${fmt(total)} events in ${batches} POSTs of ${batchSize} (JSON; each event 5 fields with a UUID event_id, ≈ 156 bytes of JSON), ${concurrency} concurrent clients on loopback in a process of their own (bench/event-clients.ts), one app process (API + events worker + embedded engine). Phase 2, paced: ${fmt(paced.events)} more events offered at ${fmt(paceRate)} events/s (80 % of phase 1's stored rate, unless \`BENCH_EVENT_RATE\`). Measured ${new Date().toISOString().slice(0, 16)}Z, data on ${fileSystemOf(fs.realpathSync(os.tmpdir()))}; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (other work shares the 2 cores).

| target | measured | met |
| --- | --- | --- |
| ≥ 50,000 events/s sustained, batches of 500 | phase 1: ${fmt(stored)} events/s stored and queryable, end to end (${fmt(flat.acked)} events/s acknowledged) | ${stored >= 50_000 ? 'yes' : 'no'} |
| queryable within 5 s (p99) of acknowledgement | phase 2 at ${fmt(paceRate)} events/s offered (${fmt(paced.acked)} acknowledged, ${fmt(paced.stored)} stored and queryable, end to end): ${lat(paced.latencies)}; phase 1 (backlog building): ${lat(flat.latencies)} | ${p99 <= 5000 ? 'yes' : 'no'} (at ${fmt(paceRate)} events/s) |

Raw engine in the same run: ${fmt(rawRate)} events/s inserting the same events, 500 per INSERT, one at a time, into a plain MergeTree table (no HTTP, no queue, no validation, no bronze copy, no idempotency lookup): the pipeline's stored rate is ${fmt(stored / rawRate, 2)}× that (the events worker loads many queued POSTs per warehouse round trip, but also validates, keeps a bronze copy, checks idempotency ids and bookkeeps every batch). Check: ${check!.n} distinct events stored, ${check!.ok} of ${check!.batches} batches reconcile (read = inserted + unchanged + rejected).

App process CPU (all threads, \`process.cpuUsage\`; the clients' process not counted) per event: phase 1 ${fmt(flat.cpuUsPerEvent)} µs, phase 2 ${fmt(paced.cpuUsPerEvent)} µs (50,000 events/s on 2 cores leaves 40 µs for everything; the clients' process took ${fmt(flat.clientCpuUsPerEvent)} / ${fmt(paced.clientCpuUsPerEvent)} µs an event of it, Node and fetch included). V8 collections in the app during phase 1: ${fmt(flat.gcs.young)} young, ${fmt(flat.gcs.full)} full, ${fmt(flat.gcs.ms)} ms of pauses. Analytics while the events arrived: ${flows!.flows} flows, ${flows!.steps} steps, ${fmt(Number(flows!.ms) / 1000, 1)} s of step time in total (${perStep.map((r) => `${r.job_name} ${r.n}× ${fmt(Number(r.ms) / 1000, 1)} s`).join(', ')}).
`;
}

/**
 * Uploads a file from a child process, as a real client would (its buffers are not the app's).
 * Resolves with the job id.
 */
async function uploadFromChild(app: RunningApp, file: string, query: Record<string, string>): Promise<{ jobId: string }> {
  const url = `${app.url}/v1/imports?${new URLSearchParams({ filename: path.basename(file), ...query })}`;
  const script = `const fs = require('node:fs');
fetch(process.env.URL, { method: 'POST', headers: { authorization: 'Bearer ' + process.env.KEY, 'content-length': String(fs.statSync(process.env.FILE).size) }, body: fs.createReadStream(process.env.FILE), duplex: 'half' })
  .then(async (r) => { const t = await r.text(); if (r.status !== 202) { console.error(r.status, t); process.exit(1); } process.stdout.write(t); })
  .catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, URL: url, KEY: app.adminKey.key, FILE: file }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { jobId: string }) : reject(new Error(`upload failed (exit ${code})`))));
  });
}

/** The named variables of this environment that are set (app settings a bench run may vary). */
function passThrough(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])));
}

async function bigCsv(app: RunningApp, dir: string, shim?: ShimProcess): Promise<string> {
  const mb = Number(process.env.BENCH_BIG_CSV_MB ?? 1024);
  const file = path.join(dir, 'big-orders.csv');
  const out = fs.createWriteStream(file);
  out.write('order_id,customer_id,status,created_at,channel,country,currency,gross,discount,shipping,tax\n');
  let n = 0;
  const statuses = ['paid', 'shipped', 'delivered', 'cancelled'];
  while (out.bytesWritten + out.writableLength < mb * 1024 * 1024) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++, n++) {
      lines.push(`O${n},C${n % 500_000},${statuses[n % 4]},2024-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')} 10:${String(n % 60).padStart(2, '0')}:00,web,DE,EUR,${1 + Math.floor((n % 50000) / 100)}.${String(n % 100).padStart(2, '0')},0,4.99,0`);
    }
    if (!out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  const size = fs.statSync(file).size;
  const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const loadBefore = load();
  const mb0 = (b: number) => Math.round(b / 1024 / 1024);
  const before = mb0(rssOf());
  const shimPid = shim?.child.pid;
  const shimBefore = shimPid === undefined ? 0 : mb0(rssOf(shimPid));
  const others = shimPid === undefined ? [] : [shimPid];
  const mem = rssSampler(others);
  // What the app's memory is made of (the engine's allocator only when the engine is in this process).
  const parts = memoryComposition(shim ? undefined : async (sql) => (await app.services.warehouse.client.query({ query: sql, format: 'TabSeparatedRaw' })).text());
  const t0 = performance.now();
  const { jobId } = await uploadFromChild(app, file, { entity: 'orders', store: 'bench-big' });
  const uploadMs = performance.now() - t0;
  const uploadPeaks = mem.stopAll();
  const uploadPeak = uploadPeaks.self;
  const jobMem = rssSampler(others);
  // Load average once a minute while the import runs (other work shares the 2 cores).
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(os.loadavg()[0]!), 60_000);
  const t1 = performance.now();
  let result;
  try {
    result = await waitForJob(app, jobId);
  } finally {
    clearInterval(loadTimer);
  }
  const ms = performance.now() - t1;
  const jobPeaks = jobMem.stopAll();
  const composition = await parts.stop();
  const peak = Math.max(uploadPeak, jobPeaks.self);
  const shimPeak = Math.max(uploadPeaks.others[0] ?? 0, jobPeaks.others[0] ?? 0);
  const sumPeak = Math.max(uploadPeaks.sum, jobPeaks.sum);
  const heap = Math.round(process.memoryUsage().heapTotal / 1024 / 1024);
  fs.rmSync(file, { force: true });
  const loadRange = loads.length > 0 ? `1-minute load average during the import ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}` : '';
  const timing = `Upload ${fmt(uploadMs / 1000, 1)} s; import ${fmt(ms / 1000, 1)} s (${fmt(result.read / (ms / 1000))} rows/s). Load average (1 / 5 / 15 min) before ${loadBefore}, at the end ${load()}${loadRange ? `; ${loadRange}` : ''}. V8 heap at the end ${fmt(heap)} MB. Batch: read ${fmt(result.read)}, inserted ${fmt(result.inserted)}, rejected ${fmt(result.rejected)}.

What the app process's memory was made of (100 ms samples of \`/proc/self/status\` and V8's heap; the engine's allocator, jemalloc, from \`system.jemalloc_stats\` once a second, so at a peak it can be up to a second old and a short spike of the engine shows as "other"): at the largest sample ${describeMemory(composition.peak)}; the median of each part over the upload and import ${describeMemory(composition.median)}.`;
  if (shim) {
    return `Production shape: the app (API + workers, no engine in it) on \`CLICKHOUSE_URL\`, the engine in a process of its own (test/support/clickhouse-http-shim.ts: an HTTP server over chdb with the engine's default settings, standing in for a ClickHouse server). A generated orders CSV of ${fmt(size / 1024 / 1024)} MB (${fmt(n)} rows) uploaded over HTTP by a third process. \`BENCH_ENGINE=server npm run bench -- ingest big-csv\`. Measured ${new Date().toISOString().slice(0, 16)}Z, data on ${fileSystemOf(fs.realpathSync(os.tmpdir()))}.

| process | before the upload | peak during the upload | peak |
| --- | --- | --- | --- |
| app (API + workers) | ${fmt(before)} MB | ${fmt(uploadPeak)} MB | **${fmt(peak)} MB** |
| engine (shim over chdb) | ${fmt(shimBefore)} MB | ${fmt(uploadPeaks.others[0] ?? 0)} MB | ${fmt(shimPeak)} MB |
| both (peak of the sum) | ${fmt(before + shimBefore)} MB | ${fmt(uploadPeaks.sum)} MB | ${fmt(sumPeak)} MB |

This is not the embedded mode's number (the subsection above): the issue's < 500 MB is for the whole app process with the embedded engine. ${timing}
`;
  }
  return `A generated orders CSV of ${fmt(size / 1024 / 1024)} MB (${fmt(n)} rows) uploaded over HTTP by a separate client process and imported by the app process (API + workers + embedded engine). Measured ${new Date().toISOString().slice(0, 16)}Z, data on ${fileSystemOf(fs.realpathSync(os.tmpdir()))}.

| target | measured | met |
| --- | --- | --- |
| peak RSS < 500 MB importing a ${fmt(mb)} MB CSV | ${fmt(peak)} MB peak (${fmt(before)} MB before the upload; ${fmt(uploadPeak)} MB peak during the upload) | ${peak < 500 ? 'yes' : 'no'} |

${timing}
`;
}

const RESULTS_SECTION = 'Ingestion (issue 3)';

function resultsIntro(): string {
  return `Reproduce: \`npm run bench -- ingest [online-retail] [events] [big-csv]\` (no part = all three, each in a process of its own; \`BENCH_BIG_CSV_MB\`, \`BENCH_EVENT_BATCHES\`, \`BENCH_EVENT_CLIENTS\` resize them). Each part starts the app in-process (API + workers + embedded chdb engine, Redis child) on a fresh temp DATA_DIR (under \`TMPDIR\`; each subsection names the file system its data was on) and rewrites its subsection below; \`BENCH_ENGINE=server\` (big-csv only) puts the engine in a process of its own behind \`CLICKHOUSE_URL\`. Machine: ${machineLine()}. The 2 cores are shared with whatever else runs; each subsection carries its date.`;
}

/** The ingest bench's parts, in the order a full run takes them. */
const INGEST_PARTS = ['online-retail', 'events', 'big-csv'];

export async function runIngestBench(which: string[] = []): Promise<void> {
  const engine = process.env.BENCH_ENGINE ?? 'embedded';
  if (engine !== 'embedded' && engine !== 'server') throw new Error(`BENCH_ENGINE must be embedded or server, not ${engine}`);
  // The other parts' subsections describe the embedded engine; only big-csv has a server-shape one.
  if (engine === 'server' && which.some((part) => part !== 'big-csv')) throw new Error('BENCH_ENGINE=server runs only the big-csv part');
  const parts = engine === 'server' ? ['big-csv'] : which.length === 0 ? INGEST_PARTS : which;
  const unknown = parts.filter((p) => !INGEST_PARTS.includes(p));
  if (unknown.length > 0) throw new Error(`unknown ingest part ${unknown.join(', ')}; known: ${INGEST_PARTS.join(', ')}`);
  if (parts.length > 1) {
    // One process per part: in one process each part would start where the last one left the
    // engine and the heap (the big import's memory on top of the events' and the Online Retail
    // load's), and its numbers would depend on which parts ran before it.
    for (const part of parts) {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'ingest', part], { stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', resolve);
      });
      if (code !== 0) throw new Error(`the ${part} part failed (exit code ${code})`);
    }
    return;
  }
  const tmp = tempDir('ecomm-bench-');
  const shim = engine === 'server' ? await spawnShim({ path: path.join(tmp.dir, 'engine') }) : undefined;
  const server = shim ? { CLICKHOUSE_URL: shim.url, CLICKHOUSE_USER: shim.user, CLICKHOUSE_PASSWORD: shim.password } : {};
  const app = await startApp({
    config: parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', EVENTS_MAX_BATCH: '5000', RATE_LIMIT_PER_MINUTE: '1000000', ...server, ...passThrough('ANALYTICS_DEBOUNCE_MS', 'ANALYTICS_MIN_INTERVAL_MS') }),
    log: createLogger('warn'),
    api: true,
    worker: true,
    demo: false,
  });
  try {
    const want = (name: string) => parts.includes(name);
    const write = (sub: string, text: string) => {
      console.log(`### ${sub}\n\n${text}`);
      writeSubsection(RESULTS_SECTION, resultsIntro(), sub, text);
    };
    if (want('online-retail')) write('Online Retail end to end vs raw engine', await onlineRetail(app));
    if (want('events')) write('Live events', await liveEvents(app));
    if (want('big-csv')) write(shim ? 'Memory of a large CSV import, server shape' : 'Memory of a large CSV import', await bigCsv(app, tmp.dir, shim));
  } finally {
    await app.stop();
    await shim?.stop();
    tmp.cleanup();
  }
}
