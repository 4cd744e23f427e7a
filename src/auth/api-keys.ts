import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Warehouse } from '../warehouse/client.js';

/** What a key may do. */
export const SCOPES = ['read', 'ingest', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyRecord {
  keyId: string;
  name: string;
  scopes: Scope[];
  /** Stores the key may see; empty = all stores. */
  stores: string[];
  rateLimit: number;
  createdAt: string;
  revokedAt: string | null;
}

/** SHA-256 of a key, hex: the only form in which keys are stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key: `ea_` + 32 random bytes, base64url. */
export function generateApiKey(): string {
  return 'ea_' + randomBytes(32).toString('base64url');
}

/** Stores a key's hash and returns its record. The plain key is never stored. */
export async function storeApiKey(
  wh: Warehouse,
  input: { key: string; name: string; scopes: Scope[]; stores?: string[]; rateLimit?: number; keyId?: string },
): Promise<ApiKeyRecord> {
  const record: ApiKeyRecord = {
    keyId: input.keyId ?? randomUUID(),
    name: input.name,
    scopes: input.scopes,
    stores: input.stores ?? [],
    rateLimit: input.rateLimit ?? 0,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  };
  await wh.insert('api_keys', [
    {
      key_id: record.keyId,
      name: record.name,
      key_hash: hashApiKey(input.key),
      scopes: record.scopes,
      stores: record.stores,
      rate_limit: record.rateLimit,
      created_at: record.createdAt,
      revoked_at: null,
      version: Date.now(),
    },
  ]);
  return record;
}

interface KeyRow {
  key_id: string;
  name: string;
  scopes: string[];
  stores: string[];
  rate_limit: number | string;
  created_at: string;
  revoked_at: string | null;
}

/** A DateTime64 as the warehouse prints it (`2024-05-01 10:00:00.000`, UTC) → ISO 8601. */
function isoTime(v: string): string {
  return /^\d{4}-\d{2}-\d{2} /.test(v) ? new Date(v.replace(' ', 'T') + 'Z').toISOString() : new Date(v).toISOString();
}

function toRecord(r: KeyRow): ApiKeyRecord {
  return {
    keyId: r.key_id,
    name: r.name,
    scopes: r.scopes as Scope[],
    stores: r.stores,
    rateLimit: Number(r.rate_limit),
    createdAt: isoTime(r.created_at),
    revokedAt: r.revoked_at ? isoTime(r.revoked_at) : null,
  };
}

const KEY_COLUMNS = 'key_id, name, scopes, stores, rate_limit, created_at, revoked_at';

/** Every key's latest version (never the hashes), oldest first. */
export async function listApiKeys(wh: Warehouse, opts: { includeRevoked: boolean; limit: number }): Promise<ApiKeyRecord[]> {
  const rows = await wh.query<KeyRow>(
    `SELECT ${KEY_COLUMNS}
       FROM api_keys FINAL
      WHERE {all:Bool} OR revoked_at IS NULL
      ORDER BY created_at, key_id
      LIMIT {limit:UInt32}`,
    { all: opts.includeRevoked, limit: opts.limit },
  );
  return rows.map(toRecord);
}

/** A key's latest version by id, revoked or not; undefined when unknown. */
export async function findApiKeyById(wh: Warehouse, keyId: string): Promise<ApiKeyRecord | undefined> {
  const rows = await wh.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys FINAL WHERE key_id = {id:String} LIMIT 1`, { id: keyId });
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/**
 * Revokes a key by writing a newer version of its row with `revoked_at` set (the table is a
 * ReplacingMergeTree on key_id). Processes stop accepting it when their key cache (≤ 1 s) expires.
 * Returns the revoked record, the unchanged record when already revoked, undefined when unknown.
 */
export async function revokeApiKeyById(wh: Warehouse, keyId: string): Promise<ApiKeyRecord | undefined> {
  const rows = await wh.query<KeyRow & { key_hash: string; version: string }>(
    `SELECT ${KEY_COLUMNS}, key_hash, toString(version) AS version FROM api_keys FINAL WHERE key_id = {id:String} LIMIT 1`,
    { id: keyId },
  );
  const row = rows[0];
  if (!row) return undefined;
  const record = toRecord(row);
  if (record.revokedAt) return record;
  const revokedAt = new Date().toISOString();
  await wh.insert('api_keys', [
    {
      key_id: row.key_id,
      name: row.name,
      key_hash: row.key_hash,
      scopes: row.scopes,
      stores: row.stores,
      rate_limit: Number(row.rate_limit),
      created_at: record.createdAt,
      revoked_at: revokedAt,
      // Strictly newer than the row it replaces, even within the same millisecond.
      version: Math.max(Date.now(), Number(row.version) + 1),
    },
  ]);
  return { ...record, revokedAt };
}

/** Looks a presented key up by its hash; undefined when unknown or revoked. */
export async function findActiveKey(wh: Warehouse, key: string): Promise<ApiKeyRecord | undefined> {
  const rows = await wh.query<KeyRow>(
    `SELECT ${KEY_COLUMNS}
       FROM api_keys FINAL
      WHERE key_hash = {hash:String} AND revoked_at IS NULL
      LIMIT 1`,
    { hash: hashApiKey(key) },
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export interface AdminKey {
  /** The plain key when this process knows it (generated now or read from the key file). */
  key: string;
  source: 'env' | 'generated' | 'file';
  file?: string;
}

/**
 * Makes sure an admin key exists. ADMIN_API_KEY wins; otherwise a key is generated once, stored
 * hashed, and the plain key written to DATA_DIR/admin-key (mode 0600) for the local CLI and the
 * start banner. A key file whose key is unknown to the warehouse (e.g. a wiped warehouse) is replaced.
 */
export async function ensureAdminKey(wh: Warehouse, opts: { adminApiKey?: string; dataDir: string }): Promise<AdminKey> {
  if (opts.adminApiKey) {
    if (!(await findActiveKey(wh, opts.adminApiKey))) {
      await storeApiKey(wh, { key: opts.adminApiKey, name: 'admin (ADMIN_API_KEY)', scopes: ['read', 'ingest', 'admin'] });
    }
    return { key: opts.adminApiKey, source: 'env' };
  }
  const file = path.join(opts.dataDir, 'admin-key');
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key && (await findActiveKey(wh, key))) return { key, source: 'file', file };
  }
  const key = generateApiKey();
  await storeApiKey(wh, { key, name: 'admin (generated)', scopes: ['read', 'ingest', 'admin'] });
  fs.mkdirSync(opts.dataDir, { recursive: true });
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { key, source: 'generated', file };
}
