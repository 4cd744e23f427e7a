import type { Warehouse } from './client.js';
import { dayScope, daysBetween, salesLinesSql, scopeParams } from './sales-lines.js';
import { storeTimezone } from './store-timezone.js';

/**
 * Sales KPIs, series, breakdowns and top products, read from the gold rollups (HOUR from the
 * facts). Definitions: docs/metrics.md. Money is a decimal string with exactly 4 decimals
 * ("1234.5000"); counts are numbers. Dates are store-local.
 */

export interface DateRange {
  from: string;
  to: string;
}
/** An empty or missing list means no filter on that dimension. */
export interface SalesFilter {
  countries?: string[];
  categories?: string[];
  channels?: string[];
  productIds?: string[];
}
export interface KpiValues {
  netRevenue: string;
  grossRevenue: string;
  refunds: string;
  discounts: string;
  orders: number;
  customers: number;
  newCustomers: number;
  returningCustomers: number;
  /** grossRevenue / orders (4 decimals, half away from zero); null without orders. */
  averageOrderValue: string | null;
  units: number;
  items: number;
  /** refunds / grossRevenue; null when grossRevenue is 0. */
  returnRate: number | null;
  cancelledOrders: number;
  cancelledValue: string;
  returnedOrders: number;
  returnedValue: string;
}
export type Granularity = 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'QUARTER' | 'YEAR';
export type SalesGroupBy = 'COUNTRY' | 'CATEGORY' | 'CHANNEL' | 'PAYMENT_METHOD' | 'PRODUCT';
export interface SalesPoint extends KpiValues {
  /** YYYY-MM-DD (start of the calendar period; weeks start on Monday), or for HOUR the UTC instant of the local hour's start (ISO 8601). */
  periodStart: string;
  country?: string;
  category?: string;
  channel?: string;
  paymentMethod?: string;
  productId?: string;
}
export interface ProductRank {
  productId: string;
  sku: string;
  name: string;
  category: string;
  netRevenue: string;
  units: number;
  orders: number;
}

