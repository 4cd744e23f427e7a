import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/config.js';

test('defaults apply when nothing is set', () => {
  const c = parseConfig({});
  assert.equal(c.PORT, 4000);
  assert.equal(c.DATA_DIR, './.data');
  assert.equal(c.dataDir, path.resolve('./.data'));
  assert.equal(c.DEMO_DATA, true);
  assert.equal(c.DEFAULT_TIMEZONE, 'UTC');
  assert.equal(c.CLICKHOUSE_DATABASE, 'ecommerce');
  assert.equal(c.LOG_LEVEL, 'info');
  assert.equal(c.CLICKHOUSE_URL, undefined);
  assert.equal(c.REDIS_URL, undefined);
});

test('values are coerced and empty strings count as unset', () => {
  const c = parseConfig({ PORT: '8080', DEMO_DATA: 'false', DEFAULT_TIMEZONE: 'Europe/London', REDIS_URL: '', CLICKHOUSE_URL: 'http://ch:8123' });
  assert.equal(c.PORT, 8080);
  assert.equal(c.DEMO_DATA, false);
  assert.equal(c.DEFAULT_TIMEZONE, 'Europe/London');
  assert.equal(c.REDIS_URL, undefined);
  assert.equal(c.CLICKHOUSE_URL, 'http://ch:8123');
});

test('one error names every bad variable and why, without their values', () => {
  const secret = 'short-secret-value';
  let error: unknown;
  try {
    parseConfig({
      PORT: 'eighty',
      CLICKHOUSE_URL: 'ftp://nope',
      REDIS_URL: 'localhost:6379',
      LOG_LEVEL: 'loud',
      DEMO_DATA: 'maybe',
      DEFAULT_TIMEZONE: 'Mars/Olympus',
      CLICKHOUSE_DATABASE: 'bad-name',
      ADMIN_API_KEY: secret,
    });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError, 'a ConfigError is thrown');
  const names = error.problems.map((p) => p.variable).sort();
  assert.deepEqual(names, [
    'ADMIN_API_KEY',
    'CLICKHOUSE_DATABASE',
    'CLICKHOUSE_URL',
    'DEFAULT_TIMEZONE',
    'DEMO_DATA',
    'LOG_LEVEL',
    'PORT',
    'REDIS_URL',
  ]);
  for (const name of names) assert.match(error.message, new RegExp(`- ${name}: `));
  assert.ok(!error.message.includes(secret), 'the secret value is not in the message');
  assert.match(error.message, /IANA time zone/);
});

test('ANALYTICS_MAX_DUTY_CYCLE is a share of wall time: more than 0, at most 1, 0.2 by default', () => {
  assert.equal(parseConfig({}).ANALYTICS_MAX_DUTY_CYCLE, 0.2);
  assert.equal(parseConfig({ ANALYTICS_MAX_DUTY_CYCLE: '1' }).ANALYTICS_MAX_DUTY_CYCLE, 1);
  assert.equal(parseConfig({ ANALYTICS_MAX_DUTY_CYCLE: '0.05' }).ANALYTICS_MAX_DUTY_CYCLE, 0.05);
  for (const bad of ['0', '-0.1', '1.5', 'half']) {
    assert.throws(
      () => parseConfig({ ANALYTICS_MAX_DUTY_CYCLE: bad }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.variable === 'ANALYTICS_MAX_DUTY_CYCLE',
      bad,
    );
  }
});
