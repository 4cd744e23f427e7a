/**
 * Analytics benchmark (issue 4): a generated shop of BENCH_ITEMS order items (default 10 million,
 * made in the engine with numbers(), deterministic), > 2 years, 600k customers. Measures, side by
 * side in one run: a month of daily KPIs from the rollups vs the same numbers from the raw facts
 * (and checks they agree), re-aggregating one day after new data, the full cohort matrix, and an
 * anomaly run when src/analytics/anomalies.ts is there. Results: bench/RESULTS.md.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../src/config/config.js';
import { createWarehouse, type Warehouse } from '../src/warehouse/client.js';
import { migrate } from '../src/warehouse/migrations.js';
import { rebuildRollups } from '../src/analytics/rollups.js';
import { rebuildCohorts } from '../src/analytics/cohorts.js';
import { salesSeries, type SalesPoint } from '../src/warehouse/sales.queries.js';
import { retentionCohorts } from '../src/warehouse/cohorts.queries.js';
import { fmt, machineLine, writeResults } from './support.js';
import { tempDir } from '../test/support/temp.js';

const STORE = 'bench-shop';
const TZ = 'Europe/Berlin';
const START = '2023-01-01';
const DAYS = 760;
/** The last generated day (2023-01-01 + 759 days). */
const LAST_DAY = '2025-01-30';
const CUSTOMERS = 600_000;
const PRODUCTS = 2000;
const LONG = { maxExecutionTime: 3600 };

/** Deterministic per-line quantity and price (shared by orders and items so they agree). */
const QTY = (i: string, j: string) => `toDecimal64(1 + cityHash64(${i}, ${j}) % 3, 0)`;
const PRICE = (i: string, j: string) => `(toDecimal64(5 + cityHash64(${i}, ${j}, 1) % 200, 4) + toDecimal64('0.99', 4))`;

export async function generate(wh: Warehouse, orders: number): Promise<void> {
  const p = { store: STORE, n: orders, span: DAYS * 86400, customers: CUSTOMERS, products: PRODUCTS, start: `${START} 00:00:00` };
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, country: 'DE', currency: 'EUR', version: 1 }]);
  await wh.command(
    `INSERT INTO dim_product (store_id, product_id, sku, name, category, updated_at, version)
     SELECT {store:String}, concat('P', toString(number)), concat('SKU', toString(number)), concat('Product ', toString(number)),
            if(number = 0, 'non-merchandise', ['Apparel', 'Footwear', 'Electronics', 'Home', 'Beauty', 'Sports', 'Toys', 'Books'][1 + number % 8]),
            now64(3), 1
     FROM numbers({products:UInt32})`,
    p, LONG,
  );
  const base = `
    SELECT number AS i, 1 + i % 4 AS k, cityHash64(i) AS h,
           toDateTime64({start:String}, 3, 'UTC') + toIntervalSecond(intDiv(i * {span:UInt64}, {n:UInt64}) + h % 1800) AS ts
    FROM numbers({n:UInt64})`;
  await wh.command(
    `INSERT INTO fact_orders (store_id, order_id, order_kind, customer_id, status, created_at, channel, country, currency,
                              gross, discount, shipping, tax, net, refunded, updated_at, batch_id, version, is_deleted)
     SELECT {store:String}, concat('o', toString(i)), 'sale',
            if(h % 10 = 0, '', concat('c', toString(cityHash64(i, 7) % {customers:UInt32}))),
            multiIf(h % 100 < 3, 'cancelled', h % 100 < 11, 'returned', 'delivered') AS st,
            ts, ['web', 'mobile', 'marketplace'][1 + h % 3], ['DE', 'FR', 'NL', 'AT', 'BE', 'IT', 'ES', 'PL'][1 + intDiv(h, 7) % 8], 'EUR',
            g, d, sh, 0, g - d + sh, if(st = 'returned', if(h % 2 = 0, g - d + sh, toDecimal64(round(toFloat64(g) / 3, 2), 4)), toDecimal64(0, 4)),
            ts, 'bench', 1, 0
     FROM (
       SELECT *, CAST(arraySum(arrayMap(j -> ${QTY('i', 'j')} * ${PRICE('i', 'j')}, range(k))) AS Decimal(18, 4)) AS g,
              if(h % 5 = 0, toDecimal64(round(toFloat64(g) / 10, 2), 4), toDecimal64(0, 4)) AS d,
              if(g < 50, toDecimal64('4.99', 4), toDecimal64(0, 4)) AS sh
       FROM (${base}))`,
    p, LONG,
  );
  await wh.command(
    `INSERT INTO fact_order_items (store_id, order_id, line_number, product_id, created_at, quantity, unit_price, discount, line_amount, updated_at, batch_id, version, is_deleted)
     SELECT {store:String}, concat('o', toString(i)), j + 1, concat('P', toString(cityHash64(i, j, 2) % {products:UInt32})), ts,
            toInt32(${QTY('i', 'j')}), ${PRICE('i', 'j')}, 0, ${QTY('i', 'j')} * ${PRICE('i', 'j')}, ts, 'bench', 1, 0
     FROM (${base}) ARRAY JOIN range(k) AS j`,
    p, LONG,
  );
  await wh.command(
    `INSERT INTO fact_payments (store_id, payment_id, order_id, method, amount, currency, status, paid_at, updated_at, batch_id, version, is_deleted)
     SELECT {store:String}, concat('pay', order_id), order_id, ['card', 'paypal', 'bank_transfer', 'gift_card', 'cod'][1 + cityHash64(order_id) % 5],
            net, 'EUR', 'captured', created_at + toIntervalSecond(60), created_at, 'bench', 1, 0
     FROM fact_orders WHERE store_id = {store:String} AND status != 'cancelled'`,
    p, LONG,
  );
}

