/**
 * A deterministic shop for the anomaly tests: daily orders per country with weekly seasonality
 * and Poisson noise, 1–2 items per order over three categories, 5 % returns, and web sessions
 * (one purchase session per order plus browsing sessions), with anomalies injected at known
 * store-local days. Dates are store-local in Asia/Kolkata (UTC+05:30, no DST), so orders after
 * 18:30 UTC belong to the next local day.
 */
import { mulberry32 as rng } from './random.js';

export const FIXTURE_TZ = 'Asia/Kolkata';
const TZ_OFFSET_MS = 5.5 * 3600_000;
export const FIXTURE_START = '2024-01-01'; // a Monday
export const FIXTURE_DAYS = 126;
const WEEKLY = [1.0, 0.95, 0.95, 1.0, 1.1, 1.35, 1.25]; // Mon..Sun
export const COUNTRY_LAMBDA: Record<string, number> = { DE: 70, FR: 40, LU: 2 };
export const PRODUCTS = [
  { product_id: 'P1', category: 'toys', price: 1999 },
  { product_id: 'P2', category: 'toys', price: 3450 },
  { product_id: 'P3', category: 'books', price: 1250 },
  { product_id: 'P4', category: 'books', price: 2899 },
  { product_id: 'P5', category: 'garden', price: 4500 },
  { product_id: 'P6', category: 'garden', price: 5999 },
];

export type InjectionKind = 'volume' | 'value' | 'returns' | 'traffic';
export interface Injection {
  day: number;
  kind: InjectionKind;
  factor: number;
  /** Country the injection applies to; all countries when omitted. */
  country?: string;
}

/** The injections of the anomalous shop (day = index from FIXTURE_START). */
export const INJECTIONS: Injection[] = [
  { day: 63, kind: 'volume', factor: 2.2 },
  { day: 77, kind: 'volume', factor: 0.15 },
  { day: 91, kind: 'value', factor: 2.5 },
  { day: 98, kind: 'returns', factor: 0.45 },
  { day: 105, kind: 'traffic', factor: 4 },
  { day: 112, kind: 'volume', factor: 3, country: 'FR' },
];

export interface FixtureItem { line_number: number; product_id: string; category: string; quantity: number; unit_cents: number; amount_cents: number }
export interface FixtureOrder {
  order_id: string;
  country: string;
  utcMs: number;
  localDay: string;
  status: 'paid' | 'returned' | 'cancelled';
  gross_cents: number;
  refunded_cents: number;
  items: FixtureItem[];
}
export interface FixtureSession { session_id: string; utcMs: number; localDay: string; purchase: boolean }
export interface Fixture { orders: FixtureOrder[]; sessions: FixtureSession[] }

export function poisson(r: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
}

export function dayOf(index: number): string {
  return new Date(Date.parse(FIXTURE_START + 'T00:00:00Z') + index * 86_400_000).toISOString().slice(0, 10);
}
export function localDayOf(utcMs: number): string {
  return new Date(utcMs + TZ_OFFSET_MS).toISOString().slice(0, 10);
}
const cents = (c: number) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;
export { cents as formatCents };

