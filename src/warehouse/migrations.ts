import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config/paths.js';
import type { Warehouse } from './client.js';

/** One numbered `.sql` file in clickhouse/. */
export interface Migration {
  version: number;
  name: string;
  file: string;
  checksum: string;
  statements: string[];
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The migrations folder shipped with the package. */
export function defaultMigrationsDir(): string {
  return path.join(projectRoot(), 'clickhouse');
}

/** Splits a migration into statements: `--` comments dropped, `;` at a line end ends one. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Reads and orders the migration files; refuses gaps and duplicate numbers. */
export function loadMigrations(dir = defaultMigrationsDir()): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_NAME.exec(file);
    if (!m) throw new MigrationError(`Migration file name ${file} is not NNNN_name.sql (lower case).`);
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(m[1]),
      name: m[2]!,
      file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitStatements(text),
    });
  }
  migrations.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new MigrationError(`Migrations must be numbered 0001, 0002, … without gaps; found ${mig.file} at position ${i + 1}.`);
    }
  });
  return migrations;
}

/**
 * Rewrites a statement for a cluster: `ON CLUSTER` after the object name and Replicated* engines.
 * The cluster name is validated by the config schema (an identifier), never user data.
 */
export function renderForCluster(statement: string, cluster?: string): string {
  if (!cluster) return statement;
  let s = statement.replace(
    /^(CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY)\s+(?:IF\s+NOT\s+EXISTS\s+)?[A-Za-z0-9_.`]+)/i,
    `$1 ON CLUSTER ${cluster}`,
  );
  s = s.replace(/^(ALTER\s+TABLE\s+[A-Za-z0-9_.`]+)/i, `$1 ON CLUSTER ${cluster}`);
  s = s.replace(/^(DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?[A-Za-z0-9_.`]+)/i, `$1 ON CLUSTER ${cluster}`);
  const zk = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
  s = s.replace(/ENGINE\s*=\s*(\w*)MergeTree\s*\(\s*\)/i, `ENGINE = Replicated$1MergeTree(${zk})`);
  s = s.replace(/ENGINE\s*=\s*(\w*)MergeTree\s*\((?=\s*\S)/i, `ENGINE = Replicated$1MergeTree(${zk}, `);
  s = s.replace(/ENGINE\s*=\s*(\w*)MergeTree(?!\s*\()/i, `ENGINE = Replicated$1MergeTree(${zk})`);
  return s;
}

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version`;

/**
 * Applies the migrations not yet recorded in schema_migrations, in order. Running it twice is a
 * no-op; a recorded migration whose file changed since is refused before anything runs.
 */
export async function migrate(
  wh: Warehouse,
  opts: { dir?: string; log?: (msg: string) => void } = {},
): Promise<MigrationResult> {
  const log = opts.log ?? (() => {});
  const migrations = loadMigrations(opts.dir);
  await wh.command(renderForCluster(LEDGER, wh.cluster));
  const recorded = await wh.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  const byVersion = new Map(recorded.map((r) => [Number(r.version), r]));
  const drifted = migrations.filter((m) => byVersion.has(m.version) && byVersion.get(m.version)!.checksum !== m.checksum);
  if (drifted.length > 0) {
    throw new MigrationError(
      `Refusing to migrate: already-applied migration${drifted.length > 1 ? 's' : ''} ` +
        drifted.map((m) => m.file).join(', ') +
        ' changed since they were applied (checksum differs). Never edit an applied migration: ' +
        'restore the file and add a new numbered migration for the change.',
    );
  }
  const known = new Set(migrations.map((m) => m.version));
  const unknown = recorded.filter((r) => !known.has(Number(r.version)));
  if (unknown.length > 0) {
    throw new MigrationError(
      `The warehouse has migrations this code does not know (${unknown.map((r) => `${String(r.version).padStart(4, '0')}_${r.name}`).join(', ')}): it was migrated by a newer version.`,
    );
  }
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    if (byVersion.has(m.version)) {
      result.skipped.push(m.file);
      continue;
    }
    log(`applying ${m.file} (${m.statements.length} statements)`);
    for (const statement of m.statements) {
      await wh.command(renderForCluster(statement, wh.cluster));
    }
    await wh.insert('schema_migrations', [
      { version: m.version, name: m.name, checksum: m.checksum, applied_at: new Date().toISOString() },
    ]);
    result.applied.push(m.file);
  }
  return result;
}
