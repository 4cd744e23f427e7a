/**
 * `decimal` (every money field of every entity) returns a value already in its canonical form as it
 * is, and takes any other apart. Both must give the same answer: checked against an independent
 * computation (BigInt units, formatted back) on tricky inputs and on 50,000 generated strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimal, ValueProblem } from '../../src/ingest/validate/values.js';
import { mulberry32 as rng } from '../support/random.js';

/** The canonical decimal of a string, or the reason it is refused, computed with BigInt units. */
function reference(input: string): string {
  const m = /^([+-])?(\d+)(?:\.(\d+))?$/.exec(input.trim());
  if (!m) return 'invalid_value';
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 4) return 'invalid_value';
  const units = BigInt(m[2]! + frac.padEnd(4, '0'));
  if (units / 10_000n >= 10n ** 14n) return 'out_of_range';
  const whole = (units / 10_000n).toString();
  const part = (units % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return (m[1] === '-' && units > 0n ? '-' : '') + whole + (part ? '.' + part : '');
}

function actual(input: string): string {
  try {
    return decimal(input);
  } catch (err) {
    if (err instanceof ValueProblem) return err.reason;
    throw err;
  }
}

test('decimal: canonical values come back as they are, others are normalized or refused', () => {
  const cases: [string, string][] = [
    ['12.5', '12.5'],
    ['12.50', '12.5'],
    ['+3', '3'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['-0.05', '-0.05'],
    ['007', '7'],
    ['0.0001', '0.0001'],
    ['0.00001', 'invalid_value'],
    ['1.23450', '1.2345'],
    ['99999999999999', '99999999999999'],
    ['99999999999999.9999', '99999999999999.9999'],
    ['100000000000000', 'out_of_range'],
    ['00000000000000001', '1'],
    [' 4.2 ', '4.2'],
    ['1.', 'invalid_value'],
    ['.5', 'invalid_value'],
    ['1,5', 'invalid_value'],
    ['-', 'invalid_value'],
    ['', 'invalid_value'],
  ];
  for (const [input, expected] of cases) {
    assert.equal(actual(input), expected, JSON.stringify(input));
    assert.equal(reference(input), expected, `reference ${JSON.stringify(input)}`);
  }
});

test('decimal agrees with a BigInt computation on 50,000 generated strings', () => {
  const r = rng(20261124);
  const alphabet = ['0', '0', '1', '5', '9', '.', '-', '+', ' '];
  let canonical = 0;
  for (let i = 0; i < 50_000; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * (r() < 0.1 ? 20 : 8));
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(r() * alphabet.length)];
    const expected = reference(s);
    assert.equal(actual(s), expected, JSON.stringify(s));
    if (expected === s) canonical++;
  }
  // Both paths are exercised: values already canonical and values that are not.
  assert.ok(canonical > 1000, `canonical ${canonical}`);
});
