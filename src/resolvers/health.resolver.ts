import { Ctx, Query, Resolver } from 'type-graphql';
import { Health } from '../schema/health.type.js';
import type { RequestContext } from '../schema/context.js';
import { checkHealth } from '../app/health.js';

@Resolver(() => Health)
export class HealthResolver {
  @Query(() => Health, { description: 'Liveness of the API, the warehouse and Redis. Needs no API key.' })
  async health(@Ctx() ctx: RequestContext): Promise<Health> {
    return checkHealth(ctx.services);
  }
}
