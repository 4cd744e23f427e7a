import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateScalar, DateTimeScalar, MoneyScalar, isIsoDate } from '../../src/schema/scalars.js';
import { addDecimal, fromScaled, relativeChange, roundDecimal, subtractDecimal, toScaled } from '../../src/schema/decimal.js';
import { daysInRange, previousPeriod } from '../../src/resolvers/store-scope.js';

test('Money shows exactly 2 decimals, rounded half away from zero from the exact string, and refuses numbers', () => {
  const cases: Array<[string, string]> = [
    ['1234.5', '1234.50'], ['1234.5000', '1234.50'], ['0.0049', '0.00'], ['0.005', '0.01'], ['-0.005', '-0.01'], ['-0.0049', '0.00'],
    ['2.675', '2.68'], // 2.675 is 2.67499999… as a float: exact decimals round it up
    ['99999999999999.9950', '100000000000000.00'], ['7', '7.00'], ['-12.3456', '-12.35'],
  ];
  for (const [input, shown] of cases) assert.equal(MoneyScalar.serialize(input), shown, input);
  assert.throws(() => MoneyScalar.serialize(1.5), /decimal string/);
  assert.throws(() => MoneyScalar.serialize('1e3'), /decimal string/);
  assert.equal(MoneyScalar.parseValue('10.10'), '10.10');
  assert.throws(() => MoneyScalar.parseValue(10.1));
});

test('Date accepts real calendar days only; DateTime is ISO 8601 UTC with a zone required on input', () => {
  assert.ok(isIsoDate('2024-02-29'));
  assert.ok(!isIsoDate('2023-02-29'));
  assert.ok(!isIsoDate('2024-2-1'));
  assert.equal(DateScalar.parseValue('2024-12-31'), '2024-12-31');
  assert.throws(() => DateScalar.parseValue('2024-13-01'), /YYYY-MM-DD/);
  assert.throws(() => DateScalar.parseValue(20240101), /YYYY-MM-DD/);
  assert.equal(DateScalar.serialize('2024-05-01'), '2024-05-01');
  assert.equal(DateTimeScalar.serialize('2024-05-01 10:00:00.000'), '2024-05-01T10:00:00.000Z');
  assert.equal(DateTimeScalar.serialize('2024-05-01T12:00:00+02:00'), '2024-05-01T10:00:00.000Z');
  assert.equal(DateTimeScalar.parseValue('2024-05-01T12:00:00+02:00'), '2024-05-01T10:00:00.000Z');
  assert.throws(() => DateTimeScalar.parseValue('2024-05-01T12:00:00'), /zone/);
});

test('decimal arithmetic is exact', () => {
  assert.equal(toScaled('12.34567'), 123457n);
  assert.equal(toScaled('-0.00005'), -1n);
  assert.equal(fromScaled(-5n), '-0.0005');
  assert.equal(fromScaled(0n, 2), '0.00');
  assert.equal(roundDecimal('0.125', 2), '0.13');
  assert.equal(subtractDecimal('0.3000', '0.1'), '0.2000');
  assert.equal(addDecimal('0.1', '0.2'), '0.3000');
  assert.equal(subtractDecimal('100', '250.5'), '-150.5000');
  assert.equal(relativeChange('150', '100'), 0.5);
  assert.equal(relativeChange('50', '-100'), 1.5);
  assert.equal(relativeChange('1', '0'), null);
});

test('the previous period has the same number of days and ends the day before', () => {
  assert.deepEqual(previousPeriod({ from: '2024-03-01', to: '2024-03-31' }), { from: '2024-01-30', to: '2024-02-29' });
  assert.equal(daysInRange({ from: '2024-03-01', to: '2024-03-31' }), 31);
  assert.deepEqual(previousPeriod({ from: '2024-01-01', to: '2024-01-01' }), { from: '2023-12-31', to: '2023-12-31' });
  // Across a DST change the days are calendar days, not 24-hour spans.
  assert.deepEqual(previousPeriod({ from: '2024-03-31', to: '2024-04-06' }), { from: '2024-03-24', to: '2024-03-30' });
});
