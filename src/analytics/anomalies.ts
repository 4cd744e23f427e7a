import { randomUUID } from 'node:crypto';
import type { Warehouse } from '../warehouse/client.js';
import { storeTimezone } from '../warehouse/store-timezone.js';

/**
 * Anomaly detection on daily KPI series (issue 4, item 3).
 *
 * Series, per store-local day (the store's time zone), with the definitions of docs/metrics.md: a
 * *booked* order is a sale not cancelled; gross revenue = Σ net of booked orders (what customers
 * pay); refunds = Σ refunded of booked orders + |net| of refund-kind orders; net revenue = gross −
 * refunds. Read from the deduplicated facts (FINAL, tombstones excluded); a category gets its
 * orders' amounts allocated to its lines by line_amount / order gross, as the gold rollups do
 * (in Float64 here).
 * - `net_revenue`: net revenue (CATEGORY: of its lines).
 * - `orders`: booked orders (CATEGORY: those with at least one of its lines).
 * - `average_order_value`: gross revenue / orders.
 * - `return_rate`: refunds / gross revenue.
 * - `conversion_rate`: sessions with a purchase / sessions, from fact_events; STORE only, and
 *   only when the store has events at all.
 *
 * The STORE series (dimension value '') are always scored; a COUNTRY or CATEGORY is scored when
 * it averages at least `minOrdersPerDay` orders a day over the last `volumeWindowDays` days of
 * the store's data.
 *
 * Model, per series and day t (robust seasonal baseline): the history is the values of the same
 * weekday in the `weeks` previous weeks (t−7, t−14, …). A day is scored when its series has at
 * least `minHistoryDays` days before it and `minHistoryPoints` usable history values. Then
 *   expected = median(history), MAD = median(|history − expected|),
 *   scale = max(1.4826 · MAD, pooled, relScaleFloor · |expected|, the metric's absolute floor)
 *   score = (actual − expected) / scale.
 * A MAD of 8 points alone is too unstable (on Gaussian noise ≈ 5 % of days would pass |z| ≥ 3.5),
 * so `pooled` = 1.4826 · median of the residuals |x − expected| of the previous
 * `residualWindowDays` days (relative to expected for level metrics, absolute for rates) × |expected|
 * stabilises it (≈ 0.1 % on Gaussian noise). The orders floor √expected is the Poisson noise of a count.
 * |score| ≥ threshold is an anomaly; severity by |score|: LOW ≥ threshold, MEDIUM ≥ medium,
 * HIGH ≥ high, CRITICAL ≥ critical. The band [lower, upper] is expected ± threshold · scale.
 * Ratio metrics skip days whose base is small (orders < minOrdersForRatio, sessions <
 * minSessionsForConversion). A run stores its detections with the parameters (see runAnomalies
 * for full and incremental runs); readers use the store's latest run.
 */

export const ANOMALY_METRICS = ['net_revenue', 'orders', 'average_order_value', 'conversion_rate', 'return_rate'] as const;
export type AnomalyMetric = (typeof ANOMALY_METRICS)[number];
export const ANOMALY_DIMENSIONS = ['STORE', 'COUNTRY', 'CATEGORY'] as const;
export type AnomalyDimension = (typeof ANOMALY_DIMENSIONS)[number];
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The model's parameters; stored with every run. */
export interface AnomalyModelParams {
  /** Same-weekday values looked back at. @default 8 */
  weeks: number;
  /** Usable same-weekday history values needed to score a day. @default 4 */
  minHistoryPoints: number;
  /** Days of the series before a day needed to score it. @default 28 */
  minHistoryDays: number;
  /** |score| at or above which a day is an anomaly (LOW). @default 3.5 */
  threshold: number;
  /** |score| thresholds of the higher severities. @default { medium: 5, high: 7, critical: 10 } */
  severity: { medium: number; high: number; critical: number };
  /** Trailing days whose baseline residuals are pooled into the scale. @default 56 */
  residualWindowDays: number;
  /** Residuals in the window a day needs to be scored. @default 14 */
  minResiduals: number;
  /** Relative floor of the scale, as a share of |expected|. @default 0.05 */
  relScaleFloor: number;
  /** Absolute floor of the scale for rate metrics. @default { return_rate: 0.01, conversion_rate: 0.005 } */
  absScaleFloor: { return_rate: number; conversion_rate: number };
  /** Average orders a day a country or category needs to be scored. @default 10 */
  minOrdersPerDay: number;
  /** Days (ending at the store's last day of data) the volume rule averages over. @default 56 */
  volumeWindowDays: number;
  /** Orders a day needs for its AOV and return rate to be scored. @default 5 */
  minOrdersForRatio: number;
  /** Sessions a day needs for its conversion rate to be scored. @default 20 */
  minSessionsForConversion: number;
}

