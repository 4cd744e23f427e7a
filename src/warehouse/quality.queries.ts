import type { Warehouse } from './client.js';

/**
 * One data-quality check of the latest run. `value` is the measured badness (a share of rows
 * 0..1, or hours for FRESHNESS); status is PASS when value ≤ warnThreshold, WARN up to
 * `threshold`, FAIL above it. `offending` of `checked` rows (or keys) broke the check; `sampleIds`
 * holds up to 10 of them (order ids, `order_id|line`, customer or product ids, or
 * `batch_id#row_number` for rejected records).
 */
export interface QualityCheck {
  table: string;
  check: string;
  dimension: 'COMPLETENESS' | 'UNIQUENESS' | 'VALIDITY' | 'CONSISTENCY' | 'FRESHNESS';
  value: number;
  threshold: number;
  warnThreshold: number;
  status: 'PASS' | 'WARN' | 'FAIL';
  offending: number;
  checked: number;
  sampleIds: string[];
  /** ISO 8601 UTC instant of the run. */
  checkedAt: string;
  message: string;
  runId: string;
}

interface Row {
  table_name: string;
  check_name: string;
  dimension: string;
  value: string;
  threshold: string;
  warn_threshold: string;
  status: string;
  offending: string;
  checked: string;
  sample_ids: string[];
  checked_text: string;
  message: string;
  run_id: string;
}

/** The checks of the store's latest data-quality run (empty before the first run), by table and check. */
export async function dataQuality(wh: Warehouse, o: { storeId: string }): Promise<QualityCheck[]> {
  const rows = await wh.query<Row>(
    `SELECT table_name, check_name, dimension, value, threshold, warn_threshold, status, toString(offending) AS offending,
            toString(checked) AS checked, sample_ids,
            toString(checked_at) AS checked_text, message, run_id
       FROM data_quality_results
      WHERE store_id = {store:String}
        AND (run_id, attempt) IN (SELECT run_id, attempt FROM analytics_runs FINAL
                                   WHERE store_id = {store:String} AND kind = 'quality'
                                   ORDER BY finished_at DESC, run_id DESC LIMIT 1)
      ORDER BY table_name, dimension, check_name`,
    { store: o.storeId },
  );
  return rows.map((r) => ({
    table: r.table_name,
    check: r.check_name,
    dimension: r.dimension as QualityCheck['dimension'],
    value: Number(r.value),
    threshold: Number(r.threshold),
    warnThreshold: Number(r.warn_threshold),
    status: r.status as QualityCheck['status'],
    offending: Number(r.offending),
    checked: Number(r.checked),
    sampleIds: r.sample_ids,
    checkedAt: r.checked_text.replace(' ', 'T') + 'Z',
    message: r.message,
    runId: r.run_id,
  }));
}
