import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { QualityCheck } from '../schema/quality.type.js';
import { dataQuality } from '../warehouse/quality.queries.js';
import { answer } from './answer.js';
import { resolveReadStore } from './store-scope.js';

@Resolver(() => QualityCheck)
export class QualityResolver {
  @Authorized('read')
  @Query(() => [QualityCheck], { description: 'The checks of the store\'s latest data quality run, by table and check; empty before the first run. Read scope.' })
  async dataQuality(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
  ): Promise<QualityCheck[]> {
    const storeId = await resolveReadStore(ctx, store);
    return answer(ctx, { op: 'dataQuality', args: { storeId }, storeIds: [storeId] }, () => dataQuality(ctx.services.warehouse, { storeId }));
  }
}
