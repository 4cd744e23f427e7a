/**
 * API benchmark (issue 5). The app (API + embedded engine + its Redis) runs in this process on
 * B1's generated shop (bench/analytics.bench.ts `generate`, BENCH_ITEMS order items, default 10
 * million; rollups rebuilt); the load comes from a second process on loopback
 * (`node dist/bench/api.bench.js --load …`, keep-alive HTTP, N concurrent clients).
 *
 * Measured, in one run:
 * - cached `kpis` and `salesSeries` for a month: 32 concurrent clients for a fixed time → req/s
 *   and latency p50/p95/p99 (every answer a cache hit);
 * - uncached `kpis` and `salesSeries` for the same month: one client, the store's data version
 *   bumped before every request (so each is a miss that computes), interleaved with the raw engine
 *   running the same SQL — the query functions the resolvers call (`sales.kpis`,
 *   `sales.salesSeries`) straight on the warehouse in this process, as many times.
 * BENCH_API_SECONDS (10), BENCH_API_UNCACHED (100), BENCH_API_DATA_DIR (reuse a generated shop).
 * Results: bench/RESULTS.md, section "API (issue 5)".
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { startApp } from '../src/app/app.js';
import { generateApiKey, storeApiKey } from '../src/auth/api-keys.js';
import { dataVersionKey } from '../src/cache/data-version.js';
import { rebuildRollups } from '../src/analytics/rollups.js';
import * as sales from '../src/warehouse/sales.queries.js';
import { generate } from './analytics.bench.js';
import { fmt, machineLine, percentile, writeResults } from './support.js';
import { tempDir } from '../test/support/temp.js';

const STORE = 'bench-shop';
const MONTH = { from: '2024-06-01', to: '2024-06-30' };
const KPIS = `query Kpis($range: DateRangeInput!) { kpis(range: $range) {
  netRevenue grossRevenue refunds discounts orders customers newCustomers returningCustomers averageOrderValue units items returnRate } }`;
const SERIES = `query Series($range: DateRangeInput!) { salesSeries(range: $range, granularity: DAY) {
  periodStart netRevenue grossRevenue refunds orders customers units averageOrderValue returnRate } }`;

interface LoadSpec {
  url: string;
  key: string;
  query: string;
  variables: Record<string, unknown>;
  concurrency: number;
  /** Run for this long (ms) … */
  durationMs?: number;
  /** … or send exactly this many requests. */
  requests?: number;
  /** Bump this Redis key before each request (untimed): every request is a cache miss. */
  bump?: { redisUrl: string; key: string };
  /** Expected `x-answer-cache` header of every answer. */
  expectCache: 'hit' | 'miss';
}

interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  failures: number;
  wrongCache: number;
  firstFailure?: string;
}

/** The load generator (runs in the second process). */
async function load(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const body = JSON.stringify({ query: spec.query, variables: spec.variables });
  const u = new URL('/graphql', spec.url);
  const redis = spec.bump ? new Redis(spec.bump.redisUrl) : undefined;
  const latencies: number[] = [];
  let failures = 0;
  let wrongCache = 0;
  let firstFailure: string | undefined;
  let sent = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${spec.key}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || text.includes('"errors"')) {
              failures++;
              firstFailure ??= `${res.statusCode} ${text.slice(0, 300)}`;
            } else if (res.headers['x-answer-cache'] !== spec.expectCache) wrongCache++;
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        failures++;
        firstFailure ??= err.message;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  const deadline = spec.durationMs !== undefined ? start + spec.durationMs : Infinity;
  const client = async () => {
    while (performance.now() < deadline && (spec.requests === undefined || sent < spec.requests)) {
      sent++;
      if (redis && spec.bump) await redis.incr(spec.bump.key);
      await one();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, client));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  redis?.disconnect();
  return { requests: latencies.length, seconds, latenciesMs: latencies, failures, wrongCache, firstFailure };
}

