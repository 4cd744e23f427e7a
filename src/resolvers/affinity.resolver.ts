import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { ProductAffinity } from '../schema/segments.type.js';
import { badUserInput } from '../http/errors.js';
import { frequentlyBoughtTogether } from '../warehouse/affinity.queries.js';
import { answer } from './answer.js';
import { resolveReadStore } from './store-scope.js';

/** Largest frequentlyBoughtTogether limit. */
const MAX_AFFINITY = 100;

@Resolver(() => ProductAffinity)
export class AffinityResolver {
  @Authorized('read')
  @Query(() => [ProductAffinity], { description: 'Products most often bought together with a product (the store\'s latest affinity run), best first by confidence, then lift. Read scope.' })
  async frequentlyBoughtTogether(
    @Ctx() ctx: RequestContext,
    @Arg('productId', () => ID, { description: 'The product to find companions of.' }) productId: string,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
    @Arg('limit', () => Int, { defaultValue: 10, description: 'How many products, 1 to 100.' }) limit: number,
  ): Promise<ProductAffinity[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AFFINITY) throw badUserInput('limit', `must be from 1 to ${MAX_AFFINITY}, got ${limit}`);
    if (!productId || productId.length > 200) throw badUserInput('productId', 'must be a product id (1 to 200 characters)');
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, productId, limit };
    return answer(ctx, { op: 'frequentlyBoughtTogether', args, storeIds: [storeId] }, () => frequentlyBoughtTogether(ctx.services.warehouse, args));
  }
}
