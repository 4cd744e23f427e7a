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