export const DEFAULT_ANOMALY_PARAMS: AnomalyModelParams = Object.freeze({
  weeks: 8,
  minHistoryPoints: 4,
  minHistoryDays: 28,
  threshold: 3.5,
  severity: Object.freeze({ medium: 5, high: 7, critical: 10 }),
  residualWindowDays: 56,
  minResiduals: 14,
  relScaleFloor: 0.05,
  absScaleFloor: Object.freeze({ return_rate: 0.01, conversion_rate: 0.005 }),
  minOrdersPerDay: 10,
  volumeWindowDays: 56,
  minOrdersForRatio: 5,
  minSessionsForConversion: 20,
}) as AnomalyModelParams;

/** MAD → σ for normally distributed data. */
export const MAD_TO_SIGMA = 1.4826;

/** One daily series: values by day index from `start` (null = not scorable that day). */
export interface DailySeries {
  metric: AnomalyMetric;
  dimension: AnomalyDimension;
  dimensionValue: string;
  /** Store-local day of index 0 (YYYY-MM-DD). */
  start: string;
  values: (number | null)[];
  /** Exact decimal text of each value, when it has one (money sums, counts). */
  exact?: (string | null)[];
}

/** One scored day. */
export interface ScoredPoint {
  date: string;
  actual: number;
  expected: number;
  mad: number;
  scale: number;
  lower: number;
  upper: number;
  score: number;
  historyPoints: number;
  direction: 'UP' | 'DOWN';
  severity: Severity | null;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Severity of a robust z-score, or null below the detection threshold. */
export function severityOf(score: number, p: AnomalyModelParams = DEFAULT_ANOMALY_PARAMS): Severity | null {
  const a = Math.abs(score);
  if (!(a >= p.threshold)) return null;
  if (a >= p.severity.critical) return 'CRITICAL';
  if (a >= p.severity.high) return 'HIGH';
  if (a >= p.severity.medium) return 'MEDIUM';
  return 'LOW';
}

const MS_DAY = 86_400_000;
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(day + 'T00:00:00Z') + n * MS_DAY).toISOString().slice(0, 10);
}
function dayDiff(a: string, b: string): number {
  return Math.round((Date.parse(b + 'T00:00:00Z') - Date.parse(a + 'T00:00:00Z')) / MS_DAY);
}

/**
 * Scores every scorable day of a series with the seasonal median/MAD baseline. Returns all scored
 * days (anomalous or not: `severity` is null below the threshold).
 */
export function scoreSeries(series: DailySeries, p: AnomalyModelParams = DEFAULT_ANOMALY_PARAMS): ScoredPoint[] {
  const v = series.values;
  const first = v.findIndex((x) => x !== null);
  if (first < 0) return [];
  const relative = series.metric !== 'return_rate' && series.metric !== 'conversion_rate';
  // Pass 1: each day's same-weekday baseline and its residual (relative for level metrics).
  const base: ({ expected: number; mad: number; n: number } | null)[] = new Array(v.length).fill(null);
  const resid: (number | null)[] = new Array(v.length).fill(null);
  for (let t = first + 7; t < v.length; t++) {
    const hist: number[] = [];
    for (let k = 1; k <= p.weeks; k++) {
      const i = t - 7 * k;
      if (i < first) break;
      const h = v[i];
      if (h !== null && h !== undefined) hist.push(h);
    }
    // Residuals already count from 2 history values (conservatively wide early on), so the
    // pooled scale exists from the first scored day; the baseline itself needs minHistoryPoints.
    if (hist.length < 2) continue;
    const expected = median(hist);
    if (hist.length >= p.minHistoryPoints) base[t] = { expected, mad: median(hist.map((h) => Math.abs(h - expected))), n: hist.length };
    const x = v[t];
    if (x === null || x === undefined) continue;
    if (!relative) resid[t] = Math.abs(x - expected);
    else if (expected !== 0) resid[t] = Math.abs(x - expected) / Math.abs(expected);
  }
  // Pass 2: score; the weekday MAD is stabilised by the pooled residual MAD of the trailing window.
  const out: ScoredPoint[] = [];
  for (let t = first + p.minHistoryDays; t < v.length; t++) {
    const actual = v[t];
    const b = base[t];
    if (actual === null || actual === undefined || !b) continue;
    const { expected, mad } = b;
    const window: number[] = [];
    for (let i = Math.max(first, t - p.residualWindowDays); i < t; i++) if (resid[i] !== null) window.push(resid[i]!);
    if (window.length < p.minResiduals) continue;
    const pooled = MAD_TO_SIGMA * median(window) * (relative ? Math.abs(expected) : 1);
    let floor = p.relScaleFloor * Math.abs(expected);
    if (series.metric === 'orders') floor = Math.max(floor, Math.sqrt(Math.max(expected, 1)));
    else if (series.metric === 'return_rate') floor = Math.max(floor, p.absScaleFloor.return_rate);
    else if (series.metric === 'conversion_rate') floor = Math.max(floor, p.absScaleFloor.conversion_rate);
    // A flat zero history (e.g. no revenue at all) has no scale: nothing can be scored against it.
    const scale = Math.max(MAD_TO_SIGMA * mad, pooled, floor);
    if (!(scale > 0)) continue;
    const score = (actual - expected) / scale;
    let lower = expected - p.threshold * scale;
    if (series.metric !== 'net_revenue') lower = Math.max(0, lower);
    out.push({
      date: addDays(series.start, t),
      actual,
      expected,
      mad,
      scale,
      lower,
      upper: expected + p.threshold * scale,
      score,
      historyPoints: b.n,
      direction: score >= 0 ? 'UP' : 'DOWN',
      severity: severityOf(score, p),
    });
  }
  return out;
}

