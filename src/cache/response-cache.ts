import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AnswerUsage } from './answer-cache.js';
import { dataVersionKey } from './data-version.js';
import { canonicalJson } from './canonical.js';

/**
 * Reads a cached response and checks, in the same round trip, that every store it was computed
 * from still has the data version it had. KEYS[1] response; ARGV[1] data-version key prefix.
 * Stored as `<at>\n<label>\n<n>\n<store>\n<version>\n…<body>`; returns `<at>\n<label>\n<body>` or ''.
 */
const GET_LUA = `
local raw = redis.call('GET', KEYS[1])
if not raw then return '' end
local pos = 1
local function line()
  local i = string.find(raw, '\\n', pos, true)
  local s = string.sub(raw, pos, i - 1)
  pos = i + 1
  return s
end
local at = line()
local label = line()
local n = tonumber(line())
for _ = 1, n do
  local store = line()
  local v = line()
  if (redis.call('GET', ARGV[1] .. store) or '0') ~= v then return '' end
end
return at .. '\\n' .. label .. '\\n' .. string.sub(raw, pos)
`;

type ScriptedRedis = Redis & { ecommResponseGet(key: string, versionPrefix: string): Promise<string> };

/** A GraphQL request as the client sent it (POST body or GET parameters). */
export interface RequestIdentity {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

/**
 * Whole GraphQL responses of one API key, cached when every root field of the operation was
 * answered through the answer cache (see answerCacheHeaders): a repeated identical request of
 * the same key is answered from Redis without running GraphQL, in one round trip that also checks
 * the data versions of the stores the answers came from — so new data is seen at once, exactly
 * as with the answer cache. Keyed by the API key's id, so scopes and store limits are those the
 * response was computed under (the key itself is authenticated and rate limited before).
 */
export class ResponseCache {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly ttlSeconds: number,
    private readonly prefix = 'ecomm:response:',
  ) {
    this.redis = redis as ScriptedRedis;
    if (typeof this.redis.ecommResponseGet !== 'function') this.redis.defineCommand('ecommResponseGet', { numberOfKeys: 1, lua: GET_LUA });
  }

  /** The cache key of a request by this API key; undefined for requests that are never cached (batches, no query). */
  keyOf(keyId: string, r: RequestIdentity): string | undefined {
    if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
    // The query text when sent (a persisted-query hash beside it is Apollo's to check), else the hash alone.
    const hash = (r.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
    const text = typeof r.query === 'string' ? createHash('sha256').update(r.query).digest('hex') : typeof hash === 'string' ? hash : undefined;
    if (!text) return undefined;
    const digest = createHash('sha256')
      .update(`${keyId}\n${text}\n${typeof r.operationName === 'string' ? r.operationName : ''}\n${canonicalJson(r.variables ?? null)}`)
      .digest('base64url');
    return this.prefix + digest;
  }

  /** The cached response, if every store it depends on still has the same data version; never throws. */
  async get(key: string): Promise<{ at: number; label: string; body: string } | undefined> {
    try {
      const raw = await this.redis.ecommResponseGet(key, dataVersionKey(''));
      if (!raw) return undefined;
      const a = raw.indexOf('\n');
      const b = raw.indexOf('\n', a + 1);
      return { at: Number(raw.slice(0, a)), label: raw.slice(a + 1, b), body: raw.slice(b + 1) };
    } catch {
      return undefined;
    }
  }

  /** Stores a response the answer cache marked cacheable (fire and forget; failures are ignored). */
  put(key: string, usage: AnswerUsage, label: string, body: string): void {
    if (usage.uncached || usage.storeVersions.size === 0 || body.length > 4 * 1024 * 1024) return;
    const stores = [...usage.storeVersions].flatMap(([s, v]) => [s, String(v)]);
    if (stores.some((x) => x.includes('\n')) || label.includes('\n')) return;
    const value = [String(usage.oldestAt ?? Date.now()), label, String(usage.storeVersions.size), ...stores, body].join('\n');
    this.redis.set(key, value, 'EX', this.ttlSeconds).catch(() => undefined);
  }
}
