import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFlowTree, dateRanges, FACT_TABLES, INGEST_FLOW_STEPS, localDatesOfUtcDays, STEP_READS, stepJobId, stepsForTables, type FlowStep } from '../../src/jobs/analytics.flow.js';
import { diffRows } from '../../src/jobs/aggregate.job.js';

/** Independent: local date by a fixed offset in hours. */
const byOffset = (iso: string, hours: number) => new Date(Date.parse(iso) + hours * 3600_000).toISOString().slice(0, 10);

test('a UTC day maps to the store-local dates of its first and last instant', () => {
  assert.deepEqual(localDatesOfUtcDays(['2024-05-01'], 'UTC'), ['2024-05-01']);
  // UTC−4 (New York in May), UTC+9 (Tokyo), UTC+5:45 (Kathmandu): two dates each.
  for (const [tz, h] of [['America/New_York', -4], ['Asia/Tokyo', 9], ['Asia/Kathmandu', 5.75]] as const) {
    const expected = [...new Set([byOffset('2024-05-01T00:00:00Z', h), byOffset('2024-05-01T23:59:59.999Z', h)])].sort();
    assert.deepEqual(localDatesOfUtcDays(['2024-05-01'], tz), expected, tz);
  }
  // The day New York leaves DST (2024-11-03): 00:00Z is 20:00 EDT on the 2nd, 23:59Z is 18:59 EST on the 3rd.
  assert.deepEqual(localDatesOfUtcDays(['2024-11-03'], 'America/New_York'), ['2024-11-02', '2024-11-03']);
  // Consecutive days overlap and are merged.
  assert.deepEqual(localDatesOfUtcDays(['2024-05-02', '2024-05-01'], 'Asia/Tokyo'), ['2024-05-01', '2024-05-02', '2024-05-03']);
  assert.throws(() => localDatesOfUtcDays(['nope'], 'UTC'), /not a UTC day/);
});

test('dates group into ranges of consecutive days (across month ends)', () => {
  assert.deepEqual(dateRanges(['2024-03-01', '2024-02-29', '2024-02-28', '2024-03-05', '2024-03-01']), [
    { from: '2024-02-28', to: '2024-03-01' },
    { from: '2024-03-05', to: '2024-03-05' },
  ]);
  assert.deepEqual(dateRanges([]), []);
});

test('the flow tree is the chain upside down: the last step is the root, the first the deepest leaf', () => {
  const steps: FlowStep[] = ['aggregate', 'anomalies', 'bump'];
  const tree = buildFlowTree({ storeId: 's', flowId: 'f', scope: { full: true }, reason: 'rebuild' }, steps);
  const order: string[] = [];
  for (let n: typeof tree | undefined = tree; n; n = n.children?.[0]) order.push(n.opts!.jobId!);
  assert.deepEqual(order, ['bump', 'anomalies', 'aggregate'].map((s) => stepJobId(s as FlowStep, 's', 'f')));
  assert.ok(order.every((id) => !id.includes(':')));
});

test('diffRows compares rows as multisets', () => {
  const a = [{ d: '1', n: '2' }, { d: '1', n: '2' }, { d: '2', n: '1' }];
  const b = [{ n: '2', d: '1' }, { d: '2', n: '3' }];
  assert.deepEqual(diffRows(a, b), { onlyBefore: [{ d: '1', n: '2' }, { d: '2', n: '1' }], onlyAfter: [{ d: '2', n: '3' }] });
  assert.deepEqual(diffRows(b, b), { onlyBefore: [], onlyAfter: [] });
});

test('a change runs the steps that read its fact tables; an unknown change runs every step', () => {
  const all = [...INGEST_FLOW_STEPS];
  assert.deepEqual(stepsForTables(all, ['fact_events']), ['funnel', 'anomalies', 'quality', 'bump']);
  assert.deepEqual(stepsForTables(all, ['fact_inventory_snapshots']), ['quality', 'bump']);
  for (const sales of ['fact_orders', 'fact_order_items', 'fact_payments']) assert.deepEqual(stepsForTables(all, [sales]), all.filter((s) => s !== 'funnel'), sales);
  assert.deepEqual(stepsForTables(all, ['fact_events', 'fact_payments']), all);
  assert.deepEqual(stepsForTables(all, []), all);
  // The order of the given steps is kept, and only given steps are returned.
  assert.deepEqual(stepsForTables(['anomalies', 'quality', 'bump'], ['fact_events']), ['anomalies', 'quality', 'bump']);
});

/**
 * Independent of STEP_READS: the fact tables each step's source (and the modules it imports from
 * src/analytics and src/warehouse) names. A step that starts reading another fact table must say so
 * in STEP_READS, or a change of that table would not refresh it.
 */
test('STEP_READS names every fact table a step\'s code reads', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const src = (rel: string) => path.join(root, 'src', rel);
  const entry: Record<Exclude<FlowStep, 'bump'>, string> = {
    aggregate: 'analytics/rollups.ts',
    cohorts: 'analytics/cohorts.ts',
    segments: 'analytics/segments.ts',
    affinity: 'analytics/affinity.ts',
    funnel: 'analytics/funnel.ts',
    anomalies: 'analytics/anomalies.ts',
    quality: 'analytics/quality.ts',
  };
  const tablesOf = (file: string, seen = new Set<string>()): Set<string> => {
    const out = new Set<string>();
    if (seen.has(file)) return out;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bfact_[a-z_]+\b/g)) out.add(m[0]);
    // Value imports and re-exports (a type import reads no table).
    for (const m of text.matchAll(/^(?:import|export) (?!type )[^;]*? from '(\.[^']+)\.js'/gm)) {
      const dep = path.resolve(path.dirname(file), `${m[1]}.ts`);
      if (dep.startsWith(src('analytics')) || dep.startsWith(src('warehouse'))) for (const t of tablesOf(dep, seen)) out.add(t);
    }
    return out;
  };
  for (const [step, file] of Object.entries(entry) as [FlowStep, string][]) {
    const read = [...tablesOf(src(file))].filter((t) => (FACT_TABLES as readonly string[]).includes(t));
    assert.ok(read.length > 0, `${step} reads some fact table`);
    for (const t of read) assert.ok(STEP_READS[step].includes(t), `${step} reads ${t} (${file}) but STEP_READS does not list it`);
  }
});