/** A query argument that cannot be answered; `argument` names it. */
export class SalesQueryError extends RangeError {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument}: ${message}`);
    this.name = 'SalesQueryError';
  }
}

type Dim = 'country' | 'channel' | 'payment_method' | 'category' | 'product_id';
const GROUPS: Record<SalesGroupBy, { col: Dim; key: 'country' | 'category' | 'channel' | 'paymentMethod' | 'productId' }> = {
  COUNTRY: { col: 'country', key: 'country' },
  CATEGORY: { col: 'category', key: 'category' },
  CHANNEL: { col: 'channel', key: 'channel' },
  PAYMENT_METHOD: { col: 'payment_method', key: 'paymentMethod' },
  PRODUCT: { col: 'product_id', key: 'productId' },
};
/** Period start of a day column. */
const PERIODS: Record<Exclude<Granularity, 'HOUR'>, (day: string) => string> = {
  DAY: (d) => d,
  WEEK: (d) => `toMonday(${d})`,
  MONTH: (d) => `toStartOfMonth(${d})`,
  QUARTER: (d) => `toStartOfQuarter(${d})`,
  YEAR: (d) => `toStartOfYear(${d})`,
};

/** Where a query is answered: a rollup grain, or the fact lines (HOUR, or dimensions no grain has together). */
type Source = 'order' | 'category' | 'product' | 'facts';
const GRAIN_DIMS: Record<Exclude<Source, 'facts'>, Dim[]> = {
  order: ['country', 'channel', 'payment_method'],
  category: ['country', 'channel', 'category'],
  product: ['category', 'product_id'],
};

const GRAIN_TABLES: Record<Exclude<Source, 'facts'>, string> = {
  order: 'gold_sales_daily',
  category: 'gold_sales_category_daily',
  product: 'gold_sales_product_daily',
};

/** The cheapest source holding every dimension used. */
function sourceFor(dims: Set<Dim>, hourly: boolean): Source {
  if (hourly) return 'facts';
  for (const grain of ['order', 'category', 'product'] as const) {
    if ([...dims].every((d) => GRAIN_DIMS[grain].includes(d))) return grain;
  }
  return 'facts';
}

/** Aggregates over the rollup's state columns (grains where an order can span rows). */
const STATE_METRICS = `
    toDecimalString(sum(gross_revenue), 4) AS m_gross, toDecimalString(sum(refunds), 4) AS m_refunds,
    toDecimalString(sum(net_revenue), 4) AS m_net, toDecimalString(sum(discounts), 4) AS m_discounts,
    uniqExactMerge(orders_state) AS m_orders, toUInt64(sum(items)) AS m_items, toInt64(sum(units)) AS m_units,
    uniqExactMerge(customers_state) AS m_customers, uniqExactMerge(new_customers_state) AS m_new,
    uniqExactMerge(cancelled_orders_state) AS m_cancelled, toDecimalString(sum(cancelled_value), 4) AS m_cancelled_value,
    uniqExactMerge(returned_orders_state) AS m_returned, toDecimalString(sum(returned_value), 4) AS m_returned_value`;

/** Aggregates over the fact lines (salesLinesSql). */
const FACT_METRICS = `
    toDecimalString(sum(a_gross), 4) AS m_gross, toDecimalString(sum(a_refund), 4) AS m_refunds,
    toDecimalString(sum(a_gross - a_refund), 4) AS m_net, toDecimalString(sum(a_disc), 4) AS m_discounts,
    uniqExactIf(order_id, is_booked) AS m_orders, countIf(is_booked AND has_line) AS m_items,
    sumIf(toInt64(quantity), is_booked AND has_line) AS m_units,
    uniqExactIf(customer_id, is_booked AND customer_id != '') AS m_customers, uniqExactIf(customer_id, is_new) AS m_new,
    uniqExactIf(order_id, is_cancelled) AS m_cancelled, toDecimalString(sum(a_cancel), 4) AS m_cancelled_value,
    uniqExactIf(order_id, is_returned) AS m_returned, toDecimalString(sum(a_return), 4) AS m_returned_value`;

/** Aggregates per source; each yields the same m_* columns. */
const METRICS: Record<Source, string> = {
  order: `
    toDecimalString(sum(gross_revenue), 4) AS m_gross, toDecimalString(sum(refunds), 4) AS m_refunds,
    toDecimalString(sum(net_revenue), 4) AS m_net, toDecimalString(sum(discounts), 4) AS m_discounts,
    toUInt64(sum(orders)) AS m_orders, toUInt64(sum(items)) AS m_items, toInt64(sum(units)) AS m_units,
    uniqExactMerge(customers_state) AS m_customers, uniqExactMerge(new_customers_state) AS m_new,
    toUInt64(sum(cancelled_orders)) AS m_cancelled, toDecimalString(sum(cancelled_value), 4) AS m_cancelled_value,
    toUInt64(sum(returned_orders)) AS m_returned, toDecimalString(sum(returned_value), 4) AS m_returned_value`,
  category: STATE_METRICS,
  product: STATE_METRICS,
  facts: FACT_METRICS,
};

interface MetricRow {
  m_gross: string;
  m_refunds: string;
  m_net: string;
  m_discounts: string;
  m_orders: string | number;
  m_items: string | number;
  m_units: string | number;
  m_customers: string | number;
  m_new: string | number;
  m_cancelled: string | number;
  m_cancelled_value: string;
  m_returned: string | number;
  m_returned_value: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function checkRange(range: DateRange): void {
  for (const k of ['from', 'to'] as const) {
    const d = range?.[k];
    if (typeof d !== 'string' || !DATE.test(d) || Number.isNaN(Date.parse(d + 'T00:00:00Z'))) {
      throw new SalesQueryError(`range.${k}`, `${String(d)} is not a YYYY-MM-DD date`);
    }
  }
  if (range.from > range.to) throw new SalesQueryError('range', `from ${range.from} is after to ${range.to}`);
}

function filterParams(filter: SalesFilter | undefined) {
  const list = (name: string, v: string[] | undefined) => {
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) throw new SalesQueryError(`filter.${name}`, 'must be a list of strings');
    return v ?? [];
  };
  return {
    countries: list('countries', filter?.countries),
    categories: list('categories', filter?.categories),
    channels: list('channels', filter?.channels),
    productIds: list('productIds', filter?.productIds),
  };
}

/** WHERE conditions of the filter (an empty list is no condition), for the dimensions a source has. */
function filterSql(dims: Dim[]): string {
  const conds: Record<string, string> = {
    country: '(empty({countries:Array(String)}) OR country IN {countries:Array(String)})',
    channel: '(empty({channels:Array(String)}) OR channel IN {channels:Array(String)})',
    category: '(empty({categories:Array(String)}) OR category IN {categories:Array(String)})',
    product_id: '(empty({productIds:Array(String)}) OR product_id IN {productIds:Array(String)})',
  };
  return ['1', ...dims.filter((d) => d in conds).map((d) => conds[d]!)].join(' AND ');
}

/** The dimensions a filter restricts. */
function filterDims(f: ReturnType<typeof filterParams>): Dim[] {
  const out: Dim[] = [];
  if (f.countries.length > 0) out.push('country');
  if (f.channels.length > 0) out.push('channel');
  if (f.categories.length > 0) out.push('category');
  if (f.productIds.length > 0) out.push('product_id');
  return out;
}

const ALL_DIMS: Dim[] = ['country', 'channel', 'payment_method', 'category', 'product_id'];

/** FROM and WHERE of a source over the range (facts: the fact lines of the range's days). */
async function sourceSql(wh: Warehouse, source: Source, o: { storeId: string; range: DateRange }, params: Record<string, unknown>) {
  if (source === 'facts') {
    params.tz = await storeTimezone(wh, o.storeId);
    Object.assign(params, scopeParams(dayScope(daysBetween(o.range.from, o.range.to))));
    return { from: `(${salesLinesSql(true)})`, where: filterSql(ALL_DIMS), day: 'day' };
  }
  return {
    from: `${GRAIN_TABLES[source]} FINAL`,
    where: `store_id = {store:String} AND date BETWEEN {from:Date} AND {to:Date} AND ${filterSql(GRAIN_DIMS[source])}`,
    day: 'date',
  };
}

const units4 = (s: string): bigint => {
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) throw new Error(`not a decimal with at most 4 decimals: ${s}`);
  const v = BigInt(m[2]!) * 10000n + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] ? -v : v;
};
const str4 = (u: bigint): string => {
  const neg = u < 0n;
  const a = neg ? -u : u;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(4, '0')}`;
};

