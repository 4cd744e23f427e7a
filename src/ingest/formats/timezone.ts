/**
 * Wall-clock time in an IANA time zone → UTC instant, with nothing but `Intl`.
 *
 * Source files of shops give local times without an offset ("12/1/2010 8:26"); the store's time
 * zone says what they mean. Most local times name exactly one instant, but around a daylight-saving
 * change some name none and some name two:
 *
 * - **Nonexistent** (the clocks jump forward, e.g. 01:30 on 27 March 2011 in Europe/London, where
 *   01:00 GMT is followed by 02:00 BST): with the default `compatible` disambiguation the time is
 *   read with the offset in force *before* the jump, i.e. it moves forward by the length of the gap
 *   (01:30 → 01:30Z = 02:30 BST). `earlier` reads it with the offset after the jump (00:30Z =
 *   00:30 GMT), `later` is the same as `compatible`, `reject` throws.
 * - **Ambiguous** (the clocks fall back, e.g. 01:30 on 30 October 2011 in Europe/London happens
 *   once in BST and once in GMT): `compatible` and `earlier` take the first occurrence, the one
 *   with the offset in force before the change (01:30 BST = 00:30Z); `later` takes the second
 *   (01:30 GMT = 01:30Z); `reject` throws.
 *
 * These are the rules of ECMAScript Temporal's `disambiguation` option (and of RFC 5545 for
 * `compatible`), so the result agrees with `Temporal.ZonedDateTime.from(..., { disambiguation })`.
 * Offsets are resolved to the second (historical local mean time offsets have seconds).
 */

const DAY = 86_400_000;

/** A local calendar date and time of day (month 1–12, day 1–31, hour 0–23). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
  millisecond?: number;
}

export type Disambiguation = 'compatible' | 'earlier' | 'later' | 'reject';

export class TimeZoneError extends RangeError {
  override name = 'TimeZoneError';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new TimeZoneError(`not an IANA time zone: ${JSON.stringify(timeZone)} (e.g. UTC, Europe/London)`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is a time zone `Intl` knows (IANA name such as `Europe/London`, or `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Throws a `TimeZoneError` unless `timeZone` is valid; returns it. */
export function assertTimeZone(timeZone: string): string {
  if (typeof timeZone !== 'string' || timeZone === '') throw new TimeZoneError('time zone must be a non-empty string');
  formatter(timeZone);
  return timeZone;
}

/** Date.UTC without its 0–99 → 1900–1999 year quirk. */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

/**
 * The zone's offset from UTC at an instant, in milliseconds (local = UTC + offset): Europe/London
 * gives 0 in winter and 3,600,000 in summer.
 */
export function utcOffsetMs(epochMs: number, timeZone: string): number {
  const whole = Math.floor(epochMs / 1000) * 1000;
  const parts = formatter(timeZone).formatToParts(new Date(whole));
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value === 'BC' || p.value === 'B';
        break;
    }
  }
  if (bc) year = 1 - year;
  return utcMs(year, month, day, hour, minute, second, 0) - whole;
}

/** True when the fields form a real calendar date and time of day. */
export function isValidWallClock(w: WallClock): boolean {
  const { year, month, day, hour, minute } = w;
  const second = w.second ?? 0;
  const ms = w.millisecond ?? 0;
  if (![year, month, day, hour, minute, second, ms].every(Number.isInteger)) return false;
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0 || ms > 999) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

/**
 * Every instant (epoch ms, ascending) at which the zone's clocks show `wall`: one normally, none in
 * a spring-forward gap, two in a fall-back overlap.
 */
export function wallClockInstants(wall: WallClock, timeZone: string): number[] {
  if (!isValidWallClock(wall)) throw new TimeZoneError(`not a valid date and time: ${JSON.stringify(wall)}`);
  const local = utcMs(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second ?? 0, wall.millisecond ?? 0);
  const offsets = new Set([utcOffsetMs(local - DAY, timeZone), utcOffsetMs(local, timeZone), utcOffsetMs(local + DAY, timeZone)]);
  const found: number[] = [];
  for (const o of offsets) {
    const instant = local - o;
    if (instant + utcOffsetMs(instant, timeZone) === local && !found.includes(instant)) found.push(instant);
  }
  return found.sort((a, b) => a - b);
}

/**
 * Per zone and local day: the zone's offset when it is the same from the day before to the day
 * after (checked at four instants a day apart), NaN when a change happens near that day.
 */
const steadyDays = new Map<string, number>();
const STEADY_DAYS_LIMIT = 50_000;

function steadyOffset(localMs: number, timeZone: string): number {
  const day = Math.floor(localMs / DAY) * DAY;
  const key = `${timeZone}\u0000${day}`;
  let o = steadyDays.get(key);
  if (o === undefined) {
    const a = utcOffsetMs(day - DAY, timeZone);
    o =
      a === utcOffsetMs(day, timeZone) && a === utcOffsetMs(day + DAY, timeZone) && a === utcOffsetMs(day + 2 * DAY, timeZone)
        ? a
        : Number.NaN;
    if (steadyDays.size >= STEADY_DAYS_LIMIT) steadyDays.clear();
    steadyDays.set(key, o);
  }
  return o;
}

/**
 * The UTC instant (epoch ms) of a wall-clock time in `timeZone`. Nonexistent and ambiguous local
 * times resolve as described at the top of this file (default `compatible`). Throws
 * `TimeZoneError` for an unknown zone, an invalid date, or `reject` on a nonexistent/ambiguous time.
 *
 * Fast path: on a local day whose offset is the same from the day before to the day after (all but
 * the few days around a change) the instant is local time − offset without further look-ups. This
 * assumes a zone never changes its offset and back again within a day, as the ±1 day search below
 * does.
 */
export function wallClockToUtc(wall: WallClock, timeZone: string, disambiguation: Disambiguation = 'compatible'): number {
  if (!isValidWallClock(wall)) throw new TimeZoneError(`not a valid date and time: ${JSON.stringify(wall)}`);
  const local = utcMs(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second ?? 0, wall.millisecond ?? 0);
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return local;
  const steady = steadyOffset(local, timeZone);
  if (!Number.isNaN(steady)) return local - steady;
  const found = wallClockInstants(wall, timeZone);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    if (disambiguation === 'reject') throw new TimeZoneError(`ambiguous local time in ${timeZone}: ${describe(wall)}`);
    return disambiguation === 'later' ? found[found.length - 1]! : found[0]!;
  }
  // A gap: the clocks jumped over this time.
  if (disambiguation === 'reject') throw new TimeZoneError(`nonexistent local time in ${timeZone}: ${describe(wall)}`);
  const before = utcOffsetMs(local - DAY, timeZone);
  const after = utcOffsetMs(local + DAY, timeZone);
  // compatible/later: read with the offset before the jump (moves the time forward by the gap);
  // earlier: read with the offset after it (moves it back).
  return disambiguation === 'earlier' ? local - after : local - before;
}

function describe(w: WallClock): string {
  const p = (n: number, l = 2) => String(n).padStart(l, '0');
  return `${p(w.year, 4)}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}:${p(w.second ?? 0)}`;
}
