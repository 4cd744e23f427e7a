import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { createWarehouse, type Warehouse } from '../../src/warehouse/client.js';
import { defaultMigrationsDir, migrate, MigrationError } from '../../src/warehouse/migrations.js';
import { tempDir } from '../support/temp.js';

const tmp = tempDir();
let wh: Warehouse;

before(async () => {
  wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir, CLICKHOUSE_DATABASE: 'schema_test' }));
});
after(async () => {
  await wh.close();
  tmp.cleanup();
});

test('migrations applied twice equal once', async () => {
  const first = await migrate(wh);
  assert.ok(first.applied.length >= 4);
  assert.equal(first.skipped.length, 0);
  const tablesAfterFirst = await wh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name');
  const second = await migrate(wh);
  assert.equal(second.applied.length, 0);
  assert.equal(second.skipped.length, first.applied.length);
  const ledger = await wh.query<{ n: string }>('SELECT count() AS n FROM schema_migrations');
  assert.equal(Number(ledger[0]!.n), first.applied.length, 'each migration recorded once');
  const tablesAfterSecond = await wh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name');
  assert.deepEqual(tablesAfterSecond, tablesAfterFirst);
});

test('an edited, already-applied migration is refused with a clear error', async () => {
  await migrate(wh);
  const copy = tempDir('ecomm-migrations-');
  try {
    for (const f of fs.readdirSync(defaultMigrationsDir())) fs.copyFileSync(path.join(defaultMigrationsDir(), f), path.join(copy.dir, f));
    const victim = fs.readdirSync(copy.dir).find((f) => f.startsWith('0002_'))!;
    fs.appendFileSync(path.join(copy.dir, victim), '\n-- an edit after the fact\n');
    await assert.rejects(migrate(wh, { dir: copy.dir }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.match(err.message, new RegExp(victim));
      assert.match(err.message, /checksum/);
      return true;
    });
  } finally {
    copy.cleanup();
  }
});

interface Col {
  table: string;
  name: string;
  type: string;
}

