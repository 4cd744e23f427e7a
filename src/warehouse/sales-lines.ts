import type { Warehouse } from './client.js';

/**
 * The SQL every sales number is derived from (the gold rollups and the HOUR series alike), so the
 * definitions in docs/metrics.md live in one place. Table and column names are fixed here; every
 * value is a bound parameter: {store:String}, {tz:String} and, for a day scope,
 * {days:Array(Date)}, {utcFrom:Date}, {utcTo:Date}.
 */

/** Store-local days of a scope and the UTC day bounds that contain them (for the sort-key prefilter). */
export interface DayScope {
  days: string[];
  utcFrom: string;
  utcTo: string;
}

/** Every date from `from` to `to` inclusive (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(to + 'T00:00:00Z');
  if (Number.isNaN(end) || Number.isNaN(Date.parse(from + 'T00:00:00Z'))) throw new RangeError(`invalid date range ${from} … ${to}`);
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= end; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const shiftDay = (d: string, n: number) => new Date(Date.parse(d + 'T00:00:00Z') + n * 86_400_000).toISOString().slice(0, 10);

/** A scope over the given local days; UTC bounds widened by a day each side (any time zone fits). */
export function dayScope(days: Iterable<string>): DayScope {
  const list = [...new Set(days)].sort();
  if (list.length === 0) throw new RangeError('empty day scope');
  return { days: list, utcFrom: shiftDay(list[0]!, -1), utcTo: shiftDay(list[list.length - 1]!, 1) };
}

export function scopeParams(scope: DayScope | null): Record<string, unknown> {
  return scope ? { days: scope.days, utcFrom: scope.utcFrom, utcTo: scope.utcTo } : {};
}

/**
 * One row per order of the store (deduplicated, tombstones dropped) with its classification and
 * the order-level amounts to attribute. `scoped`: only orders whose local date is in {days}.
 */
export function ordersSql(scoped: boolean): string {
  return `
    SELECT order_id, customer_id, created_at, day, country, channel,
           is_booked, is_cancelled, is_returned, x_gross, x_refund, x_disc, x_cancel, x_return
    FROM (
      SELECT order_id, customer_id, created_at, toDate(created_at, {tz:String}) AS day, country, channel,
             order_kind = 'sale' AS is_sale,
             status = 'cancelled' AS is_cancelled,
             is_sale AND NOT is_cancelled AS is_booked,
             is_booked AND (status IN ('returned', 'refunded') OR returned_at IS NOT NULL) AS is_returned,
             if(is_booked, net, toDecimal64(0, 4)) AS x_gross,
             multiIf(is_booked, refunded, NOT is_sale, -net, toDecimal64(0, 4)) AS x_refund,
             if(is_booked, discount, toDecimal64(0, 4)) AS x_disc,
             if(is_cancelled, abs(net), toDecimal64(0, 4)) AS x_cancel,
             if(is_returned, refunded, toDecimal64(0, 4)) AS x_return
      FROM fact_orders FINAL
      WHERE store_id = {store:String} AND is_deleted = 0
        ${scoped ? 'AND toDate(created_at) BETWEEN {utcFrom:Date} AND {utcTo:Date}' : ''}
    )
    ${scoped ? 'WHERE day IN {days:Array(Date)}' : ''}`;
}

/**
 * Items carry their order's created_at from when they were loaded; an order whose day was corrected
 * later (it then has a tombstone) may have items on its old day, so those orders are read whole.
 */
const ITEMS_BY_DAY = `AND (toDate(created_at) BETWEEN {utcFrom:Date} AND {utcTo:Date}
      OR order_id IN (SELECT order_id FROM fact_orders WHERE store_id = {store:String} AND is_deleted = 1 AND order_id IN (SELECT order_id FROM ord)))`;

/** Order-level amounts allocated to lines in proportion to the line amounts (see docs/metrics.md). */
const ALLOCATED = ['gross', 'refund', 'disc', 'cancel', 'return'] as const;

/**
 * One row per order line (an order without lines: one row with has_line = 0, product_id = ''):
 * the order's dimensions, its primary payment method, the product's category, whether the
 * customer is new on that day, is_first (the order's first row), and the order amounts allocated
 * to the line (a_gross, a_refund, a_disc (incl. the line's own discount), a_cancel, a_return).
 * Allocation by cumulative rounding: line i gets round(X·C_i/W, 4) − round(X·C_(i−1)/W, 4), with
 * C_i the running sum of the line amounts (all 1 when they sum to 0) and W their total, so the lines
 * add up exactly to the order. Needs gold_customer_first_purchase current for the customers in scope.
 */
