import type { Warehouse } from '../warehouse/client.js';

export interface StoreInfo {
  storeId: string;
  timezone: string;
  country: string;
}

const STORE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidStoreId(id: string): boolean {
  return STORE_ID.test(id);
}

/** The store's settings; a store seen for the first time is registered with the default time zone. */
export async function ensureStore(wh: Warehouse, storeId: string, defaultTimezone: string): Promise<StoreInfo> {
  const rows = await wh.query<{ timezone: string; country: string }>(
    'SELECT timezone, country FROM dim_store FINAL WHERE store_id = {store:String}',
    { store: storeId },
  );
  if (rows[0]) return { storeId, timezone: rows[0].timezone || defaultTimezone, country: rows[0].country };
  await wh.insert('dim_store', [{ store_id: storeId, name: storeId, timezone: defaultTimezone, country: '', currency: '', version: 1 }]);
  return { storeId, timezone: defaultTimezone, country: '' };
}

const timezones = new Map<string, { tz: string; at: number }>();
/** How long a looked-up store time zone is trusted by {@link storeTimezone}. */
const TIMEZONE_TTL_MS = 30_000;

/**
 * The store's time zone (the default for a store not registered yet), cached for 30 s: the
 * events endpoint asks on every request and a warehouse round trip costs more than the rest.
 */
export async function storeTimezone(wh: Warehouse, storeId: string, defaultTimezone: string): Promise<string> {
  const hit = timezones.get(storeId);
  if (hit && Date.now() - hit.at < TIMEZONE_TTL_MS) return hit.tz;
  const rows = await wh.query<{ timezone: string }>('SELECT timezone FROM dim_store FINAL WHERE store_id = {s:String}', { s: storeId });
  const tz = rows[0]?.timezone || defaultTimezone;
  if (timezones.size > 10_000) timezones.clear();
  timezones.set(storeId, { tz, at: Date.now() });
  return tz;
}
