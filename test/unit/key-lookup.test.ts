import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fitsOneQuery, keyBatches, lookupParamBytes, SERVER_PARAM_BYTES } from '../../src/warehouse/key-lookup.js';

/** Independent: the array parameter's text as ClickHouse's parameter syntax writes it ('…' with backslash escapes). */
const arrayText = (keys: readonly string[]) =>
  '[' + keys.map((k) => `'${k.replace(/[\\'\t\n\r]/g, (c) => '\\' + ({ '\t': 't', '\n': 'n', '\r': 'r' }[c] ?? c))}'`).join(',') + ']';

test('keyBatches keeps every key once, in order, and each batch within the byte budget as a bound array', () => {
  const awkward = ["O'Brien", 'back\\slash', 'tab\there', 'new\nline', 'cr\rx', 'Grüße', '日本語', '😀', ''];
  const keys = Array.from({ length: 20_000 }, (_, i) => (i % 97 === 0 ? awkward[i % awkward.length]! + i : randomUUID()));
  for (const max of [1_000, 64 * 1024, SERVER_PARAM_BYTES]) {
    const batches = keyBatches(keys, max);
    assert.deepEqual(batches.flat(), keys);
    for (const b of batches) assert.ok(Buffer.byteLength(arrayText(b)) <= max, `a batch of ${b.length} keys takes ${Buffer.byteLength(arrayText(b))} bytes > ${max}`);
    // Batches are full: the next key would not have fit.
    for (let i = 0; i + 1 < batches.length; i++) {
      assert.ok(Buffer.byteLength(arrayText([...batches[i]!, batches[i + 1]![0]!])) > max);
    }
  }
  assert.deepEqual(keyBatches([], 100), []);
  // A key longer than the budget goes alone (the engine gets to say whether it takes it).
  const long = 'x'.repeat(500);
  assert.deepEqual(keyBatches(['a', long, 'b'], 100), [['a'], [long], ['b']]);
});

test('a server lookup binds at most 256 KiB of keys (1 MiB of URL when percent-encoded); in-process all of them', () => {
  assert.equal(SERVER_PARAM_BYTES * 3 + 64 * 1024 <= 1024 * 1024, true);
  assert.equal(lookupParamBytes({ engine: 'server' }), SERVER_PARAM_BYTES);
  assert.equal(lookupParamBytes({ engine: 'embedded' }), Number.POSITIVE_INFINITY);
});

test('fitsOneQuery: any keys in-process; on a server, only while their bound array stays within the budget', () => {
  const keys = Array.from({ length: 10_000 }, () => randomUUID());
  assert.equal(fitsOneQuery({ engine: 'embedded' }, keys), true);
  // Independent of keyBatches: the bound array's text measured as ClickHouse writes it.
  const within = keys.slice(0, Math.floor(SERVER_PARAM_BYTES / Buffer.byteLength(arrayText(keys.slice(0, 1)))) - 1);
  assert.ok(Buffer.byteLength(arrayText(within)) <= SERVER_PARAM_BYTES);
  assert.equal(fitsOneQuery({ engine: 'server' }, within), true);
  assert.ok(Buffer.byteLength(arrayText(keys)) > SERVER_PARAM_BYTES);
  assert.equal(fitsOneQuery({ engine: 'server' }, keys), false);
  assert.equal(fitsOneQuery({ engine: 'server' }, []), true);
});
