import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { createWarehouse, type Warehouse } from '../../src/warehouse/client.js';
import { migrate } from '../../src/warehouse/migrations.js';
import { calendarRows, fillCalendar, isoWeek } from '../../src/warehouse/calendar.js';
import { generateDemoShop, loadDemoShop, type DemoLoadCounts, type DemoShop } from '../../src/demo/index.js';
import { tempDir } from '../support/temp.js';

/** A decimal string with up to 4 decimals ("12.3400", "-5", "7.5") → integer cents (exact, no floats). */
function cents(s: string): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(s));
  assert.ok(m, `not a decimal: ${s}`);
  const frac = (m[3] ?? '').padEnd(4, '0');
  assert.equal(frac.slice(2), '00', `${s} has sub-cent digits`);
  const v = Number(m[2]) * 100 + Number(frac.slice(0, 2));
  return m[1] ? -v : v;
}

const sumCents = <T>(rows: readonly T[], pick: (r: T) => string): number => rows.reduce((s, r) => s + cents(pick(r)), 0);

describe('demo shop in the embedded warehouse', () => {
  const tmp = tempDir('ecomm-demo-load-');
  let wh: Warehouse;
  let shop: DemoShop;
  let counts: DemoLoadCounts;

  before(async () => {
    wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
    await migrate(wh);
    shop = generateDemoShop({ seed: 7, scale: 0.1 });
    counts = await loadDemoShop(wh, shop);
  });

  after(async () => {
    await wh?.close();
    tmp.cleanup();
  });

  const one = async (sql: string, params: Record<string, unknown> = {}): Promise<Record<string, string>> => {
    const rows = await wh.query<Record<string, string>>(sql, params);
    assert.equal(rows.length, 1);
    return rows[0]!;
  };

  it('returns the rows it inserted per table', () => {
    assert.deepEqual(counts, {
      dim_store: 1,
      dim_customer: shop.customers.length,
      dim_product: shop.products.length,
      dim_date: 730, // 2025 and 2026
      fact_orders: shop.orders.length,
      fact_order_items: shop.order_items.length,
      fact_payments: shop.payments.length,
      fact_inventory_snapshots: shop.inventory.length,
      fact_events: shop.events.length,
    });
  });

  it('holds the same counts and sums as the generated arrays', async () => {
    const store = { store: 'demo' };
    const orders = await one(
      'SELECT count() AS n, sum(gross) AS gross, sum(discount) AS discount, sum(shipping) AS shipping, sum(tax) AS tax, sum(net) AS net, sum(refunded) AS refunded, countIf(customer_id = \'\') AS guests FROM fact_orders FINAL WHERE store_id = {store:String}',
      store,
    );
    assert.equal(Number(orders.n), shop.orders.length);
    for (const k of ['gross', 'discount', 'shipping', 'tax', 'net', 'refunded'] as const) {
      assert.equal(cents(orders[k]!), sumCents(shop.orders, (o) => o[k]), `sum(${k})`);
    }
    assert.equal(Number(orders.guests), shop.orders.filter((o) => o.customer_id === '').length);

    const items = await one('SELECT count() AS n, sum(line_amount) AS amount, sum(quantity) AS qty FROM fact_order_items FINAL WHERE store_id = {store:String}', store);
    assert.equal(Number(items.n), shop.order_items.length);
    assert.equal(cents(items.amount!), sumCents(shop.order_items, (i) => i.line_amount));
    assert.equal(Number(items.qty), shop.order_items.reduce((s, i) => s + i.quantity, 0));
    // Gross per order equals its items in the warehouse, too.
    const mismatched = await one(
      `SELECT count() AS n FROM (SELECT order_id, gross FROM fact_orders FINAL WHERE store_id = {store:String}) AS o
       LEFT JOIN (SELECT order_id, sum(line_amount) AS s FROM fact_order_items FINAL WHERE store_id = {store:String} GROUP BY order_id) AS i
       USING order_id WHERE o.gross != i.s`,
      store,
    );
    assert.equal(Number(mismatched.n), 0);

    const payments = await one('SELECT count() AS n, sumIf(amount, status = \'captured\') AS captured, sumIf(amount, status = \'refunded\') AS refunded FROM fact_payments FINAL WHERE store_id = {store:String}', store);
    assert.equal(Number(payments.n), shop.payments.length);
    assert.equal(cents(payments.captured!), sumCents(shop.payments.filter((p) => p.status === 'captured'), (p) => p.amount));
    assert.equal(cents(payments.refunded!), sumCents(shop.orders, (o) => o.refunded));

    const inventory = await one('SELECT count() AS n, sum(on_hand) AS on_hand FROM fact_inventory_snapshots FINAL WHERE store_id = {store:String}', store);
    assert.equal(Number(inventory.n), shop.inventory.length);
    assert.equal(Number(inventory.on_hand), shop.inventory.reduce((s, i) => s + i.on_hand, 0));

    const events = await one('SELECT count() AS n, countIf(event_type = \'purchase\') AS purchases FROM fact_events FINAL WHERE store_id = {store:String}', store);
    assert.equal(Number(events.n), shop.events.length);
    assert.equal(Number(events.purchases), shop.events.filter((e) => e.event_type === 'purchase').length);

    const products = await one('SELECT count() AS n, sum(list_price) AS list FROM dim_product FINAL WHERE store_id = {store:String}', store);
    assert.equal(Number(products.n), shop.products.length);
    assert.equal(cents(products.list!), sumCents(shop.products, (p) => p.list_price));

    const storeRow = await one('SELECT name, country, currency, timezone FROM dim_store FINAL WHERE store_id = {store:String}', store);
    assert.deepEqual(storeRow, { name: 'Demo Shop', country: 'DE', currency: 'EUR', timezone: 'Europe/Berlin' });
  });

  it('keeps dim_customer as SCD2 with exactly one current version per customer', async () => {
    const distinct = new Set(shop.customers.map((c) => c.customer_id));
    const totals = await one(
      'SELECT count() AS n, uniqExact(customer_id) AS customers, countIf(is_current = 1) AS current FROM dim_customer FINAL WHERE store_id = {store:String}',
      { store: 'demo' },
    );
    assert.equal(Number(totals.n), shop.customers.length);
    assert.equal(Number(totals.customers), distinct.size);
    assert.equal(Number(totals.current), distinct.size);
    const notOne = await one(
      'SELECT count() AS n FROM (SELECT customer_id, sum(is_current) AS c FROM dim_customer FINAL WHERE store_id = {store:String} GROUP BY customer_id) WHERE c != 1',
      { store: 'demo' },
    );
    assert.equal(Number(notOne.n), 0);
    // Versions tile time: each closed version ends where the next begins; the current one is open.
    const gaps = await one(
      `SELECT countIf(is_current = 0 AND valid_to != next_from) AS gaps, countIf(is_current = 1 AND toYear(valid_to) != 2299) AS closed_current
       FROM (SELECT is_current, valid_to,
                    leadInFrame(valid_from) OVER (PARTITION BY customer_id ORDER BY valid_from ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next_from
             FROM dim_customer FINAL WHERE store_id = {store:String})`,
      { store: 'demo' },
    );
    assert.deepEqual({ gaps: Number(gaps.gaps), closed: Number(gaps.closed_current) }, { gaps: 0, closed: 0 });
    const changed = await one('SELECT count() AS n FROM (SELECT customer_id FROM dim_customer FINAL WHERE store_id = {store:String} GROUP BY customer_id HAVING count() > 1)', { store: 'demo' });
    assert.ok(Number(changed.n) > 0);
  });

  it('fills dim_date with the country\'s public holidays and correct ISO weeks', async () => {
    const holiday = async (country: string, date: string) =>
      one('SELECT is_holiday, holiday_name FROM dim_date FINAL WHERE country = {country:String} AND date = {date:Date}', { country, date });
    assert.equal(Number((await holiday('DE', '2025-12-25')).is_holiday), 1);
    assert.equal(Number((await holiday('DE', '2026-10-03')).is_holiday), 1); // German Unity Day
    assert.equal(Number((await holiday('DE', '2026-07-15')).is_holiday), 0);
    assert.match((await holiday('DE', '2026-04-03')).holiday_name!, /Good Friday/);

    assert.equal(await fillCalendar(wh, 'us', 2024, 2024), 366);
    assert.equal(Number((await holiday('US', '2024-07-04')).is_holiday), 1);
    assert.equal(Number((await holiday('US', '2024-11-28')).is_holiday), 1); // Thanksgiving
    assert.equal(Number((await holiday('US', '2024-12-25')).is_holiday), 1);

    assert.equal(await fillCalendar(wh, 'DE', 2020, 2021), 731);
    const week = async (date: string) => {
      const r = await one('SELECT iso_year, iso_week, day_of_week, is_weekend FROM dim_date FINAL WHERE country = \'DE\' AND date = {date:Date}', { date });
      return [Number(r.iso_year), Number(r.iso_week), Number(r.day_of_week), Number(r.is_weekend)];
    };
    assert.deepEqual(await week('2021-01-03'), [2020, 53, 7, 1]);
    assert.deepEqual(await week('2021-01-04'), [2021, 1, 1, 0]);
    assert.deepEqual(await week('2020-12-31'), [2020, 53, 4, 0]);
    assert.deepEqual(await week('2026-12-31'), [2026, 53, 4, 0]);
    assert.deepEqual(isoWeek(new Date('2024-12-30T00:00:00Z')), { isoYear: 2025, isoWeek: 1 });

    // A country date-holidays does not know: a calendar without holidays.
    assert.equal(await fillCalendar(wh, 'XX', 2024, 2024), 366);
    const xx = await one('SELECT count() AS n, sum(is_holiday) AS h, sum(is_weekend) AS w FROM dim_date FINAL WHERE country = \'XX\'');
    assert.deepEqual([Number(xx.n), Number(xx.h), Number(xx.w)], [366, 0, 104]);

    // Every row agrees with ClickHouse's own calendar functions.
    const wrong = await one(
      `SELECT count() AS n FROM dim_date FINAL
       WHERE iso_week != toISOWeek(date) OR iso_year != toISOYear(date) OR day_of_week != toDayOfWeek(date)
          OR year != toYear(date) OR month != toMonth(date) OR quarter != toQuarter(date)`,
    );
    assert.equal(Number(wrong.n), 0);
    assert.throws(() => calendarRows('DE', 2030, 2020), RangeError);
  });
});
