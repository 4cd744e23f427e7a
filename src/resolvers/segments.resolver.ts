import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { CustomerSegmentSummary } from '../schema/segments.type.js';
import { customerSegments } from '../warehouse/segments.queries.js';
import { answer } from './answer.js';
import { resolveReadStore } from './store-scope.js';

@Resolver(() => CustomerSegmentSummary)
export class SegmentsResolver {
  @Authorized('read')
  @Query(() => [CustomerSegmentSummary], { description: 'The store\'s customers by RFM segment (its current segmentation); empty when segments were never computed. Read scope.' })
  async customerSegments(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
  ): Promise<CustomerSegmentSummary[]> {
    const storeId = await resolveReadStore(ctx, store);
    return answer(ctx, { op: 'customerSegments', args: { storeId }, storeIds: [storeId] }, () => customerSegments(ctx.services.warehouse, { storeId }));
  }
}
