import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RequestContext } from '../schema/context.js';
import { storeScopeTag } from '../auth/store-access.js';
import { dataVersionKey } from './data-version.js';
import { canonicalJson } from './canonical.js';
import { runInQueryScope, sharedQueryScope } from '../warehouse/query-scope.js';
import { answerCacheComputes, answerCacheRequests } from '../metrics/metrics.js';

/** Options of the {@link AnswerCache}. */
export interface AnswerCacheOptions {
  redisUrl: string;
  log: Logger;
  /** Safety TTL of a cached answer, seconds (new data makes answers unreachable at once anyway). @default 86400 */
  ttlSeconds?: number;
  /** Longest wait for one Redis command before going on uncached, ms. @default 150 */
  commandTimeoutMs?: number;
  /** How long another process's computation of the same answer is waited for, ms. @default 10000 */
  lockMs?: number;
  /** Largest answer stored, bytes of JSON. @default 4 MiB */
  maxBytes?: number;
  /** Key prefix. @default "ecomm:answer:" */
  prefix?: string;
}

/** A cached answer: the value's JSON and when it was computed (ms since epoch). */
interface Entry {
  json: string;
  at: number;
}

/** The data versions an answer key was made with (the lookup script appends `@v1,v2,…`). */
function versionsOf(key: string): number[] {
  return key.slice(key.lastIndexOf('@') + 1).split(',').map(Number);
}

/** A stored answer is `<at>\n<json>`. */
function parseEntry(raw: string): Entry {
  const nl = raw.indexOf('\n');
  return { at: Number(raw.slice(0, nl)), json: raw.slice(nl + 1) };
}

/** What a computation (or lookup) of an answer gives: the value, when it was computed, and the data versions it is for. */
interface FlightResult {
  value: unknown;
  at: number;
  hit: boolean;
  stored: boolean;
  /** The stores' data versions of the answer's key; absent when Redis could not be asked. */
  versions?: number[];
}

/** One computation of an answer that identical concurrent requests share. */
interface Flight {
  /** Its base key (the in-flight map's key). */
  key: string;
  promise: Promise<FlightResult>;
  controller: AbortController;
  /** Requests still waiting for it; when every one of them has gone, the computation is aborted. */
  waiting: number;
}

/**
 * What the answer cache did for one GraphQL request; the HTTP layer turns it into the
 * `Cache-Control`, `Age` and `x-answer-cache` headers.
 */
export interface AnswerUsage {
  /** Operations answered through the cache (the `op` of each {@link cachedAnswer} call). */
  ops: Set<string>;
  hits: number;
  misses: number;
  /** When the oldest answer used was computed (ms since epoch). */
  oldestAt?: number;
  /** Something could not be cached (Redis unusable, answer not storable): the response must not be stored. */
  uncached: boolean;
  /** The data version of each store the answers were for (a response cached whole is valid while these hold). */
  storeVersions: Map<string, number>;
  /** The operation's metrics label (its root fields), set when the response is sent. */
  label?: string;
}

/** A fresh usage record, one per request. */
export function newAnswerUsage(): AnswerUsage {
  return { ops: new Set(), hits: 0, misses: 0, uncached: false, storeVersions: new Map() };
}

/**
 * One round trip for a lookup: reads the stores' data versions (KEYS), makes the answer's key
 * from the base key and those versions, and returns { key, cached JSON or '', 1 when this caller
 * now holds the computation lock }. ARGV: base key, lock token, lock ms.
 * (The answer key is derived inside the script, so this needs a single Redis, not a cluster.)
 */
const LOOKUP_LUA = `
local vs = {}
for i, k in ipairs(KEYS) do vs[i] = redis.call('GET', k) or '0' end
local key = ARGV[1] .. '@' .. table.concat(vs, ',')
local v = redis.call('GET', key)
if v then return { key, v, 0 } end
local locked = redis.call('SET', key .. ':lock', ARGV[2], 'PX', tonumber(ARGV[3]), 'NX')
if locked then return { key, '', 1 } end
return { key, '', 0 }
`;