export function salesLinesSql(scoped: boolean): string {
  const ord = ordersSql(scoped);
  const inOrd = scoped ? 'AND order_id IN (SELECT order_id FROM ord)' : '';
  const inCust = scoped ? 'AND customer_id IN (SELECT customer_id FROM ord)' : '';
  const alloc = ALLOCATED.map(
    (x) =>
      `CAST(round(toDecimal128(x_${x}, 4) * c_hi / w_total, 4) - round(toDecimal128(x_${x}, 4) * (c_hi - w_i) / w_total, 4) AS Decimal(18, 4)) AS a_${x}0`,
  ).join(',\n             ');
  return `
    WITH ord AS (${ord})
    SELECT order_id, customer_id, created_at, day, country, channel, payment_method, sl.product_id AS product_id,
           if(has_line, if(dp.category = '', 'uncategorized', dp.category), '') AS category,
           has_line, is_first, is_booked, is_cancelled, is_returned, is_new, quantity,
           a_gross0 AS a_gross, a_refund0 AS a_refund, a_disc0 + if(is_booked, line_disc, toDecimal64(0, 4)) AS a_disc,
           a_cancel0 AS a_cancel, a_return0 AS a_return
    FROM (
      SELECT order_id, customer_id, created_at, day, country, channel, payment_method, is_booked, is_cancelled, is_returned, is_new,
             line.1 > 0 AS has_line, line.2 AS product_id, line.3 AS quantity, line.4 AS line_disc, idx = 1 AS is_first,
             ${alloc}
      FROM (
        SELECT o.order_id AS order_id, o.customer_id AS customer_id, o.created_at AS created_at, o.day AS day,
               o.country AS country, o.channel AS channel,
               if(pay.pm = '', 'none', pay.pm) AS payment_method,
               o.is_booked AS is_booked, o.is_cancelled AS is_cancelled, o.is_returned AS is_returned,
               o.is_booked AND o.customer_id != '' AND fp.first_date = o.day AS is_new,
               o.x_gross AS x_gross, o.x_refund AS x_refund, o.x_disc AS x_disc, o.x_cancel AS x_cancel, o.x_return AS x_return,
               if(empty(l.ls), [tuple(toUInt32(0), '', toInt32(0), toDecimal64(0, 4), toDecimal64(0, 4))], l.ls) AS lines,
               if(arraySum(x -> x.5, lines) = 0, arrayMap(x -> toDecimal128(1, 4), lines), arrayMap(x -> toDecimal128(x.5, 4), lines)) AS weights,
               arrayCumSum(weights) AS cums,
               arraySum(weights) AS w_total
        FROM ord AS o
        LEFT JOIN (
          SELECT order_id, arraySort(x -> x.1, groupArray((line_number, product_id, quantity, discount, line_amount))) AS ls
          FROM fact_order_items FINAL
          WHERE store_id = {store:String} AND is_deleted = 0 ${inOrd} ${scoped ? ITEMS_BY_DAY : ''}
          GROUP BY order_id
        ) AS l ON l.order_id = o.order_id
        LEFT JOIN (
          SELECT order_id, argMax(method, (multiIf(status IN ('captured', 'authorized'), 2, status = 'failed', 0, 1), amount, payment_id)) AS pm
          FROM fact_payments FINAL
          WHERE store_id = {store:String} AND is_deleted = 0 ${scoped ? 'AND toDate(paid_at) >= {utcFrom:Date}' : ''} ${inOrd}
          GROUP BY order_id
        ) AS pay ON pay.order_id = o.order_id
        LEFT JOIN (
          SELECT customer_id, first_date FROM gold_customer_first_purchase FINAL
          WHERE store_id = {store:String} ${inCust}
        ) AS fp ON fp.customer_id = o.customer_id
      )
      ARRAY JOIN lines AS line, cums AS c_hi, weights AS w_i, arrayEnumerate(lines) AS idx
    ) AS sl
    LEFT JOIN (
      SELECT product_id, argMax(category, version) AS category
      FROM dim_product WHERE store_id = {store:String} GROUP BY product_id
    ) AS dp ON dp.product_id = sl.product_id`;
}
