import type { QueryOptions, Warehouse } from '../warehouse/client.js';

/** Rebuilds are jobs: they may take longer than an API query. */
const LONG: QueryOptions = { maxExecutionTime: 3600 };
import { daysBetween, dayScope, ordersSql, salesLinesSql, scopeParams, type DayScope } from '../warehouse/sales-lines.js';
import { storeTimezone } from '../warehouse/store-timezone.js';
import { fitsOneQuery } from '../warehouse/key-lookup.js';

export interface RebuildRollupsOptions {
  storeId: string;
  /** First store-local date (YYYY-MM-DD) to rebuild. Omitted with `to`: everything is rebuilt. */
  from?: string;
  /** Last store-local date (inclusive). */
  to?: string;
}

export interface RebuildRollupsResult {
  /** Rows written (new rows of gold_sales_daily, gold_sales_category_daily, gold_sales_product_daily and gold_payments_daily). */
  rows: number;
  /** The store-local days rebuilt: the range plus the days it made stale (null = everything). */
  days: string[] | null;
}

let versionSeq = 0n;
/** A version newer than any earlier rebuild's; a rebuild uses it (tombstones) and it + 1 (rows). */
function nextVersion(): bigint {
  versionSeq = (versionSeq + 2n) % 1000n;
  return BigInt(Date.now()) * 1000n + versionSeq;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Days rebuilt per statement: bounds the engine's memory on large rebuilds. */
const CHUNK_DAYS = 31;

/**
 * Recomputes the gold sales rollups of a store for the store-local days from..to (or every day)
 * from the deduplicated facts, and replaces them: groups of those days that no longer exist get a
 * tombstone, so a rebuild after late, corrected or repeated data equals a full rebuild.
 *
 * Also rebuilt, because the range's data decides them: the first-purchase dates of the customers
 * it touches (and so the days where one of them was, or now is, "new"), and the days of orders
 * whose payments fall in the range (a payment decides its order's payment method).
 * Concurrent rebuilds of one store should be serialised by the caller.
 */
export async function rebuildRollups(wh: Warehouse, opts: RebuildRollupsOptions): Promise<RebuildRollupsResult> {
  const { storeId } = opts;
  const tz = await storeTimezone(wh, storeId);
  const base = { store: storeId, tz };
  let scope: DayScope | null = null;
  if (opts.from !== undefined || opts.to !== undefined) {
    for (const d of [opts.from, opts.to]) if (d !== undefined && !DATE.test(d)) throw new RangeError(`rebuildRollups: ${d} is not a YYYY-MM-DD date`);
    const bounds = opts.from === undefined || opts.to === undefined ? await dataBounds(wh, storeId, tz) : null;
    const from = opts.from ?? bounds?.from;
    const to = opts.to ?? bounds?.to;
    if (!from || !to) return { rows: 0, days: [] };
    if (from > to) throw new RangeError(`rebuildRollups: from ${from} is after to ${to}`);
    scope = dayScope(daysBetween(from, to));
  }
  const v = nextVersion();

  // 1. First purchases of the touched customers; days whose "new" status changes join the scope.
  const extra = new Set<string>();
  const fpParams: Record<string, unknown> = { ...base, ...scopeParams(scope), version: v.toString() };
  const sets = scope ? await scopeCustomers(wh, fpParams) : null;
  if (scope && sets) {
    for (const d of await staleFirstPurchaseDays(wh, fpParams, sets)) extra.add(d);
    for (const d of await orderDaysOfPayments(wh, base, scope)) extra.add(d);
  }
  await refreshFirstPurchases(wh, fpParams, sets);
  if (scope) {
    const missing = [...extra].filter((d) => !scope!.days.includes(d));
    if (missing.length > 0) scope = dayScope([...scope.days, ...missing]);
  }
  const params = { ...base, ...scopeParams(scope), version: (v + 1n).toString(), tomb: v.toString() };
  const dayFilter = scope ? 'AND date IN {days:Array(Date)}' : '';

  // 2. All three grains in one pass over the fact lines (gold_sales_staging routes them to their
  //    tables), a month of days at a time to bound memory; then the stale groups tombstoned.
  let chunks: DayScope[];
  if (scope) {
    chunks = [];
    for (let i = 0; i < scope.days.length; i += CHUNK_DAYS) chunks.push(dayScope(scope.days.slice(i, i + CHUNK_DAYS)));
  } else {
    const bounds = await dataBounds(wh, storeId, tz);
    const all = bounds ? daysBetween(bounds.from, bounds.to) : [];
    chunks = [];
    for (let i = 0; i < all.length; i += CHUNK_DAYS) chunks.push(dayScope(all.slice(i, i + CHUNK_DAYS)));
  }
  for (const chunk of chunks) {
    await wh.command(
      `INSERT INTO gold_sales_staging
         (store_id, grain, date, country, channel, payment_method, category, product_id, gross_revenue, refunds, net_revenue, discounts,
          orders, items, units, cancelled_orders, cancelled_value, returned_orders, returned_value,
          orders_state, cancelled_orders_state, returned_orders_state, customers_state, new_customers_state, version, is_deleted)
       SELECT {store:String},
              multiIf(grouping(payment_method) = 0, 'order', grouping(product_id) = 0, 'product', 'category'),
              day, country, channel, payment_method, category, product_id,
              sum(a_gross), sum(a_refund), sum(a_gross - a_refund), sum(a_disc),
              countIf(is_booked AND is_first), countIf(is_booked AND has_line), sumIf(toInt64(quantity), is_booked AND has_line),
              countIf(is_cancelled AND is_first), sum(a_cancel), countIf(is_returned AND is_first), sum(a_return),
              uniqExactStateIf(order_id, is_booked), uniqExactStateIf(order_id, is_cancelled), uniqExactStateIf(order_id, is_returned),
              uniqExactStateIf(customer_id, is_booked AND customer_id != ''), uniqExactStateIf(customer_id, is_new),
              {version:UInt64}, 0
       FROM (${salesLinesSql(true)})
       GROUP BY GROUPING SETS ((day, country, channel, payment_method), (day, country, channel, category), (day, category, product_id))`,
      { ...params, ...scopeParams(chunk) },
      LONG,
    );
  }
  await tombstone(wh, 'gold_sales_daily', ['date', 'country', 'channel', 'payment_method'], dayFilter, params);
  await tombstone(wh, 'gold_sales_category_daily', ['date', 'country', 'channel', 'category'], dayFilter, params);
  await tombstone(wh, 'gold_sales_product_daily', ['date', 'category', 'product_id'], dayFilter, params);

  // 4. Payments by method and status, by the local date of the payment.
  await wh.command(
    `INSERT INTO gold_payments_daily (store_id, date, method, status, payments, amount, orders_state, version, is_deleted)
     SELECT {store:String}, pay_day, method, status, count(), sum(amount), uniqExactState(order_id), {version:UInt64}, 0
     FROM (
       SELECT toDate(paid_at, {tz:String}) AS pay_day, method, status, amount, order_id
       FROM fact_payments FINAL
       WHERE store_id = {store:String} AND is_deleted = 0
         ${scope ? 'AND toDate(paid_at) BETWEEN {utcFrom:Date} AND {utcTo:Date}' : ''}
     )
     ${scope ? 'WHERE pay_day IN {days:Array(Date)}' : ''}
     GROUP BY pay_day, method, status`,
    params,
    LONG,
  );
  await tombstone(wh, 'gold_payments_daily', ['date', 'method', 'status'], dayFilter, params);

  const counts = await wh.query<{ n: string }>(
    `SELECT (SELECT count() FROM gold_sales_daily WHERE store_id = {store:String} AND version = {version:UInt64} ${dayFilter})
          + (SELECT count() FROM gold_sales_category_daily WHERE store_id = {store:String} AND version = {version:UInt64} ${dayFilter})
          + (SELECT count() FROM gold_sales_product_daily WHERE store_id = {store:String} AND version = {version:UInt64} ${dayFilter})
          + (SELECT count() FROM gold_payments_daily WHERE store_id = {store:String} AND version = {version:UInt64} ${dayFilter}) AS n`,
    params,
  );
  return { rows: Number(counts[0]?.n ?? 0), days: scope ? scope.days : null };
}

/** Tombstones the groups of the scope that the rebuild (version {version}) did not write again. */
async function tombstone(wh: Warehouse, table: string, keys: string[], dayFilter: string, params: Record<string, unknown>) {
  const cols = keys.join(', ');
  await wh.command(
    `INSERT INTO ${table} (store_id, ${cols}, version, is_deleted)
     SELECT store_id, ${cols}, {tomb:UInt64}, 1 FROM ${table} FINAL
     WHERE store_id = {store:String} ${dayFilter} AND version < {version:UInt64}`,
    params,
    LONG,
  );
}

/** First and last store-local order dates of the store, or null without orders. */
async function dataBounds(wh: Warehouse, storeId: string, tz: string): Promise<{ from: string; to: string } | null> {
  const rows = await wh.query<{ lo: string; hi: string; n: string }>(
    `SELECT toString(min(toDate(created_at, {tz:String}))) AS lo, toString(max(toDate(created_at, {tz:String}))) AS hi, count() AS n
     FROM fact_orders WHERE store_id = {store:String}`,
    { store: storeId, tz },
    LONG,
  );
  const r = rows[0];
  return r && Number(r.n) > 0 ? { from: r.lo, to: r.hi } : null;
}

/** First purchase (local date of the first non-cancelled sale) per customer, from the facts. */
const FRESH_FIRST = `
  SELECT customer_id, min(toDate(created_at, {tz:String})) AS first_day
  FROM fact_orders FINAL
  WHERE store_id = {store:String} AND is_deleted = 0 AND order_kind = 'sale' AND status != 'cancelled' AND customer_id != ''`;

/**
 * The scope's customers whose stored first purchase is on one of its days (`stored`), and those of
 * them who no longer buy in it on or before that day (`lost`: a correction or cancellation; their
 * first purchase must be looked up in the whole history; null when there are none), each as SQL
 * that selects their customer_id.
 */
interface ScopeCustomers {
  stored: string;
  lost: string | null;
}

/** The scope's stored first purchases, with whether each customer lost it (see ScopeCustomers). */
function storedInScopeSql(): string {
  return `
    SELECT s.customer_id AS customer_id, a.first_in_scope = toDate(0) OR a.first_in_scope > s.first_date AS lost
    FROM (SELECT customer_id, first_date FROM gold_customer_first_purchase FINAL
          WHERE store_id = {store:String} AND first_date IN {days:Array(Date)}) AS s
    LEFT JOIN (SELECT customer_id, min(day) AS first_in_scope FROM (${ordersSql(true)})
               WHERE is_booked AND customer_id != '' GROUP BY customer_id) AS a ON a.customer_id = s.customer_id`;
}

/**
 * Reads the scope's customers once and binds them as parameters (`storedInScope`, `history`) when
 * they fit in one query of this warehouse (always in-process; on a server, whose URL carries the
 * parameters, up to lookupParamBytes). Otherwise the statements evaluate the same sets in the
 * engine as subqueries, each time they need them: slower, but a scope can hold hundreds of
 * thousands of customers, more than a server's 1 MiB of URL.
 */
async function scopeCustomers(wh: Warehouse, params: Record<string, unknown>): Promise<ScopeCustomers> {
  const rows = await wh.query<{ customer_id: string; lost: number }>(storedInScopeSql(), params, LONG);
  const stored = rows.map((r) => r.customer_id);
  const history = rows.filter((r) => Number(r.lost) === 1).map((r) => r.customer_id);
  if (fitsOneQuery(wh, [...stored, ...history])) {
    params.storedInScope = stored;
    params.history = history;
    return { stored: 'SELECT arrayJoin({storedInScope:Array(String)}) AS customer_id', lost: history.length > 0 ? 'SELECT arrayJoin({history:Array(String)})' : null };
  }
  return {
    stored: `SELECT customer_id FROM gold_customer_first_purchase FINAL WHERE store_id = {store:String} AND first_date IN {days:Array(Date)}`,
    lost: history.length > 0 ? `SELECT customer_id FROM (${storedInScopeSql()}) WHERE lost` : null,
  };
}

/**
 * Customers a scope touches: those with orders in it now, and those whose stored first purchase is
 * in it. Evaluated again after refreshFirstPurchases rewrote some of them (when `sets` are
 * subqueries), it differs only by customers whose row that refresh just wrote (version = the
 * refresh's), which its tombstone step skips anyway.
 */
function touchedSql(sets: ScopeCustomers): string {
  return `
    SELECT customer_id FROM (${ordersSql(true)}) WHERE customer_id != ''
    UNION DISTINCT
    ${sets.stored}`;
}

/**
 * First purchases of the customers a scope touches, without scanning the store's history: the
 * earliest of their purchases in the scope and their stored first purchase when that lies outside
 * the scope (days outside it did not change). Only the customers who lost their first purchase in
 * the scope (`sets.lost`) are looked up in all of the facts. Relies on every changed day being
 * rebuilt (as the pipeline does).
 */
function freshFirstScopedSql(sets: ScopeCustomers): string {
  return `
    SELECT customer_id, min(d) AS first_day FROM (
      SELECT customer_id, day AS d FROM (${ordersSql(true)}) WHERE is_booked AND customer_id != ''
      UNION ALL
      SELECT customer_id, first_date AS d FROM gold_customer_first_purchase FINAL
      WHERE store_id = {store:String} AND first_date NOT IN {days:Array(Date)}
        AND customer_id IN (SELECT customer_id FROM (${ordersSql(true)}) WHERE customer_id != '')
      ${sets.lost ? `UNION ALL ${FRESH_FIRST} AND customer_id IN (${sets.lost}) GROUP BY customer_id` : ''}
    )
    GROUP BY customer_id`;
}

/** Days (outside or inside the scope) whose new-customer status changes with the scope's data. */
async function staleFirstPurchaseDays(wh: Warehouse, params: Record<string, unknown>, sets: ScopeCustomers): Promise<string[]> {
  const rows = await wh.query<{ ds: string }>(
    `WITH touched AS (${touchedSql(sets)})
     SELECT DISTINCT toString(d) AS ds FROM (
       SELECT t.customer_id, f.first_day AS nf, s.first_date AS sf
       FROM touched AS t
       LEFT JOIN (${freshFirstScopedSql(sets)}) AS f ON f.customer_id = t.customer_id
       LEFT JOIN (SELECT customer_id, first_date FROM gold_customer_first_purchase FINAL
                  WHERE store_id = {store:String} AND customer_id IN (SELECT customer_id FROM touched)) AS s ON s.customer_id = t.customer_id
       WHERE nf != sf
     )
     ARRAY JOIN [nf, sf] AS d
     WHERE d != toDate(0)`,
    params,
    LONG,
  );
  return rows.map((r) => r.ds);
}

/** Local days of the orders that have (any version of) a payment on the scope's days. */
async function orderDaysOfPayments(wh: Warehouse, base: Record<string, unknown>, scope: DayScope): Promise<string[]> {
  const rows = await wh.query<{ d: string }>(
    `SELECT DISTINCT toString(toDate(created_at, {tz:String})) AS d FROM fact_orders
     WHERE store_id = {store:String} AND order_id IN (
       SELECT order_id FROM fact_payments
       WHERE store_id = {store:String} AND toDate(paid_at) BETWEEN {utcFrom:Date} AND {utcTo:Date}
         AND toDate(paid_at, {tz:String}) IN {days:Array(Date)})`,
    { ...base, ...scopeParams(scope) },
    LONG,
  );
  return rows.map((r) => r.d);
}

/** Rewrites the first purchases of the touched customers (all customers without a scope). */
async function refreshFirstPurchases(wh: Warehouse, params: Record<string, unknown>, sets: ScopeCustomers | null) {
  const fresh = sets ? freshFirstScopedSql(sets) : `${FRESH_FIRST} GROUP BY customer_id`;
  await wh.command(
    `INSERT INTO gold_customer_first_purchase (store_id, customer_id, first_date, version, is_deleted)
     SELECT {store:String}, customer_id, first_day, {version:UInt64}, 0 FROM (${fresh})`,
    params,
    LONG,
  );
  // Customers without a purchase any more (order deleted, cancelled or given to someone else).
  await wh.command(
    `INSERT INTO gold_customer_first_purchase (store_id, customer_id, first_date, version, is_deleted)
     SELECT store_id, customer_id, first_date, {version:UInt64}, 1 FROM gold_customer_first_purchase FINAL
     WHERE store_id = {store:String} AND version < {version:UInt64} ${sets ? `AND customer_id IN (${touchedSql(sets)})` : ''}`,
    params,
    LONG,
  );
}
