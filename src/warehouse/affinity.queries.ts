import type { Warehouse } from './client.js';
import { currentResult } from '../analytics/current-result.js';
import { NON_MERCHANDISE_CATEGORY } from '../analytics/affinity.js';

/** A product bought together with `productId` (definitions in docs/analytics.md). */
export interface Affinity {
  productId: string;
  otherProductId: string;
  /** Orders in the window containing both products. */
  pairOrders: number;
  /** pairOrders / orders in the window. */
  support: number;
  /** pairOrders / orders containing productId: P(other | product). */
  confidence: number;
  /** confidence / support of otherProductId alone; > 1 = bought together more than by chance. */
  lift: number;
}

/**
 * The products most often bought with `productId` in the store's current affinity result, best
 * first: by confidence, then lift, then product id. (For one product, confidence orders like the
 * pair orders and, among equal pairs, lift like the other product's rarity, so the order is exact
 * integer arithmetic.) `windowDays` picks the window; omitted, the most recently computed window.
 * [] when nothing was computed.
 */
export async function frequentlyBoughtTogether(
  wh: Warehouse,
  o: { storeId: string; productId: string; limit: number; windowDays?: number },
): Promise<Affinity[]> {
  if (!Number.isInteger(o.limit) || o.limit < 1) throw new RangeError(`frequentlyBoughtTogether: limit must be a positive integer, got ${o.limit}`);
  const current = await currentResult(wh, { storeId: o.storeId, output: 'affinity', windowDays: o.windowDays });
  if (!current) return [];
  const rows = await wh.query<{ other_product_id: string; pair_orders: string; product_orders: string; other_orders: string; window_orders: string }>(
    `SELECT other_product_id, pair_orders, product_orders, other_orders, window_orders
       FROM product_affinity
      WHERE store_id = {store:String} AND result_id = {result:String} AND product_id = {product:String}
      ORDER BY pair_orders DESC, other_orders ASC, other_product_id
      LIMIT {limit:UInt32}`,
    { store: o.storeId, result: current.resultId, product: o.productId, limit: o.limit },
  );
  return rows.map((r) => affinityOf(o.productId, r));
}

/** The ratios of a pair from its stored counts. */
function affinityOf(
  productId: string,
  r: { other_product_id: string; pair_orders: string; product_orders: string; other_orders: string; window_orders: string },
): Affinity {
  const pair = Number(r.pair_orders);
  const n = Number(r.window_orders);
  const confidence = pair / Number(r.product_orders);
  return {
    productId,
    otherProductId: r.other_product_id,
    pairOrders: pair,
    support: pair / n,
    confidence,
    lift: confidence / (Number(r.other_orders) / n),
  };
}

/** A product's rank within its category over a date range. */
export interface CategoryProductRank {
  category: string;
  /** 1 = best in the category. */
  rank: number;
  productId: string;
  sku: string;
  name: string;
  /** The product's sales minus its refunds (allocated as in docs/metrics.md), decimal string. */
  netRevenue: string;
  /** Units sold in booked orders. */
  units: number;
  /** Booked orders containing the product. */
  orders: number;
}

/** Ranking measure → ORDER BY expression, from this fixed list only. */
const RANK_BY: Record<'REVENUE' | 'UNITS', string> = {
  REVENUE: 'revenue_total DESC, units_total DESC, product_id',
  UNITS: 'units_total DESC, revenue_total DESC, product_id',
};

/**
 * The top `limit` merchandise products of every category over the store-local day range, by net
 * revenue or units, from the daily product rollup (gold_sales_product_daily, the same numbers as
 * the sales KPIs). Products with neither revenue nor units (only in cancelled orders) are left out.
 * Ordered by category, then rank.
 */
export async function topProductsByCategory(
  wh: Warehouse,
  o: { storeId: string; range: { from: string; to: string }; by: 'REVENUE' | 'UNITS'; limit: number },
): Promise<CategoryProductRank[]> {
  const order = RANK_BY[o.by];
  if (!order) throw new RangeError(`topProductsByCategory: by must be REVENUE or UNITS, got ${String(o.by)}`);
  if (!Number.isInteger(o.limit) || o.limit < 1) throw new RangeError(`topProductsByCategory: limit must be a positive integer, got ${o.limit}`);
  const rows = await wh.query<{
    category_name: string;
    rn: string;
    product_id: string;
    sku: string;
    name: string;
    revenue: string;
    units_total: string;
    orders_total: string;
  }>(
    `SELECT r.category_name AS category_name, r.rn AS rn, r.product_id AS product_id, ifNull(p.sku, '') AS sku, ifNull(p.name, '') AS name,
            toString(r.revenue_total) AS revenue, r.units_total AS units_total, r.orders_total AS orders_total
       FROM (
         SELECT category_name, product_id, revenue_total, units_total, orders_total,
                row_number() OVER (PARTITION BY category_name ORDER BY ${order}) AS rn
           FROM (
             SELECT toString(category) AS category_name, product_id,
                    sum(net_revenue) AS revenue_total, sum(units) AS units_total, uniqExactMerge(orders_state) AS orders_total
               FROM gold_sales_product_daily FINAL
              WHERE store_id = {store:String} AND date BETWEEN {from:Date} AND {to:Date}
                AND product_id != '' AND category != {nonMerch:String}
              GROUP BY category_name, product_id
             -- a product seen only in cancelled orders sold nothing
             HAVING revenue_total != 0 OR units_total != 0
           )
       ) AS r
       LEFT JOIN (
         SELECT product_id, sku, name FROM dim_product FINAL WHERE store_id = {store:String}
       ) AS p ON p.product_id = r.product_id
      WHERE r.rn <= {limit:UInt32}
      ORDER BY category_name, rn`,
    { store: o.storeId, from: o.range.from, to: o.range.to, nonMerch: NON_MERCHANDISE_CATEGORY, limit: o.limit },
  );
  return rows.map((r) => ({
    category: r.category_name,
    rank: Number(r.rn),
    productId: r.product_id,
    sku: r.sku,
    name: r.name,
    netRevenue: r.revenue,
    units: Number(r.units_total),
    orders: Number(r.orders_total),
  }));
}
