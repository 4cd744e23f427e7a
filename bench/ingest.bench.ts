/**
 * Ingestion benchmarks (issue: ingestion pipeline). Run: npm run bench -- ingest
 *  1. The full Online Retail file end to end (HTTP upload → job → validated facts, dims, rejects
 *     committed) next to the raw engine loading the same CSV into a plain table, same run, same engine.
 *  2. Live events: batches of 500 POSTed by concurrent clients; acknowledged events/s and the time
 *     from acknowledgement until the batch is queryable (p50/p95/p99).
 *  3. Peak memory (RSS) of the process importing a large generated CSV (BENCH_BIG_CSV_MB, default 1024).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { startApp, type RunningApp } from '../src/app/app.js';
import { tempDir } from '../test/support/temp.js';
import { fmt, percentile, rssSampler, sharedDataset, writeResults } from './support.js';

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
    if (state === 'completed') return job!.returnvalue;
    if (state === 'failed') throw new Error(`job failed: ${job!.failedReason}`);
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
  const result = await waitForJob(app, jobId);
  const e2eMs = performance.now() - t1;
  const peak = mem.stop();
  await wh.command('DROP TABLE IF EXISTS bench_raw_online_retail');
  const ratio = e2eMs / rawMs;
  return `Full file: ${fmt(Number(rawCount!.n))} lines, 45.6 MB, ISO-8859-1.

| what | time | rows/s |
| --- | --- | --- |
| raw engine: \`INSERT … SELECT FROM file(…, CSVWithNames)\` into a plain table | ${fmt(rawMs / 1000, 2)} s | ${fmt(Number(rawCount!.n) / (rawMs / 1000))} |
| ecommerce-analytics: upload → job → validated facts, dims, rejects, bronze committed | ${fmt(e2eMs / 1000, 2)} s | ${fmt(result.read / (e2eMs / 1000))} |

**Ratio: ${fmt(ratio, 1)}× raw** (target ≤ 5×, aim 2×). Batch: read ${fmt(result.read)}, inserted ${fmt(result.inserted)}, unchanged ${fmt(result.unchanged)}, rejected ${fmt(result.rejected)}. Peak RSS of the process (API + worker + engine): ${fmt(peak)} MB.
`;
}

async function liveEvents(app: RunningApp): Promise<string> {
  const batches = Number(process.env.BENCH_EVENT_BATCHES ?? 200);
  const batchSize = 500;
  const concurrency = 8;
  const types = ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'];
  const base = Date.parse('2024-06-01T00:00:00Z');
  const ackAt: number[] = [];
  const latencies: number[] = [];
  const pending: { lastId: string; ack: number }[] = [];
  let next = 0;
  const t0 = performance.now();
  async function client() {
    for (;;) {
      const b = next++;
      if (b >= batches) return;
      const events = Array.from({ length: batchSize }, (_, i) => {
        const n = b * batchSize + i;
        return { event_id: `bench-${n}`, event_time: new Date(base + n * 10).toISOString(), session_id: `s${Math.floor(n / 7)}`, event_type: types[n % 5], product_id: `P${n % 300}` };
      });
      const res = await fetch(`${app.url}/v1/events?store=bench-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': app.adminKey.key },
        body: JSON.stringify(events),
      });
      if (res.status !== 202) throw new Error(`events: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      const ack = performance.now();
      ackAt.push(ack);
      if (b % 10 === 0) pending.push({ lastId: `bench-${b * batchSize + batchSize - 1}`, ack });
    }
  }
  // Queryability probe: a sampled batch is visible once its last event is in fact_events.
  let probing = true;
  const probe = (async () => {
    while (probing || pending.length > 0) {
      const p = pending[0];
      if (!p) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const rows = await app.services.warehouse.query<{ n: string }>(
        "SELECT toString(count()) AS n FROM fact_events WHERE store_id = 'bench-events' AND event_id = {id:String}",
        { id: p.lastId },
      );
      if (rows[0]!.n !== '0') {
        latencies.push(performance.now() - p.ack);
        pending.shift();
      } else await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.all(Array.from({ length: concurrency }, client));
  const ackMs = performance.now() - t0;
  probing = false;
  await probe;
  const allMs = performance.now() - t0;
  const total = batches * batchSize;
  return `${fmt(total)} events in ${batches} batches of ${batchSize}, ${concurrency} concurrent clients on loopback, one process (API + worker + engine).

| measure | value |
| --- | --- |
| acknowledged (durably enqueued) | ${fmt(total / (ackMs / 1000))} events/s |
| stored and queryable, end to end | ${fmt(total / (allMs / 1000))} events/s |
| ack → queryable p50 / p95 / p99 (sampled batches) | ${fmt(percentile(latencies, 50))} / ${fmt(percentile(latencies, 95))} / ${fmt(percentile(latencies, 99))} ms |

Targets: ≥ 50,000 events/s sustained, queryable within 5 s (p99).
`;
}

async function bigCsv(app: RunningApp, dir: string): Promise<string> {
  const mb = Number(process.env.BENCH_BIG_CSV_MB ?? 1024);
  const file = path.join(dir, 'big-orders.csv');
  const out = fs.createWriteStream(file);
  out.write('order_id,customer_id,status,created_at,channel,country,currency,gross,discount,shipping,tax\n');
  let n = 0;
  const statuses = ['paid', 'shipped', 'delivered', 'cancelled'];
  while (out.bytesWritten + out.writableLength < mb * 1024 * 1024) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++, n++) {
      lines.push(`O${n},C${n % 500_000},${statuses[n % 4]},2024-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')} 10:${String(n % 60).padStart(2, '0')}:00,web,DE,EUR,${(n % 50000) / 100 + 1},0,4.99,0`);
    }
    if (!out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  const size = fs.statSync(file).size;
  const before = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const mem = rssSampler();
  const t0 = performance.now();
  const { jobId } = await upload(app, file, { entity: 'orders', store: 'bench-big' });
  const result = await waitForJob(app, jobId);
  const ms = performance.now() - t0;
  const peak = mem.stop();
  fs.rmSync(file, { force: true });
  return `A generated orders CSV of ${fmt(size / 1024 / 1024)} MB (${fmt(n)} rows) uploaded and imported by the same process (API + worker + embedded engine).

| measure | value |
| --- | --- |
| time | ${fmt(ms / 1000, 1)} s (${fmt(result.read / (ms / 1000))} rows/s) |
| RSS before / peak | ${fmt(before)} MB / ${fmt(peak)} MB |

Target: peak < 500 MB RSS for a 1 GB file. Batch: read ${fmt(result.read)}, inserted ${fmt(result.inserted)}, rejected ${fmt(result.rejected)}.
`;
}

export async function runIngestBench(which: string[] = []): Promise<void> {
  const tmp = tempDir('ecomm-bench-');
  const app = await startApp({
    config: parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', EVENTS_MAX_BATCH: '5000' }),
    log: createLogger('warn'),
    api: true,
    worker: true,
    demo: false,
  });
  try {
    const want = (name: string) => which.length === 0 || which.includes(name);
    if (want('online-retail')) {
      const text = await onlineRetail(app);
      console.log(text);
      writeResults('Ingestion: Online Retail end to end vs raw engine', text);
    }
    if (want('events')) {
      const text = await liveEvents(app);
      console.log(text);
      writeResults('Ingestion: live events', text);
    }
    if (want('big-csv')) {
      const text = await bigCsv(app, tmp.dir);
      console.log(text);
      writeResults('Ingestion: memory of a large CSV import', text);
    }
  } finally {
    await app.stop();
    tmp.cleanup();
  }
}
