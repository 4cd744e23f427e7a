import type { Warehouse } from './client.js';

/**
 * The store's time zone (dim_store), `fallback` (default UTC) for a store never registered. Not
 * cached: analytics must see a changed zone at once. The ingest paths use the cached
 * storeTimezone of src/ingest/stores.ts.
 */
export async function storeTimezone(wh: Warehouse, storeId: string, fallback = 'UTC'): Promise<string> {
  const rows = await wh.query<{ timezone: string }>(
    'SELECT timezone FROM dim_store FINAL WHERE store_id = {store:String}',
    { store: storeId },
  );
  return rows[0]?.timezone || fallback;
}
