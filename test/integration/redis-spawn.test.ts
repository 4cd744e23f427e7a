import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ensureRedis, RedisUnavailableError } from '../../src/redis/redis-server.js';
import { tempDir } from '../support/temp.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('without REDIS_URL a private redis-server is started on loopback and stopped again', async () => {
  const tmp = tempDir();
  const handle = await ensureRedis({ dataDir: tmp.dir });
  try {
    assert.equal(handle.owned, true);
    assert.match(handle.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(handle.pid && alive(handle.pid));
    const r = new Redis(handle.url);
    await r.set('k', 'v');
    assert.equal(await r.get('k'), 'v');
    r.disconnect();
    assert.ok(fs.existsSync(path.join(tmp.dir, 'redis')), 'files live under DATA_DIR/redis');
  } finally {
    await handle.stop();
    tmp.cleanup();
  }
  assert.equal(alive(handle.pid!), false, 'the child is gone after stop()');
});

test('REDIS_URL is used as given, nothing is spawned', async () => {
  const h = await ensureRedis({ redisUrl: 'redis://example.invalid:6379', dataDir: '/nonexistent' });
  assert.equal(h.owned, false);
  assert.equal(h.url, 'redis://example.invalid:6379');
  await h.stop();
});

test('a missing redis-server binary gives an install hint', async () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent-bin';
  try {
    await assert.rejects(ensureRedis({ dataDir: '/tmp' }), (err: unknown) => {
      assert.ok(err instanceof RedisUnavailableError);
      assert.match(err.message, /apt-get install redis-server/);
      assert.match(err.message, /REDIS_URL/);
      return true;
    });
  } finally {
    process.env.PATH = saved;
  }
});
