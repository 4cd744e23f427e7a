import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/cache/canonical.js';
import { answerCacheHeaders, decodeAnswer, encodeAnswer, newAnswerUsage } from '../../src/cache/answer-cache.js';

test('canonical JSON: key order and undefined members do not change the text; array order does', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined, e: null } }), '{"a":{"d":[2,1],"e":null},"b":1}');
  assert.equal(canonicalJson({ range: { from: 'x', to: 'y' } }), canonicalJson({ range: { to: 'y', from: 'x' } }));
  assert.notEqual(canonicalJson({ g: ['A', 'B'] }), canonicalJson({ g: ['B', 'A'] }));
  assert.equal(canonicalJson(new Date('2026-01-02T03:04:05Z')), '"2026-01-02T03:04:05.000Z"');
});

test('answers round-trip exactly through the cache encoding; what JSON cannot hold is not stored', () => {
  const value = { money: '1234.5000', tiny: '0.0001', n: 12, rate: 0.1 + 0.2, none: null, list: [{ d: new Date('2026-03-01T00:00:00.123Z') }], text: 'a\u0000b"\n' };
  const json = encodeAnswer(value)!;
  assert.deepEqual(decodeAnswer(json), value);
  assert.ok((decodeAnswer(json) as { list: { d: Date }[] }).list[0]!.d instanceof Date);
  assert.deepEqual(decodeAnswer(encodeAnswer([1, 'x'])!), [1, 'x']);
  for (const bad of [{ x: NaN }, { x: Infinity }, { m: new Map() }, { b: 1n }]) assert.equal(encodeAnswer(bad), undefined, String(Object.keys(bad)));
});

test('Cache-Control: private with Age only when every root field came through the cache without errors', () => {
  const u = newAnswerUsage();
  assert.deepEqual(answerCacheHeaders(u, { rootFields: ['viewer'], isQuery: true, hadErrors: false }), { 'cache-control': 'no-store' });
  u.ops.add('kpis');
  u.hits = 1;
  u.oldestAt = Date.now() - 5500;
  assert.deepEqual(answerCacheHeaders(u, { rootFields: ['kpis'], isQuery: true, hadErrors: false }), { 'cache-control': 'private, max-age=0', age: '5', 'x-answer-cache': 'hit' });
  assert.equal(answerCacheHeaders(u, { rootFields: ['kpis', 'viewer'], isQuery: true, hadErrors: false })['cache-control'], 'no-store');
  assert.equal(answerCacheHeaders(u, { rootFields: ['kpis'], isQuery: true, hadErrors: true })['cache-control'], 'no-store');
  u.misses = 1;
  assert.equal(answerCacheHeaders(u, { rootFields: ['kpis'], isQuery: true, hadErrors: false })['x-answer-cache'], 'partial');
  u.uncached = true;
  assert.deepEqual(answerCacheHeaders(u, { rootFields: ['kpis'], isQuery: true, hadErrors: false }), { 'cache-control': 'no-store', 'x-answer-cache': 'bypass' });
});

test('job metrics: durations per queue and outcome; ingest row counts from the jobs\' results', async () => {
  const { registry, observeJob } = await import('../../src/metrics/metrics.js');
  const value = async (name: string, labels: Record<string, string>) => {
    const m = await registry.getSingleMetric(name)!.get();
    return (m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[])
      .filter((v) => (String(m.type) !== 'histogram' || v.metricName === `${name}_count`) && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
      .reduce((a, v) => a + v.value, 0);
  };
  observeJob('ingest', { name: 'import', processedOn: 1000, finishedOn: 3500, returnvalue: { read: 10, inserted: 7, unchanged: 1, rejected: 2, batchId: 'b' } }, 'completed');
  observeJob('ingest', { name: 'import', processedOn: 1000, finishedOn: 1200 }, 'failed');
  observeJob('analytics', { name: 'rollups', processedOn: 1, finishedOn: 2, returnvalue: { read: 99 } }, 'completed');
  assert.equal(await value('ecomm_ingest_rows_total', { queue: 'ingest', kind: 'read' }), 10);
  assert.equal(await value('ecomm_ingest_rows_total', { queue: 'ingest', kind: 'rejected' }), 2);
  assert.equal(await value('ecomm_ingest_rows_total', { queue: 'analytics' }), 0, 'only ingest queues count rows');
  assert.equal(await value('ecomm_job_duration_seconds', { queue: 'ingest', outcome: 'completed' }), 1);
  assert.equal(await value('ecomm_job_duration_seconds', { queue: 'ingest', outcome: 'failed' }), 1);
  const text = await registry.metrics();
  assert.match(text, /^ecomm_job_duration_seconds_sum\{queue="ingest",job="import",outcome="completed"\} 2\.5$/m);
});
