import type { RequestContext } from '../schema/context.js';
import { isValidStoreId } from '../ingest/stores.js';
import { badUserInput } from '../http/errors.js';
import type { ApiKeyRecord } from './api-keys.js';
import { AuthError, resolveStore } from './authenticate.js';
import { requireKey } from './auth-checker.js';

/**
 * The store a GraphQL operation acts on, from its `store` argument: checked for format
 * (BAD_USER_INPUT naming the argument) and against the key's stores (FORBIDDEN). Without the
 * argument: the key's only store, or DEFAULT_STORE for a key that sees every store.
 */
export function storeArgument(ctx: RequestContext, requested: string | null | undefined, argument = 'store'): string {
  const key = requireKey(ctx);
  if (requested !== undefined && requested !== null && !isValidStoreId(requested)) {
    throw badUserInput(argument, `"${requested.slice(0, 80)}" is not a valid store id (letters, digits, _ . -, at most 64, starting with a letter or digit)`);
  }
  return resolveStore(key, requested ?? undefined, ctx.services.config.DEFAULT_STORE);
}

/**
 * The stores a key may read; `null` = every store. Queries over several stores filter with
 * `store_id IN {stores:Array(String)}` when this is not null, nested fields inherit the parent's
 * store, and cached answers include {@link storeScopeTag} in their cache key.
 */
export function visibleStores(key: ApiKeyRecord): string[] | null {
  return key.stores.length === 0 ? null : [...key.stores];
}

/** Throws FORBIDDEN unless the key may see the store. */
export function assertStoreVisible(key: ApiKeyRecord, storeId: string): void {
  if (key.stores.length > 0 && !key.stores.includes(storeId)) throw new AuthError('FORBIDDEN', `this API key may not access store "${storeId}"`);
}

/** A stable tag of what a key may see, for cache keys: `*` for every store, else the sorted store list. */
export function storeScopeTag(key: ApiKeyRecord): string {
  return key.stores.length === 0 ? '*' : [...key.stores].sort().join(',');
}
