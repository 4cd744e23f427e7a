/**
 * Small helpers for the analytics tests' hand-built fixtures: a seeded PRNG, store-local dates
 * computed in JS (Intl, independent of the engine), exact money in ten-thousandths and fact rows
 * shaped like the silver tables.
 */
import { mulberry32 } from './random.js';

/** Deterministic PRNG (mulberry32) with integer and coin helpers. */
export function rng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** The calendar day (YYYY-MM-DD) of an instant in an IANA zone, computed by Intl. */
export function localDay(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whole days from day a to day b (YYYY-MM-DD). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** A ClickHouse DateTime64(3) literal (UTC). */
export function chTs(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Ten-thousandths (integer) → decimal string with 4 places. */
export function money(units: bigint | number): string {
  const v = BigInt(units);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  return `${neg ? '-' : ''}${abs / 10000n}.${(abs % 10000n).toString().padStart(4, '0')}`;
}

/** A decimal string → ten-thousandths (integer). */
export function units(decimal: string): bigint {
  const neg = decimal.startsWith('-');
  const [i, f = ''] = decimal.replace('-', '').split('.');
  const v = BigInt(i!) * 10000n + BigInt((f + '0000').slice(0, 4));
  return neg ? -v : v;
}

/** Normalises a decimal string for comparison (as ClickHouse prints it: no trailing zeros). */
export function sameMoney(a: string, b: string): boolean {
  return units(a) === units(b);
}

export interface OrderFact {
  order_id: string;
  customer_id: string;
  order_kind: 'sale' | 'refund';
  status: string;
  created_at: number;
  channel?: string;
  /** Ten-thousandths. */
  net: bigint;
  refunded?: bigint;
}

/** A fact_orders row (all money = net; gross = net for simplicity). */
export function orderRow(store: string, o: OrderFact, version = 1, isDeleted = 0): Record<string, unknown> {
  return {
    store_id: store,
    order_id: o.order_id,
    order_kind: o.order_kind,
    customer_id: o.customer_id,
    status: o.status,
    created_at: chTs(o.created_at),
    channel: o.channel ?? 'web',
    country: 'US',
    currency: 'USD',
    gross: money(o.net),
    net: money(o.net),
    refunded: money(o.refunded ?? 0n),
    updated_at: chTs(o.created_at),
    batch_id: 'fixture',
    version,
    is_deleted: isDeleted,
  };
}

/** Near-equality for ratios computed by the engine and by JS in floating point. */
export function close(a: number | null, b: number | null, eps = 1e-9): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= eps * Math.max(1, Math.abs(a), Math.abs(b));
}
