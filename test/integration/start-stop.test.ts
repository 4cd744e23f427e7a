import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { createWarehouse } from '../../src/warehouse/client.js';
import { graphql, startAppProcess } from '../support/app-process.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function countFacts(): Promise<Record<string, number>> {
  const wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
  try {
    const out: Record<string, number> = {};
    for (const t of ['fact_orders', 'fact_order_items', 'fact_payments', 'fact_events', 'fact_inventory_snapshots', 'dim_customer', 'dim_product']) {
      const [r] = await wh.query<{ n: string }>(`SELECT count() AS n FROM ${t} FINAL`);
      out[t] = Number(r!.n);
    }
    return out;
  } finally {
    await wh.close();
  }
}

test('npm start: serves health within 60 s with demo data, Ctrl-C exits 0 with no child left, restart reuses data', { timeout: 240_000 }, async () => {
  const t0 = Date.now();
  const app = await startAppProcess({ env: { DATA_DIR: tmp.dir } });
  try {
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - t0 < 60_000, `started in ${Date.now() - t0} ms`);
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 200);
    const gql = await graphql(app.url, '{ health { status engine warehouse redis version } }');
    assert.equal(gql.status, 200);
    assert.deepEqual(gql.body.errors, undefined);
    assert.equal(gql.body.data.health.status, 'ok');
    assert.equal(gql.body.data.health.engine, 'embedded');
    assert.match(app.output(), /demo data loaded/);
    assert.match(app.output(), /Admin API key:\s+ea_/);
  } finally {
    const code = await app.interrupt();
    assert.equal(code, 0, `exit code 0 after Ctrl-C; output:\n${app.output().slice(-3000)}`);
  }
  const redisPid = Number(/redis-server \(pid (\d+)\)/.exec(app.output())?.[1]);
  assert.ok(redisPid > 0, 'the app started its own redis-server');
  assert.equal(alive(redisPid), false, 'redis-server child is gone');

  const keyFile = path.join(tmp.dir, 'admin-key');
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'admin key file is private');
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  assert.ok(!app.output().includes('key_hash'), 'no key hash in the output');

  const first = await countFacts();
  for (const [t, n] of Object.entries(first)) assert.ok(n > 0, `${t} has demo rows`);

  const again = await startAppProcess({ env: { DATA_DIR: tmp.dir } });
  try {
    assert.doesNotMatch(again.output(), /demo data loaded/);
    assert.ok(again.output().includes(key), 'the same admin key is reused');
  } finally {
    const code = await again.interrupt();
    assert.equal(code, 0, `exit code 0 after Ctrl-C on restart; output:\n${again.output().slice(-3000)}`);
  }
  assert.deepEqual(await countFacts(), first, 'no second demo load');
});

test('a bad configuration stops start-up with exit 1 and names every bad variable', async () => {
  const { spawnSync } = await import('node:child_process');
  const secret = 'too-short';
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'start'], {
    env: { PATH: process.env.PATH ?? '', PORT: 'x', LOG_LEVEL: 'chatty', ADMIN_API_KEY: secret, DATA_DIR: tmp.dir },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /PORT/);
  assert.match(r.stderr, /LOG_LEVEL/);
  assert.match(r.stderr, /ADMIN_API_KEY/);
  assert.ok(!(r.stderr + r.stdout).includes(secret), 'the secret is not printed');
});
