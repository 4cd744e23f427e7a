import { wallClockToUtc } from '../formats/timezone.js';

/**
 * Coercion of received values (CSV text, JSON values, XLSX cells) into the warehouse's types.
 * Each coercer returns the value or throws a ValueProblem naming the reason; the entity
 * validators turn problems into rejects with the field and row.
 */

/** Machine-readable reasons a record is rejected. */
export type RejectReason =
  | 'malformed_row'
  | 'missing_field'
  | 'invalid_value'
  | 'invalid_enum'
  | 'out_of_range'
  | 'business_rule'
  | 'unknown_order'
  | 'duplicate'
  | 'unknown_invoice_type'
  | 'negative_price'
  | 'negative_quantity'
  | 'positive_quantity_in_cancellation';

export class ValueProblem extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

/** True for undefined, null and blank strings. */
export function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

export function text(v: unknown): string {
  if (isBlank(v)) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  throw new ValueProblem('invalid_value', `expected text, got ${typeof v}`);
}

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;
/**
 * A decimal already as {@link decimal} returns it (no "+", no leading or trailing zeros, at most 4
 * decimals and 14 integer digits, no "-0"): most received values, returned without taking them apart.
 */
const CANONICAL_DECIMAL = /^(?:-(?=[1-9]|0\.))?(?:0|[1-9]\d{0,13})(?:\.\d{0,3}[1-9])?$/;

/**
 * Exact decimal as a string with at most `scale` fractional digits ("12.5" → "12.5").
 * Accepts strings ("1,234.50" thousands separators are refused as ambiguous) and JS numbers
 * whose shortest representation has ≤ scale decimals.
 */
export function decimal(v: unknown, scale = 4): string {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValueProblem('invalid_value', `not a finite number`);
    s = String(v);
    if (/e/i.test(s)) s = v.toFixed(scale).replace(/\.?0+$/, '');
  } else if (typeof v === 'string') {
    s = v.trim();
  } else {
    throw new ValueProblem('invalid_value', `expected a number, got ${v === null ? 'null' : typeof v}`);
  }
  if (scale === 4 && CANONICAL_DECIMAL.test(s)) return s;
  const m = DECIMAL.exec(s);
  if (!m) throw new ValueProblem('invalid_value', `"${s.slice(0, 40)}" is not a decimal number`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) throw new ValueProblem('invalid_value', `"${s}" has more than ${scale} decimal places`);
  const int = m[2]!.replace(/^0+(?=\d)/, '');
  if (int.length > 14) throw new ValueProblem('out_of_range', `"${s}" is too large`);
  const sign = m[1] === '-' && (/[1-9]/.test(int) || /[1-9]/.test(frac)) ? '-' : '';
  return sign + int + (frac ? '.' + frac : '');
}

/** Decimal string → integer count of 1/10^scale units (BigInt), for exact arithmetic. */
export function toUnits(d: string, scale = 4): bigint {
  const neg = d.startsWith('-');
  const [i, f = ''] = (neg ? d.slice(1) : d).split('.');
  const units = BigInt(i! + f.padEnd(scale, '0'));
  return neg ? -units : units;
}

/** Integer units → decimal string. */
export function fromUnits(u: bigint, scale = 4): string {
  const neg = u < 0n;
  const s = (neg ? -u : u).toString().padStart(scale + 1, '0');
  const int = s.slice(0, -scale);
  const frac = s.slice(-scale).replace(/0+$/, '');
  return (neg ? '-' : '') + int + (frac ? '.' + frac : '');
}

