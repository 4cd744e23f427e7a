// Lookups of many keys on the embedded engine: the ids of a group of live events (up to 25,000
// per load) or an import chunk's keys, against a store that already holds many rows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Warehouse } from '../../src/warehouse/client.js';
import { IN_KEYS, queryByKeys } from '../../src/warehouse/key-lookup.js';
import { tempWarehouse } from '../support/warehouse.js';

describe('key lookups (embedded engine)', () => {
  let wh: Warehouse;
  const storedIds: string[] = [];
  tempWarehouse(async (w) => {
    wh = w;
    // 300,000 events with UUID ids, 1,000 of them known to the test.
    for (let i = 0; i < 1000; i++) storedIds.push(randomUUID());
    await wh.command(
      `INSERT INTO fact_events (store_id, event_id, event_time, event_type, received_at, version)
       SELECT 'big', if(number < 1000, {known:Array(String)}[number + 1], toString(generateUUIDv4())),
              toDateTime64('2024-05-01 00:00:00', 3, 'UTC') + toIntervalSecond(number % 86400),
              ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'][1 + number % 5], now64(3), 1
         FROM numbers(300000)`,
      { known: storedIds },
    );
  });

  it("finds exactly the stored ids among 25,000 UUIDs (a live-events group's worth) in one query", async () => {
    // As `x IN {keys:Array(String)}`, an array this long (≈ 975 KB of text) is evaluated without a
    // hash set by the engine's analyzer: this lookup ran into the 30 s query timeout.
    const keys = [...Array.from({ length: 24_000 }, () => randomUUID()), ...storedIds];
    const found = await queryByKeys<{ event_id: string }>(
      wh,
      `SELECT DISTINCT event_id FROM fact_events WHERE store_id = {store:String} AND event_id ${IN_KEYS}`,
      keys,
      { store: 'big' },
    );
    assert.deepEqual(found.map((r) => r.event_id).sort(), [...storedIds].sort());
  });

  it('finds keys with any characters: bound as one text, or as an array when a key holds its separator', async () => {
    const odd = ['', 'tab\there', 'line\nbreak', "quote'd", 'back\\slash', 'zero\u0000byte', 'ünïcødé ✓', ' spaced ', 'comma,key'];
    const withSeparator = 'unit\u001fseparator';
    await wh.insert(
      'dim_product',
      [...odd, withSeparator].map((id) => ({ store_id: 'odd', product_id: id, updated_at: '2024-05-02 00:00:00', version: 1 })),
    );
    const sql = `SELECT DISTINCT product_id FROM dim_product WHERE store_id = {store:String} AND product_id ${IN_KEYS}`;
    const absent = ['absent', 'line', 'break', 'unit', 'separator'];
    // No key holds the separator: one text, split back by the engine.
    const asText = await queryByKeys<{ product_id: string }>(wh, sql, [...odd, ...absent], { store: 'odd' });
    assert.deepEqual(asText.map((r) => r.product_id).sort(), [...odd].sort());
    // One key holds it: the keys go as an array, and the split halves of that key match nothing.
    const asArray = await queryByKeys<{ product_id: string }>(wh, sql, [...odd, withSeparator, ...absent], { store: 'odd' });
    assert.deepEqual(asArray.map((r) => r.product_id).sort(), [...odd, withSeparator].sort());
  });

  it('keeps the keys an array when the SQL also uses them outside IN_KEYS', async () => {
    const rows = await queryByKeys<{ n: string }>(wh, `SELECT toString(length({keys:Array(String)})) AS n WHERE 'b' ${IN_KEYS}`, ['a', 'b', 'c']);
    assert.deepEqual(rows, [{ n: '3' }]);
  });

  it('refuses SQL that does not filter with IN_KEYS (the keys would not be bound where they are meant)', async () => {
    await assert.rejects(queryByKeys(wh, 'SELECT 1 WHERE 1 IN {keys:Array(String)}', ['a']), /IN_KEYS/);
  });
});
