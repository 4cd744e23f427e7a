import type { Warehouse } from '../warehouse/client.js';
import { addDays, chTime, instant, localDate, newResultId, publishResult, storeTimezone } from './current-result.js';

/**
 * Frequently bought together (definitions in docs/analytics.md, "Product affinity").
 *
 * Over the window of `windowDays` store-local days ending on the day of `asOf`:
 * - basket = the distinct merchandise products (category ≠ 'non-merchandise') with a positive
 *   quantity in one booked order (a sale, not cancelled, not deleted);
 * - window orders N = orders with a non-empty basket; orders(X) = baskets containing X;
 * - for every ordered pair (A, B), A ≠ B, of products in the same basket:
 *   pair orders = baskets containing both, support = pair / N, confidence = pair / orders(A),
 *   lift = confidence / (orders(B) / N);
 * - only pairs bought together in at least `minPairOrders` orders are stored.
 */

/** @default window of the affinity computation, in store-local days. */
export const DEFAULT_AFFINITY_WINDOW_DAYS = 90;
/** @default fewest orders a pair must share to be stored (one shared basket is noise). */
export const DEFAULT_MIN_PAIR_ORDERS = 2;
/** The category the import formats give to non-merchandise lines (postage, fees, discounts). */
export const NON_MERCHANDISE_CATEGORY = 'non-merchandise';

export interface RunAffinityOptions {
  storeId: string;
  /** The flow's run id, stored with the rows. */
  runId: string;
  /** Store-local days in the window, ending with the day of `asOf`. @default 90 */
  windowDays?: number;
  /** The window ends on this instant's store-local day. @default now */
  asOf?: Date | string | number;
  /** Fewest shared orders for a pair to be kept. @default 2 */
  minPairOrders?: number;
}

/**
 * Computes the store's product pairs over the window from the deduplicated facts and publishes them
 * as the current affinity result of that window (readers switch in one step). Returns the number
 * of pair rows written (each unordered pair gives two rows, one per direction).
 */
export async function runAffinity(wh: Warehouse, o: RunAffinityOptions): Promise<{ rows: number }> {
  const windowDays = o.windowDays ?? DEFAULT_AFFINITY_WINDOW_DAYS;
  const minPairOrders = o.minPairOrders ?? DEFAULT_MIN_PAIR_ORDERS;
  if (!Number.isInteger(windowDays) || windowDays < 1 || windowDays > 3660) {
    throw new RangeError(`runAffinity: windowDays must be an integer from 1 to 3660, got ${windowDays}`);
  }
  if (!Number.isInteger(minPairOrders) || minPairOrders < 1) {
    throw new RangeError(`runAffinity: minPairOrders must be a positive integer, got ${minPairOrders}`);
  }
  const startedAt = Date.now();
  const asOfMs = instant(o.asOf);
  const timezone = await storeTimezone(wh, o.storeId);
  const to = await localDate(wh, asOfMs, timezone);
  const from = addDays(to, -(windowDays - 1));
  const resultId = newResultId(o.runId);
  const params = {
    store: o.storeId,
    result: resultId,
    run: o.runId,
    tz: timezone,
    from,
    to,
    // Loose UTC bounds of the window (any zone fits) for partition pruning.
    lo: `${addDays(from, -1)} 00:00:00.000`,
    hi: `${addDays(to, 2)} 00:00:00.000`,
    windowDays,
    minPairs: minPairOrders,
    nonMerch: NON_MERCHANDISE_CATEGORY,
    computedAt: chTime(startedAt),
  };
  await wh.command(
    `INSERT INTO product_affinity
       (store_id, result_id, run_id, window_days, window_from, window_to, product_id, other_product_id,
        pair_orders, product_orders, other_orders, window_orders, computed_at)
     WITH
       booked AS (
         SELECT order_id FROM fact_orders FINAL
          WHERE store_id = {store:String} AND is_deleted = 0 AND order_kind = 'sale' AND status != 'cancelled'
            AND created_at >= {lo:DateTime64(3, 'UTC')} AND created_at < {hi:DateTime64(3, 'UTC')}
            AND toDate(created_at, {tz:String}) BETWEEN {from:Date} AND {to:Date}
       ),
       baskets AS (
         SELECT order_id, groupUniqArray(product_id) AS products
           FROM fact_order_items FINAL
          WHERE store_id = {store:String} AND is_deleted = 0 AND quantity > 0
            AND order_id IN (SELECT order_id FROM booked)
            AND product_id NOT IN (
              SELECT product_id FROM dim_product FINAL WHERE store_id = {store:String} AND category = {nonMerch:String})
          GROUP BY order_id
       ),
       product_counts AS (
         SELECT arrayJoin(products) AS pid, count() AS baskets_with
           FROM baskets GROUP BY pid
       ),
       pair_counts AS (
         SELECT tupleElement(pair, 1) AS a, tupleElement(pair, 2) AS b, count() AS together
           FROM baskets
           ARRAY JOIN arrayFlatten(arrayMap(x -> arrayMap(y -> (x, y), arrayFilter(y -> y != x, products)), products)) AS pair
          GROUP BY a, b
         HAVING together >= {minPairs:UInt32}
       )
     SELECT {store:String}, {result:String}, {run:String}, {windowDays:UInt32}, {from:Date}, {to:Date},
            p.a, p.b, p.together, ca.baskets_with, cb.baskets_with, n.total,
            {computedAt:DateTime64(3, 'UTC')}
       FROM pair_counts AS p
       INNER JOIN product_counts AS ca ON ca.pid = p.a
       INNER JOIN product_counts AS cb ON cb.pid = p.b
       CROSS JOIN (SELECT count() AS total FROM baskets) AS n`,
    params,
  );
  const written = await wh.query<{ n: string }>(
    'SELECT count() AS n FROM product_affinity WHERE store_id = {store:String} AND result_id = {result:String}',
    params,
  );
  const rows = Number(written[0]?.n ?? 0);
  await publishResult(wh, {
    storeId: o.storeId,
    output: 'affinity',
    windowDays,
    resultId,
    runId: o.runId,
    asOfMs,
    windowFrom: from,
    windowTo: to,
    rows,
    params: { timezone, minPairOrders },
    startedAtMs: startedAt,
  });
  return { rows };
}
