import type { Warehouse } from './client.js';
import { divideMoney, SalesQueryError, type DateRange } from './sales.queries.js';

/** One period of a cohort: 0 is the period of the first purchase. */
export interface CohortPeriod {
  period: number;
  /** Customers of the cohort with a purchase in the period. */
  customers: number;
  /** customers / cohort size. */
  rate: number;
  /** The cohort's net revenue in the period (4-decimal string). */
  revenue: string;
  /** Net revenue of periods 0 … period per cohort customer (LTV at that age; 4 decimals, half away from zero). */
  cumulativeRevenuePerCustomer: string;
}
export interface Cohort {
  /** First day of the month, or the Monday of the ISO week. */
  cohortStart: string;
  size: number;
  periods: CohortPeriod[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_PERIODS = 520;

/** Periods between two period starts (month or week), from JS dates. */
function periodIndex(granularity: 'MONTH' | 'WEEK', cohortStart: string, day: string): number {
  if (granularity === 'MONTH') {
    return (Number(day.slice(0, 4)) - Number(cohortStart.slice(0, 4))) * 12 + Number(day.slice(5, 7)) - Number(cohortStart.slice(5, 7));
  }
  return Math.floor((Date.parse(day + 'T00:00:00Z') - Date.parse(cohortStart + 'T00:00:00Z')) / (7 * 86_400_000));
}

const units4 = (s: string): bigint => {
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(s)!;
  const v = BigInt(m[2]!) * 10000n + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] ? -v : v;
};
const str4 = (v: bigint): string => {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(4, '0')}`;
};

/**
 * Retention cohorts of one store whose start (month start or ISO-week Monday) is in the range:
 * periods 0 … periods − 1, those elapsed by the last order date when the cohorts were rebuilt
 * (periods without any purchase are returned with zeros). Read from gold_cohorts.
 */
export async function retentionCohorts(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; granularity: 'MONTH' | 'WEEK'; periods: number },
): Promise<Cohort[]> {
  if (typeof o.storeId !== 'string' || o.storeId === '') throw new SalesQueryError('storeId', 'is required');
  for (const k of ['from', 'to'] as const) {
    if (!DATE.test(o.range?.[k] ?? '')) throw new SalesQueryError(`range.${k}`, `${String(o.range?.[k])} is not a YYYY-MM-DD date`);
  }
  if (o.range.from > o.range.to) throw new SalesQueryError('range', `from ${o.range.from} is after to ${o.range.to}`);
  if (o.granularity !== 'MONTH' && o.granularity !== 'WEEK') throw new SalesQueryError('granularity', 'must be MONTH or WEEK');
  if (!Number.isInteger(o.periods) || o.periods < 1 || o.periods > MAX_PERIODS) throw new SalesQueryError('periods', `must be an integer from 1 to ${MAX_PERIODS}`);
  const rows = await wh.query<{ cs: string; p: number; size: string; n: string; rev: string; asof: string }>(
    `SELECT toString(cohort_start) AS cs, period AS p, cohort_size AS size, customers AS n, toDecimalString(revenue, 4) AS rev, toString(as_of) AS asof
     FROM gold_cohorts FINAL
     WHERE store_id = {store:String} AND granularity = {g:String} AND cohort_start BETWEEN {from:Date} AND {to:Date} AND period < {periods:UInt32}
     ORDER BY cohort_start, period`,
    { store: o.storeId, g: o.granularity, from: o.range.from, to: o.range.to, periods: o.periods },
  );
  const byCohort = new Map<string, typeof rows>();
  for (const r of rows) {
    if (!byCohort.has(r.cs)) byCohort.set(r.cs, []);
    byCohort.get(r.cs)!.push(r);
  }
  const out: Cohort[] = [];
  for (const [cohortStart, cells] of byCohort) {
    const size = Number(cells[0]!.size);
    if (size === 0) continue;
    const last = Math.min(o.periods - 1, periodIndex(o.granularity, cohortStart, cells[0]!.asof));
    const at = new Map(cells.map((c) => [Number(c.p), c]));
    const periods: CohortPeriod[] = [];
    let cumulative = 0n;
    for (let p = 0; p <= last; p++) {
      const c = at.get(p);
      const customers = c ? Number(c.n) : 0;
      const revenue = c ? c.rev : '0.0000';
      cumulative += units4(revenue);
      periods.push({ period: p, customers, rate: customers / size, revenue, cumulativeRevenuePerCustomer: divideMoney(str4(cumulative), size) });
    }
    out.push({ cohortStart, size, periods });
  }
  return out;
}
