/**
 * Acceptance test of the ingestion issue on the REAL UCI Online Retail file (541,909 invoice lines):
 * imported through the real path (the engine import, as the import job runs this format), then checked with plain SQL over the stored facts against an independent
 * reference computed from the raw CSV (test/support/online-retail-reference.ts), exact to 1/10000.
 * Imported a second time, nothing changes. The streaming path (openRecordStream + runBatch with the
 * online-retail mapper, the job's path for files the engine declines) stores exactly the same rows.
 *
 * Skipped when the file is not there (it lives outside the repository).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/config/paths.js';
import { parseConfig } from '../../src/config/config.js';
import { createWarehouse, type Warehouse } from '../../src/warehouse/client.js';
import { migrate } from '../../src/warehouse/migrations.js';
import { computeOnlineRetailReference, formatTenThousandths, type OnlineRetailTotals } from '../support/online-retail-reference.js';
import { batchRow, mib, one, RssSampler, tenThousandths } from '../support/import-helpers.js';
import { fingerprint, importInEngine, importStreaming } from '../support/online-retail-paths.js';
import { tempDir } from '../support/temp.js';

const file = path.join(projectRoot(), '..', 'shared', 'datasets', 'online-retail', 'online_retail.csv');
const present = fs.existsSync(file);
const skip = present ? false : `the real Online Retail file is absent (${file}); put the UCI online_retail.csv there to run this test`;

const STORE = 'online-retail-real';
const TZ = 'Europe/London';

const tmp = tempDir('ecomm-online-retail-');
let wh: Warehouse;

before(async () => {
  if (!present) return;
  wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
  await migrate(wh);
});
after(async () => {
  await wh?.close();
  tmp.cleanup();
});

/** The file through the engine import, as the import job runs it for this format. */
async function importOnce(batchId: string) {
  const r = await importInEngine({ wh, storeId: STORE, batchId, file, timezone: TZ });
  assert.ok(r, 'the engine import takes the real file');
  return r;
}

/** Every total the reference has, from plain SQL over the stored facts (FINAL). */
async function storedTotals() {
  const p = { s: STORE };
  const o = await one(
    wh,
    `SELECT toString(sumIf(net, order_kind = 'sale')) AS sales, toString(sum(refunded)) AS refunds, toString(sum(net)) AS net_total,
            toString(countIf(order_kind = 'sale')) AS sale_orders, toString(countIf(order_kind = 'refund')) AS refund_orders,
            toString(countIf(customer_id = '')) AS guest_orders, toString(countIf(customer_id = '' AND order_kind = 'sale')) AS guest_sale_orders,
            toString(uniqExactIf(customer_id, customer_id != '')) AS customers_with_orders, toString(count()) AS orders
       FROM fact_orders FINAL WHERE store_id = {s:String}`,
    p,
  );
  const i = await one(
    wh,
    `SELECT toString(count()) AS items, toString(sum(line_amount)) AS amount,
            toString(sumIf(line_amount, product_id IN (SELECT product_id FROM dim_product FINAL WHERE store_id = {s:String} AND category = 'non-merchandise'))) AS non_merch
       FROM fact_order_items FINAL WHERE store_id = {s:String}`,
    p,
  );
  const pr = await one(
    wh,
    `SELECT toString(count()) AS products, toString(countIf(category = 'non-merchandise')) AS non_merch, toString(countIf(is_inferred = 1)) AS inferred
       FROM dim_product FINAL WHERE store_id = {s:String}`,
    p,
  );
  const c = await one(
    wh,
    `SELECT toString(uniqExact(customer_id)) AS customers, toString(countIf(is_current = 1)) AS current, toString(count()) AS versions,
            toString(countIf(is_inferred = 1)) AS inferred
       FROM dim_customer FINAL WHERE store_id = {s:String}`,
    p,
  );
  return {
    saleRevenue: tenThousandths(o.sales!),
    refundTotal: tenThousandths(o.refunds!),
    netRevenue: tenThousandths(o.net_total!),
    saleOrders: Number(o.sale_orders),
    cancellationOrders: Number(o.refund_orders),
    guestOrders: Number(o.guest_orders),
    guestSaleOrders: Number(o.guest_sale_orders),
    customersWithOrders: Number(o.customers_with_orders),
    orders: Number(o.orders),
    items: Number(i.items),
    itemAmount: tenThousandths(i.amount!),
    nonMerchandiseRevenue: tenThousandths(i.non_merch!),
    products: Number(pr.products),
    nonMerchandiseProducts: Number(pr.non_merch),
    inferredProducts: Number(pr.inferred),
    customers: Number(c.customers),
    currentCustomerRows: Number(c.current),
    customerVersions: Number(c.versions),
    inferredCustomers: Number(c.inferred),
  };
}

