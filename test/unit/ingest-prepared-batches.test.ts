/**
 * PreparedBatches hands a batch the API prepared to the events worker of the same process. A miss
 * only costs the worker a second validation, so the rules are about never handing over a batch
 * that might not be the job's: taken once, same time zone, not too old, and a full cache keeps
 * the batches the worker will take first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreparedBatches, prepareEvents, versionText } from '../../src/ingest/live-events.js';
import { fastEventValidator } from '../../src/ingest/validate/entities.js';

const prepared = (jobId: string) =>
  prepareEvents({ batchId: `${jobId}__1`, jobId, storeId: 's', timezone: 'UTC', records: [{ event_id: jobId, event_time: '2024-06-01T00:00:00Z', event_type: 'page_view' }] }, fastEventValidator('UTC'));

test('PreparedBatches: wanted only with a consumer; a batch is taken once, in its own time zone', () => {
  const cache = new PreparedBatches();
  assert.equal(cache.wanted, false);
  cache.addConsumer();
  assert.equal(cache.wanted, true);
  const a = prepared('a');
  cache.put('a', 'UTC', a);
  assert.equal(cache.take('a', 'UTC'), a);
  assert.equal(cache.take('a', 'UTC'), undefined, 'taken once');
  cache.put('b', 'UTC', prepared('b'));
  assert.equal(cache.take('b', 'Europe/London'), undefined, 'another time zone: prepared again by the worker');
  assert.equal(cache.take('b', 'UTC'), undefined, 'and dropped');
  assert.equal(cache.take('nothing', 'UTC'), undefined);
});

test('PreparedBatches: when full, new batches are not kept (the oldest are taken first); old ones expire', async () => {
  const cache = new PreparedBatches({ maxBatches: 2, maxAgeMs: 50 });
  cache.put('a', 'UTC', prepared('a'));
  cache.put('b', 'UTC', prepared('b'));
  cache.put('c', 'UTC', prepared('c'));
  assert.equal(cache.take('c', 'UTC'), undefined);
  assert.ok(cache.take('a', 'UTC'));
  cache.put('d', 'UTC', prepared('d'));
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(cache.take('b', 'UTC'), undefined, 'expired');
  cache.put('e', 'UTC', prepared('e')); // drops the expired d on the way
  assert.equal(cache.take('d', 'UTC'), undefined);
  assert.ok(cache.take('e', 'UTC'));
});

test('versionText is the decimal text of startedAt × 1,000,000 + seq, as BigInt computes it', () => {
  const starts = [0, 1, 999_999, 1_795_476_000_123, Date.now(), 9_999_999_999_999];
  const seqs = [0, 1, 9, 999_999, 1_000_000, 1_000_001, 123_456_789, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER - 1_000_000_000_000];
  for (const s of starts) for (const q of seqs) assert.equal(versionText(s, q), (BigInt(s) * 1_000_000n + BigInt(q)).toString(), `${s}, ${q}`);
});
