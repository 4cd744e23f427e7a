/**
 * `ecomm import <file> --format online-retail` against the running app: the import job runs the
 * engine import for a file it can read, the streaming path for one it cannot, and both store what
 * the streaming path stores on its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { fingerprint, importStreaming } from '../support/online-retail-paths.js';
import { tempDir } from '../support/temp.js';
import { runCli } from '../support/cli.js';

const TZ = 'Europe/London';
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const tmp = tempDir('ecomm-or-upload-');
let app: RunningApp;

before(async () => {
  app = await startApp({
    config: parseConfig({ DATA_DIR: path.join(tmp.dir, 'data'), PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false' }),
    log: createLogger('silent'),
    api: true,
    worker: true,
    demo: false,
  });
});
after(async () => {
  await app?.stop();
  tmp.cleanup();
});

/** Generated invoice lines: sales, a cancellation, guests, a duplicate, non-merchandise, quoted text. */
function lines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const inv = 540000 + Math.floor(i / 4);
    const day = 1 + (Math.floor(i / 40) % 28);
    const cust = i % 9 === 0 ? '' : String(12000 + (i % 37));
    const code = i % 11 === 0 ? 'POST' : `${21000 + (i % 53)}${i % 2 ? 'A' : ''}`;
    const desc = i % 7 === 0 ? `"SET OF ${i % 5}, ""MINI"" JARS"` : `ITEM ${i % 53}`;
    out.push(`${inv},${code},${desc},${1 + (i % 12)},3/${day}/2011 ${8 + (i % 9)}:${String(i % 60).padStart(2, '0')},${((i % 400) / 100 + 0.05).toFixed(2)},${cust},${i % 13 === 0 ? 'France' : 'United Kingdom'}`);
  }
  out.push(`C${540000},21001A,ITEM 1,-1,3/2/2011 9:00,0.06,12001,United Kingdom`);
  out.push(out[5]!);
  return out;
}

async function importViaCli(file: string, store: string) {
  const r = await runCli({ url: app.url!, key: app.adminKey.key }, ['import', file, '--format', 'online-retail', '--store', store, '--timezone', TZ, '--no-wait']);
  assert.equal(r.code, 0, r.err + r.out);
  const jobId = /job (\S+)/.exec(r.out)![1]!;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const res = await fetch(`${app.url}/v1/imports/${encodeURIComponent(jobId)}`, { headers: { 'x-api-key': app.adminKey.key } });
    const body = (await res.json()) as { state: string; result: { batchId: string; read: number; inserted: number; unchanged: number; rejected: number; reader: string } | null; failedReason?: string };
    if (body.state === 'completed') return body.result!;
    assert.notEqual(body.state, 'failed', body.failedReason);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the import did not finish');
}

test('an uploaded Online Retail file is imported by the engine and stores what the streaming path stores', { timeout: 180_000 }, async () => {
  const file = path.join(tmp.dir, 'retail.csv');
  fs.writeFileSync(file, [HEADER, ...lines(3000)].join('\n') + '\n');
  const result = await importViaCli(file, 'up-engine');
  assert.equal(result.reader, 'engine');
  assert.equal(result.read, 3002);
  assert.equal(result.read, result.inserted + result.unchanged + result.rejected);
  assert.equal(result.rejected, 1, 'the duplicate line');
  const wh = app.services.warehouse;
  const streamed = await importStreaming({ wh, storeId: 'up-stream', batchId: 'up-stream-1', file, timezone: TZ, source: 'retail.csv' });
  assert.equal(streamed.inserted, result.inserted);
  assert.deepEqual(await fingerprint(wh, 'up-engine', result.batchId), await fingerprint(wh, 'up-stream', 'up-stream-1'));
});

test('a file the engine declines (a quoted field over two lines) goes through the streaming path', { timeout: 180_000 }, async () => {
  const file = path.join(tmp.dir, 'multiline.csv');
  fs.writeFileSync(file, [HEADER, ...lines(40), '540999,22000,"TWO\nLINES",1,3/9/2011 9:00,1.00,12001,United Kingdom'].join('\n') + '\n');
  const result = await importViaCli(file, 'up-multiline');
  assert.equal(result.reader, 'stream');
  assert.equal(result.read, 43);
  assert.equal(result.read, result.inserted + result.unchanged + result.rejected);
});