async function rejectsByReason(batchId: string): Promise<Record<string, number>> {
  const rows = await wh.query<{ reason_code: string; n: string }>(
    'SELECT reason_code, toString(count()) AS n FROM rejected_records WHERE store_id = {s:String} AND batch_id = {b:String} GROUP BY reason_code',
    { s: STORE, b: batchId },
  );
  return Object.fromEntries(rows.map((r) => [r.reason_code, Number(r.n)]));
}

const money = (v: bigint) => formatTenThousandths(v);
const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;

test('the real Online Retail file imports through the pipeline and reproduces the independent reference; a re-import changes nothing', { skip, timeout: 30 * 60_000 }, async (t) => {
  const refStarted = performance.now();
  const ref: OnlineRetailTotals = await computeOnlineRetailReference(file);
  const refMs = performance.now() - refStarted;
  const rejectedTotal = Object.values(ref.rejects).reduce((a, b) => a + b, 0);
  assert.equal(ref.lines, ref.acceptedLines + rejectedTotal, 'the reference itself reconciles');

  // --- first import ---------------------------------------------------------------------------
  const mem1 = new RssSampler();
  const first = await importOnce('online-retail-1');
  const peak1 = mem1.stop();
  t.diagnostic(
    `first import: ${first.read.toLocaleString('en-US')} rows in ${(first.ms / 1000).toFixed(1)} s = ${rate(first.read, first.ms)}; ` +
      `inserted ${first.inserted}, unchanged ${first.unchanged}, rejected ${first.rejected}; peak RSS ${mib(peak1)}`,
  );

  assert.deepEqual(
    { read: first.read, inserted: first.inserted, unchanged: first.unchanged, rejected: first.rejected },
    { read: ref.lines, inserted: ref.acceptedLines, unchanged: 0, rejected: rejectedTotal },
  );
  assert.deepEqual(first.rejectsByReason, ref.rejects);
  const b1 = await batchRow(wh, first.batchId);
  assert.deepEqual(b1, { status: 'completed', read: ref.lines, inserted: ref.acceptedLines, unchanged: 0, rejected: rejectedTotal });
  assert.equal(b1.read, b1.inserted + b1.unchanged + b1.rejected, 'ingest_batches: read = inserted + unchanged + rejected');

  // rejects per reason, as stored
  assert.deepEqual(await rejectsByReason(first.batchId), ref.rejects);
  const badRejects = await one(
    wh,
    `SELECT toString(countIf(row_number < 1 OR row_number > {n:UInt64})) AS out_of_file, toString(countIf(raw_payload = '')) AS no_raw,
            toString(countIf(field = '' AND reason_code != 'duplicate')) AS no_field
       FROM rejected_records WHERE store_id = {s:String} AND batch_id = {b:String}`,
    { s: STORE, b: first.batchId, n: ref.lines },
  );
  assert.deepEqual(badRejects, { out_of_file: '0', no_raw: '0', no_field: '0' }, 'each reject has its row number, its raw line and (but for duplicates) its column');

  // bronze: every source line, once
  const bronze = await one(
    wh,
    `SELECT toString(count()) AS n, toString(uniqExact(row_number)) AS distinct_rows, toString(min(row_number)) AS lo, toString(max(row_number)) AS hi,
            toString(countIf(payload = '')) AS empty
       FROM raw_order_items WHERE store_id = {s:String} AND batch_id = {b:String}`,
    { s: STORE, b: first.batchId },
  );
  assert.deepEqual(bronze, { n: String(ref.lines), distinct_rows: String(ref.lines), lo: '1', hi: String(ref.lines), empty: '0' }, 'every source line is in raw_order_items');

  // the totals, exact to 1/10000
  const stored = await storedTotals();
  t.diagnostic(
    `stored: sales ${money(stored.saleRevenue)}, refunds ${money(stored.refundTotal)}, net ${money(stored.netRevenue)} GBP; ` +
      `${stored.saleOrders} sale + ${stored.cancellationOrders} refund orders (${stored.guestOrders} guest); ${stored.customers} customers ` +
      `(${stored.customerVersions} versions); ${stored.products} products (${stored.nonMerchandiseProducts} non-merchandise)`,
  );
  assert.deepEqual(
    {
      sales: money(stored.saleRevenue),
      refunds: money(stored.refundTotal),
      net: money(stored.netRevenue),
      itemAmount: money(stored.itemAmount),
      nonMerchandiseRevenue: money(stored.nonMerchandiseRevenue),
    },
    {
      sales: money(ref.saleRevenue),
      refunds: money(ref.refundTotal),
      net: money(ref.netRevenue),
      itemAmount: money(ref.netRevenue),
      nonMerchandiseRevenue: money(ref.nonMerchandiseRevenue),
    },
  );
  assert.deepEqual(
    {
      saleOrders: stored.saleOrders,
      refundOrders: stored.cancellationOrders,
      guestOrders: stored.guestOrders,
      guestSaleOrders: stored.guestSaleOrders,
      customersWithOrders: stored.customersWithOrders,
      items: stored.items,
      products: stored.products,
      nonMerchandiseProducts: stored.nonMerchandiseProducts,
      inferredProducts: stored.inferredProducts,
      customers: stored.customers,
      currentCustomerRows: stored.currentCustomerRows,
      customerVersions: stored.customerVersions,
      inferredCustomers: stored.inferredCustomers,
    },
    {
      saleOrders: ref.saleOrders,
      refundOrders: ref.cancellationOrders,
      guestOrders: ref.guestOrders,
      guestSaleOrders: ref.guestSaleOrders,
      customersWithOrders: ref.customers,
      items: ref.acceptedLines,
      products: ref.products,
      nonMerchandiseProducts: ref.nonMerchandiseProducts,
      inferredProducts: 0,
      customers: ref.customers,
      currentCustomerRows: ref.customers,
      customerVersions: ref.customerVersions,
      inferredCustomers: 0,
    },
  );

  // every order's net is the sum of its items' line amounts; no item without its order
  const perOrder = await one(
    wh,
    `SELECT toString(count()) AS orders, toString(countIf(i.n = 0)) AS without_items, toString(countIf(o.net != i.s)) AS mismatched
       FROM (SELECT order_id, net FROM fact_orders FINAL WHERE store_id = {s:String}) AS o
       LEFT JOIN (SELECT order_id, sum(line_amount) AS s, count() AS n FROM fact_order_items FINAL WHERE store_id = {s:String} GROUP BY order_id) AS i
              ON o.order_id = i.order_id`,
    { s: STORE },
  );
  assert.deepEqual(perOrder, { orders: String(ref.saleOrders + ref.cancellationOrders), without_items: '0', mismatched: '0' }, 'order net = Σ item line_amount, for every order');
  const orphans = await one(
    wh,
    `SELECT toString(count()) AS n FROM fact_order_items FINAL
      WHERE store_id = {s:String} AND order_id NOT IN (SELECT order_id FROM fact_orders FINAL WHERE store_id = {s:String})`,
    { s: STORE },
  );
  assert.equal(orphans.n, '0', 'every item has its order');

  const physical = async () =>
    one(
      wh,
      `SELECT (SELECT toString(count()) FROM fact_orders WHERE store_id = {s:String}) AS orders,
              (SELECT toString(count()) FROM fact_order_items WHERE store_id = {s:String}) AS items`,
      { s: STORE },
    );
  const physicalBefore = await physical();

  // --- the same file again, as a new batch -----------------------------------------------------
  const mem2 = new RssSampler();
  const second = await importOnce('online-retail-2');
  const peak2 = mem2.stop();
  t.diagnostic(
    `re-import: ${second.read.toLocaleString('en-US')} rows in ${(second.ms / 1000).toFixed(1)} s = ${rate(second.read, second.ms)}; ` +
      `inserted ${second.inserted}, unchanged ${second.unchanged}, rejected ${second.rejected}; peak RSS ${mib(peak2)}`,
  );
  t.diagnostic(`reference pass over the raw CSV: ${(refMs / 1000).toFixed(1)} s`);
  assert.deepEqual(
    { read: second.read, inserted: second.inserted, unchanged: second.unchanged, rejected: second.rejected },
    { read: ref.lines, inserted: 0, unchanged: ref.acceptedLines, rejected: rejectedTotal },
  );
  assert.deepEqual(second.rejectsByReason, ref.rejects);
  assert.deepEqual(await batchRow(wh, second.batchId), { status: 'completed', read: ref.lines, inserted: 0, unchanged: ref.acceptedLines, rejected: rejectedTotal });
  assert.deepEqual(await rejectsByReason(second.batchId), ref.rejects);
  assert.deepEqual(await storedTotals(), stored, 'all totals unchanged by the re-import');
  assert.deepEqual(await physical(), physicalBefore, 'no new fact rows were written by the re-import');
});

test('the real Online Retail file: the streaming path stores exactly what the engine path stores', { skip, timeout: 30 * 60_000 }, async (t) => {
  const streamed = await importStreaming({ wh, storeId: 'online-retail-streamed', batchId: 'online-retail-streamed-1', file, timezone: TZ });
  t.diagnostic(`streaming import: ${(streamed.ms / 1000).toFixed(1)} s = ${rate(streamed.read, streamed.ms)}`);
  assert.deepEqual(await fingerprint(wh, 'online-retail-streamed', 'online-retail-streamed-1'), await fingerprint(wh, STORE, 'online-retail-1'));
});
