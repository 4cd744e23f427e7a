// Single flight and client aborts in the answer cache (src/cache/answer-cache.ts): identical
// concurrent requests share one computation, which runs under its own signal, aborted only when
// every waiting request has gone. A request that goes away (its signal aborts) must never make the
// others fail. Driven deterministically: each computation waits on a gate the test opens, and
// makes a real warehouse query (the embedded engine, instrumented like the app's) so the signal the
// engine sees is the one under test. Real Redis.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { ensureRedis, type RedisHandle } from '../../src/redis/redis-server.js';
import { AnswerCache } from '../../src/cache/answer-cache.js';
import { createWarehouse, type Warehouse } from '../../src/warehouse/client.js';
import { currentQueryScope, runInQueryScope } from '../../src/warehouse/query-scope.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
let redis: RedisHandle;
let wh: Warehouse;
let cache: AnswerCache;

before(async () => {
  redis = await ensureRedis({ dataDir: tmp.dir });
  wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
  cache = new AnswerCache({ redisUrl: redis.url, log: createLogger('silent') });
  for (let i = 0; i < 100 && !cache.usable; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cache.usable, 'cache connection ready');
});

after(async () => {
  await cache?.close();
  await wh?.close();
  await redis?.stop();
  tmp.cleanup();
});

/** A promise the test resolves when it wants. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/**
 * A computation that records the signal it runs under, waits for `g`, then asks the engine for
 * `n * 2` (the independent figure is the test's own arithmetic).
 */
function computation(n: number, g: { opened: Promise<void> }, seen: { signals: (AbortSignal | undefined)[]; runs: number }) {
  return async () => {
    seen.runs++;
    seen.signals.push(currentQueryScope()?.signal);
    await g.opened;
    const [row] = await wh.query<{ v: string }>('SELECT toString({n:UInt32} * 2) AS v', { n });
    return { v: row!.v };
  };
}

/** Calls `answer` the way a request does: inside the request's query scope, with its signal. */
function ask(key: string, compute: () => Promise<unknown>, signal: AbortSignal) {
  return runInQueryScope({ signal, timeoutMs: 5000 }, () => cache.answer(key, ['sf'], 'singleFlight', compute, signal));
}

const settle = () => new Promise((r) => setTimeout(r, 30));

/** Waits (at most 3 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition reached');
}

test('the leader going away does not abort the computation its joiner waits for', async () => {
  const key = cache.baseKeyOf('singleFlight', { tag: randomUUID() }, '*', ['sf']);
  const g = gate();
  const seen = { signals: [] as (AbortSignal | undefined)[], runs: 0 };
  const leader = new AbortController();
  const joiner = new AbortController();
  const first = ask(key, computation(21, g, seen), leader.signal);
  const second = ask(key, computation(21, g, seen), joiner.signal);
  await until(() => seen.runs === 1);
  leader.abort(new Error('client went away'));
  await assert.rejects(first, /client went away/);
  g.open();
  const r = await second;
  assert.deepEqual(r.value, { v: '42' });
  assert.equal(r.shared, true);
  assert.equal(seen.runs, 1, 'one computation');
  assert.ok(seen.signals[0] && seen.signals[0] !== leader.signal, 'the computation runs under its own signal, not the leader\'s');
  assert.equal(seen.signals[0]!.aborted, false, 'not aborted while a request waits');
});

test('a request arriving after every earlier waiter went away gets a fresh computation, not the aborted one', async () => {
  const key = cache.baseKeyOf('singleFlight', { tag: randomUUID() }, '*', ['sf']);
  const g = gate();
  const seen = { signals: [] as (AbortSignal | undefined)[], runs: 0 };
  const leader = new AbortController();
  const first = ask(key, computation(50, g, seen), leader.signal);
  await until(() => seen.runs === 1);
  leader.abort(new Error('client went away'));
  await assert.rejects(first, /client went away/);
  assert.equal(seen.signals[0]!.aborted, true, 'the leader\'s computation was aborted: nobody waited any more');
  // The aborted computation has not finished yet (it is past its gate only when the test says so).
  const late = new AbortController();
  const t0 = Date.now();
  const second = ask(key, computation(50, g, seen), late.signal);
  await until(() => seen.runs === 2);
  g.open();
  const r = await second;
  assert.deepEqual(r.value, { v: '100' });
  assert.equal(r.hit, false);
  assert.equal(seen.runs, 2, 'a new computation for the late request');
  assert.equal(seen.signals[1]!.aborted, false);
  // The aborted computation released its Redis lock, so the new one did not wait the lock's 10 s.
  assert.ok(Date.now() - t0 < 5000, `answered after ${Date.now() - t0} ms`);
});

test('when every waiter goes away the computation and its warehouse query are aborted', async () => {
  const key = cache.baseKeyOf('singleFlight', { tag: randomUUID() }, '*', ['sf']);
  const g = gate();
  const seen = { signals: [] as (AbortSignal | undefined)[], runs: 0 };
  let queryError: unknown;
  const compute = async () => {
    try {
      return await computation(7, g, seen)();
    } catch (err) {
      queryError = err;
      throw err;
    }
  };
  const a = new AbortController();
  const b = new AbortController();
  const first = ask(key, compute, a.signal);
  const second = ask(key, compute, b.signal);
  await until(() => seen.runs === 1);
  a.abort(new Error('a went away'));
  await assert.rejects(first, /a went away/);
  assert.equal(seen.signals[0]!.aborted, false, 'b still waits');
  b.abort(new Error('b went away'));
  await assert.rejects(second, /b went away/);
  assert.equal(seen.signals[0]!.aborted, true, 'aborted once nobody waits');
  g.open();
  for (let i = 0; i < 100 && queryError === undefined; i++) await settle();
  assert.match(String((queryError as Error)?.message), /abort/i, 'the warehouse query saw the abort');
  assert.equal(seen.runs, 1);
  for (let i = 0; i < 100 && cache.inFlight > 0; i++) await settle();
  assert.equal(cache.inFlight, 0);
});