/** Generates the shop; `inject` false gives the clean twin (same seed, no injections). */
export function generateFixture(opts: { seed: number; inject: boolean; prefix: string }): Fixture {
  const r = rng(opts.seed);
  const orders: FixtureOrder[] = [];
  const sessions: FixtureSession[] = [];
  let seq = 0;
  let sseq = 0;
  for (let d = 0; d < FIXTURE_DAYS; d++) {
    const localMidnightUtc = Date.parse(dayOf(d) + 'T00:00:00Z') - TZ_OFFSET_MS;
    const inj = opts.inject ? INJECTIONS.filter((i) => i.day === d) : [];
    const weekday = WEEKLY[d % 7]!;
    let dayOrders = 0;
    for (const [country, lambda] of Object.entries(COUNTRY_LAMBDA)) {
      const applies = (kind: InjectionKind) => inj.find((i) => i.kind === kind && (!i.country || i.country === country));
      const volume = applies('volume')?.factor ?? 1;
      const value = applies('value')?.factor ?? 1;
      const returnShare = applies('returns')?.factor ?? 0.05;
      const n = poisson(r, lambda * weekday * volume);
      for (let k = 0; k < n; k++) {
        const utcMs = localMidnightUtc + Math.floor(r() * 86_400_000);
        const lines = r() < 0.6 ? 1 : 2;
        const items: FixtureItem[] = [];
        for (let l = 1; l <= lines; l++) {
          const p = PRODUCTS[Math.floor(r() * PRODUCTS.length)]!;
          const quantity = r() < 0.8 ? 1 : 2;
          const unit = Math.round(p.price * value);
          items.push({ line_number: l, product_id: p.product_id, category: p.category, quantity, unit_cents: unit, amount_cents: unit * quantity });
        }
        const gross = items.reduce((s, i) => s + i.amount_cents, 0);
        const returned = r() < returnShare;
        orders.push({
          order_id: `${opts.prefix}-${++seq}`,
          country,
          utcMs,
          localDay: localDayOf(utcMs),
          status: returned ? 'returned' : 'paid',
          gross_cents: gross,
          refunded_cents: returned ? gross : 0,
          items,
        });
        dayOrders++;
        sessions.push({ session_id: `${opts.prefix}-s${++sseq}`, utcMs: Math.max(localMidnightUtc, utcMs - 60_000), localDay: localDayOf(Math.max(localMidnightUtc, utcMs - 60_000)), purchase: true });
      }
    }
    const traffic = inj.find((i) => i.kind === 'traffic')?.factor ?? 1;
    const browse = poisson(r, 2 * dayOrders * traffic + 1);
    for (let b = 0; b < browse; b++) {
      const utcMs = localMidnightUtc + Math.floor(r() * 86_400_000);
      sessions.push({ session_id: `${opts.prefix}-s${++sseq}`, utcMs, localDay: localDayOf(utcMs), purchase: false });
    }
  }
  return { orders, sessions };
}

const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Warehouse rows (fact_orders, fact_order_items, fact_events) of a fixture. */
export function fixtureRows(storeId: string, f: Fixture) {
  const orders = f.orders.map((o) => ({
    store_id: storeId, order_id: o.order_id, order_kind: 'sale', customer_id: '', status: o.status,
    created_at: chTime(o.utcMs), channel: 'web', country: o.country, currency: 'EUR',
    gross: cents(o.gross_cents), discount: '0', shipping: '0', tax: '0', net: cents(o.gross_cents), refunded: cents(o.refunded_cents),
    updated_at: chTime(o.utcMs), batch_id: 'fixture', version: 1, is_deleted: 0,
  }));
  const items = f.orders.flatMap((o) =>
    o.items.map((i) => ({
      store_id: storeId, order_id: o.order_id, line_number: i.line_number, product_id: i.product_id, created_at: chTime(o.utcMs),
      quantity: i.quantity, unit_price: cents(i.unit_cents), discount: '0', line_amount: cents(i.amount_cents),
      updated_at: chTime(o.utcMs), batch_id: 'fixture', version: 1, is_deleted: 0,
    })),
  );
  const events = f.sessions.flatMap((s) => {
    const ev = (type: string, ms: number, n: number) => ({
      store_id: storeId, event_id: `${s.session_id}-${n}`, event_time: chTime(ms), session_id: s.session_id, event_type: type,
      channel: 'web', received_at: chTime(ms), batch_id: 'fixture', version: 1,
    });
    return s.purchase ? [ev('page_view', s.utcMs, 1), ev('purchase', s.utcMs + 30_000, 2)] : [ev('page_view', s.utcMs, 1)];
  });
  const products = PRODUCTS.map((p) => ({
    store_id: storeId, product_id: p.product_id, sku: p.product_id, name: p.product_id, category: p.category, list_price: cents(p.price),
    updated_at: '2024-01-01 00:00:00', version: 1,
  }));
  return { orders, items, events, products };
}