// --- exact decimals (scale 4, as the facts store money) ------------------------------------------

const SCALE = 10_000n;
/** Decimal text → units of 1e-4 (exact; more digits are truncated, the facts have 4). */
export function toUnits(s: string): bigint {
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  const frac = ((m[3] ?? '') + '0000').slice(0, 4);
  const u = BigInt(m[2] || '0') * SCALE + BigInt(frac);
  return m[1] ? -u : u;
}
/** Units of 1e-4 → decimal text with 4 fractional digits. */
export function fromUnits(u: bigint): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  return `${neg ? '-' : ''}${a / SCALE}.${(a % SCALE).toString().padStart(4, '0')}`;
}

/** Fractional digits a metric's values are stored and returned with. */
export function metricScale(metric: string): number {
  return metric === 'orders' ? 2 : metric === 'net_revenue' || metric === 'average_order_value' ? 4 : 6;
}


// --- loading the series ----------------------------------------------------------------------------

interface OrderDayRow {
  d: string;
  c: string;
  net_rev: string;
  n_orders: string;
  gross_sales: string;
  refund_total: string;
}
interface CategoryDayRow {
  d: string;
  cat: string;
  /** Money: allocated in Float64 (or decimal text). */
  rev: string | number;
  n_orders: string;
  sales: string | number;
  refund_total: string | number;
}
interface SessionDayRow {
  d: string;
  sessions: string;
  buyers: string;
}

/** Accumulates one dimension value's daily sums. */
interface DayAgg {
  net: bigint;
  orders: number;
  gross: bigint;
  /** Refunds as units (orders) or as a float amount (categories, allocated). */
  refunds: number;
}