/** The month's daily KPIs straight from the facts, as an analyst would write it (no rollups). */
export const RAW_DAILY = `
  WITH o AS (
    SELECT order_id, customer_id, toDate(created_at, {tz:String}) AS day, order_kind = 'sale' AND status != 'cancelled' AS booked,
           status = 'cancelled' AS cancelled, booked AND (status IN ('returned', 'refunded') OR returned_at IS NOT NULL) AS returned,
           order_kind, net, refunded, discount
    FROM fact_orders FINAL
    WHERE store_id = {store:String} AND is_deleted = 0 AND toDate(created_at) BETWEEN {from:Date} - 1 AND {to:Date} + 1
  )
  SELECT toString(o.day) AS d,
         toDecimalString(sumIf(o.net, o.booked), 4) AS gross,
         toDecimalString(sumIf(o.refunded, o.booked) - sumIf(o.net, o.order_kind != 'sale'), 4) AS refunds,
         toDecimalString(sumIf(o.net - o.refunded, o.booked) + sumIf(o.net, o.order_kind != 'sale'), 4) AS net_rev,
         toDecimalString(sumIf(o.discount + i.disc, o.booked), 4) AS discounts,
         countIf(o.booked) AS orders, sumIf(i.n, o.booked) AS items, sumIf(i.q, o.booked) AS units,
         uniqExactIf(o.customer_id, o.booked AND o.customer_id != '') AS customers,
         uniqExactIf(o.customer_id, o.booked AND o.customer_id != '' AND f.first = o.day) AS new_customers,
         countIf(o.cancelled) AS cancelled, countIf(o.returned) AS returned
  FROM o
  LEFT JOIN (
    SELECT order_id, count() AS n, sum(quantity) AS q, sum(discount) AS disc FROM fact_order_items FINAL
    WHERE store_id = {store:String} AND is_deleted = 0 AND toDate(created_at) BETWEEN {from:Date} - 1 AND {to:Date} + 1 GROUP BY order_id
  ) AS i ON i.order_id = o.order_id
  LEFT JOIN (
    SELECT customer_id, min(toDate(created_at, {tz:String})) AS first FROM fact_orders FINAL
    WHERE store_id = {store:String} AND is_deleted = 0 AND order_kind = 'sale' AND status != 'cancelled' AND customer_id != ''
      AND customer_id IN (SELECT customer_id FROM o)
    GROUP BY customer_id
  ) AS f ON f.customer_id = o.customer_id
  WHERE o.day BETWEEN {from:Date} AND {to:Date}
  GROUP BY o.day ORDER BY o.day`;

