/**
 * Every file format and encoding through the real import path (openRecordStream + runBatch, as the
 * import job runs them) into the warehouse, and the validation rules of every entity, each reject
 * naming its row and field. Expected values are computed here from the generated records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runBatch, type BatchResult } from '../../src/ingest/pipeline.js';
import type { Entity } from '../../src/ingest/validate/entities.js';
import type { ReadOptions, SourceRow } from '../../src/ingest/parsers/source-row.js';
import { importFile, tenThousandths } from '../support/import-helpers.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
const tmp = tempWarehouse((w) => (wh = w));
let seq = 0;

// ---------------------------------------------------------------------------------------------
// The data every format carries: customers with non-ASCII, quotes and delimiters in their names,
// orders with one bad row (row 4: gross is not a number).

const CUSTOMER_COLS = ['customer_id', 'name', 'city', 'country'] as const;
const customers: Record<(typeof CUSTOMER_COLS)[number], string>[] = [
  { customer_id: 'k1', name: 'Zoë Müller', city: 'Zürich', country: 'CH' },
  { customer_id: 'k2', name: 'O\'Brien, "Bo"', city: 'Dún Laoghaire', country: 'ie' },
  { customer_id: 'k3', name: 'Ana; Tab\there', city: 'São Paulo', country: 'BR' },
];
const ORDER_COLS = ['order_id', 'customer_id', 'status', 'created_at', 'gross', 'currency'] as const;
const orders: Record<(typeof ORDER_COLS)[number], string>[] = [
  { order_id: 'o1', customer_id: 'k1', status: 'paid', created_at: '2024-03-01 10:00:00', gross: '10.50', currency: 'chf' },
  { order_id: 'o2', customer_id: 'k2', status: 'Shipped', created_at: '2024-03-02T11:00:00Z', gross: '20.25', currency: 'EUR' },
  { order_id: 'o3', customer_id: 'k3', status: 'delivered', created_at: '3/3/2024 12:30', gross: '0.0001', currency: 'BRL' },
  { order_id: 'o4', customer_id: 'k1', status: 'paid', created_at: '2024-03-04 09:00', gross: 'n/a', currency: 'CHF' },
  { order_id: 'o5', customer_id: 'k9', status: 'pending', created_at: '2024-03-05 08:00', gross: '1234.5678', currency: 'CHF' },
];
const validOrders = orders.filter((o) => /^\d+(\.\d+)?$/.test(o.gross));
const expectedGross = validOrders.reduce((a, o) => a + tenThousandths(o.gross), 0n);

function csvText(cols: readonly string[], rows: Record<string, string>[], delimiter: string): string {
  const quote = (v: string) => (/["\r\n]/.test(v) || v.includes(delimiter) ? `"${v.replace(/"/g, '""')}"` : v);
  return [cols.join(delimiter), ...rows.map((r) => cols.map((c) => quote(r[c] ?? '')).join(delimiter))].join('\r\n') + '\r\n';
}

async function xlsxBuffer(cols: readonly string[], rows: Record<string, string>[], decoyFirst: boolean): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  if (decoyFirst) wb.addWorksheet('Notes').addRow(['this sheet is not the data']);
  const ws = wb.addWorksheet('Data');
  ws.addRow([...cols]);
  for (const r of rows) ws.addRow(cols.map((c) => r[c] ?? null));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

interface Variant {
  name: string;
  ext: string;
  make(cols: readonly string[], rows: Record<string, string>[]): Promise<Buffer>;
  read?: ReadOptions;
  encoding?: string;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const VARIANTS: Variant[] = [
  { name: 'csv comma', ext: 'csv', make: async (c, r) => utf8(csvText(c, r, ',')) },
  { name: 'csv semicolon', ext: 'csv', make: async (c, r) => utf8(csvText(c, r, ';')) },
  { name: 'csv tab', ext: 'tsv', make: async (c, r) => utf8(csvText(c, r, '\t')) },
  { name: 'csv pipe, delimiter given', ext: 'txt', make: async (c, r) => utf8(csvText(c, r, '|')), read: { delimiter: '|' } },
  { name: 'csv with UTF-8 BOM', ext: 'csv', make: async (c, r) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(csvText(c, r, ','))]) },
  { name: 'csv ISO-8859-1 detected', ext: 'csv', make: async (c, r) => Buffer.from(csvText(c, r, ','), 'latin1'), encoding: 'latin1' },
  { name: 'csv ISO-8859-1 given', ext: 'csv', make: async (c, r) => Buffer.from(csvText(c, r, ';'), 'latin1'), read: { encoding: 'latin1' }, encoding: 'latin1' },
  { name: 'jsonl', ext: 'jsonl', make: async (_c, r) => utf8(r.map((x) => JSON.stringify(x)).join('\n') + '\n') },
  { name: 'json array', ext: 'json', make: async (_c, r) => utf8(JSON.stringify(r, null, 2)) },
  { name: 'xlsx first sheet', ext: 'xlsx', make: (c, r) => xlsxBuffer(c, r, false) },
  { name: 'xlsx --sheet Data', ext: 'xlsx', make: (c, r) => xlsxBuffer(c, r, true), read: { sheet: 'data' } },
];
const GZIPPED: Variant[] = VARIANTS.filter((v) => ['csv semicolon', 'csv ISO-8859-1 detected', 'jsonl', 'json array', 'xlsx first sheet'].includes(v.name)).map((v) => ({
  ...v,
  name: `${v.name} + gzip`,
  ext: `${v.ext}.gz`,
  make: async (c, r) => zlib.gzipSync(await v.make(c, r)),
}));

for (const v of [...VARIANTS, ...GZIPPED]) {
  test(`format ${v.name}: customers and orders land in the warehouse exactly; the bad row is rejected naming row and field`, async () => {
    const store = `fmt-${++seq}`;
    const write = async (entity: string, cols: readonly string[], rows: Record<string, string>[]) => {
      const file = path.join(tmp.dir, `${store}-${entity}.${v.ext}`);
      fs.writeFileSync(file, await v.make(cols, rows));
      return file;
    };
    const run = async (entity: Entity, file: string) => importFile({ wh, storeId: store, batchId: `${store}-${entity}`, file, entity, read: v.read ?? {} });
    const c = await run('customers', await write('customers', CUSTOMER_COLS, customers));
    assert.deepEqual([c.read, c.inserted, c.unchanged, c.rejected], [3, 3, 0, 0]);
    const o = await run('orders', await write('orders', ORDER_COLS, orders));
    assert.deepEqual([o.read, o.inserted, o.unchanged, o.rejected], [5, 4, 0, 1]);

    const names = await wh.query<{ customer_id: string; name: string; city: string; country: string }>(
      'SELECT customer_id, name, city, country FROM dim_customer FINAL WHERE store_id = {s:String} AND is_inferred = 0 ORDER BY customer_id',
      { s: store },
    );
    assert.deepEqual(names, customers.map((x) => ({ ...x, country: x.country.toUpperCase() })), 'text exactly as written, whatever the encoding');
    const [sum] = await wh.query<{ g: string; n: string; cur: string }>(
      "SELECT toString(sum(gross)) AS g, toString(count()) AS n, arrayStringConcat(groupArray(currency), ',') AS cur FROM (SELECT gross, currency FROM fact_orders FINAL WHERE store_id = {s:String} ORDER BY order_id)",
      { s: store },
    );
    assert.equal(tenThousandths(sum!.g), expectedGross);
    assert.equal(sum!.n, String(validOrders.length));
    assert.equal(sum!.cur, validOrders.map((x) => x.currency.toUpperCase()).join(','));
    const rejects = await wh.query<{ row_number: string; field: string; reason_code: string; message: string }>(
      'SELECT toString(row_number) AS row_number, field, reason_code, message FROM rejected_records WHERE batch_id = {b:String}',
      { b: `${store}-orders` },
    );
    assert.deepEqual(rejects.map((r) => [r.row_number, r.field, r.reason_code]), [['4', 'gross', 'invalid_value']]);
    assert.match(rejects[0]!.message, /^row 4: gross "n\/a" is not a decimal number/);
    // k9 is unknown: an inferred member.
    const [k9] = await wh.query<{ i: string }>("SELECT toString(is_inferred) AS i FROM dim_customer FINAL WHERE store_id = {s:String} AND customer_id = 'k9'", { s: store });
    assert.equal(k9!.i, '1');
  });
}

// ---------------------------------------------------------------------------------------------
// Validation rules of every entity (orders' rules are in ingest-pipeline.test.ts)

async function* rowsOf(records: Record<string, unknown>[]): AsyncIterable<SourceRow> {
  let n = 0;
  for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
}

function load(store: string, entity: Entity, records: Record<string, unknown>[], timezone = 'UTC'): Promise<BatchResult> {
  return runBatch({ wh, storeId: store, batchId: `v${++seq}`, source: `${entity}.json`, entity, format: 'json', timezone, retentionDays: 30, rows: rowsOf(records), chunkSize: 4 });
}

/** [row, field, reason] of a batch's rejects, and checks each message names its row and field. */
async function rejectsOf(batchId: string): Promise<string[][]> {
  const rows = await wh.query<{ row_number: string; field: string; reason_code: string; message: string }>(
    'SELECT toString(row_number) AS row_number, field, reason_code, message FROM rejected_records WHERE batch_id = {b:String} ORDER BY row_number',
    { b: batchId },
  );
  for (const r of rows) assert.ok(r.message.startsWith(`row ${r.row_number}: ${r.field} `), `message names row and field: ${r.message}`);
  return rows.map((r) => [r.row_number, r.field, r.reason_code]);
}

