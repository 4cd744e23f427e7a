import { randomUUID } from 'node:crypto';
import type { Warehouse } from '../warehouse/client.js';

/**
 * Whole-store analytics results (segments, affinity) are written under a fresh result id and then
 * published in `analytics_current_results`; readers only ever read the published result. This module
 * holds that bookkeeping and the small time helpers the computations share.
 */

/** The whole-store outputs published through `analytics_current_results`. */
export type ResultOutput = 'segments' | 'affinity';

/** How long an unpublished or superseded result is kept before cleanup may delete it. */
const CLEANUP_GRACE_MS = 60 * 60 * 1000;

/** A ClickHouse `DateTime64(3)` literal (UTC) for a JS instant. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Parses an `asOf` option (Date, ISO string or epoch ms); now when omitted. */
export function instant(asOf: Date | string | number | undefined): number {
  if (asOf === undefined) return Date.now();
  const ms = asOf instanceof Date ? asOf.getTime() : typeof asOf === 'number' ? asOf : Date.parse(asOf);
  if (!Number.isFinite(ms)) throw new Error(`asOf ${String(asOf)} is not a valid instant (use an ISO date-time)`);
  return ms;
}

let lastVersion = 0n;
/** A strictly increasing version for ReplacingMergeTree rows written by this process (µs since epoch). */
export function nextVersion(): bigint {
  const v = BigInt(Date.now()) * 1000n;
  lastVersion = v > lastVersion ? v : lastVersion + 1n;
  return lastVersion;
}

/** A new, unique id for the rows of one computation attempt of a run. */
export function newResultId(runId: string): string {
  return `${runId}#${randomUUID()}`;
}

export { storeTimezone } from '../warehouse/store-timezone.js';

/** The store-local calendar day (YYYY-MM-DD) of an instant. */
export async function localDate(wh: Warehouse, ms: number, timezone: string): Promise<string> {
  const rows = await wh.query<{ d: string }>("SELECT toString(toDate({t:DateTime64(3, 'UTC')}, {tz:String})) AS d", {
    t: chTime(ms),
    tz: timezone,
  });
  return rows[0]!.d;
}

/** Shifts a YYYY-MM-DD day by whole days. */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export interface PublishedResult {
  resultId: string;
  runId: string;
  windowDays: number;
  asOf: string;
  windowFrom: string;
  windowTo: string;
  rows: number;
  computedAt: string;
}

/**
 * The current result of an output. For affinity, `windowDays` picks the window; omitted, the most
 * recently computed window of the store is returned. Null when the output was never computed.
 */
export async function currentResult(
  wh: Warehouse,
  o: { storeId: string; output: ResultOutput; windowDays?: number },
): Promise<PublishedResult | null> {
  const rows = await wh.query<{
    result_id: string;
    run_id: string;
    window_days: number;
    as_of: string;
    window_from: string;
    window_to: string;
    row_count: string;
    computed_at: string;
  }>(
    `SELECT result_id, run_id, window_days, toString(as_of) AS as_of, toString(window_from) AS window_from,
            toString(window_to) AS window_to, row_count, toString(computed_at) AS computed_at
       FROM analytics_current_results FINAL
      WHERE store_id = {store:String} AND output = {output:String}
        AND ({anyWindow:UInt8} = 1 OR window_days = {windowDays:UInt32})
      ORDER BY computed_at DESC, window_days
      LIMIT 1`,
    { store: o.storeId, output: o.output, anyWindow: o.windowDays === undefined ? 1 : 0, windowDays: o.windowDays ?? 0 },
  );
  const r = rows[0];
  if (!r) return null;
  return {
    resultId: r.result_id,
    runId: r.run_id,
    windowDays: Number(r.window_days),
    asOf: r.as_of,
    windowFrom: r.window_from,
    windowTo: r.window_to,
    rows: Number(r.row_count),
    computedAt: r.computed_at,
  };
}

/** The rows table of each output; identifiers from this fixed list only. */
const RESULT_TABLES: Record<ResultOutput, string> = { segments: 'customer_segments', affinity: 'product_affinity' };

/**
 * Makes a fully written result the current one, then deletes the store's results of that output
 * (and window) other than the new and the previous one that are older than a grace period, so a
 * reader that looked up the previous result a moment ago can still read it, and a concurrent
 * computation still writing is not disturbed.
 */
export async function publishResult(
  wh: Warehouse,
  o: {
    storeId: string;
    output: ResultOutput;
    windowDays?: number;
    resultId: string;
    runId: string;
    asOfMs: number;
    windowFrom?: string;
    windowTo?: string;
    rows: number;
    params?: Record<string, unknown>;
    startedAtMs: number;
  },
): Promise<void> {
  const windowDays = o.windowDays ?? 0;
  const previous = await currentResult(wh, { storeId: o.storeId, output: o.output, windowDays });
  await wh.insert('analytics_current_results', [
    {
      store_id: o.storeId,
      output: o.output,
      window_days: windowDays,
      result_id: o.resultId,
      run_id: o.runId,
      previous_result_id: previous?.resultId ?? '',
      as_of: chTime(o.asOfMs),
      window_from: o.windowFrom ?? '1970-01-01',
      window_to: o.windowTo ?? '1970-01-01',
      row_count: o.rows,
      params: JSON.stringify(o.params ?? {}),
      computed_at: chTime(Date.now()),
      version: nextVersion().toString(),
    },
  ]);
  const keep = [o.resultId, ...(previous ? [previous.resultId] : [])];
  const table = RESULT_TABLES[o.output];
  const windowFilter = o.output === 'affinity' ? 'AND window_days = {windowDays:UInt32}' : '';
  const params = { store: o.storeId, windowDays, keep, before: chTime(o.startedAtMs - CLEANUP_GRACE_MS) };
  const stale = `store_id = {store:String} ${windowFilter}
        AND result_id NOT IN {keep:Array(String)}
        AND computed_at < {before:DateTime64(3, 'UTC')}`;
  // A mutation rewrites parts: only issue one when there is something to delete.
  const found = await wh.query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${stale}`, params);
  if (Number(found[0]?.n ?? 0) === 0) return;
  await wh.command(`ALTER TABLE ${table} DELETE WHERE ${stale}`, params);
}
