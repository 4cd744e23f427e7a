// The server engine path (CLICKHOUSE_URL): createWarehouse over HTTP with @clickhouse/client,
// migrations, inserts, bound parameters, errors, credentials and query ids.
//
// Always runs against the ClickHouse HTTP test shim (test/support/clickhouse-http-shim.ts: the
// embedded engine behind ClickHouse's HTTP protocol, in a child process), and additionally against
// a real server when CLICKHOUSE_TEST_URL is set:
//
//   CLICKHOUSE_TEST_URL=http://localhost:8123 CLICKHOUSE_TEST_USER=default \
//   CLICKHOUSE_TEST_PASSWORD=secret npm test -- http-engine
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ClickHouseError, createClient } from '@clickhouse/client';
import { parseConfig, type Config } from '../../src/config/config.js';
import { createWarehouse, newQueryId, type Warehouse } from '../../src/warehouse/client.js';
import { loadMigrations, migrate } from '../../src/warehouse/migrations.js';
import { spawnShim, type ShimProcess } from '../support/clickhouse-http-shim.js';
import { tempDir } from '../support/temp.js';
import { fingerprint, importInEngine, importStreaming } from '../support/online-retail-paths.js';
import { LiveEventsLoader } from '../../src/ingest/live-events.js';
import { runBatch } from '../../src/ingest/pipeline.js';
import { IN_KEYS, queryByKeys } from '../../src/warehouse/key-lookup.js';
import { rebuildRollups } from '../../src/analytics/rollups.js';
import { kpis } from '../../src/warehouse/sales.queries.js';
import { liveMapper } from '../../src/jobs/events.job.js';
import fs from 'node:fs';
import path from 'node:path';

interface Target {
  url: string;
  user: string;
  password: string;
  database: string;
  /** Runs a statement tagged with queryId and checks the server saw it under that id. */
  assertQueryIdReached(wh: Warehouse, queryId: string): Promise<void>;
}

function configFor(t: Target, dataDir: string, overrides: Partial<Record<string, string>> = {}): Config {
  return parseConfig({
    CLICKHOUSE_URL: t.url,
    CLICKHOUSE_USER: t.user,
    CLICKHOUSE_PASSWORD: t.password,
    CLICKHOUSE_DATABASE: t.database,
    DATA_DIR: dataDir,
    ...overrides,
  });
}

