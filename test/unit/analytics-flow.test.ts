import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFlowTree, dateRanges, localDatesOfUtcDays, stepJobId, type FlowStep } from '../../src/jobs/analytics.flow.js';
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
