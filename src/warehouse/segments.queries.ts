import type { Warehouse } from './client.js';
import { currentResult } from '../analytics/current-result.js';
import { SEGMENTS } from '../analytics/segments.js';

/** One RFM segment of a store's current segmentation. */
export interface SegmentSummary {
  segment: string;
  customers: number;
  /** customers / all segmented customers of the store (0–1). */
  share: number;
  /** Σ monetary of the segment's customers (sales minus refunds), decimal string, up to 4 decimals. */
  monetary: string;
  avgRecencyDays: number;
  avgFrequency: number;
}

/** A customer's segment and R, F, M scores (1–5). */
export interface CustomerSegment {
  segment: string;
  r: number;
  f: number;
  m: number;
}

/**
 * Counts and value per segment from the store's current RFM result: all eight segments in
 * {@link SEGMENTS} order (zeros for empty ones), or [] when segments were never computed.
 */
export async function customerSegments(wh: Warehouse, o: { storeId: string }): Promise<SegmentSummary[]> {
  const current = await currentResult(wh, { storeId: o.storeId, output: 'segments' });
  if (!current) return [];
  const rows = await wh.query<{ segment: string; customers: string; monetary_total: string; avg_recency: number; avg_frequency: number }>(
    `SELECT segment, count() AS customers, toString(sum(monetary)) AS monetary_total,
            avg(recency_days) AS avg_recency, avg(frequency) AS avg_frequency
       FROM customer_segments
      WHERE store_id = {store:String} AND result_id = {result:String}
      GROUP BY segment`,
    { store: o.storeId, result: current.resultId },
  );
  const total = rows.reduce((s, r) => s + Number(r.customers), 0);
  if (total === 0) return [];
  const bySegment = new Map(rows.map((r) => [r.segment, r]));
  return SEGMENTS.map((segment) => {
    const r = bySegment.get(segment);
    const customers = r ? Number(r.customers) : 0;
    return {
      segment,
      customers,
      share: customers / total,
      monetary: r ? r.monetary_total : '0',
      avgRecencyDays: r ? Number(r.avg_recency) : 0,
      avgFrequency: r ? Number(r.avg_frequency) : 0,
    };
  });
}

/**
 * The current segment and scores of the given customers; customers without a counted order (or
 * guests) are absent from the map.
 */
export async function segmentsOfCustomers(
  wh: Warehouse,
  o: { storeId: string; customerIds: string[] },
): Promise<Map<string, CustomerSegment>> {
  const out = new Map<string, CustomerSegment>();
  if (o.customerIds.length === 0) return out;
  const current = await currentResult(wh, { storeId: o.storeId, output: 'segments' });
  if (!current) return out;
  const rows = await wh.query<{ customer_id: string; segment: string; r_score: number; f_score: number; m_score: number }>(
    `SELECT customer_id, segment, r_score, f_score, m_score
       FROM customer_segments
      WHERE store_id = {store:String} AND result_id = {result:String} AND customer_id IN {ids:Array(String)}`,
    { store: o.storeId, result: current.resultId, ids: [...new Set(o.customerIds)] },
  );
  for (const r of rows) out.set(r.customer_id, { segment: r.segment, r: Number(r.r_score), f: Number(r.f_score), m: Number(r.m_score) });
  return out;
}
