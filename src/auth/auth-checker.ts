import type { AuthCheckerFn } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import type { ApiKeyRecord, Scope } from './api-keys.js';
import { AuthError } from './authenticate.js';

/** Message of UNAUTHENTICATED when a protected field is asked for without a key. */
export const KEY_REQUIRED_MESSAGE = 'an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`';

/** The request's API key; UNAUTHENTICATED when none was presented. */
export function requireKey(ctx: Pick<RequestContext, 'apiKey'>): ApiKeyRecord {
  if (!ctx.apiKey) throw new AuthError('UNAUTHENTICATED', KEY_REQUIRED_MESSAGE);
  return ctx.apiKey;
}

/** True when the key has one of the scopes (admin implies every scope; no scopes listed = any key). */
export function hasScope(key: ApiKeyRecord, scopes: readonly Scope[]): boolean {
  return scopes.length === 0 || key.scopes.includes('admin') || scopes.some((s) => key.scopes.includes(s));
}

/**
 * type-graphql `authChecker` behind `@Authorized(...scopes)`: no key → UNAUTHENTICATED, a key
 * without one of the scopes → FORBIDDEN (admin implies every scope). It throws rather than
 * returning false so the client gets our codes and messages.
 */
export const authChecker: AuthCheckerFn<RequestContext, Scope> = ({ context }, scopes) => {
  const key = requireKey(context);
  if (!hasScope(key, scopes)) {
    throw new AuthError('FORBIDDEN', `this API key lacks the ${scopes.map((s) => `"${s}"`).join(' or ')} scope`);
  }
  return true;
};
