import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { Store } from '../schema/store.type.js';
import { listStores } from '../warehouse/entities.queries.js';
import { requireKey } from '../auth/auth-checker.js';
import { visibleStores } from '../auth/store-access.js';

@Resolver(() => Store)
export class StoreResolver {
  @Authorized('read')
  @Query(() => [Store], { description: 'The stores this API key may read, sorted by id. Read scope.' })
  async stores(@Ctx() ctx: RequestContext): Promise<Store[]> {
    return listStores(ctx.services.warehouse, visibleStores(requireKey(ctx)));
  }
}