/** a / n for a 4-decimal money string, rounded half away from zero to 4 decimals. */
export function divideMoney(amount: string, n: number): string {
  const u = units4(amount);
  const d = BigInt(n);
  const q = (2n * (u < 0n ? -u : u) + d) / (2n * d);
  return str4(u < 0n ? -q : q);
}

function toKpis(r: MetricRow): KpiValues {
  const orders = Number(r.m_orders);
  const customers = Number(r.m_customers);
  const newCustomers = Number(r.m_new);
  const gross = units4(r.m_gross);
  return {
    netRevenue: r.m_net,
    grossRevenue: r.m_gross,
    refunds: r.m_refunds,
    discounts: r.m_discounts,
    orders,
    customers,
    newCustomers,
    returningCustomers: customers - newCustomers,
    averageOrderValue: orders > 0 ? divideMoney(r.m_gross, orders) : null,
    units: Number(r.m_units),
    items: Number(r.m_items),
    returnRate: gross === 0n ? null : Number(units4(r.m_refunds)) / Number(gross),
    cancelledOrders: Number(r.m_cancelled),
    cancelledValue: r.m_cancelled_value,
    returnedOrders: Number(r.m_returned),
    returnedValue: r.m_returned_value,
  };
}

interface AggregateOptions {
  storeId: string;
  range: DateRange;
  filter?: SalesFilter;
  groupBy?: SalesGroupBy[];
  granularity?: Granularity;
}

