import type { IncomingHttpHeaders } from 'node:http';
import type { Warehouse } from '../warehouse/client.js';
import { findActiveKey, type ApiKeyRecord, type Scope } from './api-keys.js';

/** How long a looked-up key is trusted before asking the warehouse again: revocation takes effect within this. */
const CACHE_MS = 1000;

export class AuthError extends Error {
  constructor(
    readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The API key presented in `Authorization: Bearer <key>` or `x-api-key`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim() || undefined;
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.trim() ? x.trim() : undefined;
}

/** Resolves presented keys to their records, caching each answer for at most a second. */
export class Authenticator {
  private cache = new Map<string, { at: number; record: ApiKeyRecord | undefined }>();
  /** Lookups in flight: concurrent requests with the same key share one warehouse query. */
  private pending = new Map<string, Promise<ApiKeyRecord | undefined>>();

  constructor(private readonly wh: Warehouse) {}

  async lookup(key: string): Promise<ApiKeyRecord | undefined> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.record;
    let p = this.pending.get(key);
    if (!p) {
      // Trusted for a second from when the read started, so a revocation is seen within a second.
      const at = Date.now();
      p = findActiveKey(this.wh, key)
        .then((record) => {
          if (this.cache.size > 10_000) this.cache.clear();
          this.cache.set(key, { at, record });
          return record;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** The key's record; throws UNAUTHENTICATED when absent, unknown or revoked. */
  async require(headers: IncomingHttpHeaders): Promise<ApiKeyRecord> {
    const key = presentedKey(headers);
    if (!key) throw new AuthError('UNAUTHENTICATED', 'an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`');
    const record = await this.lookup(key);
    if (!record) throw new AuthError('UNAUTHENTICATED', 'the API key is unknown or revoked');
    return record;
  }
}

/** Throws FORBIDDEN unless the key has the scope (admin implies every scope). */
export function requireScope(key: ApiKeyRecord, scope: Scope): void {
  if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
    throw new AuthError('FORBIDDEN', `this API key lacks the "${scope}" scope`);
  }
}

/**
 * The store a request acts on: the one asked for, which the key must be allowed to see, or the
 * key's only store when none is asked for.
 */
export function resolveStore(key: ApiKeyRecord, requested: string | undefined, fallback = 'default'): string {
  if (requested) {
    if (key.stores.length > 0 && !key.stores.includes(requested)) throw new AuthError('FORBIDDEN', `this API key may not access store "${requested}"`);
    return requested;
  }
  if (key.stores.length === 1) return key.stores[0]!;
  if (key.stores.length > 1) throw new AuthError('FORBIDDEN', `this API key sees several stores; name one with store=`);
  return fallback;
}
