import { z } from 'zod';
import type { Warehouse } from '../warehouse/client.js';
import { fillCalendar } from '../warehouse/calendar.js';

/** Fills dim_date (with each store country's holidays) for every year that has data, plus next year. */
export const CALENDAR_JOB = 'refresh-calendar';

export const calendarPayload = z.object({
  fromYear: z.number().int().min(1970).max(2200).optional(),
  toYear: z.number().int().min(1970).max(2200).optional(),
});
export type CalendarPayload = z.infer<typeof calendarPayload>;

/** Deterministic job id: one calendar refresh per day at most. */
export function calendarJobId(day = new Date().toISOString().slice(0, 10)): string {
  return `calendar__${day}`;
}

export async function runCalendarJob(wh: Warehouse, payload: CalendarPayload): Promise<{ countries: string[]; fromYear: number; toYear: number }> {
  const p = calendarPayload.parse(payload);
  const [span] = await wh.query<{ min_year: number; max_year: number }>(
    `SELECT toYear(min(created_at)) AS min_year, toYear(max(created_at)) AS max_year FROM fact_orders`,
  );
  const thisYear = new Date().getUTCFullYear();
  const hasData = span && Number(span.min_year) > 1970;
  const fromYear = p.fromYear ?? (hasData ? Number(span!.min_year) : thisYear);
  const toYear = p.toYear ?? Math.max(hasData ? Number(span!.max_year) + 1 : thisYear + 1, thisYear + 1);
  const stores = await wh.query<{ country: string }>(`SELECT DISTINCT country FROM dim_store FINAL WHERE country != ''`);
  const countries = stores.map((s) => s.country);
  for (const country of countries) await fillCalendar(wh, country, fromYear, toYear);
  return { countries, fromYear, toYear };
}
