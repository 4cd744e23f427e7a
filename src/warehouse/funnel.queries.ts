import type { Warehouse } from './client.js';

/** Store-local days, both inclusive. */
export interface FunnelRange {
  from: string;
  to: string;
}

export type FunnelGroupBy = 'DAY' | 'CHANNEL';

/**
 * Sessions reaching each step of the funnel (in order; see docs/analytics.md) and the step rates.
 * Every rate is null when its denominator is 0.
 */
export interface FunnelRow {
  /** Store-local day of the sessions' first event (when grouped by DAY). */
  date?: string;
  channel?: string;
  sessions: number;
  productViews: number;
  addToCarts: number;
  checkouts: number;
  purchases: number;
  /** productViews / sessions */
  viewRate: number | null;
  /** addToCarts / productViews */
  cartRate: number | null;
  /** checkouts / addToCarts */
  checkoutRate: number | null;
  /** purchases / checkouts */
  purchaseRate: number | null;
  /** purchases / sessions */
  overallConversion: number | null;
}

/** Group-by dimensions → column, from this fixed list only. */
const GROUP_COLUMNS: Record<FunnelGroupBy, { select: string; key: string }> = {
  DAY: { select: 'toString(date) AS day', key: 'day' },
  CHANNEL: { select: 'toString(channel) AS channel_name', key: 'channel_name' },
};

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/**
 * The funnel of a store over a store-local day range from the `funnel_daily` rows written by
 * runFunnel: one row in total without `groupBy` (zeros when there were no sessions), otherwise one
 * row per day and/or channel that had sessions, ordered by day then channel.
 */
export async function funnel(
  wh: Warehouse,
  o: { storeId: string; range: FunnelRange; groupBy?: FunnelGroupBy[] },
): Promise<FunnelRow[]> {
  const groups = [...new Set(o.groupBy ?? [])].sort((a, b) => (a === 'DAY' ? -1 : b === 'DAY' ? 1 : 0));
  for (const g of groups) if (!(g in GROUP_COLUMNS)) throw new Error(`funnel: unknown groupBy ${String(g)}`);
  const selects = groups.map((g) => GROUP_COLUMNS[g].select);
  const keys = groups.map((g) => GROUP_COLUMNS[g].key);
  const rows = await wh.query<{
    day?: string;
    channel_name?: string;
    sessions_n: string;
    views_n: string;
    carts_n: string;
    checkouts_n: string;
    purchases_n: string;
  }>(
    `SELECT ${[...selects, ''].join(', ')}
            sum(sessions) AS sessions_n, sum(product_views) AS views_n, sum(add_to_carts) AS carts_n,
            sum(checkouts) AS checkouts_n, sum(purchases) AS purchases_n
       FROM funnel_daily FINAL
      WHERE store_id = {store:String} AND date BETWEEN {from:Date} AND {to:Date}
      ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}` : ''}`,
    { store: o.storeId, from: o.range.from, to: o.range.to },
  );
  return rows.map((r) => {
    const sessions = Number(r.sessions_n);
    const productViews = Number(r.views_n);
    const addToCarts = Number(r.carts_n);
    const checkouts = Number(r.checkouts_n);
    const purchases = Number(r.purchases_n);
    return {
      ...(r.day !== undefined ? { date: r.day } : {}),
      ...(r.channel_name !== undefined ? { channel: r.channel_name } : {}),
      sessions,
      productViews,
      addToCarts,
      checkouts,
      purchases,
      viewRate: ratio(productViews, sessions),
      cartRate: ratio(addToCarts, productViews),
      checkoutRate: ratio(checkouts, addToCarts),
      purchaseRate: ratio(purchases, checkouts),
      overallConversion: ratio(purchases, sessions),
    };
  });
}
