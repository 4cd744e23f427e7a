import type { Warehouse } from '../warehouse/client.js';
import { isValidStoreId } from '../ingest/stores.js';
import { badUserInput } from '../http/errors.js';
import { findApiKeyById, generateApiKey, listApiKeys, revokeApiKeyById, SCOPES, storeApiKey, type ApiKeyRecord, type Scope } from './api-keys.js';
import { AuthError } from './authenticate.js';

/** Longest key name. */
export const MAX_KEY_NAME_LENGTH = 100;
/** Most stores one key may be limited to. */
export const MAX_KEY_STORES = 100;
/** Highest per-key rate limit, requests per minute. */
export const MAX_KEY_RATE_LIMIT = 1_000_000;
/** Most keys one `apiKeys` page lists. */
export const MAX_KEYS_PAGE = 1000;

export interface NewApiKeyInput {
  name: string;
  scopes: Scope[];
  stores?: string[] | null;
  rateLimit?: number | null;
}

/** Checks and normalises a new key's settings; BAD_USER_INPUT names the argument at fault. */
export function validateNewApiKey(input: NewApiKeyInput): { name: string; scopes: Scope[]; stores: string[]; rateLimit: number } {
  const name = input.name.trim();
  if (!name) throw badUserInput('name', 'must not be empty');
  if (name.length > MAX_KEY_NAME_LENGTH) throw badUserInput('name', `must be at most ${MAX_KEY_NAME_LENGTH} characters (got ${name.length})`);
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) throw badUserInput('scopes', `name at least one scope (${SCOPES.join(', ')})`);
  const unknown = scopes.find((s) => !SCOPES.includes(s));
  if (unknown) throw badUserInput('scopes', `"${String(unknown)}" is not a scope (${SCOPES.join(', ')})`);
  const stores = [...new Set(input.stores ?? [])];
  if (stores.length > MAX_KEY_STORES) throw badUserInput('stores', `at most ${MAX_KEY_STORES} stores per key`);
  const badStore = stores.find((s) => !isValidStoreId(s));
  if (badStore !== undefined) throw badUserInput('stores', `"${badStore.slice(0, 80)}" is not a valid store id (letters, digits, _ . -, at most 64, starting with a letter or digit)`);
  const rateLimit = input.rateLimit ?? 0;
  if (!Number.isInteger(rateLimit) || rateLimit < 0 || rateLimit > MAX_KEY_RATE_LIMIT) {
    throw badUserInput('rateLimit', `must be a whole number of requests per minute from 0 (the server default) to ${MAX_KEY_RATE_LIMIT}`);
  }
  return { name, scopes, stores, rateLimit };
}

/** True when an admin key may see and manage the target key: an admin limited to stores manages only keys limited to some of them. */
export function canManage(admin: ApiKeyRecord, target: Pick<ApiKeyRecord, 'stores'>): boolean {
  return admin.stores.length === 0 || (target.stores.length > 0 && target.stores.every((s) => admin.stores.includes(s)));
}

/** Creates a key; the plain key is returned here once and stored only as a hash. */
export async function createApiKey(wh: Warehouse, admin: ApiKeyRecord, input: NewApiKeyInput): Promise<{ key: string; apiKey: ApiKeyRecord }> {
  const valid = validateNewApiKey(input);
  if (!canManage(admin, valid)) {
    throw new AuthError('FORBIDDEN', `this API key is limited to stores ${admin.stores.join(', ')}; a key it creates must be limited to some of them`);
  }
  const key = generateApiKey();
  const apiKey = await storeApiKey(wh, { key, ...valid });
  return { key, apiKey };
}

/** Lists the keys the admin may manage, without hashes. */
export async function listManagedKeys(wh: Warehouse, admin: ApiKeyRecord, opts: { includeRevoked: boolean; first: number }): Promise<ApiKeyRecord[]> {
  if (!Number.isInteger(opts.first) || opts.first < 1 || opts.first > MAX_KEYS_PAGE) throw badUserInput('first', `must be from 1 to ${MAX_KEYS_PAGE}`);
  const keys = await listApiKeys(wh, { includeRevoked: opts.includeRevoked, limit: admin.stores.length === 0 ? opts.first : MAX_KEYS_PAGE * 10 });
  return keys.filter((k) => canManage(admin, k)).slice(0, opts.first);
}

/** Revokes a key by id (idempotent); BAD_USER_INPUT naming `id` when there is no such key the admin may manage. */
export async function revokeManagedKey(wh: Warehouse, admin: ApiKeyRecord, keyId: string): Promise<ApiKeyRecord> {
  const missing = () => badUserInput('id', `no API key with id "${keyId.slice(0, 80)}"`);
  if (!keyId || keyId.length > 100) throw missing();
  const current = await findApiKeyById(wh, keyId);
  if (!current || !canManage(admin, current)) throw missing();
  return (await revokeApiKeyById(wh, keyId)) ?? current;
}