function isClickHouseError(code: string, type?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ClickHouseError, `expected a ClickHouseError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (type) assert.equal(err.type, type);
    return true;
  };
}

/** The checks every HTTP target must pass. Registered inside a describe() whose before() sets the target. */
function serverEngineChecks(target: () => Target) {
  let wh: Warehouse | undefined;
  let tmp: ReturnType<typeof tempDir> | undefined;
  const warehouse = () => {
    assert.ok(wh, 'warehouse not created (see the first failure)');
    return wh;
  };

  before(async () => {
    tmp = tempDir('ecomm-http-');
    wh = await createWarehouse(configFor(target(), tmp.dir));
  });
  after(async () => {
    await wh?.close();
    tmp?.cleanup();
  });

  it('connects through CLICKHOUSE_URL and creates the configured database', async () => {
    const w = warehouse();
    assert.equal(w.engine, 'server');
    assert.equal(w.database, target().database);
    const [row] = await w.query<{ db: string }>('SELECT currentDatabase() AS db');
    assert.equal(row?.db, target().database);
  });

  it('migrates, and migrating again is a no-op', async () => {
    const w = warehouse();
    const files = loadMigrations().map((m) => m.file);
    const first = await migrate(w);
    assert.deepEqual(first.applied, files);
    assert.deepEqual(first.skipped, []);
    const second = await migrate(w);
    assert.deepEqual(second.applied, []);
    assert.deepEqual(second.skipped, files);
    const [ledger] = await w.query<{ n: string }>('SELECT count() AS n FROM schema_migrations');
    assert.equal(Number(ledger?.n), files.length);
    // The tables landed in the configured database, not in `default`.
    const tables = await w.query<{ name: string }>(
      'SELECT name FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)} ORDER BY name',
      { db: target().database, names: ['dim_product', 'fact_orders', 'schema_migrations'] },
    );
    assert.deepEqual(
      tables.map((t) => t.name),
      ['dim_product', 'fact_orders', 'schema_migrations'],
    );
  });

  it('inserts rows and reads them back with bound parameters; decimals and UInt64 stay exact strings', async () => {
    const w = warehouse();
    const awkward = `O'Brien \\ "quoted"\ttab\nline`;
    await w.insert('dim_product', [
      {
        store_id: 's1',
        product_id: 'p1',
        name: awkward,
        category: 'shoes',
        list_price: '12345678901234.5678',
        cost: '0.0001',
        updated_at: '2024-05-01T10:00:00.123Z',
        version: '18446744073709551615',
      },
      { store_id: 's1', product_id: 'p2', name: 'plain', list_price: '19.99', cost: '5', updated_at: '2024-05-02 00:00:00', version: 1 },
      { store_id: 's1', product_id: 'p3', name: 'cheap', list_price: '1.5', cost: '1', updated_at: '2024-05-02 00:00:00', version: 1 },
      { store_id: 's2', product_id: 'p1', name: 'other store', list_price: '99', cost: '1', updated_at: '2024-05-02 00:00:00', version: 1 },
    ]);

    const rows = await w.query<{ product_id: string; name: string; list_price: string; cost: string; version: string; updated_at: string }>(
      `SELECT product_id, name, list_price, cost, version, updated_at
       FROM dim_product FINAL
       WHERE store_id = {store:String} AND product_id IN {ids:Array(String)} AND list_price >= {min:Decimal(18, 4)}
       ORDER BY product_id`,
      { store: 's1', ids: ['p1', 'p2', 'p3', "x'y"], min: '10.5' },
    );
    assert.deepEqual(rows, [
      { product_id: 'p1', name: awkward, list_price: '12345678901234.5678', cost: '0.0001', version: '18446744073709551615', updated_at: '2024-05-01 10:00:00.123' },
      { product_id: 'p2', name: 'plain', list_price: '19.99', cost: '5', version: '1', updated_at: '2024-05-02 00:00:00.000' },
    ]);

    // A string parameter with quotes, backslash, tab and newline matches the stored value exactly.
    const byName = await w.query<{ product_id: string }>('SELECT product_id FROM dim_product WHERE name = {name:String}', { name: awkward });
    assert.deepEqual(byName, [{ product_id: 'p1' }]);

    // Sums beyond a double's precision come back exact.
    const [total] = await w.query<{ total: string }>(
      'SELECT sum(list_price) AS total FROM dim_product FINAL WHERE store_id = {store:String}',
      { store: 's1' },
    );
    assert.equal(total?.total, '12345678901256.0578');
  });

  it("binds an import chunk's worth of keys (the parameters travel in the URL)", async () => {
    const w = warehouse();
    // The import's existing-key lookups bind a chunk's keys (10,000) as one Array(String).
    const keys = Array.from({ length: 10_000 }, (_, i) => `order-${randomUUID()}-${i}`);
    const [row] = await w.query<{ n: string; last: string }>('SELECT toString(length({keys:Array(String)})) AS n, {keys:Array(String)}[-1] AS last', { keys });
    assert.deepEqual(row, { n: '10000', last: keys.at(-1) });
  });

  it('looks up more keys than one URL holds: queryByKeys splits them and finds exactly the stored ones', async () => {
    const w = warehouse();
    const stored = Array.from({ length: 300 }, (_, i) => `lookup-${randomUUID()}-${i}`);
    await w.insert('dim_product', stored.map((id) => ({ store_id: 'lookup', product_id: id, updated_at: '2024-05-02 00:00:00', version: 1 })));
    // 30,000 keys of 50 bytes: ≈ 1.6 MB of URL in one query, over a server's 1 MiB.
    const keys = [...Array.from({ length: 30_000 - stored.length }, () => `absent-${randomUUID()}`), ...stored].sort();
    const found = await queryByKeys<{ product_id: string }>(
      w,
      `SELECT DISTINCT product_id FROM dim_product WHERE store_id = {store:String} AND product_id ${IN_KEYS}`,
      keys,
      { store: 'lookup' },
    );
    assert.deepEqual(found.map((r) => r.product_id).sort(), [...stored].sort());
  });

  it('looks up keys with any characters over HTTP: as one text, or as an array when a key holds its separator', async () => {
    const w = warehouse();
    const odd = ['', 'tab\there', 'line\nbreak', "quote'd", 'back\\slash', 'percent%20sign&amp=1', 'ünïcødé ✓', 'unit\u001fseparator'];
    await w.insert('dim_product', odd.map((id) => ({ store_id: 'lookup-odd', product_id: id, updated_at: '2024-05-02 00:00:00', version: 1 })));
    const sql = `SELECT DISTINCT product_id FROM dim_product WHERE store_id = {store:String} AND product_id ${IN_KEYS}`;
    const plain = odd.filter((k) => !k.includes('\u001f'));
    const asText = await queryByKeys<{ product_id: string }>(w, sql, [...plain, 'absent'], { store: 'lookup-odd' });
    assert.deepEqual(asText.map((r) => r.product_id).sort(), [...plain].sort());
    const asArray = await queryByKeys<{ product_id: string }>(w, sql, [...odd, 'absent'], { store: 'lookup-odd' });
    assert.deepEqual(asArray.map((r) => r.product_id).sort(), [...odd].sort());
  });

  it('rebuilds the rollups of a day with more first-time customers than one URL can list', async () => {
    const w = warehouse();
    const store = 'rollup-wide';
    await w.insert('dim_store', [{ store_id: store, name: store, timezone: 'UTC', country: 'DE', currency: 'EUR', version: 1 }]);
    // 40,000 customers with 40-character ids, all first buying on 2024-05-01: ≈ 1.8 MB as a bound list.
    await w.command(
      `INSERT INTO fact_orders (store_id, order_id, customer_id, status, created_at, gross, net, updated_at, version)
       SELECT {s:String}, concat('wide-', toString(number)), concat('customer-', leftPad(toString(number), 31, '0')), 'paid',
              toDateTime64('2024-05-01 10:00:00', 3, 'UTC'), 10, 10, toDateTime64('2024-05-01 10:00:00', 3, 'UTC'), 1
       FROM numbers(40000)`,
      { s: store },
    );
    await rebuildRollups(w, { storeId: store });
    // A day-range rebuild takes the customers whose stored first purchase is on its days into account.
    const r = await rebuildRollups(w, { storeId: store, from: '2024-05-01', to: '2024-05-01' });
    assert.deepEqual(r.days, ['2024-05-01']);
    const k = await kpis(w, { storeId: store, range: { from: '2024-05-01', to: '2024-05-01' } });
    assert.deepEqual([k.orders, k.customers, k.newCustomers], [40_000, 40_000, 40_000]);
    // One of them buys again on 05-10, then the first order is cancelled: rebuilding 05-01 alone
    // finds the customer's first purchase on 05-10 in the history, and rebuilds that day too.
    const first = { store_id: store, customer_id: `customer-${'0'.repeat(31)}`, gross: 10, net: 10, status: 'paid' };
    await w.insert('fact_orders', [{ ...first, order_id: 'wide-again', created_at: '2024-05-10 10:00:00', updated_at: '2024-05-10 10:00:00', version: 1 }]);
    await rebuildRollups(w, { storeId: store, from: '2024-05-10', to: '2024-05-10' });
    await w.insert('fact_orders', [{ ...first, order_id: 'wide-0', status: 'cancelled', created_at: '2024-05-01 10:00:00', updated_at: '2024-05-11 10:00:00', version: 2 }]);
    const again = await rebuildRollups(w, { storeId: store, from: '2024-05-01', to: '2024-05-01' });
    assert.deepEqual(again.days, ['2024-05-01', '2024-05-10']);
    const newOn = async (day: string) => (await kpis(w, { storeId: store, range: { from: day, to: day } })).newCustomers;
    assert.deepEqual([await newOn('2024-05-01'), await newOn('2024-05-10')], [39_999, 1]);
  });

  it('passes per-query settings, and concurrent queries keep their own', async () => {
    const w = warehouse();
    const results = await Promise.all(
      [3, 5, 7, 11, 13].map(async (n) => {
        const [row] = await w.query<{ m: unknown }>("SELECT getSetting('max_execution_time') AS m", {}, { maxExecutionTime: n });
        return Number(row?.m);
      }),
    );
    assert.deepEqual(results, [3, 5, 7, 11, 13]);
  });

  it('imports an Online Retail file in the engine over HTTP (its lines sent, the server cannot read our disk): the same rows as the streaming path', async () => {
    const w = warehouse();
    const file = path.join(tmp!.dir, 'retail.csv');
    const lines = [
      'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
      '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom',
      '536365,71053,"METAL LANTERN, WHITE",6,12/1/2010 8:26,3.39,17850,United Kingdom',
      '536365,71053,"METAL LANTERN, WHITE",6,12/1/2010 8:26,3.39,17850,United Kingdom',
      'C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom',
      'A563185,B,Adjust bad debt,1,8/12/2011 14:50,11062.06,,United Kingdom',
      '536398,23000,CAF\u00c9 CUP,2,12/1/2010 12:00,1.25,,France',
    ];
    fs.writeFileSync(file, Buffer.from(lines.join('\r\n') + '\r\n', 'latin1'));
    const tz = 'Europe/London';
    const engine = await importInEngine({ wh: w, storeId: 'or-http-engine', batchId: `or-http-${randomUUID()}`, file, timezone: tz });
    assert.ok(engine, 'the engine import takes the file over HTTP');
    assert.deepEqual({ read: engine.read, inserted: engine.inserted, rejected: engine.rejected }, { read: 6, inserted: 4, rejected: 2 });
    const streamed = await importStreaming({ wh: w, storeId: 'or-http-stream', batchId: `or-http-${randomUUID()}`, file, timezone: tz });
    assert.deepEqual(await fingerprint(w, 'or-http-engine', engine.batchId), await fingerprint(w, 'or-http-stream', streamed.batchId));
  });

  it('loads live events over HTTP (fact lines as JSONCompactEachRow, bronze as TabSeparated): the same rows as runBatch', async () => {
    const w = warehouse();
    const records = [
      { event_id: 'h1', event_time: '2024-06-01T10:00:00Z', event_type: 'page_view', session_id: 's1', properties: { note: 'a "quoted" \\ back\\slash\nline\ttab ünï 😀 \u0001' } },
      { event_id: 'h2', event_time: '2024-06-01T10:01:00Z', event_type: 'add_to_cart', product_id: 'P1' },
      { event_id: 'h2', event_time: '2024-06-01T10:01:00Z', event_type: 'add_to_cart', product_id: 'P1' },
      { event_id: 'h3', event_time: 'soon', event_type: 'page_view' },
    ];
    const loader = new LiveEventsLoader(w, { retentionDays: 30 });
    const [fast] = await loader.load([{ batchId: 'http-fast', jobId: 'http-fast', storeId: 'ev-http-fast', timezone: 'UTC', records }]);
    async function* rows() {
      let n = 0;
      for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
    }
    const slow = await runBatch({ wh: w, storeId: 'ev-http-slow', batchId: 'http-slow', source: 'events', entity: 'events', format: 'json', timezone: 'UTC', retentionDays: 30, rows: rows(), mapper: liveMapper });
    assert.deepEqual([fast!.read, fast!.inserted, fast!.unchanged, fast!.rejected], [4, 2, 1, 1]);
    assert.deepEqual([slow.read, slow.inserted, slow.unchanged, slow.rejected], [4, 2, 1, 1]);
    const stored = (store: string) =>
      w.query<Record<string, string>>(
        `SELECT event_id, toString(event_time) AS t, event_type, session_id, product_id, properties, toString(row_hash) AS h FROM fact_events FINAL WHERE store_id = {s:String} ORDER BY event_id, t`,
        { s: store },
      );
    assert.deepEqual(await stored('ev-http-fast'), await stored('ev-http-slow'));
    const bronze = (store: string) => w.query<{ row: string; payload: string }>(`SELECT toString(row_number) AS row, payload FROM raw_events WHERE store_id = {s:String} ORDER BY row_number`, { s: store });
    const expected = records.map((r, i) => ({ row: String(i + 1), payload: JSON.stringify(r) }));
    assert.deepEqual(await bronze('ev-http-fast'), expected);
    assert.deepEqual(await bronze('ev-http-slow'), expected);
    // Again, with one id on another day: over HTTP too, each id is found among its day's events
    // (the days bound as Array(Date)), and the id on another day is another event.
    const again = [records[0]!, records[1]!, { event_id: 'h1', event_time: '2024-06-02T10:00:00Z', event_type: 'page_view' }];
    const [fast2] = await loader.load([{ batchId: 'http-fast-2', jobId: 'http-fast-2', storeId: 'ev-http-fast', timezone: 'UTC', records: again }]);
    async function* againRows() {
      let n = 0;
      for (const fields of again) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
    }
    const slow2 = await runBatch({ wh: w, storeId: 'ev-http-slow', batchId: 'http-slow-2', source: 'events', entity: 'events', format: 'json', timezone: 'UTC', retentionDays: 30, rows: againRows(), mapper: liveMapper });
    assert.deepEqual([fast2!.inserted, fast2!.unchanged, slow2.inserted, slow2.unchanged], [1, 2, 1, 2]);
    assert.deepEqual(await stored('ev-http-fast'), await stored('ev-http-slow'));
  });

  it('surfaces ClickHouse errors with their code', async () => {
    const w = warehouse();
    await assert.rejects(w.query('SELECT * FROM no_such_table'), isClickHouseError('60', 'UNKNOWN_TABLE'));
    await assert.rejects(w.command('CREATE TABLE'), isClickHouseError('62', 'SYNTAX_ERROR'));
    await assert.rejects(w.query('SELECT {missing:UInt8} AS x'), isClickHouseError('456', 'UNKNOWN_QUERY_PARAMETER'));
    // The connection is still usable after errors.
    const [row] = await w.query<{ ok: number }>('SELECT 1 AS ok');
    assert.equal(row?.ok, 1);
  });

  it('sends the query id to the server', async () => {
    const w = warehouse();
    await target().assertQueryIdReached(w, newQueryId('http-test'));
    const id = newQueryId('http-test-cmd');
    const r = await w.client.command({ query: 'SELECT 1', query_id: id });
    assert.equal(r.query_id, id);
    assert.equal(r.response_headers['x-clickhouse-query-id'], id);
  });

  it('fails with a clear authentication error on a wrong password', async () => {
    const t = target();
    const dir = tempDir('ecomm-http-badpw-');
    try {
      await assert.rejects(createWarehouse(configFor(t, dir.dir, { CLICKHOUSE_PASSWORD: `${t.password}-wrong` })), (err: unknown) => {
        isClickHouseError('516', 'AUTHENTICATION_FAILED')(err);
        assert.match((err as Error).message, /Authentication failed/);
        assert.doesNotMatch((err as Error).message, /-wrong/, 'the password is never echoed back');
        return true;
      });
    } finally {
      dir.cleanup();
    }
  });
}