/** One query over the cheapest source that can answer it; rows carry p_period and g_<col> keys. */
async function aggregate(wh: Warehouse, o: AggregateOptions): Promise<Array<MetricRow & Record<string, string>>> {
  if (typeof o.storeId !== 'string' || o.storeId === '') throw new SalesQueryError('storeId', 'is required');
  checkRange(o.range);
  const filter = filterParams(o.filter);
  const groupBy = [...new Set(o.groupBy ?? [])];
  for (const g of groupBy) if (!Object.hasOwn(GROUPS, g)) throw new SalesQueryError('groupBy', `unknown group ${String(g)}`);
  if (o.granularity !== undefined && o.granularity !== 'HOUR' && !Object.hasOwn(PERIODS, o.granularity)) {
    throw new SalesQueryError('granularity', `unknown granularity ${String(o.granularity)}`);
  }
  const dims = new Set<Dim>([...filterDims(filter), ...groupBy.map((g) => GROUPS[g].col)]);
  const source = sourceFor(dims, o.granularity === 'HOUR');
  const params: Record<string, unknown> = { store: o.storeId, from: o.range.from, to: o.range.to, ...filter };
  const src = await sourceSql(wh, source, o, params);
  let period: string | undefined;
  if (o.granularity === 'HOUR') period = "formatDateTime(toStartOfHour(created_at, {tz:String}), '%Y-%m-%dT%H:%i:%SZ', 'UTC')";
  else if (o.granularity) period = `toString(${PERIODS[o.granularity](src.day)})`;
  const keys = groupBy.map((g) => `${GROUPS[g].col} AS g_${GROUPS[g].col}`);
  const selectKeys = [...(period ? [`${period} AS p_period`] : []), ...keys];
  const groupCols = [...(period ? ['p_period'] : []), ...groupBy.map((g) => `g_${GROUPS[g].col}`)];
  const sql = `
    SELECT ${[...selectKeys, METRICS[source]].join(', ')}
    FROM ${src.from}
    WHERE ${src.where}
    ${groupCols.length > 0 ? `GROUP BY ${groupCols.join(', ')} ORDER BY ${groupCols.join(', ')}` : ''}`;
  return wh.query<MetricRow & Record<string, string>>(sql, params);
}

/** Sales KPIs of one store over a range of store-local dates, from the daily rollups. */
export async function kpis(wh: Warehouse, o: { storeId: string; range: DateRange; filter?: SalesFilter }): Promise<KpiValues> {
  const rows = await aggregate(wh, o);
  return toKpis(rows[0]!);
}

/**
 * KPIs per period (HOUR from the facts; DAY … YEAR from the rollups) and per group. Only periods
 * and groups with data are returned, ordered by period and group keys.
 */
export async function salesSeries(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; granularity: Granularity; groupBy?: SalesGroupBy[]; filter?: SalesFilter },
): Promise<SalesPoint[]> {
  if (!o.granularity) throw new SalesQueryError('granularity', 'is required');
  const rows = await aggregate(wh, o);
  const groupBy = [...new Set(o.groupBy ?? [])];
  return rows.map((r) => {
    const p: SalesPoint = { periodStart: r.p_period!, ...toKpis(r) };
    for (const g of groupBy) p[GROUPS[g].key] = r[`g_${GROUPS[g].col}`];
    return p;
  });
}

