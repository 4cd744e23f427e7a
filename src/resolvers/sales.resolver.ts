import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { DateRangeInput } from '../schema/date-range.input.js';
import {
  CategorySales,
  CountrySales,
  Granularity,
  KpiChange,
  Kpis,
  ProductRank,
  SalesFilterInput,
  SalesGroupBy,
  SalesPoint,
  TopProductsBy,
} from '../schema/sales.type.js';
import { relativeChange, subtractDecimal } from '../schema/decimal.js';
import { badUserInput } from '../http/errors.js';
import * as sales from '../warehouse/sales.queries.js';
import type { KpiValues, SalesFilter } from '../warehouse/sales.queries.js';
import { answer } from './answer.js';
import { checkedRange, previousPeriod, resolveReadStore } from './store-scope.js';

const STORE_ARG = { nullable: true, description: 'Store to read; optional when the API key sees one store only.' } as const;
const RANGE_ARG = { description: 'Days to cover (store time zone, both inclusive).' } as const;
const FILTER_ARG = { nullable: true, description: 'Only matching orders / lines; omitted: all.' } as const;
/** Most values one filter list may hold. */
const MAX_FILTER_VALUES = 1000;
/** Largest topProducts limit. */
const MAX_TOP = 1000;

/** The filter argument as the query functions take it, in a canonical form (sorted, deduplicated) for cache keys. */
function salesFilter(filter: SalesFilterInput | null): SalesFilter {
  const out: SalesFilter = {};
  for (const k of ['countries', 'categories', 'channels', 'productIds'] as const) {
    const v = filter?.[k];
    if (!v || v.length === 0) continue;
    if (v.length > MAX_FILTER_VALUES) throw badUserInput(`filter.${k}`, `at most ${MAX_FILTER_VALUES} values`);
    out[k] = [...new Set(v)].sort();
  }
  return out;
}

/** Turns the query functions' argument errors into BAD_USER_INPUT naming the argument. */
async function userErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof sales.SalesQueryError) throw badUserInput(err.argument, err.message.replace(`${err.argument}: `, ''));
    throw err;
  }
}

function moneyChange(current: string | null, previous: string | null) {
  return {
    previous,
    difference: current === null || previous === null ? null : subtractDecimal(current, previous),
    ratio: current === null || previous === null ? null : relativeChange(current, previous),
  };
}

function countChange(current: number, previous: number) {
  return { previous, difference: current - previous, ratio: previous === 0 ? null : (current - previous) / previous };
}

/** Each KPI's change from `previous` to `current`: money exactly (decimal strings), counts and rates as numbers. */
export function kpiChange(current: KpiValues, previous: KpiValues): KpiChange {
  const rate =
    current.returnRate === null || previous.returnRate === null
      ? { previous: previous.returnRate, difference: null, ratio: null }
      : { previous: previous.returnRate, difference: current.returnRate - previous.returnRate, ratio: previous.returnRate === 0 ? null : (current.returnRate - previous.returnRate) / previous.returnRate };
  return {
    netRevenue: moneyChange(current.netRevenue, previous.netRevenue),
    grossRevenue: moneyChange(current.grossRevenue, previous.grossRevenue),
    refunds: moneyChange(current.refunds, previous.refunds),
    discounts: moneyChange(current.discounts, previous.discounts),
    orders: countChange(current.orders, previous.orders),
    customers: countChange(current.customers, previous.customers),
    newCustomers: countChange(current.newCustomers, previous.newCustomers),
    returningCustomers: countChange(current.returningCustomers, previous.returningCustomers),
    averageOrderValue: moneyChange(current.averageOrderValue, previous.averageOrderValue),
    units: countChange(current.units, previous.units),
    items: countChange(current.items, previous.items),
    returnRate: rate,
    cancelledOrders: countChange(current.cancelledOrders, previous.cancelledOrders),
    cancelledValue: moneyChange(current.cancelledValue, previous.cancelledValue),
    returnedOrders: countChange(current.returnedOrders, previous.returnedOrders),
    returnedValue: moneyChange(current.returnedValue, previous.returnedValue),
  };
}

