import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { ApiKey, CreatedApiKey } from '../schema/api-key.type.js';
import { ScopeEnum } from '../schema/scope.enum.js';
import type { Scope } from '../auth/api-keys.js';
import { requireKey } from '../auth/auth-checker.js';
import { createApiKey, listManagedKeys, revokeManagedKey } from '../auth/api-key-admin.js';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized()
  @Query(() => ApiKey, { description: 'The API key making this request (any scope).' })
  viewer(@Ctx() ctx: RequestContext): ApiKey {
    return ApiKey.from(requireKey(ctx));
  }

  @Authorized('admin')
  @Query(() => [ApiKey], { description: 'API keys, oldest first, never with their hashes. Admin scope; an admin limited to stores sees the keys limited to some of them.' })
  async apiKeys(
    @Ctx() ctx: RequestContext,
    @Arg('includeRevoked', () => Boolean, { defaultValue: false, description: 'Also list revoked keys.' }) includeRevoked: boolean,
    @Arg('first', () => Int, { defaultValue: 100, description: 'Most keys to return, 1 to 1000.' }) first: number,
  ): Promise<ApiKey[]> {
    const keys = await listManagedKeys(ctx.services.warehouse, requireKey(ctx), { includeRevoked, first });
    return keys.map(ApiKey.from);
  }

  @Authorized('admin')
  @Mutation(() => CreatedApiKey, { description: 'Creates an API key and returns the plain key once; only its hash is stored. Admin scope.' })
  async createApiKey(
    @Ctx() ctx: RequestContext,
    @Arg('name', () => String, { description: 'A name to tell the key apart, 1 to 100 characters.' }) name: string,
    @Arg('scopes', () => [ScopeEnum], { description: 'What the key may do; at least one.' }) scopes: Scope[],
    @Arg('stores', () => [ID], { nullable: true, description: 'Stores the key may see; omitted or empty: every store.' }) stores: string[] | null,
    @Arg('rateLimit', () => Int, { nullable: true, description: 'Requests per minute; omitted or 0: the server default (RATE_LIMIT_PER_MINUTE).' }) rateLimit: number | null,
  ): Promise<CreatedApiKey> {
    const created = await createApiKey(ctx.services.warehouse, requireKey(ctx), { name, scopes, stores, rateLimit });
    ctx.log.info({ keyId: created.apiKey.keyId, scopes: created.apiKey.scopes, stores: created.apiKey.stores }, 'API key created');
    return Object.assign(new CreatedApiKey(), { key: created.key, apiKey: ApiKey.from(created.apiKey) });
  }

  @Authorized('admin')
  @Mutation(() => ApiKey, { description: 'Revokes an API key; every API process refuses it within a second. Revoking a revoked key changes nothing. Admin scope.' })
  async revokeApiKey(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'Id of the key to revoke (ApiKey.id).' }) id: string,
  ): Promise<ApiKey> {
    const revoked = await revokeManagedKey(ctx.services.warehouse, requireKey(ctx), id);
    ctx.log.info({ keyId: revoked.keyId }, 'API key revoked');
    return ApiKey.from(revoked);
  }
}