/** Loads the daily series of one store: STORE, each COUNTRY and each CATEGORY (volume rule applied). */
export async function loadDailySeries(
  wh: Warehouse,
  storeId: string,
  p: AnomalyModelParams = DEFAULT_ANOMALY_PARAMS,
  /** First store-local day to load (YYYY-MM-DD); omitted: all of the store's data. */
  from?: string,
  tz?: string,
): Promise<DailySeries[]> {
  tz ??= await storeTimezone(wh, storeId);
  const fromDay = from ?? '1970-01-02';
  // The sort keys start with the UTC day: a day earlier than the local one covers every zone.
  const params = { store: storeId, tz, from: fromDay, utcFrom: addDays(fromDay, -1) };
  const [orderRows, categoryRows, sessionRows] = await Promise.all([
    wh.query<OrderDayRow>(
      `SELECT toString(toDate(created_at, {tz:String})) AS d, country AS c,
              toString(sumIf(net - refunded, order_kind = 'sale' AND status != 'cancelled') + sumIf(net, order_kind != 'sale')) AS net_rev,
              toString(countIf(order_kind = 'sale' AND status != 'cancelled')) AS n_orders,
              toString(sumIf(net, order_kind = 'sale' AND status != 'cancelled')) AS gross_sales,
              toString(sumIf(refunded, order_kind = 'sale' AND status != 'cancelled') - sumIf(net, order_kind != 'sale')) AS refund_total
         FROM fact_orders FINAL
        WHERE store_id = {store:String} AND is_deleted = 0
          AND toDate(created_at) >= {utcFrom:Date} AND toDate(created_at, {tz:String}) >= {from:Date}
        GROUP BY d, c
        ORDER BY d, c`,
      params,
    ),
    wh.query<CategoryDayRow>(
      `SELECT toString(toDate(i.created_at, {tz:String})) AS d, if(p.category = '', 'uncategorized', p.category) AS cat,
              sumIf(toFloat64(i.line_amount) * toFloat64(o.net) / toFloat64(o.gross), o.order_kind = 'sale' AND o.gross != 0) AS sales,
              sumIf(toFloat64(i.line_amount) * toFloat64(o.refunded) / toFloat64(o.gross), o.order_kind = 'sale' AND o.gross != 0)
                - sumIf(toFloat64(i.line_amount) * toFloat64(o.net) / toFloat64(o.gross), o.order_kind != 'sale' AND o.gross != 0) AS refund_total,
              sales - refund_total AS rev,
              toString(uniqExactIf(i.order_id, o.order_kind = 'sale')) AS n_orders
         FROM (SELECT order_id, product_id, created_at, line_amount FROM fact_order_items FINAL
                WHERE store_id = {store:String} AND is_deleted = 0
                  AND toDate(created_at) >= {utcFrom:Date} AND toDate(created_at, {tz:String}) >= {from:Date}) AS i
        INNER JOIN (SELECT order_id, order_kind, gross, net, refunded FROM fact_orders FINAL
                     WHERE store_id = {store:String} AND is_deleted = 0 AND status != 'cancelled'
                       AND toDate(created_at) >= {utcFrom:Date} AND toDate(created_at, {tz:String}) >= {from:Date}) AS o
           ON o.order_id = i.order_id
         LEFT JOIN (SELECT product_id, category FROM dim_product FINAL WHERE store_id = {store:String}) AS p
           ON p.product_id = i.product_id
        GROUP BY d, cat
        ORDER BY d, cat`,
      params,
    ),
    // No FINAL: a re-sent (duplicate) event changes neither the distinct sessions nor whether one bought.
    wh.query<SessionDayRow>(
      `SELECT toString(toDate(event_time, {tz:String})) AS d,
              toString(uniqExactIf(session_id, session_id != '')) AS sessions,
              toString(uniqExactIf(session_id, session_id != '' AND event_type = 'purchase')) AS buyers
         FROM fact_events
        WHERE store_id = {store:String}
          AND toDate(event_time) >= {utcFrom:Date} AND toDate(event_time, {tz:String}) >= {from:Date}
        GROUP BY d
        ORDER BY d`,
      params,
    ),
  ]);

  const days = [...orderRows.map((r) => r.d), ...categoryRows.map((r) => r.d), ...sessionRows.map((r) => r.d)].sort();
  if (days.length === 0) return [];
  const start = days[0]!;
  const end = days[days.length - 1]!;
  const n = dayDiff(start, end) + 1;

  const empty = (): DayAgg => ({ net: 0n, orders: 0, gross: 0n, refunds: 0 });
  const storeDays = Array.from({ length: n }, empty);
  const byCountry = new Map<string, DayAgg[]>();
  const byCategory = new Map<string, DayAgg[]>();
  const slot = (m: Map<string, DayAgg[]>, key: string) => {
    let a = m.get(key);
    if (!a) m.set(key, (a = Array.from({ length: n }, empty)));
    return a;
  };
  for (const r of orderRows) {
    const t = dayDiff(start, r.d);
    const net = toUnits(r.net_rev);
    const gross = toUnits(r.gross_sales);
    const refunds = Number(toUnits(r.refund_total)) / 1e4;
    const orders = Number(r.n_orders);
    for (const a of [storeDays[t]!, slot(byCountry, r.c)[t]!]) {
      a.net += net;
      a.orders += orders;
      a.gross += gross;
      a.refunds += refunds;
    }
  }
  for (const r of categoryRows) {
    const a = slot(byCategory, r.cat)[dayDiff(start, r.d)]!;
    const units = (x: string | number) => (typeof x === 'number' ? BigInt(Math.round(x * 1e4)) : toUnits(x));
    a.net += units(r.rev);
    a.orders += Number(r.n_orders);
    a.gross += units(r.sales);
    a.refunds += Number(units(r.refund_total)) / 1e4;
  }

  const out: DailySeries[] = [];
  const addSeries = (dimension: AnomalyDimension, value: string, aggs: DayAgg[]) => {
    // A series starts at its first day with orders; zero days inside it are real zeros.
    const first = aggs.findIndex((a) => a.orders > 0 || a.net !== 0n);
    if (first < 0) return;
    const within = (t: number) => t >= first;
    const mk = (metric: AnomalyMetric, f: (a: DayAgg) => number | null, exact?: (a: DayAgg) => string | null): DailySeries => ({
      metric,
      dimension,
      dimensionValue: value,
      start,
      values: aggs.map((a, t) => (within(t) ? f(a) : null)),
      exact: exact ? aggs.map((a, t) => (within(t) ? exact(a) : null)) : undefined,
    });
    const grossNum = (a: DayAgg) => Number(a.gross) / 1e4;
    out.push(mk('net_revenue', (a) => Number(a.net) / 1e4, (a) => fromUnits(a.net)));
    out.push(mk('orders', (a) => a.orders, (a) => String(a.orders)));
    out.push(mk('average_order_value', (a) => (a.orders >= p.minOrdersForRatio ? grossNum(a) / a.orders : null)));
    out.push(mk('return_rate', (a) => (a.orders >= p.minOrdersForRatio && a.gross > 0n ? a.refunds / grossNum(a) : null)));
  };
  addSeries('STORE', '', storeDays);
  const volumeFrom = Math.max(0, n - p.volumeWindowDays);
  const hasVolume = (aggs: DayAgg[]) => {
    const recent = aggs.slice(volumeFrom);
    return recent.reduce((s, a) => s + a.orders, 0) / recent.length >= p.minOrdersPerDay;
  };
  for (const [country, aggs] of [...byCountry].sort(([a], [b]) => a.localeCompare(b))) {
    if (hasVolume(aggs)) addSeries('COUNTRY', country, aggs);
  }
  for (const [category, aggs] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    if (hasVolume(aggs)) addSeries('CATEGORY', category, aggs);
  }

  if (sessionRows.length > 0) {
    const sessions = new Array<number>(n).fill(0);
    const buyers = new Array<number>(n).fill(0);
    for (const r of sessionRows) {
      const t = dayDiff(start, r.d);
      sessions[t] = Number(r.sessions);
      buyers[t] = Number(r.buyers);
    }
    const firstEvents = dayDiff(start, sessionRows[0]!.d);
    out.push({
      metric: 'conversion_rate',
      dimension: 'STORE',
      dimensionValue: '',
      start,
      values: sessions.map((s, t) => (t >= firstEvents && s >= p.minSessionsForConversion ? buyers[t]! / s : null)),
    });
  }
  return out;
}