@Resolver()
export class SalesResolver {
  @Authorized('read')
  @Query(() => Kpis, { description: 'Sales KPIs of a date range (definitions in docs/metrics.md), optionally with the previous period of equal length and each KPI\'s change. Read scope.' })
  async kpis(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, RANGE_ARG) range: DateRangeInput,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => SalesFilterInput, FILTER_ARG) filter: SalesFilterInput | null,
    @Arg('compareToPreviousPeriod', () => Boolean, { defaultValue: false, description: 'Also compute the previous period of equal length (the same number of days just before range.from) and each KPI\'s change.' })
    compareToPreviousPeriod: boolean,
  ): Promise<Kpis> {
    const r = checkedRange(ctx, range);
    const f = salesFilter(filter);
    const storeId = await resolveReadStore(ctx, store);
    const wh = ctx.services.warehouse;
    return answer(ctx, { op: 'kpis', args: { storeId, range: r, filter: f, compareToPreviousPeriod }, storeIds: [storeId] }, () =>
      userErrors(async () => {
        const prevRange = previousPeriod(r);
        const [current, previous] = await Promise.all([
          sales.kpis(wh, { storeId, range: r, filter: f }),
          compareToPreviousPeriod ? sales.kpis(wh, { storeId, range: prevRange, filter: f }) : Promise.resolve(null),
        ]);
        return {
          ...current,
          store: storeId,
          range: r,
          previousPeriod: previous ? { ...previous, range: prevRange } : null,
          change: previous ? kpiChange(current, previous) : null,
        };
      }),
    );
  }

  @Authorized('read')
  @Query(() => [SalesPoint], { description: 'Sales KPIs per period and per group: only periods and groups with sales, ordered by period then group keys. Read scope.' })
  async salesSeries(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, RANGE_ARG) range: DateRangeInput,
    @Arg('granularity', () => Granularity, { defaultValue: Granularity.DAY, description: 'Length of the periods.' }) granularity: Granularity,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('groupBy', () => [SalesGroupBy], { nullable: true, description: 'Split each period by these dimensions; omitted: one point per period.' }) groupBy: SalesGroupBy[] | null,
    @Arg('filter', () => SalesFilterInput, FILTER_ARG) filter: SalesFilterInput | null,
  ): Promise<SalesPoint[]> {
    const r = checkedRange(ctx, range);
    const f = salesFilter(filter);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, granularity, groupBy: [...new Set(groupBy ?? [])].sort(), filter: f };
    return answer(ctx, { op: 'salesSeries', args, storeIds: [storeId] }, () => userErrors(() => sales.salesSeries(ctx.services.warehouse, args)));
  }

  @Authorized('read')
  @Query(() => [ProductRank], { description: 'Best-selling merchandise products of a range (postage, fees and vouchers excluded). Read scope.' })
  async topProducts(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, RANGE_ARG) range: DateRangeInput,
    @Arg('by', () => TopProductsBy, { defaultValue: TopProductsBy.REVENUE, description: 'Rank by net revenue (sales minus refunds) or by units; ties by the other, then product id.' }) by: TopProductsBy,
    @Arg('limit', () => Int, { defaultValue: 10, description: 'How many products, 1 to 1000.' }) limit: number,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => SalesFilterInput, FILTER_ARG) filter: SalesFilterInput | null,
  ): Promise<ProductRank[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TOP) throw badUserInput('limit', `must be from 1 to ${MAX_TOP}, got ${limit}`);
    const r = checkedRange(ctx, range);
    const f = salesFilter(filter);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, by, limit, filter: f };
    const rows = await answer(ctx, { op: 'topProducts', args, storeIds: [storeId] }, () => userErrors(() => sales.topProducts(ctx.services.warehouse, args)));
    return rows.map((p, i) => ({ rank: i + 1, ...p }));
  }

  @Authorized('read')
  @Query(() => [CategorySales], { description: 'Sales KPIs per product category (order amounts allocated to their lines; docs/metrics.md). Read scope.' })
  async categoryBreakdown(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, RANGE_ARG) range: DateRangeInput,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => SalesFilterInput, FILTER_ARG) filter: SalesFilterInput | null,
  ): Promise<CategorySales[]> {
    const r = checkedRange(ctx, range);
    const f = salesFilter(filter);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, filter: f };
    return answer(ctx, { op: 'categoryBreakdown', args, storeIds: [storeId] }, () => userErrors(() => sales.categoryBreakdown(ctx.services.warehouse, args)));
  }

  @Authorized('read')
  @Query(() => [CountrySales], { description: 'Sales KPIs per country of the order. Read scope.' })
  async countryBreakdown(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, RANGE_ARG) range: DateRangeInput,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => SalesFilterInput, FILTER_ARG) filter: SalesFilterInput | null,
  ): Promise<CountrySales[]> {
    const r = checkedRange(ctx, range);
    const f = salesFilter(filter);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, filter: f };
    return answer(ctx, { op: 'countryBreakdown', args, storeIds: [storeId] }, () => userErrors(() => sales.countryBreakdown(ctx.services.warehouse, args)));
  }
}
