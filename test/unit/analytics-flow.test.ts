import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildFlowTree,
  dateRanges,
  FACT_TABLES,
  flowIntervalMs,
  INGEST_FLOW_STEPS,
  localDatesOfUtcDays,
  MAX_FLOW_INTERVAL_MS,
  STEP_READS,
  stepJobId,
  stepsForTables,
  triggerWait,
  type FlowStep,
} from '../../src/jobs/analytics.flow.js';
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

test('the interval between two flow starts is the minimum, stretched to the last duration over the duty cycle', () => {
  const min = 10_000;
  // No recorded duration, or a short one (2 s / 0.2 = 10 s, not longer than the minimum): the minimum.
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.2 }), min);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.2, lastDurationMs: null }), min);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.2, lastDurationMs: 0 }), min);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.2, lastDurationMs: 2000 }), min);
  // 3 s at 20 %: 15 s; 3 s at 25 %: 12 s; 1.5 s at 10 %: 15 s; a fraction of a ms rounds up.
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.2, lastDurationMs: 3000 }), 15_000);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.25, lastDurationMs: 3000 }), 12_000);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.1, lastDurationMs: 1500 }), 15_000);
  assert.equal(flowIntervalMs({ minIntervalMs: 0, maxDutyCycle: 0.3, lastDurationMs: 1000 }), 3334);
  // A minimum of 0 (back to back) is stretched too.
  assert.equal(flowIntervalMs({ minIntervalMs: 0, maxDutyCycle: 0.5, lastDurationMs: 800 }), 1600);
  // A duty cycle of 1 turns the stretching off: only the minimum applies, however long the last flow.
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 1, lastDurationMs: 60_000 }), min);
  assert.equal(flowIntervalMs({ minIntervalMs: 0, maxDutyCycle: 1, lastDurationMs: 60_000 }), 0);
  // Never longer than the keys live (an hour).
  assert.equal(MAX_FLOW_INTERVAL_MS, 3_600_000);
  assert.equal(flowIntervalMs({ minIntervalMs: min, maxDutyCycle: 0.01, lastDurationMs: 60_000 }), MAX_FLOW_INTERVAL_MS);
});

test('a trigger waits for the flow in flight, then until the last start plus the interval', () => {
  const base = { debounceMs: 2000, minIntervalMs: 10_000, maxDutyCycle: 0.2 };
  const t0 = 1_700_000_000_000;
  // A flow in flight: one debounce window at a time (at least 250 ms), whatever the interval.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: true, lastStart: t0 - 60_000, lastDurationMs: 5000 }), { waitMs: 2000, cause: 'inflight', intervalMs: 25_000 });
  assert.equal(triggerWait({ ...base, debounceMs: 0, now: t0, inflight: true }).waitMs, 250);
  // No last start (first flow, or forgotten): start now.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: null, lastDurationMs: 5000 }), { waitMs: 0, intervalMs: 25_000 });
  // No recorded duration: as before the duty cycle, the minimum interval since the last start.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 4000 }), { waitMs: 6000, cause: 'min-interval', intervalMs: 10_000 });
  // A short last flow (1 s / 0.2 = 5 s < 10 s) changes nothing.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 4000, lastDurationMs: 1000 }), { waitMs: 6000, cause: 'min-interval', intervalMs: 10_000 });
  // A 3 s flow at 20 %: 15 s after its start, so 11 s more 4 s after it; held by the duty cycle.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 4000, lastDurationMs: 3000 }), { waitMs: 11_000, cause: 'duty-cycle', intervalMs: 15_000 });
  // …also once the minimum interval is over.
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 12_000, lastDurationMs: 3000 }), { waitMs: 3000, cause: 'duty-cycle', intervalMs: 15_000 });
  // A single batch after a quiet period longer than the interval: no wait (only the debounce, before).
  assert.deepEqual(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 15_000, lastDurationMs: 3000 }), { waitMs: 0, intervalMs: 15_000 });
  assert.equal(triggerWait({ ...base, now: t0, inflight: false, lastStart: t0 - 3_600_000, lastDurationMs: 3000 }).waitMs, 0);
  // Duty cycle 1: the minimum interval only.
  assert.deepEqual(triggerWait({ ...base, maxDutyCycle: 1, now: t0, inflight: false, lastStart: t0 - 4000, lastDurationMs: 30_000 }), { waitMs: 6000, cause: 'min-interval', intervalMs: 10_000 });
  assert.equal(triggerWait({ ...base, maxDutyCycle: 1, now: t0, inflight: false, lastStart: t0 - 10_000, lastDurationMs: 30_000 }).waitMs, 0);
});

/**
 * Independent of flowIntervalMs: simulate an hour of steady stream (a batch within 100 ms of every
 * flow's end) against flows that grow with the store's data (1 s, then 30 ms more each), and
 * measure the share of wall time the flows take.
 */
test('under a steady stream the flows take at most the duty cycle of wall time, however long they get', () => {
  const horizon = 3_600_000;
  const simulate = (maxDutyCycle: number) => {
    let t = 0;
    let busy = 0;
    let lastStart: number | null = null;
    let lastDuration: number | null = null;
    let flows = 0;
    while (t < horizon) {
      t += triggerWait({ now: t, inflight: false, lastStart, lastDurationMs: lastDuration, debounceMs: 2000, minIntervalMs: 10_000, maxDutyCycle }).waitMs;
      const d = 1000 + 30 * flows++;
      lastStart = t;
      busy += Math.min(d, horizon - t);
      t = Math.ceil((t + d) / 100) * 100;
      lastDuration = d;
    }
    return { share: busy / horizon, lastDuration: lastDuration! };
  };
  for (const duty of [0.2, 0.5]) {
    const { share, lastDuration } = simulate(duty);
    assert.ok(share <= duty, `duty ${duty}: flows took ${(share * 100).toFixed(1)} % of the time`);
    // The flows grew long enough for the duty cycle to bind (longer than 10 s × duty).
    assert.ok(lastDuration > 10_000 * duty, `${lastDuration} ms`);
  }
  // The fixed 10 s interval (duty cycle 1) lets the same flows take most of the time.
  assert.ok(simulate(1).share > 0.5);
});
