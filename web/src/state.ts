/**
 * What every page shares: the API key (kept in localStorage), and the location — page, date range
 * and store live in the URL (`/retention?from=2026-01-01&to=2026-03-31&store=demo`), so a view can
 * be bookmarked and the back button works.
 */
import { useEffect, useState } from 'preact/hooks';
import { setApiKey } from './api/client';

const KEY_STORAGE = 'ecomm-analytics.apiKey';

export interface DateRange {
  from: string;
  to: string;
}

export interface Location {
  path: string;
  range: DateRange;
  /** '' = let the server choose (the key's only store). */
  store: string;
}

/** `YYYY-MM-DD` of a Date, read in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Adds days to a `YYYY-MM-DD` day. */
export function addDays(day: string, n: number): string {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

/** Days in an inclusive range. */
export function rangeDays(r: DateRange): number {
  return Math.round((Date.parse(r.to + 'T00:00:00Z') - Date.parse(r.from + 'T00:00:00Z')) / 86_400_000) + 1;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The default view: the last 90 days up to today. */
export function defaultRange(today = isoDay(new Date())): DateRange {
  return { from: addDays(today, -89), to: today };
}

function readLocation(): Location {
  const url = new URL(window.location.href);
  const from = url.searchParams.get('from') ?? '';
  const to = url.searchParams.get('to') ?? '';
  const range = DAY_RE.test(from) && DAY_RE.test(to) && from <= to ? { from, to } : defaultRange();
  return { path: url.pathname || '/', range, store: url.searchParams.get('store') ?? '' };
}

function writeUrl(l: Location): string {
  const p = new URLSearchParams();
  p.set('from', l.range.from);
  p.set('to', l.range.to);
  if (l.store) p.set('store', l.store);
  return `${l.path}?${p.toString()}`;
}

let location = readLocation();
const locationListeners = new Set<() => void>();
window.addEventListener('popstate', () => {
  location = readLocation();
  locationListeners.forEach((l) => l());
});

/** Moves to another page and/or range/store; pushes a history entry. */
export function navigate(change: Partial<Location>): void {
  location = { ...location, ...change };
  const next = writeUrl(location);
  if (next !== window.location.pathname + window.location.search) window.history.pushState(null, '', next);
  if (change.path !== undefined) window.scrollTo(0, 0);
  locationListeners.forEach((l) => l());
}

/** Href for a page, keeping the current range and store. */
export function hrefFor(path: string): string {
  return writeUrl({ ...location, path });
}

/** The current location; re-renders the component when it changes. */
export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    locationListeners.add(l);
    return () => void locationListeners.delete(l);
  }, []);
  return location;
}

let apiKey = window.localStorage.getItem(KEY_STORAGE) ?? '';
setApiKey(apiKey);
const keyListeners = new Set<() => void>();

/** Saves the key in this browser (localStorage) and uses it for every later request. */
export function saveApiKey(key: string): void {
  apiKey = key.trim();
  if (apiKey) window.localStorage.setItem(KEY_STORAGE, apiKey);
  else window.localStorage.removeItem(KEY_STORAGE);
  setApiKey(apiKey);
  keyListeners.forEach((l) => l());
}

/** The saved key ('' before the first visit's prompt); re-renders on change. */
export function useApiKey(): string {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    keyListeners.add(l);
    return () => void keyListeners.delete(l);
  }, []);
  return apiKey;
}
