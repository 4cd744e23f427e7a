import type { QueryOptions, Warehouse } from './client.js';

/**
 * Lookups of many keys at once (an import chunk's existing rows, the ids of a group of live
 * events, the customers and products a batch refers to): the lookup's SQL filters with
 * {@link IN_KEYS}, the keys are bound as one parameter, and two limits decide how many fit in one
 * query.
 *
 * - The keys travel as one `{keys:String}` of the keys joined by a unit separator (U+001F), which
 *   the engine splits back ({@link IN_KEY_TEXT}). Bound as an `Array(String)` each key is quoted
 *   and escaped by the client and parsed back as an array literal by the engine: 25,000 UUIDs
 *   took ≈ 75 ms to bind that way and ≈ 25 ms as one text (the lookup itself, 400,000 stored ids
 *   scanned, ≈ 10 ms). Keys that hold the separator go as the array ({@link IN_KEYS}).
 * - A server takes URLs up to `http_max_uri_size` (1 MiB by default), and @clickhouse/client sends
 *   query parameters in the URL, percent-encoded (up to 3 bytes per byte of key). So on
 *   CLICKHOUSE_URL a lookup binds at most {@link SERVER_PARAM_BYTES} of keys; more go in further
 *   queries.
 * - The engine's query analyzer (ClickHouse 26.7, the embedded engine's version) evaluates
 *   `x IN {keys:Array(String)}` without a hash set once the array's text passes ≈ 870 KB: 25,000
 *   UUIDs against 1,000,000 rows took 105 s instead of 0.2 s. A subquery over the keys builds the
 *   set at any size (60,000 UUIDs: 0.5 s), so both forms are subqueries, and the embedded engine
 *   takes all keys in one query, one scan.
 */

/** `IN` over the bound keys, as a set built once per query at any size (see the module comment). */
export const IN_KEYS = 'IN (SELECT arrayJoin({keys:Array(String)}))';

/** The separator of the keys bound as one text (U+001F, "unit separator"). */
const KEY_SEPARATOR = '\x1f';

/** {@link IN_KEYS} over the keys bound as one text, joined by {@link KEY_SEPARATOR} (what queryByKeys sends when no key holds it). */
const IN_KEY_TEXT = "IN (SELECT arrayJoin(splitByChar('\\x1F', {keys:String})))";

/** Bytes of keys one lookup binds on a server (≤ 1 MiB of URL even when every byte is percent-encoded). */
export const SERVER_PARAM_BYTES = 256 * 1024;

/**
 * The bytes a key takes in the bound array as @clickhouse/client formats it: its UTF-8, quotes, a
 * comma, and a backslash before each quote, backslash, tab, newline and carriage return.
 */
function paramBytes(key: string): number {
  let escapes = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x27 || c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d) escapes++;
  }
  return Buffer.byteLength(key) + escapes + 3;
}

/** Keys split into consecutive lists of at most `maxBytes` each as a bound array (a longer key alone). */
export function keyBatches(keys: readonly string[], maxBytes: number): string[][] {
  const out: string[][] = [];
  let batch: string[] = [];
  // `[` and `]`, less the comma the last key does not take.
  let bytes = 1;
  for (const key of keys) {
    const b = paramBytes(key);
    if (batch.length > 0 && bytes + b > maxBytes) {
      out.push(batch);
      batch = [];
      bytes = 1;
    }
    batch.push(key);
    bytes += b;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Bytes of keys one lookup may bind on this warehouse (unbounded in-process). */
export function lookupParamBytes(wh: Pick<Warehouse, 'engine'>): number {
  return wh.engine === 'server' ? SERVER_PARAM_BYTES : Number.POSITIVE_INFINITY;
}

/** True when `keys` fit in one query's bound parameters on this warehouse (see lookupParamBytes). */
export function fitsOneQuery(wh: Pick<Warehouse, 'engine'>, keys: readonly string[]): boolean {
  const maxBytes = lookupParamBytes(wh);
  return maxBytes === Number.POSITIVE_INFINITY || keyBatches(keys, maxBytes).length <= 1;
}

/**
 * Runs a lookup whose SQL filters with {@link IN_KEYS} (the keys bound as `keys`, the other
 * parameters from `params`) over all `keys`, in as few queries as the warehouse takes, and returns
 * all their rows. Each key is in exactly one query, so rows grouped by key come out as one query
 * would give them.
 */
export async function queryByKeys<T>(
  wh: Warehouse,
  sql: string,
  keys: readonly string[],
  params: Record<string, unknown> = {},
  opts?: QueryOptions,
): Promise<T[]> {
  if (keys.length === 0) return [];
  if (!sql.includes(IN_KEYS)) throw new Error('queryByKeys: the SQL must filter with IN_KEYS');
  const maxBytes = lookupParamBytes(wh);
  // In-process every key goes in one query: no need to measure them (a live-events group's ids).
  const batches = maxBytes === Number.POSITIVE_INFINITY ? [keys] : keyBatches(keys, maxBytes);
  const out: T[] = [];
  // As one text only where every use of the keys is IN_KEYS (the SQL may use the array elsewhere).
  const textSql = sql.replaceAll(IN_KEYS, IN_KEY_TEXT);
  const textFits = !sql.replaceAll(IN_KEYS, '').includes('{keys');
  for (const batch of batches) {
    const asText = textFits && batch.every((k) => !k.includes(KEY_SEPARATOR));
    const rows = await wh.query<T>(asText ? textSql : sql, { ...params, keys: asText ? batch.join(KEY_SEPARATOR) : batch }, opts);
    for (const r of rows) out.push(r);
  }
  return out;
}
