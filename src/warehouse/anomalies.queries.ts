import type { Warehouse } from './client.js';
import { ANOMALY_DIMENSIONS, ANOMALY_METRICS, SEVERITIES, metricScale, type Severity } from '../analytics/anomalies.js';

export type { Severity } from '../analytics/anomalies.js';

/**
 * One detected anomaly. Values are decimal strings: money metrics (net_revenue,
 * average_order_value) with 4 fractional digits, orders with 2 (the expected value of a count can
 * be a half), rates (conversion_rate, return_rate, as fractions 0..1) with 6.
 */
export interface Anomaly {
  date: string;
  metric: string;
  dimension: 'STORE' | 'COUNTRY' | 'CATEGORY';
  dimensionValue: string;
  actual: string;
  expected: string;
  lower: string;
  upper: string;
  score: number;
  direction: 'UP' | 'DOWN';
  severity: Severity;
  runId: string;
}

export interface DateRange {
  from: string;
  to: string;
}

interface Row {
  store_id: string;
  day_text: string;
  metric: string;
  dimension: string;
  dimension_value: string;
  actual_text: string;
  expected_text: string;
  lower_text: string;
  upper_text: string;
  score: string;
  direction: string;
  severity: string;
  run_id: string;
}

/** Decimal text rounded half away from zero to `digits` fractional digits (exact, no float). */
export function roundDecimal(s: string, digits: number): string {
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  const frac = m[3] ?? '';
  const keep = (frac + '0'.repeat(digits)).slice(0, digits);
  let units = BigInt((m[2] || '0') + keep);
  if ((frac[digits] ?? '0') >= '5') units += 1n;
  const txt = units.toString().padStart(digits + 1, '0');
  const whole = digits > 0 ? txt.slice(0, -digits) : txt;
  const out = digits > 0 ? `${whole}.${txt.slice(-digits)}` : whole;
  return m[1] && units !== 0n ? `-${out}` : out;
}

/** Severities at or above `min` (all when omitted). */
function severitiesFrom(min?: Severity): Severity[] {
  if (!min) return [...SEVERITIES];
  const i = SEVERITIES.indexOf(min);
  if (i < 0) throw new Error(`unknown severity ${JSON.stringify(min)}; expected one of ${SEVERITIES.join(', ')}`);
  return SEVERITIES.slice(i);
}

function toAnomaly(r: Row): Anomaly & { storeId: string } {
  const scale = metricScale(r.metric);
  return {
    storeId: r.store_id,
    date: r.day_text,
    metric: r.metric,
    dimension: r.dimension as Anomaly['dimension'],
    dimensionValue: r.dimension_value,
    actual: roundDecimal(r.actual_text, scale),
    expected: roundDecimal(r.expected_text, scale),
    lower: roundDecimal(r.lower_text, scale),
    upper: roundDecimal(r.upper_text, scale),
    score: Number(r.score),
    direction: r.direction as Anomaly['direction'],
    severity: r.severity as Severity,
    runId: r.run_id,
  };
}

// Aliases differ from the column names: an alias shadowing its column would change the WHERE.
const COLUMNS = `store_id, toString(date) AS day_text, metric, dimension, dimension_value,
  toString(actual) AS actual_text, toString(expected) AS expected_text, toString(lower) AS lower_text, toString(upper) AS upper_text,
  score, direction, severity, run_id`;

/**
 * The anomalies of the store's latest anomaly run whose store-local date is in `range`
 * (inclusive), newest day first, strongest first within a day. `metric` is one of
 * net_revenue, orders, average_order_value, conversion_rate, return_rate (case-insensitive);
 * `dimension` one of STORE, COUNTRY, CATEGORY.
 */
