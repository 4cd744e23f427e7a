import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { DateRangeInput } from '../schema/date-range.input.js';
import { FunnelGroupBy, FunnelStep } from '../schema/funnel.type.js';
import { funnel } from '../warehouse/funnel.queries.js';
import { answer } from './answer.js';
import { checkedRange, resolveReadStore } from './store-scope.js';

@Resolver(() => FunnelStep)
export class FunnelResolver {
  @Authorized('read')
  @Query(() => [FunnelStep], {
    description: 'The shopping funnel (sessions → product views → add to cart → checkout → purchase) over a range: one row without groupBy, else one per day and/or channel with sessions. Read scope.',
  })
  async funnel(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, { description: 'Days of the sessions (store time zone, inclusive).' }) range: DateRangeInput,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
    @Arg('groupBy', () => [FunnelGroupBy], { nullable: true, description: 'Split by day and/or channel; omitted: one total row.' }) groupBy: FunnelGroupBy[] | null,
  ): Promise<FunnelStep[]> {
    const r = checkedRange(ctx, range);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, groupBy: [...new Set(groupBy ?? [])].sort() };
    const rows = await answer(ctx, { op: 'funnel', args, storeIds: [storeId] }, () => funnel(ctx.services.warehouse, args));
    return rows.map((x) => ({ ...x, date: x.date ?? null, channel: x.channel ?? null }));
  }
}