/** KPIs per product category (order amounts allocated to lines; see docs/metrics.md). */
export async function categoryBreakdown(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; filter?: SalesFilter },
): Promise<Array<KpiValues & { category: string }>> {
  const rows = await aggregate(wh, { ...o, groupBy: ['CATEGORY'] });
  return rows.map((r) => ({ category: r.g_category!, ...toKpis(r) }));
}

/** KPIs per order country. */
export async function countryBreakdown(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; filter?: SalesFilter },
): Promise<Array<KpiValues & { country: string }>> {
  const rows = await aggregate(wh, { ...o, groupBy: ['COUNTRY'] });
  return rows.map((r) => ({ country: r.g_country!, ...toKpis(r) }));
}

/** Category of products that are not merchandise (postage, fees, vouchers …). */
export const NON_MERCHANDISE = 'non-merchandise';

/**
 * Merchandise products ranked by net revenue (sales minus refunds allocated to the product) or
 * by units sold; ties broken by the other measure, then product id.
 */
export async function topProducts(
  wh: Warehouse,
  o: { storeId: string; range: DateRange; by: 'REVENUE' | 'UNITS'; limit: number; filter?: SalesFilter },
): Promise<ProductRank[]> {
  if (o.by !== 'REVENUE' && o.by !== 'UNITS') throw new SalesQueryError('by', `must be REVENUE or UNITS, not ${String(o.by)}`);
  if (!Number.isInteger(o.limit) || o.limit < 1 || o.limit > 10_000) throw new SalesQueryError('limit', 'must be an integer from 1 to 10000');
  if (typeof o.storeId !== 'string' || o.storeId === '') throw new SalesQueryError('storeId', 'is required');
  checkRange(o.range);
  const filter = filterParams(o.filter);
  const source = sourceFor(new Set<Dim>([...filterDims(filter), 'product_id']), false);
  const params: Record<string, unknown> = { store: o.storeId, from: o.range.from, to: o.range.to, limit: o.limit, nonMerch: NON_MERCHANDISE, ...filter };
  const src = await sourceSql(wh, source, o, params);
  const measures =
    source === 'facts'
      ? 'sum(a_gross - a_refund) AS m_net_u, sumIf(toInt64(quantity), is_booked AND has_line) AS m_units, uniqExactIf(order_id, is_booked) AS m_orders'
      : 'sum(net_revenue) AS m_net_u, toInt64(sum(units)) AS m_units, uniqExactMerge(orders_state) AS m_orders';
  const order = o.by === 'REVENUE' ? 'm_net_u DESC, m_units DESC, product_id' : 'm_units DESC, m_net_u DESC, product_id';
  const rows = await wh.query<{ product_id: string; sku: string; name: string; category: string; m_net: string; m_units: string; m_orders: string }>(
    `SELECT r.product_id AS product_id, d.sku AS sku, d.name AS name, if(d.category = '', r.cat, d.category) AS category,
            toDecimalString(r.m_net_u, 4) AS m_net, r.m_units AS m_units, r.m_orders AS m_orders
     FROM (
       SELECT product_id, any(category) AS cat, ${measures}
       FROM ${src.from}
       WHERE ${src.where} AND product_id != '' AND category != {nonMerch:String}
       GROUP BY product_id
       ORDER BY ${order}
       LIMIT {limit:UInt32}
     ) AS r
     LEFT JOIN (
       SELECT product_id, argMax(sku, version) AS sku, argMax(name, version) AS name, argMax(category, version) AS category
       FROM dim_product WHERE store_id = {store:String} GROUP BY product_id
     ) AS d ON d.product_id = r.product_id
     ORDER BY ${order.replace('m_net_u', 'r.m_net_u').replace('product_id', 'r.product_id')}`,
    params,
  );
  return rows.map((r) => ({
    productId: r.product_id,
    sku: r.sku,
    name: r.name,
    category: r.category,
    netRevenue: r.m_net,
    units: Number(r.m_units),
    orders: Number(r.m_orders),
  }));
}