interface RawDay {
  d: string; gross: string; refunds: string; net_rev: string; discounts: string; orders: string; items: string; units: string;
  customers: string; new_customers: string; cancelled: string; returned: string;
}

function compare(raw: RawDay[], series: SalesPoint[]): string[] {
  const bad: string[] = [];
  if (raw.length !== series.length) bad.push(`days: raw ${raw.length}, rollup ${series.length}`);
  raw.forEach((r, i) => {
    const s = series[i];
    const pairs: Array<[string, string | number, string | number | undefined]> = [
      ['day', r.d, s?.periodStart], ['gross', r.gross, s?.grossRevenue], ['refunds', r.refunds, s?.refunds], ['net', r.net_rev, s?.netRevenue],
      ['discounts', r.discounts, s?.discounts], ['orders', Number(r.orders), s?.orders], ['items', Number(r.items), s?.items],
      ['units', Number(r.units), s?.units], ['customers', Number(r.customers), s?.customers], ['new', Number(r.new_customers), s?.newCustomers],
      ['cancelled', Number(r.cancelled), s?.cancelledOrders], ['returned', Number(r.returned), s?.returnedOrders],
    ];
    for (const [k, a, b] of pairs) if (a !== b) bad.push(`${r.d} ${k}: raw ${a}, rollup ${b}`);
  });
  return bad;
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = (await fn()) as T;
  return { ms: performance.now() - t0, value };
}

/** Median of `runs` timings (after one warm-up run). */
async function median<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let value = (await fn()) as T;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await time(fn);
    ms.push(r.ms);
    value = r.value;
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[Math.floor(ms.length / 2)]!, value };
}

