import type { Warehouse } from '../warehouse/client.js';
import { chTime, instant, newResultId, publishResult, storeTimezone } from './current-result.js';

/**
 * RFM customer segments (definitions in docs/analytics.md, "Customer segments (RFM)").
 *
 * Per registered customer (customer_id ≠ '') with at least one counted order up to `asOf`:
 * - counted order = a sale (`order_kind = 'sale'`) whose status is not `cancelled`, not deleted;
 * - recency   = store-local days from the last counted order to `asOf`;
 * - frequency = number of counted orders;
 * - monetary  = Σ (net − refunded) over counted orders + Σ net over the customer's refund orders
 *               (whose net is negative): sales minus refunds, whichever way the source records
 *               refunds, the same attribution as the sales KPIs (docs/metrics.md).
 * Scores 1–5: score = 1 + ⌊5 · (customers strictly worse) / N⌋, so ties share a score (recency: fewer
 * days is better; frequency and monetary: more is better). FM = ⌈(F + M) / 2⌉; the segment comes
 * from (R, FM) by {@link segmentOf}.
 */

/** The named segments, best first (the order the API lists them in). */
export const SEGMENTS = [
  'Champions',
  'Loyal',
  'Potential Loyalist',
  'New',
  'At Risk',
  "Can't Lose",
  'Hibernating',
  'Lost',
] as const;
export type Segment = (typeof SEGMENTS)[number];

/**
 * The segment of a recency score and a combined frequency/monetary score (both 1–5); the first
 * matching rule wins. Mirrors the SQL `multiIf` in {@link runSegments}.
 */
export function segmentOf(r: number, fm: number): Segment {
  if (r === 5 && fm >= 4) return 'Champions';
  if (r >= 3 && fm >= 4) return 'Loyal';
  if (r >= 3 && fm >= 2) return 'Potential Loyalist';
  if (r >= 4) return 'New';
  if (r === 3) return 'Hibernating';
  if (fm === 5) return "Can't Lose";
  if (fm >= 3) return 'At Risk';
  if (r === 2) return 'Hibernating';
  return 'Lost';
}

const SEGMENT_SQL = `multiIf(
        r_score = 5 AND fm_score >= 4, 'Champions',
        r_score >= 3 AND fm_score >= 4, 'Loyal',
        r_score >= 3 AND fm_score >= 2, 'Potential Loyalist',
        r_score >= 4, 'New',
        r_score = 3, 'Hibernating',
        fm_score = 5, 'Can''t Lose',
        fm_score >= 3, 'At Risk',
        r_score = 2, 'Hibernating',
        'Lost')`;

export interface RunSegmentsOptions {
  storeId: string;
  /** The flow's run id, stored with the rows. */
  runId: string;
  /** Instant the RFM is measured at (orders after it are ignored). @default now */
  asOf?: Date | string | number;
}

/**
 * Computes every customer's RFM scores and segment for one store from the deduplicated facts and
 * publishes the result, replacing the previous one for readers in one step. A retried run writes a
 * fresh result, so it never doubles rows. Returns the number of customer rows written.
 */
export async function runSegments(wh: Warehouse, o: RunSegmentsOptions): Promise<{ rows: number }> {
  const startedAt = Date.now();
  const asOfMs = instant(o.asOf);
  const timezone = await storeTimezone(wh, o.storeId);
  const resultId = newResultId(o.runId);
  const params = {
    store: o.storeId,
    result: resultId,
    run: o.runId,
    asOf: chTime(asOfMs),
    tz: timezone,
    computedAt: chTime(startedAt),
  };
  await wh.command(
    `INSERT INTO customer_segments
       (store_id, result_id, run_id, customer_id, as_of_date, last_order_at, recency_days, frequency, monetary,
        r_score, f_score, m_score, fm_score, segment, computed_at)
     SELECT {store:String}, {result:String}, {run:String}, customer_id, as_of_day, last_order_time, recency, order_count,
            money, r_score, f_score, m_score, fm_score, ${SEGMENT_SQL}, {computedAt:DateTime64(3, 'UTC')}
       FROM (
         SELECT *, toUInt8(intDiv(f_score + m_score + 1, 2)) AS fm_score
           FROM (
             SELECT *,
                    toUInt8(1 + intDiv(5 * (r_rank - 1), n_customers)) AS r_score,
                    toUInt8(1 + intDiv(5 * (f_rank - 1), n_customers)) AS f_score,
                    toUInt8(1 + intDiv(5 * (m_rank - 1), n_customers)) AS m_score
               FROM (
                 SELECT customer_id, as_of_day, last_order_time, recency, order_count, money,
                        count() OVER () AS n_customers,
                        rank() OVER (ORDER BY recency DESC) AS r_rank,
                        rank() OVER (ORDER BY order_count ASC) AS f_rank,
                        rank() OVER (ORDER BY money ASC) AS m_rank
                   FROM (
                     SELECT customer_id,
                            toDate({asOf:DateTime64(3, 'UTC')}, {tz:String}) AS as_of_day,
                            maxIf(created_at, counted) AS last_order_time,
                            toUInt32(dateDiff('day', toDate(last_order_time, {tz:String}), as_of_day)) AS recency,
                            toUInt32(countIf(counted)) AS order_count,
                            sum(multiIf(counted, net - refunded, order_kind = 'refund', net, toDecimal64(0, 4))) AS money
                       FROM (
                         SELECT customer_id, created_at, order_kind, net, refunded,
                                order_kind = 'sale' AND status != 'cancelled' AS counted
                           FROM fact_orders FINAL
                          WHERE store_id = {store:String} AND is_deleted = 0 AND customer_id != ''
                            AND created_at <= {asOf:DateTime64(3, 'UTC')}
                       )
                      GROUP BY customer_id
                     HAVING order_count > 0
                   )
               )
           )
       )`,
    params,
  );
  const written = await wh.query<{ n: string }>(
    'SELECT count() AS n FROM customer_segments WHERE store_id = {store:String} AND result_id = {result:String}',
    params,
  );
  const rows = Number(written[0]?.n ?? 0);
  await publishResult(wh, {
    storeId: o.storeId,
    output: 'segments',
    resultId,
    runId: o.runId,
    asOfMs,
    rows,
    params: { timezone },
    startedAtMs: startedAt,
  });
  return { rows };
}
