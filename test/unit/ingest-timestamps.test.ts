/**
 * `timestamp` reads the common ISO 8601 forms through `isoTimestampFast` and everything else through
 * the general parser (`parseTimestamp`). The fast path must give exactly the general parser's
 * instant for every text it takes, and leave every text the general parser rejects to it (so the
 * reject and its message are unchanged). Checked on generated texts: every ISO form live events
 * use, edge cases (calendar, range, offsets, daylight-saving days in several zones) and random
 * mutations of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chDateTime, civilDateTime, isoTimestampFast, parseTimestamp, timestamp } from '../../src/ingest/validate/values.js';
import { mulberry32 as rng } from '../support/random.js';

const ZONES = ['UTC', 'Europe/London', 'America/Sao_Paulo', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The general parser's verdict: the instant, or the error's message. */
function general(s: string, tz: string): { ms: number } | { error: string } {
  try {
    return { ms: parseTimestamp(s, tz) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** ISO texts of an instant's UTC fields in every form the fast path is for. */
function isoForms(r: () => number, fields: [number, number, number, number, number, number], fraction: string): string[] {
  const [y, mo, d, h, mi, s] = fields;
  const date = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  const time = `${pad(h)}:${pad(mi)}:${pad(s)}`;
  const sep = ['T', ' ', 't'][Math.floor(r() * 3)]!;
  const frac = fraction ? (r() < 0.8 ? '.' : ',') + fraction : '';
  const oh = Math.floor(r() * 15);
  const om = [0, 30, 45][Math.floor(r() * 3)]!;
  const sign = r() < 0.5 ? '+' : '-';
  return ['Z', 'z', `${sign}${pad(oh)}:${pad(om)}`, `${sign}${pad(oh)}${pad(om)}`, ''].map((zone) => `${date}${sep}${time}${frac}${zone}`);
}

/** Texts around the edges of what the general parser accepts. */
const EDGES = [
  '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z', '2000-02-29 00:00:00', '2100-02-29 00:00:00', '2200-02-28T23:59:59.999Z',
  '2200-12-31T23:59:59Z', '2201-01-01T00:00:00Z', '1971-01-01T00:00:00Z', '1970-12-31T23:59:59Z', '1969-07-20T20:17:40Z',
  '2024-04-31T10:00:00Z', '2024-06-30T10:00:00Z', '2024-00-10T10:00:00Z', '2024-13-10T10:00:00Z', '2024-01-00T10:00:00Z',
  '2024-01-32T10:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01T23:60:00Z', '2024-03-01T23:59:60Z', '2024-03-01T9:00:00Z',
  '2024-03-01T10:00Z', '2024-03-01T10:00', '2024-03-01', '2024-03-01T', '2024-03-01T10:00:00.', '2024-03-01T10:00:00.1234567890Z',
  '2024-03-01T10:00:00.123456789Z', '2024-03-01T10:00:00,5', '2024-03-01T10:00:00 Z', '2024-03-01T10:00:00  +02:00',
  '2024-03-01T10:00:00+99:99', '2024-03-01T10:00:00-00:00', '2024-03-01T10:00:00+2:00', '2024-03-01T10:00:00+02:0',
  '2024-03-01T10:00:00+02:000', '2024-03-01T10:00:00+0200Z', '2024-03-01T10:00:00ZZ', '2024-03-01T10:00:00GMT',
  ' 2024-03-01T10:00:00Z', '2024-03-01T10:00:00Z ', '2024-03-01T10:00:00\n', '2024-03-01X10:00:00Z', '2024/03/01T10:00:00Z',
  '2024-3-01T10:00:00Z', '202４-03-01T10:00:00Z', '٢٠٢٤-03-01T10:00:00Z', '+2024-03-01T10:00:00Z', '-2024-03-01T10:00:00Z',
  '2024-03-01T10:00:00.123+05:30', '2024-03-01T10:00:00.12-0330', '2024-03-01T10:00:00.1z', '2024-03-01t10:00:00z',
  '2024-03-31 01:30:00', '2024-03-31 02:30:00', '2024-10-27 01:30:00', '2024-10-27 00:59:59.999', '2024-11-03 01:30:00',
  '2024-03-10 02:30:00', '2024-10-06 02:15:00', '2024-04-07 01:45:00', '2019-11-03 00:30:00', '2018-02-17 23:30:00',
  '1709287200', '1709287200123', '3/1/2024 10:00', '01.03.2024 10:00:00', '', '   ', 'yesterday',
];

test('isoTimestampFast gives exactly the general parser’s instant, or leaves the text to it, on generated and edge texts', () => {
  const r = rng(20261123);
  const texts: string[] = [...EDGES];
  for (let i = 0; i < 4000; i++) {
    // Instants between 1965 and 2210, half of them near a daylight-saving change of some zone
    // (late March / October / November / February / April at night).
    const y = 1965 + Math.floor(r() * 246);
    const nearChange = r() < 0.5;
    const mo = nearChange ? [2, 3, 4, 9, 10, 11][Math.floor(r() * 6)]! : 1 + Math.floor(r() * 12);
    const d = nearChange ? 1 + Math.floor(r() * 31) : 1 + Math.floor(r() * 31);
    const h = nearChange ? Math.floor(r() * 4) : Math.floor(r() * 24);
    const fields: [number, number, number, number, number, number] = [y, mo, d, h, Math.floor(r() * 60), Math.floor(r() * 60)];
    const fraction = r() < 0.4 ? '' : String(Math.floor(r() * 1e9)).padStart(9, '0').slice(0, 1 + Math.floor(r() * 9));
    texts.push(...isoForms(r, fields, fraction));
  }
  // Random mutations of the texts: a character replaced, removed or inserted.
  const alphabet = '0123456789-:T tZz+.,x\u0660';
  const base = texts.length;
  for (let i = 0; i < 20_000; i++) {
    const s = texts[Math.floor(r() * base)]!;
    const at = Math.floor(r() * (s.length + 1));
    const c = alphabet[Math.floor(r() * alphabet.length)]!;
    const kind = r();
    texts.push(kind < 0.4 ? s.slice(0, at) + c + s.slice(at + 1) : kind < 0.7 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + c + s.slice(at));
  }

  let fast = 0;
  let rejected = 0;
  for (const tz of ZONES) {
    for (const s of texts) {
      const want = general(s, tz);
      const got = isoTimestampFast(s, tz);
      if ('error' in want) {
        rejected++;
        assert.equal(got, undefined, `${JSON.stringify(s)} in ${tz}: the general parser rejects it (${want.error}), the fast path gave ${got}`);
        assert.throws(() => timestamp(s, tz), { message: want.error });
        continue;
      }
      if (got !== undefined) {
        fast++;
        assert.equal(got, want.ms, `${JSON.stringify(s)} in ${tz}`);
      }
      assert.equal(timestamp(s, tz), want.ms, `${JSON.stringify(s)} in ${tz} through timestamp()`);
    }
  }
  // Both outcomes are well represented (the check is not vacuous).
  assert.ok(fast > 60_000, `fast path taken ${fast} times`);
  assert.ok(rejected > 20_000, `${rejected} rejected texts`);
});

test('isoTimestampFast takes every ISO form with a full time of day that the general parser accepts', () => {
  const r = rng(7);
  for (const tz of ZONES) {
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1971, 0, 1) + Math.floor(r() * (Date.UTC(2200, 11, 31) - Date.UTC(1971, 0, 1)));
      const dt = new Date(ms);
      const fields: [number, number, number, number, number, number] = [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate(), dt.getUTCHours(), dt.getUTCMinutes(), dt.getUTCSeconds()];
      const fraction = r() < 0.5 ? '' : String(dt.getUTCMilliseconds()).padStart(3, '0');
      for (const s of isoForms(r, fields, fraction)) {
        const want = general(s, tz);
        assert.ok('ms' in want, `${s} in ${tz}: ${JSON.stringify(want)}`);
        assert.equal(isoTimestampFast(s, tz), want.ms, `${s} in ${tz}`);
      }
      // The text of toISOString (what most clients send) is its own instant.
      assert.equal(isoTimestampFast(dt.toISOString(), tz), ms);
    }
  }
});

test('chDateTime (civil arithmetic for 1970–9999) gives the text of toISOString with a space and no Z', () => {
  const r = rng(99);
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const edges = [0, 1, 999, 1000, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 12), Date.UTC(2100, 2, 1), Date.UTC(2400, 1, 29), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(1972, 11, 31, 23, 59, 59, 999), Date.UTC(2024, 0, 1)];
  const values = [...edges, ...edges.map((e) => e + 1), ...edges.filter((e) => e > 0).map((e) => e - 1)];
  for (let i = 0; i < 200_000; i++) values.push(Math.floor(r() * 253_402_300_800_000));
  // Consecutive instants (the last minute's text is reused), across minute, day and year ends.
  for (const start of [Date.UTC(2024, 1, 28, 23, 58), Date.UTC(2023, 11, 31, 23, 58, 30)]) for (let ms = start; ms < start + 180_000; ms += 7) values.push(ms);
  for (const ms of values) {
    if (ms < 253_402_300_800_000) assert.equal(civilDateTime(ms), iso(ms), String(ms));
    assert.equal(chDateTime(ms), iso(ms), String(ms));
  }
  // Outside the civil fast path: toISOString's text (negative years, six-digit years, fractions).
  for (const ms of [-1, -86_400_000 * 400, Date.UTC(10000, 0, 1), Date.UTC(10000, 0, 1) - 1, 1.5]) {
    assert.equal(chDateTime(ms), iso(ms), String(ms));
  }
});