export function integer(v: unknown): number {
  const s = typeof v === 'number' ? String(v) : text(v);
  if (!/^[+-]?\d+$/.test(s)) throw new ValueProblem('invalid_value', `"${s.slice(0, 40)}" is not a whole number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ValueProblem('out_of_range', `${s} is out of range`);
  return n;
}

const ISO_LIKE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const US_LIKE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const EU_LIKE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * A timestamp in one of the common formats, as UTC epoch ms:
 * ISO 8601 with or without zone (`2024-03-01T10:00:00Z`, `2024-03-01 10:00:00`, `2024-03-01`),
 * US `3/1/2024 10:00`, European `01.03.2024 10:00`, epoch seconds or milliseconds, Date cells.
 * Times without a zone are wall-clock time in `timeZone`.
 */
export function timestamp(v: unknown, timeZone: string): number {
  if (typeof v !== 'string') return parseTimestamp(v, timeZone);
  // Consecutive records often carry the same time text (an invoice's lines): the last success is kept.
  if (v === lastTimestamp.text && timeZone === lastTimestamp.zone) return lastTimestamp.ms;
  const ms = isoTimestampFast(v, timeZone) ?? parseTimestamp(v, timeZone);
  lastTimestamp.text = v;
  lastTimestamp.zone = timeZone;
  lastTimestamp.ms = ms;
  return ms;
}
const lastTimestamp: { text: string | undefined; zone: string; ms: number } = { text: undefined, zone: '', ms: 0 };

/** Days in a month of the proleptic Gregorian calendar (month 1–12). */
function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/** Two ASCII digits at `i` as a number, or -1. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common ISO 8601 forms of live events (`2024-03-01T10:00:00Z`, `…T10:00:00.123+02:00`,
 * `2024-03-01 10:00:00`, a fraction of 1–9 digits, `T`/`t`/space, `Z`/`z`, `±HH:MM` or `±HHMM`, or
 * no zone) read without a regular expression or intermediate strings. Returns exactly what
 * {@link parseTimestamp} returns for that text, or undefined for anything else — including text it
 * would reject, so every message still comes from the general parser. A unit test compares both
 * on generated valid, edge and invalid texts.
 */
export function isoTimestampFast(s: string, timeZone: string): number | undefined {
  const n = s.length;
  if (n < 19 || n > 35) return undefined;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return undefined; // T, t (the general pattern ignores case), space
  const y1 = digits2(s, 0);
  const y2 = digits2(s, 2);
  const mo = digits2(s, 5);
  const d = digits2(s, 8);
  const h = digits2(s, 11);
  const mi = digits2(s, 14);
  const sec = digits2(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  const y = y1 * 100 + y2;
  if (y < 1971 || y > 2200 || d > daysInMonth(y, mo)) return undefined;
  let i = 19;
  let ms = 0;
  const dot = s.charCodeAt(i);
  if (dot === 46 || dot === 44) {
    // Milliseconds are the first three digits of the fraction, the rest dropped (not rounded).
    let k = 0;
    for (i++; i < n; i++, k++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (k < 3) ms = ms * 10 + c;
    }
    if (k < 1 || k > 9) return undefined;
    if (k === 1) ms *= 100;
    else if (k === 2) ms *= 10;
  }
  if (i === n) return wallClockToUtc({ year: y, month: mo, day: d, hour: h, minute: mi, second: sec, millisecond: ms }, timeZone);
  const utc = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) return i + 1 === n ? utc : undefined; // Z, z
  if (z !== 43 && z !== 45) return undefined;
  const oh = digits2(s, i + 1);
  const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
  const om = digits2(s, i + 3 + colon);
  if (oh < 0 || om < 0 || i + 5 + colon !== n) return undefined;
  const off = (oh * 60 + om) * 60_000;
  return z === 45 ? utc + off : utc - off;
}

/** The general parser behind {@link timestamp} (every accepted format; no fast path, no cache). */
export function parseTimestamp(v: unknown, timeZone: string): number {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new ValueProblem('invalid_value', 'invalid date');
    return v.getTime();
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new ValueProblem('invalid_value', `${v} is not a timestamp`);
    return v < 1e11 ? Math.round(v * 1000) : Math.round(v); // seconds vs milliseconds
  }
  const s = text(v);
  if (/^\d{9,13}$/.test(s)) return timestamp(Number(s), timeZone);
  let m = ISO_LIKE.exec(s);
  let parts: number[] | undefined;
  let zone: string | undefined;
  if (m) {
    parts = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
    parts.push(Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)));
    zone = m[8];
  } else if ((m = US_LIKE.exec(s))) {
    parts = [m[3], m[1], m[2], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0', '0'].map(Number);
  } else if ((m = EU_LIKE.exec(s))) {
    parts = [m[3], m[2], m[1], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0', '0'].map(Number);
  }
  if (!parts) throw new ValueProblem('invalid_value', `"${s.slice(0, 40)}" is not a recognised date/time`);
  const [y, mo, d, h, mi, sec, ms] = parts as [number, number, number, number, number, number, number];
  const check = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  if (mo < 1 || mo > 12 || d < 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59 || y < 1971 || y > 2200) {
    throw new ValueProblem('invalid_value', `"${s}" is not a valid date/time`);
  }
  if (zone) {
    const utc = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
    if (zone.toUpperCase() === 'Z') return utc;
    const zm = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
    const off = (Number(zm[2]) * 60 + Number(zm[3])) * 60_000 * (zm[1] === '-' ? -1 : 1);
    return utc - off;
  }
  return wallClockToUtc({ year: y, month: mo, day: d, hour: h, minute: mi, second: sec, millisecond: ms }, timeZone);
}

/** A calendar date `YYYY-MM-DD` (also accepts the timestamp formats; takes their date in `timeZone`). */
export function date(v: unknown, timeZone: string): string {
  const s = typeof v === 'string' ? v.trim() : '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    timestamp(s, 'UTC');
    return s;
  }
  return localDate(timestamp(v, timeZone), timeZone);
}

/** `YYYY-MM-DD` formatters per time zone (en-CA formats dates that way); building one costs ≈ 100× a format. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (`YYYY-MM-DD`) of an instant in `timeZone`. */
export function localDate(ms: number, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (dateFormats.size >= 1000) dateFormats.clear();
    dateFormats.set(timeZone, f);
  }
  return f.format(ms);
}

/** ClickHouse DateTime64(3) text for an epoch ms. */
export function chDateTime(ms: number): string {
  // A row usually formats the same instant more than once (created_at, updated_at): the last one is kept.
  if (ms === lastDateTime.ms) return lastDateTime.text;
  let text: string;
  if (Number.isInteger(ms) && ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR_MS) {
    text = civilDateTime(ms);
  } else {
    const iso = new Date(ms).toISOString();
    text = iso.length === 24 ? iso.slice(0, 10) + ' ' + iso.slice(11, 23) : iso.replace('T', ' ').replace('Z', '');
  }
  lastDateTime.ms = ms;
  lastDateTime.text = text;
  return text;
}
const lastDateTime = { ms: NaN, text: '' };

/** 10000-01-01T00:00:00Z: below it (and from 1970) `toISOString` has four year digits. */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;
/** '00'…'99' and '000'…'999': the fields of a date-time text without a string per field. */
const DIGITS2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const DIGITS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** `YYYY-MM-DD hh:mm:` of the last minute formatted (consecutive events share their minute). */
const lastMinute = { minute: NaN, text: '' };

/**
 * `YYYY-MM-DD hh:mm:ss.sss` of a whole epoch ms in [1970, 10000) without a Date object: the text of
 * `new Date(ms).toISOString()` with a space for the T and no Z (unit-tested against it). Days →
 * civil date after H. Hinnant's `civil_from_days` (proleptic Gregorian, as Date).
 */
export function civilDateTime(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  const rest = ms - minute * 60_000;
  const s = Math.floor(rest / 1000);
  const tail = DIGITS2[s]! + '.' + DIGITS3[rest - s * 1000]!;
  if (minute === lastMinute.minute) return lastMinute.text + tail;
  const days = Math.floor(minute / 1440);
  const inDay = minute - days * 1440;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(inDay / 60);
  lastMinute.minute = minute;
  lastMinute.text = `${y}-${DIGITS2[m]!}-${DIGITS2[d]!} ${DIGITS2[h]!}:${DIGITS2[inDay - h * 60]!}:`;
  return lastMinute.text + tail;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], aliases: Record<string, T> = {}): T {
  const s = text(v).toLowerCase().replace(/[\s-]+/g, '_');
  if ((allowed as readonly string[]).includes(s)) return s as T;
  if (aliases[s]) return aliases[s];
  throw new ValueProblem('invalid_enum', `"${text(v).slice(0, 40)}" is not one of ${allowed.join(', ')}`);
}

/** ISO 3166 alpha-2 country code, upper-cased; a few common aliases accepted. */
export function countryCode(v: unknown): string {
  const s = text(v).toUpperCase();
  const aliases: Record<string, string> = { UK: 'GB', EIRE: 'IE', USA: 'US', RSA: 'ZA' };
  if (aliases[s]) return aliases[s];
  if (/^[A-Z]{2}$/.test(s)) return s;
  throw new ValueProblem('invalid_value', `"${s.slice(0, 40)}" is not an ISO 3166 alpha-2 country code`);
}

export function currencyCode(v: unknown): string {
  const s = text(v).toUpperCase();
  if (/^[A-Z]{3}$/.test(s)) return s;
  throw new ValueProblem('invalid_value', `"${s.slice(0, 40)}" is not an ISO 4217 currency code`);
}
