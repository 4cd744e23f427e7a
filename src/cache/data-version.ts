import type { Redis } from 'ioredis';

/** Redis key of a store's data version. */
export function dataVersionKey(storeId: string): string {
  return `ecomm:data-version:${storeId}`;
}

/**
 * Marks that a store's gold layer changed: increments and returns its data version. The analytics
 * flow calls it only after every step of a run succeeded; API cache keys include the version, so
 * cached answers computed from older data stop being served.
 */
export async function bumpDataVersion(redis: Redis, storeId: string): Promise<number> {
  return redis.incr(dataVersionKey(storeId));
}

/** The current data version of each store (0 for a store whose data never changed). */
export async function dataVersions(redis: Redis, storeIds: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (storeIds.length === 0) return out;
  const values = await redis.mget(...storeIds.map(dataVersionKey));
  storeIds.forEach((s, i) => (out[s] = Number(values[i] ?? 0)));
  return out;
}
