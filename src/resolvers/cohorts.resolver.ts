import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { DateRangeInput } from '../schema/date-range.input.js';
import { Cohort, CohortGranularity, CohortMetric } from '../schema/cohorts.type.js';
import { fromScaled } from '../schema/decimal.js';
import { badUserInput } from '../http/errors.js';
import { SalesQueryError } from '../warehouse/sales.queries.js';
import { retentionCohorts } from '../warehouse/cohorts.queries.js';
import { answer } from './answer.js';
import { checkedRange, resolveReadStore } from './store-scope.js';

/** Most periods per cohort. */
const MAX_PERIODS = 520;

/** customers / size as an exact decimal string with 6 decimals (half away from zero). */
function rateText(customers: number, size: number): string {
  const q = (BigInt(customers) * 2_000_000n + BigInt(size)) / (2n * BigInt(size));
  return fromScaled(q, 6);
}

@Resolver(() => Cohort)
export class CohortsResolver {
  @Authorized('read')
  @Query(() => [Cohort], {
    description:
      'Retention cohorts: registered customers grouped by the month or week of their first purchase (cohorts starting in the range), ' +
      'and per later period how many bought again and the revenue they brought. Read scope.',
  })
  async retentionCohorts(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, { description: 'Cohorts whose start (month start or ISO-week Monday) is in this range.' }) range: DateRangeInput,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
    @Arg('granularity', () => CohortGranularity, { defaultValue: CohortGranularity.MONTH, description: 'Cohorts and periods by month or by ISO week.' }) granularity: CohortGranularity,
    @Arg('periods', () => Int, { defaultValue: 12, description: 'Periods per cohort, including period 0; 1 to 520. Periods not yet reached are left out.' }) periods: number,
    @Arg('metric', () => CohortMetric, { defaultValue: CohortMetric.CUSTOMERS, description: 'What CohortPeriod.value holds.' }) metric: CohortMetric,
  ): Promise<Cohort[]> {
    if (!Number.isInteger(periods) || periods < 1 || periods > MAX_PERIODS) throw badUserInput('periods', `must be from 1 to ${MAX_PERIODS}, got ${periods}`);
    const r = checkedRange(ctx, range);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, granularity, periods };
    const cohorts = await answer(ctx, { op: 'retentionCohorts', args, storeIds: [storeId] }, async () => {
      try {
        return await retentionCohorts(ctx.services.warehouse, args);
      } catch (err) {
        if (err instanceof SalesQueryError) throw badUserInput(err.argument, err.message.replace(`${err.argument}: `, ''));
        throw err;
      }
    });
    return cohorts.map((c) => ({
      ...c,
      periods: c.periods.map((p) => ({ ...p, value: metric === CohortMetric.REVENUE ? p.cumulativeRevenuePerCustomer : rateText(p.customers, c.size) })),
    }));
  }
}