test('the schema has the star-schema tables with the designed columns and engines', async () => {
  await migrate(wh);
  const cols = await wh.query<Col>(
    'SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, position',
  );
  const tables = await wh.query<{ name: string; engine: string; partition_key: string; sorting_key: string; engine_full: string }>(
    'SELECT name, engine, partition_key, sorting_key, engine_full FROM system.tables WHERE database = currentDatabase()',
  );
  const byTable = new Map<string, Map<string, string>>();
  for (const c of cols) {
    if (!byTable.has(c.table)) byTable.set(c.table, new Map());
    byTable.get(c.table)!.set(c.name, c.type);
  }
  const expectColumns = (table: string, expected: Record<string, string | RegExp>) => {
    const actual = byTable.get(table);
    assert.ok(actual, `table ${table} exists`);
    for (const [name, type] of Object.entries(expected)) {
      const t = actual.get(name);
      assert.ok(t, `${table}.${name} exists`);
      if (type instanceof RegExp) assert.match(t, type, `${table}.${name} is ${type}`);
      else assert.equal(t, type, `${table}.${name}`);
    }
  };
  const money = 'Decimal(18, 4)';
  const ts = "DateTime64(3, 'UTC')";
  const lc = 'LowCardinality(String)';

  expectColumns('dim_customer', {
    store_id: lc, customer_id: 'String', valid_from: ts, valid_to: ts, is_current: 'UInt8', name: 'String',
    email_hash: 'String', country: lc, region: 'String', city: 'String', segment: lc, version: 'UInt64',
  });
  expectColumns('dim_product', { store_id: lc, product_id: 'String', sku: 'String', name: 'String', category: lc, brand: lc, list_price: money, cost: money });
  expectColumns('dim_date', {
    date: 'Date', year: 'UInt16', quarter: 'UInt8', month: 'UInt8', iso_week: 'UInt8', day_of_week: 'UInt8', is_weekend: 'UInt8', is_holiday: 'UInt8', country: lc,
  });
  expectColumns('fact_orders', {
    store_id: lc, order_id: 'String', status: lc, created_at: ts, shipped_at: `Nullable(${ts})`, delivered_at: `Nullable(${ts})`,
    returned_at: `Nullable(${ts})`, channel: lc, country: lc, currency: lc, gross: money, discount: money, shipping: money, tax: money, net: money,
  });
  expectColumns('fact_order_items', { store_id: lc, order_id: 'String', product_id: 'String', quantity: 'Int32', unit_price: money, line_amount: money });
  expectColumns('fact_payments', { store_id: lc, payment_id: 'String', order_id: 'String', method: lc, amount: money, status: lc, installments: 'UInt8', paid_at: ts });
  expectColumns('fact_inventory_snapshots', { store_id: lc, snapshot_date: 'Date', product_id: 'String', warehouse_id: lc, on_hand: 'Int64', reserved: 'Int64', unit_cost: money });
  expectColumns('fact_events', {
    store_id: lc, event_id: 'String', event_time: ts, session_id: 'String', customer_id: 'String', anonymous_id: 'String', event_type: lc, product_id: 'String', properties: 'String',
  });
  for (const raw of ['orders', 'order_items', 'customers', 'products', 'payments', 'inventory', 'events']) {
    expectColumns(`raw_${raw}`, { store_id: lc, batch_id: 'String', source: 'String', row_number: 'UInt64', payload: 'String', received_at: ts });
  }
  expectColumns('rejected_records', {
    batch_id: 'String', source: 'String', row_number: 'UInt64', field: 'String', reason_code: lc, message: 'String', raw_payload: 'String',
  });
  expectColumns('ingest_batches', { batch_id: 'String', rows_read: 'UInt64', rows_inserted: 'UInt64', rows_unchanged: 'UInt64', rows_rejected: 'UInt64' });
  expectColumns('api_keys', { key_id: 'String', key_hash: 'String', scopes: 'Array(LowCardinality(String))', stores: 'Array(String)' });

  // No money as Float anywhere.
  const floats = cols.filter((c) => /Float/.test(c.type));
  assert.deepEqual(floats, [], 'no Float columns');

  // Every fact and dimension carries the tenant, except the per-country calendar.
  for (const t of tables) {
    if (/^(fact_|dim_)/.test(t.name) && t.name !== 'dim_date') {
      assert.ok(byTable.get(t.name)!.has('store_id'), `${t.name} has store_id`);
      assert.match(t.sorting_key, /^store_id/, `${t.name} is ordered by store first`);
    }
    if (t.name.startsWith('fact_')) {
      assert.equal(t.engine, 'ReplacingMergeTree', `${t.name} replaces corrected rows`);
      assert.match(t.engine_full, /ReplacingMergeTree\(version/, `${t.name} has a version column`);
      assert.match(t.partition_key, /^toYYYYMM\(/, `${t.name} is partitioned by month`);
    }
    if (t.name.startsWith('raw_')) assert.match(t.engine_full, /TTL /, `${t.name} has a TTL`);
  }
});

test('values are bound as parameters and decimals come back exact', async () => {
  await migrate(wh);
  await wh.insert('fact_orders', [
    {
      store_id: 's1', order_id: "o'1; DROP TABLE x", status: 'paid', created_at: '2024-03-01T10:00:00.000Z', gross: '0.1000', net: '0.3000',
      updated_at: '2024-03-01T10:00:00.000Z', version: 1,
    },
    { store_id: 's1', order_id: 'o2', status: 'paid', created_at: '2024-03-01T11:00:00.000Z', gross: '0.2000', net: '0.0001', updated_at: '2024-03-01T11:00:00.000Z', version: 1 },
  ]);
  const rows = await wh.query<{ g: string; n: string; c: string }>(
    'SELECT sum(gross) AS g, sum(net) AS n, count() AS c FROM fact_orders FINAL WHERE store_id = {store:String} AND order_id IN {ids:Array(String)}',
    { store: 's1', ids: ["o'1; DROP TABLE x", 'o2'] },
  );
  assert.deepEqual(rows, [{ g: '0.3', n: '0.3001', c: '2' }]);
});