const RULES: { entity: Entity; good: Record<string, unknown>; bad: [Record<string, unknown>, string, string][] }[] = [
  {
    entity: 'order_items',
    good: { order_id: 'vo1', line_number: 1, product_id: 'P1', quantity: 2, unit_price: '3.50' },
    bad: [
      [{ line_number: 0 }, 'line_number', 'out_of_range'],
      [{ quantity: 0 }, 'quantity', 'out_of_range'],
      [{ quantity: 'two' }, 'quantity', 'invalid_value'],
      [{ unit_price: '-1' }, 'unit_price', 'out_of_range'],
      [{ discount: '1.00001' }, 'discount', 'invalid_value'],
      [{ product_id: '' }, 'product_id', 'missing_field'],
      [{ order_id: 'nope' }, 'order_id', 'unknown_order'],
    ],
  },
  {
    entity: 'payments',
    good: { payment_id: 'pay1', order_id: 'vo1', method: 'Credit Card', amount: '7.00', status: 'paid', paid_at: '2024-03-01 11:00' },
    bad: [
      [{ method: 'barter' }, 'method', 'invalid_enum'],
      [{ amount: '-7' }, 'amount', 'out_of_range'],
      [{ status: 'maybe' }, 'status', 'invalid_enum'],
      [{ installments: 0 }, 'installments', 'out_of_range'],
      [{ paid_at: '' }, 'paid_at', 'missing_field'],
      [{ currency: 'euro' }, 'currency', 'invalid_value'],
      [{ order_id: 'nope' }, 'order_id', 'unknown_order'],
    ],
  },
  {
    entity: 'inventory',
    good: { snapshot_date: '2024-03-01', product_id: 'P1', warehouse_id: 'W1', on_hand: 5, reserved: 1, unit_cost: '1.25' },
    bad: [
      [{ snapshot_date: '2024-02-30' }, 'snapshot_date', 'invalid_value'],
      [{ reserved: -1 }, 'reserved', 'out_of_range'],
      [{ on_hand: 1.5 }, 'on_hand', 'invalid_value'],
      [{ warehouse_id: null }, 'warehouse_id', 'missing_field'],
      [{ unit_cost: '-0.01' }, 'unit_cost', 'out_of_range'],
    ],
  },
  {
    entity: 'customers',
    good: { customer_id: 'vc1', name: 'Vic', email: 'vic@example.com', country: 'fr', segment: 'VIP' },
    bad: [
      [{ email: 'not-an-email' }, 'email', 'invalid_value'],
      [{ country: 'France' }, 'country', 'invalid_value'],
      [{ customer_id: ' ' }, 'customer_id', 'missing_field'],
      [{ updated_at: '31/31/2024' }, 'updated_at', 'invalid_value'],
    ],
  },
  {
    entity: 'products',
    good: { product_id: 'vp1', name: 'Mug', category: 'Kitchen', list_price: '9.90', cost: '3' },
    bad: [
      [{ list_price: '-9.90' }, 'list_price', 'out_of_range'],
      [{ cost: 'cheap' }, 'cost', 'invalid_value'],
      [{ product_id: 'x'.repeat(201) }, 'product_id', 'invalid_value'],
    ],
  },
  {
    entity: 'events',
    good: { event_id: 've1', event_time: '2024-03-01T10:00:00Z', event_type: 'page_view', properties: { path: '/' } },
    bad: [
      [{ event_type: 'teleport' }, 'event_type', 'invalid_enum'],
      [{ event_time: 'later' }, 'event_time', 'invalid_value'],
      [{ properties: '[1,2]' }, 'properties', 'invalid_value'],
      [{ event_time: null }, 'event_time', 'missing_field'],
    ],
  },
];