describe('server engine over HTTP: ClickHouse HTTP test shim (embedded engine in a child process)', () => {
  let shim: ShimProcess | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  const database = 'http_test';

  before(async () => {
    dir = tempDir('ecomm-shim-');
    shim = await spawnShim({ path: dir.dir, user: 'analytics', password: `pw-${randomUUID()}` });
  });
  after(async () => {
    await shim?.stop();
    dir?.cleanup();
  });

  serverEngineChecks(() => {
    assert.ok(shim, 'the shim did not start (see the before hook failure)');
    const s = shim;
    return {
      url: s.url,
      user: s.user,
      password: s.password,
      database,
      async assertQueryIdReached(wh, queryId) {
        await wh.query('SELECT 1 AS one', {}, { queryId });
        const seen = await s.requests(queryId);
        assert.equal(seen.length, 1, `query id ${queryId} should have reached the shim once`);
        assert.equal(seen[0]!.status, 200);
        assert.equal(seen[0]!.database, database);
        assert.equal(seen[0]!.user, s.user);
        assert.match(seen[0]!.query, /SELECT 1 AS one/);
      },
    };
  });
});

const realUrl = process.env.CLICKHOUSE_TEST_URL;
describe(
  'server engine over HTTP: real ClickHouse server (CLICKHOUSE_TEST_URL)',
  {
    skip: realUrl
      ? false
      : 'CLICKHOUSE_TEST_URL is not set. To also run these checks against a real server: ' +
        'CLICKHOUSE_TEST_URL=http://localhost:8123 CLICKHOUSE_TEST_USER=default CLICKHOUSE_TEST_PASSWORD=... npm test -- http-engine ' +
        '(e.g. after `docker compose up -d clickhouse`; a throwaway database http_test_<random> is created and dropped)',
  },
  () => {
    const target: Target = {
      url: realUrl ?? 'http://127.0.0.1:8123',
      user: process.env.CLICKHOUSE_TEST_USER || 'default',
      password: process.env.CLICKHOUSE_TEST_PASSWORD ?? '',
      database: `http_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      async assertQueryIdReached(wh, queryId) {
        const [row] = await wh.query<{ id: string }>('SELECT queryID() AS id', {}, { queryId });
        assert.equal(row?.id, queryId);
      },
    };
    after(async () => {
      const admin = createClient({ url: target.url, username: target.user, password: target.password });
      try {
        await admin.command({ query: 'DROP DATABASE IF EXISTS {db:Identifier}', query_params: { db: target.database } });
      } finally {
        await admin.close();
      }
    });
    serverEngineChecks(() => target);
  },
);