export async function runAnalyticsBench(): Promise<void> {
  const items = Number(process.env.BENCH_ITEMS ?? 10_000_000);
  const orders = Math.round(items / 2.5); // 1–4 lines per order, 2.5 on average
  const tmp = tempDir('ecomm-bench-analytics-');
  const wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
  const lines: string[] = [];
  try {
    await migrate(wh);
    const gen = await time(() => generate(wh, orders));
    const counts = (await wh.query<{ items: string; orders: string; customers: string; days: string }>(
      `SELECT (SELECT count() FROM fact_order_items) AS items, (SELECT count() FROM fact_orders) AS orders,
              (SELECT uniqExact(customer_id) FROM fact_orders WHERE customer_id != '') AS customers,
              (SELECT dateDiff('day', min(toDate(created_at)), max(toDate(created_at))) + 1 FROM fact_orders) AS days`,
      {}, LONG,
    ))[0]!;
    console.log(`generated ${counts.items} items, ${counts.orders} orders, ${counts.customers} customers over ${counts.days} days in ${fmt(gen.ms / 1000, 1)} s`);
    const full = await time(() => rebuildRollups(wh, { storeId: STORE }));
    console.log(`full rollup rebuild: ${fmt(full.ms / 1000, 1)} s, ${full.value.rows} rows`);

    // 1. A month of daily KPIs: rollup vs raw facts, same numbers.
    const month = { from: '2024-06-01', to: '2024-06-30' };
    const rollup = await median(5, () => salesSeries(wh, { storeId: STORE, range: month, granularity: 'DAY' }));
    const raw = await median(5, () => wh.query<RawDay>(RAW_DAILY, { store: STORE, tz: TZ, ...month }, LONG));
    const mismatches = compare(raw.value, rollup.value);
    console.log(`month of daily KPIs: rollup ${fmt(rollup.ms, 1)} ms, raw ${fmt(raw.ms, 1)} ms; mismatches: ${mismatches.length}`);
    if (mismatches.length > 0) console.log(mismatches.slice(0, 10).join('\n'));

    // 2. New data for one day, then re-aggregating that day: the latest day (the usual case), and a
    //    day months back (late data: it can change customers' first purchase, so more days follow).
    const extra = 2000;
    const reaggregate = async (day: string, tag: string, repeat: boolean) => {
      const p = { store: STORE, day, extra, tag };
      await wh.command(
        `INSERT INTO fact_orders (store_id, order_id, order_kind, customer_id, status, created_at, channel, country, currency, gross, net, updated_at, batch_id, version)
         SELECT {store:String}, concat({tag:String}, toString(number)), 'sale', concat('c', toString(cityHash64(number, {tag:String}) % 700000)), 'delivered',
                toDateTime64(concat({day:String}, ' 10:00:00'), 3, 'UTC') + toIntervalSecond(number), 'web', 'DE', 'EUR', 25, 25, now64(3), {tag:String}, 2
         FROM numbers({extra:UInt32})`,
        p, LONG,
      );
      await wh.command(
        `INSERT INTO fact_order_items (store_id, order_id, line_number, product_id, created_at, quantity, unit_price, line_amount, updated_at, batch_id, version)
         SELECT {store:String}, concat({tag:String}, toString(number)), 1, 'P7', toDateTime64(concat({day:String}, ' 10:00:00'), 3, 'UTC') + toIntervalSecond(number),
                1, 25, 25, now64(3), {tag:String}, 2
         FROM numbers({extra:UInt32})`,
        p, LONG,
      );
      const run = await time(() => rebuildRollups(wh, { storeId: STORE, from: day, to: day }));
      // For the latest day, the same rebuild 4 more times (the same work: no first purchase moves), median of 5.
      const again: number[] = [run.ms];
      for (let i = 0; repeat && i < 4; i++) again.push((await time(() => rebuildRollups(wh, { storeId: STORE, from: day, to: day }))).ms);
      run.ms = [...again].sort((a, b) => a - b)[Math.floor(again.length / 2)]!;
      const dayRaw = await wh.query<RawDay>(RAW_DAILY, { store: STORE, tz: TZ, from: day, to: day }, LONG);
      const daySeries = await salesSeries(wh, { storeId: STORE, range: { from: day, to: day }, granularity: 'DAY' });
      const bad = compare(dayRaw, daySeries);
      console.log(`re-aggregating ${day} after ${extra} new orders: median ${fmt(run.ms, 0)} ms of ${again.map((x) => fmt(x, 0)).join(', ')} (${run.value.days?.length} days rebuilt); mismatches: ${bad.length}`);
      return { ms: run.ms, runs: again, days: run.value.days?.length ?? 0, ok: bad.length === 0 };
    };
    const latest = await reaggregate(LAST_DAY, 'new', true);
    const late = await reaggregate('2024-09-10', 'late', false);

    // 3. Cohorts: rebuild, then the full matrix (all monthly cohorts × 26 periods, all weekly × 110).
    const cohortBuild = await time(() => rebuildCohorts(wh, { storeId: STORE }));
    const all = { from: '2000-01-01', to: '2099-12-31' };
    const monthly = await median(5, () => retentionCohorts(wh, { storeId: STORE, range: all, granularity: 'MONTH', periods: 26 }));
    const weekly = await median(5, () => retentionCohorts(wh, { storeId: STORE, range: all, granularity: 'WEEK', periods: 110 }));
    console.log(`cohorts: rebuild ${fmt(cohortBuild.ms, 0)} ms; monthly matrix ${fmt(monthly.ms, 1)} ms (${monthly.value.length} cohorts); weekly ${fmt(weekly.ms, 1)} ms (${weekly.value.length})`);

    // 4. Anomaly run (engineer C1's), when present.
    let anomalyLine = '| anomaly run, all series | not measured (src/analytics/anomalies.ts absent) | ≤ 5 s |';
    try {
      const mod = (await import('../src/analytics/anomalies.js')) as { runAnomalies?: (wh: Warehouse, o: { storeId: string; runId: string }) => Promise<{ rows: number; series?: number }> };
      if (mod.runAnomalies) {
        const run = await time(() => mod.runAnomalies!(wh, { storeId: STORE, runId: 'bench-run' }));
        anomalyLine = `| anomaly run, all series (runAnomalies, ${run.value.series ?? '?'} series, ${run.value.rows} detections) | ${fmt(run.ms, 0)} ms | ≤ 5 s |`;
        console.log(`anomalies: ${fmt(run.ms, 0)} ms`);
      }
    } catch (err) {
      anomalyLine = `| anomaly run, all series | failed: ${(err as Error).message.slice(0, 120)} | ≤ 5 s |`;
    }

    lines.push(
      `Generated in the engine (\`bench/analytics.bench.ts\`, numbers(), deterministic): ${fmt(Number(counts.items))} order items, ` +
        `${fmt(Number(counts.orders))} orders, ${fmt(Number(counts.customers))} customers, ${counts.days} days (${START} on), store time zone ${TZ}. ` +
        `${machineLine()}; embedded engine (chdb). Generation ${fmt(gen.ms / 1000, 1)} s; full rollup rebuild ${fmt(full.ms / 1000, 1)} s (${fmt(full.value.rows)} rows); ` +
        `cohort rebuild ${fmt(cohortBuild.ms / 1000, 2)} s.`,
      '',
      '| measure | result | target |',
      '| --- | --- | --- |',
      `| a month of daily KPIs (30 days × 16 KPIs): rollup (\`salesSeries\` DAY) | ${fmt(rollup.ms, 1)} ms (median of 5) | |`,
      `| the same from the raw facts (FINAL, plain SQL) | ${fmt(raw.ms, 1)} ms (median of 5) | |`,
      `| speed-up | **${fmt(raw.ms / rollup.ms, 1)}×** | ≥ 20× |`,
      `| rollup and raw numbers agree (every day, every KPI) | ${mismatches.length === 0 ? 'yes' : `NO: ${mismatches.length} differences`} | |`,
      `| re-aggregating the latest day after ${extra} new orders (\`rebuildRollups\` from = to = ${LAST_DAY}) | ${fmt(latest.ms, 0)} ms, median of 5 runs (${latest.runs.map((x) => fmt(x, 0)).join(', ')} ms; the first rebuilt ${latest.days} day${latest.days === 1 ? '' : 's'}, the repeats 1); agrees with raw: ${latest.ok ? 'yes' : 'NO'} | ≤ 1 s |`,
      `| re-aggregating a day 4½ months back after ${extra} late orders (first purchases move: more days rebuilt) | ${fmt(late.ms, 0)} ms, one run (${late.days} days); agrees with raw: ${late.ok ? 'yes' : 'NO'} | |`,
      `| full cohort matrix, monthly (${monthly.value.length} cohorts × ≤ 26 periods, \`retentionCohorts\`) | ${fmt(monthly.ms, 1)} ms | ≤ 2 s |`,
      `| full cohort matrix, weekly (${weekly.value.length} cohorts × ≤ 110 periods) | ${fmt(weekly.ms, 1)} ms | ≤ 2 s |`,
      `| rebuilding the cohort matrix from the facts (\`rebuildCohorts\`) | ${fmt(cohortBuild.ms, 0)} ms | |`,
      anomalyLine,
      '',
      'Raw = the plain SQL `RAW_DAILY` in bench/analytics.bench.ts: fact_orders and fact_order_items with FINAL, first purchases looked up ' +
        'over all orders. The re-aggregations run `rebuildRollups` for one day after inserting 2,000 orders (some of new customers) into it; ' +
        `the later day's data moves some customers' first purchase, so the days where they were new are rebuilt too. Load average during the run: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (shared machine).`,
    );
    writeResults('Analytics (issue 4)', lines.join('\n'));
  } finally {
    await wh.close();
    tmp.cleanup();
  }
}