/** Runs one load in a second process and returns its result. */
function loadFromAnotherProcess(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--load'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    // 'close', not 'exit': stdout may still hold data when the process has exited.
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load process exited with ${code}: ${out.slice(0, 500)}`))));
    child.stdin.end(JSON.stringify(spec));
  });
}

const stats = (ms: number[]) => ({ p50: percentile(ms, 50), p95: percentile(ms, 95), p99: percentile(ms, 99) });
const ms2 = (n: number) => fmt(n, 2);

export async function runApiBench(): Promise<void> {
  const items = Number(process.env.BENCH_ITEMS ?? 10_000_000);
  const seconds = Number(process.env.BENCH_API_SECONDS ?? 10);
  const uncachedRuns = Number(process.env.BENCH_API_UNCACHED ?? 100);
  // BENCH_API_DATA_DIR: keep the generated shop there and reuse it on the next run.
  const keep = process.env.BENCH_API_DATA_DIR;
  const tmp = keep ? { dir: keep, cleanup: () => {} } : tempDir('ecomm-bench-api-');
  const config = parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false', RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'warn', SLOW_QUERY_MS: '5000' });
  const app = await startApp({ config, log: createLogger('warn'), api: true, worker: false, demo: false });
  try {
    const wh = app.services.warehouse;
    const t0 = performance.now();
    const [{ have }] = await wh.query<{ have: string }>('SELECT count() AS have FROM fact_order_items WHERE store_id = {s:String}', { s: STORE }, { maxExecutionTime: 600 });
    if (Number(have) === 0) {
      await generate(wh, Math.round(items / 2.5));
      await rebuildRollups(wh, { storeId: STORE });
    }
    const [{ n }] = await wh.query<{ n: string }>('SELECT count() AS n FROM fact_order_items WHERE store_id = {s:String}', { s: STORE }, { maxExecutionTime: 600 });
    console.log(`dataset: ${n} order items, generated and rolled up in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const key = generateApiKey();
    await storeApiKey(wh, { key, name: 'bench', scopes: ['read'], stores: [STORE] });
    const url = app.url!.replace('localhost', '127.0.0.1');
    const variables = { range: MONTH };
    const rows: string[] = [];
    const results: Record<string, unknown> = {};

    for (const [name, query] of [['kpis', KPIS], ['salesSeries', SERIES]] as const) {
      // Warm: the first request computes and stores the answer.
      await loadFromAnotherProcess({ url, key, query, variables, concurrency: 1, requests: 1, expectCache: 'miss' });
      // Latency of one client alone (at 32 clients the median is at least 32 / throughput, Little's law).
      const single = await loadFromAnotherProcess({ url, key, query, variables, concurrency: 1, durationMs: (seconds * 1000) / 2, expectCache: 'hit' });
      const one = stats(single.latenciesMs);
      console.log(`cached ${name}, 1 client: p50 ${ms2(one.p50)} ms, p95 ${ms2(one.p95)}, p99 ${ms2(one.p99)} (${fmt(single.requests / single.seconds)} req/s); failures ${single.failures}, not hits ${single.wrongCache}`);
      rows.push(`| cached \`${name}\` (a month), 1 client, ${seconds / 2} s | ${fmt(single.requests)} | ${fmt(single.requests / single.seconds)} req/s | **${ms2(one.p50)}** / ${ms2(one.p95)} / ${ms2(one.p99)} | ${single.failures} failed, ${single.wrongCache} not hits | p50 ≤ 2 ms |`);
      const r = await loadFromAnotherProcess({ url, key, query, variables, concurrency: 32, durationMs: seconds * 1000, expectCache: 'hit' });
      const s = stats(r.latenciesMs);
      const rps = r.requests / r.seconds;
      console.log(`cached ${name}: ${fmt(rps)} req/s, p50 ${ms2(s.p50)} ms, p95 ${ms2(s.p95)}, p99 ${ms2(s.p99)}; failures ${r.failures}, not hits ${r.wrongCache}`);
      if (r.firstFailure) console.log(`  first failure: ${r.firstFailure}`);
      results[`cached ${name}`] = { rps, ...s };
      rows.push(`| cached \`${name}\` (a month), 32 clients, ${seconds} s | ${fmt(r.requests)} | **${fmt(rps)} req/s** | ${ms2(s.p50)} / ${ms2(s.p95)} / ${ms2(s.p99)} | ${r.failures} failed, ${r.wrongCache} not hits | ≥ 3,000 req/s |`);
    }

    for (const [name, query, raw] of [
      ['kpis', KPIS, () => sales.kpis(wh, { storeId: STORE, range: MONTH })],
      ['salesSeries', SERIES, () => sales.salesSeries(wh, { storeId: STORE, range: MONTH, granularity: 'DAY' })],
    ] as const) {
      // Interleaved: one API request (a miss), one raw run, and so on — both see the same machine.
      const stepped = steppedLoad({ url, key, query, variables, concurrency: 1, bump: { redisUrl: app.services.redisUrl, key: dataVersionKey(STORE) }, expectCache: 'miss' });
      const api: LoadResult = { requests: 0, seconds: 0, latenciesMs: [], failures: 0, wrongCache: 0 };
      const rawMs: number[] = [];
      await raw();
      await stepped.step();
      for (let i = 0; i < uncachedRuns; i++) {
        const r = await stepped.step();
        api.requests++;
        api.latenciesMs.push(r.ms);
        if (!r.ok) api.failures++;
        else if (r.cache !== 'miss') api.wrongCache++;
        const t = performance.now();
        await raw();
        rawMs.push(performance.now() - t);
      }
      stepped.close();
      const a = stats(api.latenciesMs);
      const e = stats(rawMs);
      const ratio = a.p50 / e.p50;
      console.log(`uncached ${name}: API p50 ${ms2(a.p50)} ms (p95 ${ms2(a.p95)}, p99 ${ms2(a.p99)}); raw engine p50 ${ms2(e.p50)} ms (p95 ${ms2(e.p95)}, p99 ${ms2(e.p99)}); ratio ${fmt(ratio, 2)}; failures ${api.failures}, not misses ${api.wrongCache}`);
      if (api.firstFailure) console.log(`  first failure: ${api.firstFailure}`);
      results[`uncached ${name}`] = { api: a, raw: e, ratio };
      rows.push(`| uncached \`${name}\` (a month) through the API, 1 client, ${uncachedRuns} requests (interleaved with the raw runs) | ${fmt(api.requests)} | | ${ms2(a.p50)} / ${ms2(a.p95)} / ${ms2(a.p99)} | ${api.failures} failed, ${api.wrongCache} not misses | |`);
      rows.push(`| the same SQL on the raw engine (\`sales.${name}\` in-process), ${uncachedRuns} runs | ${uncachedRuns} | | ${ms2(e.p50)} / ${ms2(e.p95)} / ${ms2(e.p99)} | | |`);
      rows.push(`| API / raw engine, p50 | | | **${fmt(ratio, 2)}×** | | ≤ 1.3× |`);
    }

    writeResults(
      'API (issue 5)',
      [
        `\`npm run bench -- api\` (bench/api.bench.ts). Dataset: B1's generated shop (bench/analytics.bench.ts \`generate\`), ${fmt(Number(n))} order items ` +
          `(BENCH_ITEMS=${items}), rollups rebuilt; month ${MONTH.from} … ${MONTH.to}. The app (API, embedded engine, its own redis-server) in one process; ` +
          `the load from a second Node process on loopback, keep-alive HTTP. ${machineLine()}; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min).`,
        '',
        '| measure | requests | throughput | latency p50 / p95 / p99 (ms) | checks | target |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
        '',
        'Cached: every answer is a hit (whole responses of the key, checked against the stores\' data versions in the same Redis round trip). ' +
          'At 32 clients the median latency cannot be below 32 / throughput (Little\'s law: 3,000 req/s means ≥ 10.7 ms), so the 2 ms p50 is measured with one client. ' +
          'Every request still authenticates its key (in-process, ≤ 1 s old) and takes a rate-limit token in Redis.',
        '',
        'Uncached: the store\'s data version is bumped (untimed) before each request, so every answer is computed (cache miss: version read, ' +
          'lock, warehouse queries, store). The raw engine runs the same query functions the resolvers call, in the engine\'s process, without HTTP, GraphQL, auth or Redis.',
      ].join('\n'),
    );
    console.log(JSON.stringify(results));
  } finally {
    await app.stop();
    tmp.cleanup();
  }
}

