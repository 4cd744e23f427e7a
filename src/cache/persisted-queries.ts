import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Redis } from 'ioredis';
import { persistedQueries } from '../metrics/metrics.js';

/** How long a registered query text is kept after its last registration, seconds. @default 30 days */
export const PERSISTED_QUERY_TTL_SECONDS = 30 * 86_400;

/**
 * Apollo's KeyValueCache over Redis, for automatic persisted queries: the query texts clients
 * registered under their sha256 are shared by every API process and survive app restarts. Any
 * Redis failure is a miss (the client then sends the full query once more), never an error.
 */
export class RedisPersistedQueryCache implements KeyValueCache<string> {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'ecomm:apq:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      const v = await this.redis.get(this.prefix + key);
      persistedQueries.inc({ result: v === null ? 'miss' : 'hit' });
      return v ?? undefined;
    } catch {
      persistedQueries.inc({ result: 'error' });
      return undefined;
    }
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl ?? PERSISTED_QUERY_TTL_SECONDS;
    try {
      await this.redis.set(this.prefix + key, value, 'EX', Math.max(1, Math.ceil(ttl)));
    } catch {
      // Not stored: the client registers it again next time.
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.redis.del(this.prefix + key)) > 0;
    } catch {
      return false;
    }
  }
}
