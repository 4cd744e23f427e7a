import type { RequestContext } from '../schema/context.js';
import { cachedAnswer } from '../cache/answer-cache.js';

/**
 * Runs an analytics resolver's computation through the Redis answer cache (src/cache/answer-cache.ts):
 * keyed by `op` (the GraphQL field name), the canonical `args` (everything the answer depends on
 * besides the stores, the resolved store included), the key's store scope and the data versions
 * of `storeIds`. `compute` must return plain JSON data (Money as strings).
 */
export function answer<T>(ctx: RequestContext, key: { op: string; args: unknown; storeIds: string[] }, compute: () => Promise<T>): Promise<T> {
  return cachedAnswer(ctx, key, compute);
}
