import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DigestSet } from '../../src/ingest/formats/digest-set.js';

test('DigestSet agrees with a Set of the digests (as hex) through many growths, repeats included', () => {
  const set = new DigestSet(4);
  const reference = new Set<string>();
  for (let i = 0; i < 150_000; i++) {
    // Every third value repeats an earlier one.
    const n = i % 3 === 2 ? Math.floor(i / 2) : i;
    const d = crypto.createHash('sha1').update(`line ${n}`).digest();
    const key = d.subarray(0, 12).toString('hex');
    assert.equal(set.add(d), !reference.has(key), `value ${n}`);
    reference.add(key);
  }
  assert.equal(set.size, reference.size);
});

test('DigestSet: only the first 96 bits count; the all-zero digest is a member like any other', () => {
  const set = new DigestSet();
  const zero = new Uint8Array(20);
  assert.equal(set.add(zero), true);
  assert.equal(set.add(zero), false);
  const almost = new Uint8Array(20);
  almost[19] = 7; // differs only after the 12th byte
  assert.equal(set.add(almost), false);
  const other = new Uint8Array(20);
  other[11] = 1;
  assert.equal(set.add(other), true);
  assert.throws(() => set.add(new Uint8Array(8)), /12 bytes/);
  set.clear();
  assert.equal(set.size, 0);
  assert.equal(set.add(other), true);
});