/** Stores an answer and releases the computation lock if still ours. KEYS: answer, lock; ARGV: value, ttl s, token. */
const STORE_LUA = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`;

/** Releases the computation lock if still ours. KEYS: lock; ARGV: token. */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type ScriptedRedis = Redis & {
  ecommAnswerLookup(...args: (string | number)[]): Promise<[string, string, number]>;
  ecommAnswerStore(answerKey: string, lockKey: string, value: string, ttl: number, token: string): Promise<number>;
};

/**
 * Redis cache of resolved analytics answers (see {@link cachedAnswer}). It has its own Redis
 * connection that never queues commands while Redis is away and gives up on a command after
 * `commandTimeoutMs`, so when Redis is down the API answers uncached without waiting; after a
 * failure it does not ask Redis again for a second.
 */
export class AnswerCache {
  readonly redis: Redis;
  readonly ttlSeconds: number;
  private readonly prefix: string;
  private readonly lockMs: number;
  private readonly maxBytes: number;
  private readonly log: Logger;
  private readonly inflight = new Map<string, Flight>();
  private downUntil = 0;
  private lastWarning = 0;

  constructor(opts: AnswerCacheOptions) {
    const timeout = opts.commandTimeoutMs ?? 150;
    this.redis = new Redis(opts.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeout,
      connectTimeout: 1000,
      enableAutoPipelining: true,
      // Keep trying to come back, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    (this.redis as ScriptedRedis).defineCommand('ecommAnswerLookup', { lua: LOOKUP_LUA });
    (this.redis as ScriptedRedis).defineCommand('ecommAnswerStore', { numberOfKeys: 2, lua: STORE_LUA });
    this.redis.on('error', () => {
      // Reported by the failing commands (noteFailure); ioredis would print the raw error otherwise.
    });
    this.ttlSeconds = opts.ttlSeconds ?? 86_400;
    this.prefix = opts.prefix ?? 'ecomm:answer:';
    this.lockMs = opts.lockMs ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    this.log = opts.log;
  }

  /** False for a second after Redis failed to answer. */
  get usable(): boolean {
    return Date.now() >= this.downUntil && this.redis.status === 'ready';
  }

  /** Notes that Redis failed: the cache is skipped for a second; a warning is logged at most every 30 s. */
  noteFailure(err: unknown, during: string): void {
    this.downUntil = Date.now() + 1000;
    if (Date.now() - this.lastWarning > 30_000) {
      this.lastWarning = Date.now();
      this.log.warn({ err: (err as Error)?.message, during }, 'answer cache: Redis unusable, answering uncached');
    }
  }

  /**
   * The base key of an answer: what it is about, without the data versions (the lookup script
   * appends the current versions of the stores, so a version bump makes every older answer
   * unreachable at once).
   */
  baseKeyOf(op: string, args: unknown, scope: string, storeIds: string[]): string {
    const digest = createHash('sha256').update(canonicalJson({ op, args, scope, stores: storeIds })).digest('base64url');
    return `${this.prefix}${op}:${digest}`;
  }

  /**
   * The answer under `baseKey` for the current data versions of `storeIds`: from this process's
   * computation in flight, from Redis, or computed once (`compute`) and stored. `signal` is the
   * asking request's: its going away stops its wait, and the computation is aborted when no
   * request waits for it any more. (A request that joins a computation started just before a
   * version bump shares that computation's answer.)
   */
  async answer(baseKey: string, storeIds: string[], op: string, compute: () => Promise<unknown>, signal?: AbortSignal): Promise<FlightResult & { shared: boolean }> {
    for (;;) {
      signal?.throwIfAborted();
      const existing = this.inflight.get(baseKey);
      const f = existing ?? this.launch(baseKey, storeIds, op, compute);
      try {
        const r = await this.await(f, signal);
        return { ...r, shared: existing !== undefined };
      } catch (err) {
        // A computation aborted because every request then waiting for it had gone is never the
        // answer of a request still here: compute again (a joiner cannot reach an abandoned flight,
        // this only guards against a computation that fails with its own abort for another reason).
        if (f.controller.signal.aborted && !signal?.aborted) continue;
        throw err;
      }
    }
  }

  /**
   * Starts the shared computation of `baseKey`. It runs in a query scope of its own
   * (src/warehouse/query-scope.ts): the time budget of the request that started it, but a signal
   * that aborts only when every request waiting for it has gone (see {@link await}), never the
   * signal of the request that happened to start it.
   */
  private launch(baseKey: string, storeIds: string[], op: string, compute: () => Promise<unknown>): Flight {
    const controller = new AbortController();
    const f: Flight = { key: baseKey, controller, waiting: 0, promise: undefined as never };
    f.promise = runInQueryScope(sharedQueryScope(controller.signal), () => this.fly(baseKey, storeIds, op, compute, controller.signal)).finally(() => {
      if (this.inflight.get(baseKey) === f) this.inflight.delete(baseKey);
    });
    // Nobody may be waiting when it fails (every request went away): not an unhandled rejection.
    f.promise.catch(() => {});
    this.inflight.set(baseKey, f);
    return f;
  }

  /**
   * Waits for `f` on behalf of one request: until its answer, or until `signal` aborts. The last
   * waiter to go away aborts the computation and takes it out of the in-flight map at once, in
   * the same step, so no later request can join a computation that is being aborted.
   */
  private async await(f: Flight, signal: AbortSignal | undefined): Promise<FlightResult> {
    f.waiting++;
    let onAbort: (() => void) | undefined;
    try {
      if (!signal) return await f.promise;
      return await Promise.race([
        f.promise,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason ?? new Error('request aborted'));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
      f.waiting--;
      if (f.waiting === 0 && signal?.aborted) {
        if (this.inflight.get(f.key) === f) this.inflight.delete(f.key);
        f.controller.abort(signal.reason);
      }
    }
  }

  private async fly(baseKey: string, storeIds: string[], op: string, compute: () => Promise<unknown>, signal: AbortSignal): Promise<FlightResult> {
    const token = randomUUID();
    let key: string | undefined;
    let locked = false;
    if (this.usable) {
      try {
        const r = await (this.redis as ScriptedRedis).ecommAnswerLookup(storeIds.length, ...storeIds.map(dataVersionKey), baseKey, token, this.lockMs);
        key = r[0];
        if (r[1]) {
          const e = parseEntry(r[1]);
          return { value: decodeAnswer(e.json), at: e.at, hit: true, stored: true, versions: versionsOf(key) };
        }
        locked = Number(r[2]) === 1;
      } catch (err) {
        this.noteFailure(err, 'lookup');
      }
    }
    // Another process is computing the same answer: wait for it rather than run the query twice.
    if (key && !locked) {
      const deadline = Date.now() + this.lockMs;
      for (let wait = 10; Date.now() < deadline && this.usable; wait = Math.min(wait * 2, 100)) {
        await new Promise((r) => setTimeout(r, wait));
        signal.throwIfAborted();
        try {
          const [raw, lock] = await Promise.all([this.redis.get(key), this.redis.exists(`${key}:lock`)]);
          if (raw) {
            const e = parseEntry(raw);
            return { value: decodeAnswer(e.json), at: e.at, hit: true, stored: true, versions: versionsOf(key) };
          }
          if (lock === 0) break;
        } catch (err) {
          this.noteFailure(err, 'wait');
          break;
        }
      }
    }
    // Once this computation is given up (aborted, or failed), the lock goes at once: another
    // request or process computes without waiting out lockMs.
    const lockKey = `${key}:lock`;
    const unlock = () => {
      if (!locked) return;
      locked = false;
      if (key && this.usable) this.redis.eval(RELEASE_LUA, 1, lockKey, token).catch((e: unknown) => this.noteFailure(e, 'unlock'));
    };
    signal.addEventListener('abort', unlock, { once: true });
    let value: unknown;
    try {
      signal.throwIfAborted();
      answerCacheComputes.inc({ op });
      value = await compute();
    } catch (err) {
      unlock();
      throw err;
    } finally {
      signal.removeEventListener('abort', unlock);
    }
    const at = Date.now();
    const json = encodeAnswer(value);
    let stored = false;
    if (key && json !== undefined && json.length <= this.maxBytes && this.usable) {
      // Not awaited: the answer goes out one round trip sooner. Later lookups on this connection
      // run after it (Redis keeps a connection's order); other processes wait on the lock it releases.
      (this.redis as ScriptedRedis).ecommAnswerStore(key, `${key}:lock`, `${at}\n${json}`, this.ttlSeconds, token).catch((err: unknown) => this.noteFailure(err, 'store'));
      stored = true;
    }
    // The caller gets what a later hit will get: the decoded JSON, not the live object.
    return { value: json !== undefined ? decodeAnswer(json) : value, at, hit: false, stored, versions: key ? versionsOf(key) : undefined };
  }

  /** Number of computations in flight in this process (for tests and diagnostics). */
  get inFlight(): number {
    return this.inflight.size;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * Answers an analytics operation through the Redis answer cache. The cache key is made of
 * `op`, the canonical JSON of `args`, what the request's API key may see (its store scope) and
 * the current data version of every store in `storeIds` (src/cache/data-version.ts), so a bump
 * of a store's version after new data makes every older answer about it unreachable at once.
 * Identical misses running at the same time in this process share one `compute`; across
 * processes a short Redis lock makes the others wait for the first one's answer.
 *
 * Use the GraphQL field name as `op` (`kpis`): the HTTP layer marks a response cacheable only
 * when each of its root fields was answered under its own name. `args` must hold everything the
 * answer depends on besides the stores (range, filter, granularity, limit, …). The answer is
 * stored as JSON and handed back decoded, also on a miss, so a hit returns exactly the same:
 * strings (Money) stay strings, class instances become plain objects, Dates are kept as Dates;
 * an answer JSON cannot represent exactly (NaN, Infinity, Map, bigint) is returned but not stored.
 * When Redis is unusable, `compute` runs directly and the response is marked not storable.
 */
export async function cachedAnswer<T>(
  ctx: RequestContext,
  what: { op: string; args: unknown; storeIds: string[] },
  compute: () => Promise<T>,
): Promise<T> {
  const usage = ctx.answerUsage;
  const cache = ctx.answerCache;
  const op = what.op;
  if (usage) usage.ops.add(op);
  if (!cache || !usage || !cache.usable) {
    answerCacheRequests.inc({ op, result: 'bypass' });
    if (usage) usage.uncached = true;
    return compute();
  }
  const stores = [...new Set(what.storeIds)].sort();
  const scope = ctx.apiKey ? storeScopeTag(ctx.apiKey) : '-';
  const baseKey = cache.baseKeyOf(op, what.args, scope, stores);
  const r = await cache.answer(baseKey, stores, op, compute, ctx.signal);
  answerCacheRequests.inc({ op, result: r.shared ? 'shared' : r.hit ? 'hit' : 'miss' });
  if (r.hit) usage.hits++;
  else usage.misses++;
  if (!r.stored) usage.uncached = true;
  stores.forEach((store, i) => {
    const v = r.versions?.[i];
    const seen = usage.storeVersions.get(store);
    if (v === undefined || (seen !== undefined && seen !== v)) usage.uncached = true;
    else usage.storeVersions.set(store, v);
  });
  usage.oldestAt = usage.oldestAt === undefined ? r.at : Math.min(usage.oldestAt, r.at);
  return r.value as T;
}

const DATE_TAG = '\u0000date';

/** JSON of an answer, or undefined when JSON cannot hold it exactly. */
export function encodeAnswer(value: unknown): string | undefined {
  let exact = true;
  const json = JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    const original = this[k];
    if (original instanceof Date) return { [DATE_TAG]: original.toISOString() };
    if (typeof v === 'number' && !Number.isFinite(v)) exact = false;
    else if (typeof v === 'bigint' || original instanceof Map || original instanceof Set) exact = false;
    return typeof v === 'bigint' ? null : v;
  });
  return exact && json !== undefined ? json : undefined;
}

/** The answer back from {@link encodeAnswer}'s JSON. */
export function decodeAnswer(json: string): unknown {
  // The reviver is slow; only answers with a Date need it.
  if (!json.includes('\\u0000date')) return JSON.parse(json);
  return JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const tagged = (v as Record<string, unknown>)[DATE_TAG];
      if (typeof tagged === 'string' && Object.keys(v).length === 1) return new Date(tagged);
    }
    return v;
  });
}

/**
 * The caching headers of a GraphQL response: `private` (answers depend on the key), with `Age`
 * the age in seconds of the oldest cached answer used, when every root field was answered
 * through the cache and stored there; `no-store` otherwise (errors, mutations, anything uncached).
 */
export function answerCacheHeaders(usage: AnswerUsage | undefined, opts: { rootFields: string[]; isQuery: boolean; hadErrors: boolean }): Record<string, string> {
  if (!usage || usage.ops.size === 0) return { 'cache-control': 'no-store' };
  const state = usage.uncached ? 'bypass' : usage.misses === 0 ? 'hit' : usage.hits === 0 ? 'miss' : 'partial';
  const cacheable =
    opts.isQuery && !opts.hadErrors && !usage.uncached && opts.rootFields.length > 0 && opts.rootFields.every((f) => f === '__typename' || usage.ops.has(f));
  if (!cacheable) return { 'cache-control': 'no-store', 'x-answer-cache': state };
  const age = Math.max(0, Math.floor((Date.now() - (usage.oldestAt ?? Date.now())) / 1000));
  return { 'cache-control': 'private, max-age=0', age: String(age), 'x-answer-cache': state };
}
