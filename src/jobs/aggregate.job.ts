import type { Warehouse } from '../warehouse/client.js';
import { RunFailure, type RunOutcome } from './run-recorder.js';
import { dateRanges, type StepPayload } from './analytics.flow.js';

/** Rebuilds a store's rollups for store-local date ranges, or all of them. */
export type RebuildRollups = (wh: Warehouse, o: { storeId: string; from?: string; to?: string }) => Promise<{ rows: number }>;
/** Reads a store's rollups as comparable rows (for the reconciliation). */
export type SnapshotRollups = (wh: Warehouse, storeId: string) => Promise<Array<Record<string, unknown>>>;

/**
 * The aggregation step: recomputes exactly the scope's days (each run of consecutive dates is one
 * rebuildRollups call) or, for a full scope, everything.
 */
export async function runAggregateStep(wh: Warehouse, p: StepPayload, rebuild: RebuildRollups): Promise<RunOutcome> {
  const { storeId, scope } = p;
  if (scope.full) return rebuild(wh, { storeId });
  const ranges = scope.dates ? dateRanges(scope.dates) : [{ from: scope.from!, to: scope.to! }];
  let rows = 0;
  for (const r of ranges) rows += (await rebuild(wh, { storeId, from: r.from, to: r.to })).rows;
  return { rows, details: { ranges } };
}

/** How many differing rows a failed reconciliation keeps as its sample. */
const MAX_DIFF_SAMPLE = 20;

/**
 * The weekly reconciliation: reads the rollups as the incremental runs left them, rebuilds them
 * all from the facts, reads them again and compares. Any difference means an incremental run
 * missed or miscounted something: the run fails with the differing rows (a sample, and the
 * counts) as its details in pipeline_runs. The rebuild has repaired the rollups by then, so the
 * retry that follows (after the backoff) finds no difference and the flow goes on — and bumps the
 * data version, since the rollups changed.
 */
export async function runReconcileStep(wh: Warehouse, p: StepPayload, rebuild: RebuildRollups, snapshot: SnapshotRollups): Promise<RunOutcome> {
  const before = await snapshot(wh, p.storeId);
  const { rows } = await rebuild(wh, { storeId: p.storeId });
  const after = await snapshot(wh, p.storeId);
  const diff = diffRows(before, after);
  if (diff.onlyBefore.length + diff.onlyAfter.length > 0) {
    throw new RunFailure(
      `reconciliation: the incremental rollups of store ${p.storeId} differ from a full rebuild ` +
        `(${diff.onlyBefore.length} row(s) only in the incremental, ${diff.onlyAfter.length} only in the rebuild); the rollups were rebuilt`,
      { onlyIncremental: diff.onlyBefore.slice(0, MAX_DIFF_SAMPLE), onlyRebuild: diff.onlyAfter.slice(0, MAX_DIFF_SAMPLE), rowsBefore: before.length, rowsAfter: after.length },
    );
  }
  return { rows, details: { compared: after.length, differences: 0 } };
}

/** Rows of `a` not in `b` and of `b` not in `a`, as multisets of their JSON (keys sorted). */
export function diffRows(a: Array<Record<string, unknown>>, b: Array<Record<string, unknown>>): { onlyBefore: Array<Record<string, unknown>>; onlyAfter: Array<Record<string, unknown>> } {
  const key = (r: Record<string, unknown>) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]));
  const counts = new Map<string, number>();
  for (const r of b) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  const onlyBefore: Array<Record<string, unknown>> = [];
  for (const r of a) {
    const k = key(r);
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else onlyBefore.push(r);
  }
  const left = new Map<string, number>();
  for (const r of a) left.set(key(r), (left.get(key(r)) ?? 0) + 1);
  const onlyAfter: Array<Record<string, unknown>> = [];
  for (const r of b) {
    const k = key(r);
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    else onlyAfter.push(r);
  }
  return { onlyBefore, onlyAfter };
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * The rollup tables a reconciliation compares: every `gold_*` ReplacingMergeTree table of the
 * database except the cohorts (rebuilt whole by every flow, never incrementally) — i.e. what
 * rebuildRollups writes, however many grains it keeps.
 */
export async function rollupTables(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ name: string }>(
    `SELECT name FROM system.tables
      WHERE database = currentDatabase() AND startsWith(name, 'gold_') AND name != 'gold_cohorts' AND endsWith(engine, 'ReplacingMergeTree')
      ORDER BY name`,
  );
  return rows.map((r) => r.name).filter((n) => IDENT.test(n));
}


/**
 * Reads a store's rollups (the tables above, FINAL, tombstones dropped) as comparable rows: every
 * column but the version bookkeeping, distinct-count states finalised to their counts, all values
 * as text. Table and column names come from the system tables and are checked to be plain
 * identifiers.
 */
export const snapshotRollups: SnapshotRollups = async (wh, storeId) => {
  const out: Array<Record<string, unknown>> = [];
  const tables = await rollupTables(wh);
  if (tables.length === 0) throw new Error('reconciliation: no gold_* rollup tables (migrations not applied?)');
  for (const table of tables) {
    const cols = await wh.query<{ name: string; type: string }>(
      'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position',
      { t: table },
    );
    const select = cols
      .filter((c) => IDENT.test(c.name) && c.name !== 'version' && c.name !== 'is_deleted')
      .map((c) => (c.type.startsWith('AggregateFunction') ? `toString(finalizeAggregation(\`${c.name}\`)) AS \`${c.name}\`` : `toString(\`${c.name}\`) AS \`${c.name}\``));
    const rows = await wh.query<Record<string, unknown>>(`SELECT ${select.join(', ')} FROM ${table} FINAL WHERE store_id = {store:String}`, { store: storeId });
    for (const r of rows) out.push({ table, ...r });
  }
  return out;
};