test('every validation rule of items, payments, inventory, customers, products and events rejects with row, field and reason', async () => {
  const store = 'rules';
  await load(store, 'orders', [{ order_id: 'vo1', customer_id: 'vc1', status: 'paid', created_at: '2024-03-01 10:00', gross: '7' }]);
  for (const rule of RULES) {
    // Row 1 is good; each bad record is the good one with one field broken (distinct keys, so none is a duplicate).
    const records = [rule.good, ...rule.bad.map(([patch], i) => ({ ...rule.good, ...keyFor(rule.entity, i), ...patch }))];
    const r = await load(store, rule.entity, records);
    assert.deepEqual([r.read, r.inserted, r.rejected], [records.length, 1, rule.bad.length], rule.entity);
    assert.deepEqual(await rejectsOf(r.batchId), rule.bad.map(([, field, reason], i) => [String(i + 2), field, reason]), rule.entity);
  }
});

/** A distinct business key for the i-th bad record of an entity. */
function keyFor(entity: Entity, i: number): Record<string, unknown> {
  switch (entity) {
    case 'order_items':
      return { line_number: i + 2 };
    case 'payments':
      return { payment_id: `pay${i + 2}` };
    case 'inventory':
      return { warehouse_id: `W${i + 2}` };
    case 'customers':
      return { customer_id: `vc${i + 2}` };
    case 'products':
      return { product_id: `vp${i + 2}` };
    case 'events':
      return { event_id: `ve${i + 2}` };
    default:
      return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Corrections, inferred members, SCD2 attribution, reconciliation

const order = (id: string, extra: Record<string, unknown> = {}) => ({ order_id: id, customer_id: 'm1', status: 'paid', created_at: '2024-04-01 10:00:00', gross: '10', ...extra });

test('a record moved to another day and back: every step replaces the old row; repeating a step changes nothing', async () => {
  const store = 'moves';
  const state = async () =>
    wh.query<{ d: string; g: string }>("SELECT toString(toDate(created_at)) AS d, toString(gross) AS g FROM fact_orders FINAL WHERE store_id = {s:String} AND order_id = 'mv'", { s: store });
  await load(store, 'orders', [order('mv')]);
  const moved = await load(store, 'orders', [order('mv', { created_at: '2024-04-03 10:00:00', gross: '11' })]);
  assert.deepEqual([moved.inserted, moved.affected.days], [1, ['2024-04-01', '2024-04-03']]);
  assert.deepEqual(await state(), [{ d: '2024-04-03', g: '11' }]);
  const same = await load(store, 'orders', [order('mv', { created_at: '2024-04-03 10:00:00', gross: '11' })]);
  assert.deepEqual([same.inserted, same.unchanged, same.affected.days], [0, 1, []], 'the moved record again is unchanged');
  const back = await load(store, 'orders', [order('mv', { gross: '12' })]);
  assert.deepEqual([back.inserted, back.affected.days], [1, ['2024-04-01', '2024-04-03']]);
  assert.deepEqual(await state(), [{ d: '2024-04-01', g: '12' }]);
  const again = await load(store, 'orders', [order('mv', { gross: '12' })]);
  assert.deepEqual([again.inserted, again.unchanged], [0, 1]);
});

test('an inferred customer is completed by the later real record; orders join the SCD2 version valid at order time', async () => {
  const store = 'scd';
  await load(store, 'orders', [order('s1', { customer_id: 'm1', created_at: '2024-01-10 10:00:00' }), order('s2', { customer_id: 'm1', created_at: '2024-06-10 10:00:00' })]);
  const [inferred] = await wh.query<{ i: string }>("SELECT toString(is_inferred) AS i FROM dim_customer FINAL WHERE store_id = 'scd' AND customer_id = 'm1'");
  assert.equal(inferred!.i, '1');
  await load(store, 'customers', [
    { customer_id: 'm1', name: 'Mia', country: 'DE', segment: 'standard', updated_at: '2024-01-01T00:00:00Z' },
    { customer_id: 'm1', name: 'Mia', country: 'AT', segment: 'standard', updated_at: '2024-03-01T00:00:00Z' },
  ]);
  const versions = await wh.query<Record<string, string>>(
    "SELECT country, toString(is_inferred) AS i, toString(valid_from) AS vf, toString(is_current) AS cur FROM dim_customer FINAL WHERE store_id = 'scd' AND customer_id = 'm1' ORDER BY valid_from",
  );
  assert.deepEqual(versions, [
    { country: 'DE', i: '0', vf: '1970-01-01 00:00:00.000', cur: '0' },
    { country: 'AT', i: '0', vf: '2024-03-01 00:00:00.000', cur: '1' },
  ]);
  const attributed = await wh.query<{ order_id: string; country: string }>(
    `SELECT o.order_id AS order_id, c.country AS country
       FROM (SELECT order_id, customer_id, created_at FROM fact_orders FINAL WHERE store_id = 'scd') AS o
       INNER JOIN (SELECT customer_id, country, valid_from, valid_to FROM dim_customer FINAL WHERE store_id = 'scd') AS c ON o.customer_id = c.customer_id
      WHERE o.created_at >= c.valid_from AND o.created_at < c.valid_to ORDER BY o.order_id`,
  );
  assert.deepEqual(attributed, [{ order_id: 's1', country: 'DE' }, { order_id: 's2', country: 'AT' }]);
});

test('every batch this file loaded reconciles: read = inserted + unchanged + rejected, as stored in ingest_batches', async () => {
  const rows = await wh.query<{ n: string; ok: string; done: string }>(
    "SELECT toString(count()) AS n, toString(countIf(rows_read = rows_inserted + rows_unchanged + rows_rejected)) AS ok, toString(countIf(status = 'completed')) AS done FROM ingest_batches FINAL",
  );
  assert.ok(Number(rows[0]!.n) > 20);
  assert.deepEqual(rows[0], { n: rows[0]!.n, ok: rows[0]!.n, done: rows[0]!.n });
});