/**
 * A load process driven one request at a time (stepped): the parent alternates it with raw-engine
 * runs, so both see the same machine over time. Each `step()` bumps the data version (untimed)
 * and sends one request; it resolves with its latency.
 */
function steppedLoad(spec: LoadSpec): { step(): Promise<{ ms: number; ok: boolean; cache: string }>; close(): void } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--stepped'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(JSON.stringify(spec) + '\n');
  let buf = '';
  const waiting: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  return {
    step() {
      return new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as { ms: number; ok: boolean; cache: string }));
        child.stdin.write('next\n');
      });
    },
    close() {
      child.stdin.end();
    },
  };
}

async function serveStepped(): Promise<void> {
  const rl = (await import('node:readline')).createInterface({ input: process.stdin });
  let spec: LoadSpec | undefined;
  let agent: http.Agent | undefined;
  let redis: Redis | undefined;
  for await (const line of rl) {
    if (!spec) {
      spec = JSON.parse(line) as LoadSpec;
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      redis = spec.bump ? new Redis(spec.bump.redisUrl) : undefined;
      continue;
    }
    const s = spec;
    if (redis && s.bump) await redis.incr(s.bump.key);
    const body = JSON.stringify({ query: s.query, variables: s.variables });
    const u = new URL('/graphql', s.url);
    const t0 = performance.now();
    const r = await new Promise<{ ok: boolean; cache: string }>((resolve) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${s.key}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ ok: res.statusCode === 200 && !Buffer.concat(chunks).toString().includes('"errors"'), cache: String(res.headers['x-answer-cache']) }));
        },
      );
      req.on('error', () => resolve({ ok: false, cache: '' }));
      req.end(body);
    });
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, ...r }) + '\n');
  }
  agent?.destroy();
  redis?.disconnect();
  process.exit(0);
}

if (process.argv[2] === '--stepped' && import.meta.url === pathToFileURL(process.argv[1]!).href) void serveStepped();

// The second process: reads a LoadSpec on stdin, writes a LoadResult on stdout.
if (process.argv[2] === '--load' && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  let input = '';
  process.stdin.on('data', (d: Buffer) => (input += d.toString()));
  process.stdin.on('end', () => {
    load(JSON.parse(input) as LoadSpec).then(
      (r) => {
        // Exit only once the (piped, asynchronous) stdout has taken everything.
        process.stdout.write(JSON.stringify(r), () => process.exit(0));
      },
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
