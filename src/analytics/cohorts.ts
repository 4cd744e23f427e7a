import type { QueryOptions, Warehouse } from '../warehouse/client.js';

/** Rebuilds are jobs: they may take longer than an API query. */
const LONG: QueryOptions = { maxExecutionTime: 3600 };
import { ordersSql } from '../warehouse/sales-lines.js';
import { storeTimezone } from '../warehouse/store-timezone.js';

export interface RebuildCohortsOptions {
  storeId: string;
}

let versionSeq = 0n;
function nextVersion(): bigint {
  versionSeq = (versionSeq + 2n) % 1000n;
  return BigInt(Date.now()) * 1000n + versionSeq;
}

/**
 * Recomputes the store's retention matrix (gold_cohorts) from the deduplicated orders and replaces
 * it: registered customers (guests excluded) by the MONTH and the ISO WEEK of their first purchase
 * (first non-cancelled sale, store-local date); per period since then, the customers with a
 * purchase in it and the cohort's net revenue in it (sales minus refunds, refund orders included).
 * One pass over the orders for both granularities. Returns the rows written.
 */
export async function rebuildCohorts(wh: Warehouse, opts: RebuildCohortsOptions): Promise<{ rows: number }> {
  const { storeId } = opts;
  const tz = await storeTimezone(wh, storeId);
  const v = nextVersion();
  const params = { store: storeId, tz, version: (v + 1n).toString(), tomb: v.toString() };
  await wh.command(
    `INSERT INTO gold_cohorts (store_id, granularity, cohort_start, period, cohort_size, customers, revenue, as_of, version, is_deleted)
     SELECT {store:String}, g, cohort_start, period,
            sumIf(n_customers, period = 0) OVER (PARTITION BY g, cohort_start) AS size,
            n_customers, rev_sum, as_of_day, {version:UInt64}, 0
     FROM (
       SELECT g, cohort_start, period, uniqExactIf(customer_id, is_booked) AS n_customers, sum(rev) AS rev_sum, any(as_of) AS as_of_day
       FROM (
         SELECT customer_id, is_booked, rev, as_of, cell.1 AS g, cell.2 AS cohort_start, cell.3 AS period
         FROM (
           SELECT customer_id, day, is_booked, x_gross - x_refund AS rev,
                  minIf(day, is_booked) OVER (PARTITION BY customer_id) AS first_day,
                  countIf(is_booked) OVER (PARTITION BY customer_id) AS n_booked,
                  max(day) OVER () AS as_of
           FROM (${ordersSql(false)})
         )
         ARRAY JOIN [
           ('MONTH', toStartOfMonth(first_day), toUInt32(greatest(0, dateDiff('month', toStartOfMonth(first_day), toStartOfMonth(day))))),
           ('WEEK', toMonday(first_day), toUInt32(greatest(0, intDiv(toMonday(day) - toMonday(first_day), 7))))
         ] AS cell
         WHERE customer_id != '' AND n_booked > 0 AND day >= first_day
       )
       GROUP BY g, cohort_start, period
     )`,
    params,
    LONG,
  );
  await wh.command(
    `INSERT INTO gold_cohorts (store_id, granularity, cohort_start, period, version, is_deleted)
     SELECT store_id, granularity, cohort_start, period, {tomb:UInt64}, 1 FROM gold_cohorts FINAL
     WHERE store_id = {store:String} AND version < {version:UInt64}`,
    params,
    LONG,
  );
  const n = await wh.query<{ n: string }>(
    'SELECT count() AS n FROM gold_cohorts WHERE store_id = {store:String} AND version = {version:UInt64}',
    params,
    LONG,
  );
  return { rows: Number(n[0]?.n ?? 0) };
}