// --- the run ----------------------------------------------------------------------------------------

export interface RunAnomaliesOptions {
  storeId: string;
  runId: string;
  /** Overrides of the model parameters. */
  params?: Partial<AnomalyModelParams>;
  /**
   * Re-score the store's whole history. Otherwise, when the store has an earlier run, only the
   * last `rescoreDays` days (up to the store's newest data) are scored again and the earlier
   * run's detections before them are carried into this run unchanged.
   * @default false
   */
  full?: boolean;
  /** Days re-scored by an incremental run. @default 60 */
  rescoreDays?: number;
}

/** Days of data before a scored day its score depends on (baseline weeks + pooled residuals). */
export function historyNeeded(p: AnomalyModelParams): number {
  return 7 * p.weeks + Math.max(p.residualWindowDays, p.volumeWindowDays) + 7;
}

/**
 * Scores the daily series of a store and stores the anomalies found, with the model parameters,
 * under `runId` (a retry with the same runId replaces the earlier attempt). The first run of a
 * store (or `full`) scores its whole history; later runs re-score the recent `rescoreDays` days
 * and carry the earlier detections over, so each run holds the complete set. Returns the
 * detections written (carried ones included), the series and the points scored.
 */
export async function runAnomalies(wh: Warehouse, opts: RunAnomaliesOptions): Promise<{ rows: number; series: number; points: number }> {
  const p: AnomalyModelParams = { ...DEFAULT_ANOMALY_PARAMS, ...opts.params };
  const startedAt = Date.now();
  const attempt = randomUUID();
  const tz = await storeTimezone(wh, opts.storeId);
  let scoreFrom: string | undefined;
  let previous: { run_id: string; attempt: string } | undefined;
  if (!opts.full) {
    [previous] = await wh.query<{ run_id: string; attempt: string }>(
      `SELECT run_id, attempt FROM analytics_runs FINAL
        WHERE store_id = {store:String} AND kind = 'anomalies' ORDER BY finished_at DESC LIMIT 1`,
      { store: opts.storeId },
    );
    if (previous) {
      const [last] = await wh.query<{ d: string }>(
        `SELECT toString(greatest(
                  (SELECT toDate(max(created_at), {tz:String}) FROM fact_orders WHERE store_id = {store:String}),
                  (SELECT toDate(max(event_time), {tz:String}) FROM fact_events WHERE store_id = {store:String}))) AS d`,
        { store: opts.storeId, tz },
      );
      const days = opts.rescoreDays ?? 60;
      if (!(Number.isInteger(days) && days > 0)) throw new RangeError(`rescoreDays must be a positive integer, got ${days}`);
      if (last && last.d > '1970-01-01') scoreFrom = addDays(last.d, 1 - days);
    }
  }
  const series = await loadDailySeries(wh, opts.storeId, p, scoreFrom ? addDays(scoreFrom, -historyNeeded(p)) : undefined, tz);
  const paramsJson = JSON.stringify(p);
  const createdAt = new Date().toISOString();
  const rows: Record<string, unknown>[] = [];
  let points = 0;
  for (const s of series) {
    const scored = scoreSeries(s, p);
    points += scoreFrom ? scored.filter((pt) => pt.date >= scoreFrom!).length : scored.length;
    for (const pt of scored) {
      if (!pt.severity || (scoreFrom && pt.date < scoreFrom)) continue;
      const t = dayDiff(s.start, pt.date);
      const exact = s.exact?.[t];
      rows.push({
        store_id: opts.storeId,
        run_id: opts.runId,
        attempt,
        date: pt.date,
        metric: s.metric,
        dimension: s.dimension,
        dimension_value: s.dimensionValue,
        actual: exact ?? pt.actual.toFixed(8),
        expected: pt.expected.toFixed(8),
        lower: pt.lower.toFixed(8),
        upper: pt.upper.toFixed(8),
        mad: pt.mad.toFixed(8),
        scale: pt.scale.toFixed(8),
        history_points: pt.historyPoints,
        score: pt.score.toFixed(6),
        direction: pt.direction,
        severity: pt.severity,
        params: paramsJson,
        created_at: createdAt,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 10_000) await wh.insert('anomaly_detections', rows.slice(i, i + 10_000));
  let carried = 0;
  if (previous && scoreFrom) {
    const q = { store: opts.storeId, prevRun: previous.run_id, prevAttempt: previous.attempt, before: scoreFrom };
    const [c] = await wh.query<{ n: string }>(
      `SELECT toString(count()) AS n FROM anomaly_detections
        WHERE store_id = {store:String} AND run_id = {prevRun:String} AND attempt = {prevAttempt:String} AND date < {before:Date}`,
      q,
    );
    carried = Number(c?.n ?? 0);
    if (carried > 0) {
      await wh.command(
        `INSERT INTO anomaly_detections
           (store_id, run_id, attempt, date, metric, dimension, dimension_value, actual, expected, lower, upper, mad, scale,
            history_points, score, direction, severity, params, created_at)
         SELECT store_id, {run:String}, {attempt:String}, date, metric, dimension, dimension_value, actual, expected, lower, upper, mad, scale,
                history_points, score, direction, severity, params, created_at
           FROM anomaly_detections
          WHERE store_id = {store:String} AND run_id = {prevRun:String} AND attempt = {prevAttempt:String} AND date < {before:Date}`,
        { ...q, run: opts.runId, attempt },
      );
    }
  }
  await wh.insert('analytics_runs', [
    {
      store_id: opts.storeId,
      kind: 'anomalies',
      run_id: opts.runId,
      attempt,
      started_at: new Date(startedAt).toISOString(),
      finished_at: new Date().toISOString(),
      series: series.length,
      points,
      rows_written: rows.length + carried,
      params: JSON.stringify({ ...p, scoredFrom: scoreFrom ?? null, carriedFrom: scoreFrom ? previous?.run_id : null }),
      version: Date.now() * 1000 + Math.floor(Math.random() * 1000),
    },
  ]);
  return { rows: rows.length + carried, series: series.length, points };
}