export async function listAnomalies(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; metric?: string; dimension?: string; minSeverity?: Severity },
): Promise<Anomaly[]> {
  const metric = o.metric?.toLowerCase();
  if (metric !== undefined && !(ANOMALY_METRICS as readonly string[]).includes(metric)) {
    throw new Error(`unknown anomaly metric ${JSON.stringify(o.metric)}; expected one of ${ANOMALY_METRICS.join(', ')}`);
  }
  const dimension = o.dimension?.toUpperCase();
  if (dimension !== undefined && !(ANOMALY_DIMENSIONS as readonly string[]).includes(dimension)) {
    throw new Error(`unknown anomaly dimension ${JSON.stringify(o.dimension)}; expected one of ${ANOMALY_DIMENSIONS.join(', ')}`);
  }
  const rows = await wh.query<Row>(
    `WITH latest AS (
       SELECT run_id, attempt FROM analytics_runs FINAL
        WHERE store_id = {store:String} AND kind = 'anomalies'
        ORDER BY finished_at DESC, run_id DESC LIMIT 1)
     SELECT ${COLUMNS}
       FROM anomaly_detections
      WHERE store_id = {store:String}
        AND (run_id, attempt) IN (SELECT run_id, attempt FROM latest)
        AND date BETWEEN toDate({from:String}) AND toDate({to:String})
        AND ({metric:String} = '' OR metric = {metric:String})
        AND ({dimension:String} = '' OR dimension = {dimension:String})
        AND severity IN {severities:Array(String)}
      ORDER BY date DESC, abs(score) DESC, metric, dimension, dimension_value`,
    {
      store: o.storeId,
      from: o.range.from,
      to: o.range.to,
      metric: metric ?? '',
      dimension: dimension ?? '',
      severities: severitiesFrom(o.minSeverity),
    },
  );
  return rows.map((r) => {
    const { storeId: _store, ...a } = toAnomaly(r);
    return a;
  });
}

/**
 * The detections of one anomaly run (its completed attempt), for notifications. With
 * `newOnly`, only those the store's previous completed run did not already report (same date,
 * metric, dimension and value) — what a webhook should send after each run.
 * @param o.newOnly @default false
 */
export async function anomaliesOfRun(
  wh: Warehouse,
  o: { runId: string; storeId?: string; minSeverity?: Severity; newOnly?: boolean },
): Promise<Array<Anomaly & { storeId: string }>> {
  const rows = await wh.query<Row>(
    `WITH this_run AS (
       SELECT store_id, run_id, attempt, finished_at FROM analytics_runs FINAL
        WHERE kind = 'anomalies' AND run_id = {run:String} AND ({store:String} = '' OR store_id = {store:String})),
     previous AS (
       SELECT r.store_id AS store_id, argMax(r.run_id, r.finished_at) AS run_id, argMax(r.attempt, r.finished_at) AS attempt
         FROM analytics_runs AS r FINAL
        INNER JOIN this_run AS t ON t.store_id = r.store_id
        WHERE r.kind = 'anomalies' AND r.run_id != t.run_id AND r.finished_at < t.finished_at
        GROUP BY r.store_id),
     known AS (
       SELECT store_id, date, metric, dimension, dimension_value FROM anomaly_detections
        WHERE {newOnly:UInt8} = 1 AND (store_id, run_id, attempt) IN (SELECT store_id, run_id, attempt FROM previous))
     SELECT ${COLUMNS}
       FROM anomaly_detections
      WHERE (store_id, run_id, attempt) IN (SELECT store_id, run_id, attempt FROM this_run)
        AND severity IN {severities:Array(String)}
        AND (store_id, date, metric, dimension, dimension_value) NOT IN (SELECT store_id, date, metric, dimension, dimension_value FROM known)
      ORDER BY store_id, date DESC, abs(score) DESC, metric, dimension, dimension_value`,
    { run: o.runId, store: o.storeId ?? '', severities: severitiesFrom(o.minSeverity), newOnly: o.newOnly ? 1 : 0 },
  );
  return rows.map(toAnomaly);
}
