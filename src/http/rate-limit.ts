import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Token bucket, atomically in Redis: refills `rate` tokens per millisecond up to `capacity`, then
 * takes `cost` when there are enough. Redis's own clock (TIME) is used so every API process,
 * whatever its clock, sees the same bucket.
 * KEYS[1] bucket; ARGV capacity, rate (tokens/ms), cost.
 * Returns { allowed 0|1, tokens left (floored), ms until `cost` tokens are there (0 when allowed) }.
 */
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
if tokens > capacity then tokens = capacity end
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return { allowed, math.floor(tokens), wait }
`;

/** Outcome of taking a token. */
export interface RateDecision {
  allowed: boolean;
  /** Requests per minute of the bucket. */
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a request can succeed again; 0 when allowed. */
  retryAfter: number;
  /** True when Redis could not be asked and the request was let through. */
  failedOpen?: boolean;
}

export interface RateLimiterOptions {
  /** Requests per minute for keys whose own limit is 0. */
  defaultPerMinute: number;
  log: Logger;
  /** How long to wait for Redis before letting the request through. @default 250 */
  timeoutMs?: number;
  /** Prefix of the bucket keys in Redis. @default "ecomm:ratelimit:" */
  prefix?: string;
}

type WithTokenBucket = Redis & { ecommTokenBucket(key: string, capacity: number, rate: number, cost: number): Promise<[number, number, number]> };

/**
 * Per-key rate limits: a token bucket per key in Redis (shared by every API process), capacity =
 * the key's requests per minute, refilled evenly over the minute. When Redis does not answer,
 * requests are let through (fail open) and a warning is logged at most every 30 s.
 */
export class RateLimiter {
  private readonly redis: WithTokenBucket;
  private readonly timeoutMs: number;
  private readonly prefix: string;
  private lastWarning = 0;

  constructor(
    redis: Redis,
    private readonly opts: RateLimiterOptions,
  ) {
    const r = redis as WithTokenBucket;
    // defineCommand sends EVALSHA and falls back to EVAL when the script is not cached (e.g. after a Redis restart).
    if (typeof r.ecommTokenBucket !== 'function') r.defineCommand('ecommTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
    this.redis = r;
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.prefix = opts.prefix ?? 'ecomm:ratelimit:';
  }

  /** Requests per minute for a key's own setting (0 = the server default). */
  limitFor(perMinute: number): number {
    return perMinute > 0 ? perMinute : this.opts.defaultPerMinute;
  }

  /** Takes `cost` tokens from the bucket `id` (e.g. the key's hash), whose limit is `perMinute` (0 = default). */
  async take(id: string, perMinute: number, cost = 1): Promise<RateDecision> {
    const limit = this.limitFor(perMinute);
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        this.redis.ecommTokenBucket(this.prefix + id, limit, limit / 60_000, cost),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Redis within ${this.timeoutMs} ms`)), this.timeoutMs);
          timer.unref();
        }),
      ]);
      const [allowed, remaining, waitMs] = answer.map(Number) as [number, number, number];
      return { allowed: allowed === 1, limit, remaining, retryAfter: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)) };
    } catch (err) {
      if (Date.now() - this.lastWarning > 30_000) {
        this.lastWarning = Date.now();
        this.opts.log.warn({ err: (err as Error).message }, 'rate limiter cannot reach Redis: letting requests through');
      }
      return { allowed: true, limit, remaining: limit, retryAfter: 0, failedOpen: true };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Response headers describing a decision (`Retry-After` only when refused). */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  if (d.failedOpen) return {};
  const h: Record<string, string> = { 'x-ratelimit-limit': String(d.limit), 'x-ratelimit-remaining': String(d.remaining) };
  if (!d.allowed) h['retry-after'] = String(d.retryAfter);
  return h;
}
