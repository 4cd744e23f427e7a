/**
 * The calendar dimension (dim_date), one row per country and day, with public holidays from the
 * maintained `date-holidays` library. Re-filling a range is safe: dim_date is a
 * ReplacingMergeTree(version) keyed by (country, date), so the newest fill wins.
 */
import Holidays from 'date-holidays';
import type { Warehouse } from './client.js';

const DAY = 86_400_000;

/** One dim_date row, as inserted. */
export interface CalendarRow {
  country: string;
  /** YYYY-MM-DD */
  date: string;
  year: number;
  quarter: number;
  month: number;
  iso_year: number;
  iso_week: number;
  /** ISO day of week: 1 = Monday … 7 = Sunday (as ClickHouse toDayOfWeek). */
  day_of_week: number;
  is_weekend: number;
  is_holiday: number;
  holiday_name: string;
  version: number;
}

/** ISO-8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(date: Date): { isoYear: number; isoWeek: number } {
  const ms = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const dow = ((new Date(ms).getUTCDay() + 6) % 7) + 1;
  const thursday = ms + (4 - dow) * DAY;
  const isoYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(isoYear, 0, 1)) / (7 * DAY));
  return { isoYear, isoWeek: week };
}

let supportedCountries: ReadonlySet<string> | undefined;

/** True when date-holidays has rules for the country (ISO 3166-1 alpha-2, any case). */
export function hasHolidayRules(country: string): boolean {
  supportedCountries ??= new Set(Object.keys(new Holidays().getCountries()));
  return supportedCountries.has(country.toUpperCase());
}

/**
 * Public holidays (type "public", the whole country, not regional ones) per date for the years:
 * date (YYYY-MM-DD) → names (English where the library has them). Empty for a country the library
 * does not know. Multi-day holidays mark every day they cover.
 */
export function publicHolidays(country: string, fromYear: number, toYear: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const code = country.toUpperCase();
  if (!hasHolidayRules(code)) return out;
  const hd = new Holidays(code, { types: ['public'] });
  for (let year = fromYear; year <= toYear; year++) {
    for (const h of hd.getHolidays(year, 'en')) {
      if (h.type !== 'public') continue;
      const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(h.date);
      if (!m) continue;
      const first = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      const span = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / DAY));
      for (let i = 0; i < span; i++) {
        const key = new Date(first + i * DAY).toISOString().slice(0, 10);
        const names = out.get(key) ?? [];
        if (!names.includes(h.name)) names.push(h.name);
        out.set(key, names);
      }
    }
  }
  return out;
}

/** The dim_date rows of a country for whole years `fromYear`..`toYear` (inclusive). */
export function calendarRows(country: string, fromYear: number, toYear: number, version = Date.now()): CalendarRow[] {
  const code = country.trim().toUpperCase();
  if (code === '') throw new RangeError('fillCalendar: country must not be empty');
  if (!Number.isInteger(fromYear) || !Number.isInteger(toYear) || fromYear < 1970 || toYear > 2299 || fromYear > toYear) {
    throw new RangeError(`fillCalendar: need whole years with 1970 <= fromYear <= toYear <= 2299, got ${fromYear}..${toYear}`);
  }
  const holidays = publicHolidays(code, fromYear, toYear);
  const rows: CalendarRow[] = [];
  const end = Date.UTC(toYear + 1, 0, 1);
  for (let ms = Date.UTC(fromYear, 0, 1); ms < end; ms += DAY) {
    const d = new Date(ms);
    const date = d.toISOString().slice(0, 10);
    const month = d.getUTCMonth() + 1;
    const dow = ((d.getUTCDay() + 6) % 7) + 1;
    const { isoYear, isoWeek: week } = isoWeek(d);
    const names = holidays.get(date);
    rows.push({
      country: code,
      date,
      year: d.getUTCFullYear(),
      quarter: Math.ceil(month / 3),
      month,
      iso_year: isoYear,
      iso_week: week,
      day_of_week: dow,
      is_weekend: dow >= 6 ? 1 : 0,
      is_holiday: names ? 1 : 0,
      holiday_name: names ? names.join(' / ') : '',
      version,
    });
  }
  return rows;
}

/**
 * Fills dim_date for a country over whole years, with the country's public holidays from
 * `date-holidays` (a country the library does not know gets is_holiday = 0 everywhere).
 * Returns the number of rows written.
 */
export async function fillCalendar(wh: Warehouse, country: string, fromYear: number, toYear: number): Promise<number> {
  const rows = calendarRows(country, fromYear, toYear);
  for (let i = 0; i < rows.length; i += 50_000) {
    await wh.insert('dim_date', rows.slice(i, i + 50_000) as unknown as Record<string, unknown>[]);
  }
  return rows.length;
}
