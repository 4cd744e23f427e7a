/**
 * A small hand-made shop for the rollup and cohort tests, loaded through the real ingest pipeline,
 * and an independent JS model of docs/metrics.md over the same records (BigInt money, Sets for
 * distinct counts) to check the warehouse's numbers against.
 */
import type { Warehouse } from '../../src/warehouse/client.js';
import { runBatch, type BatchResult } from '../../src/ingest/pipeline.js';
import type { Entity } from '../../src/ingest/validate/entities.js';
import type { SourceRow } from '../../src/ingest/parsers/source-row.js';

export interface FxOrder {
  order_id: string;
  order_kind?: 'sale' | 'refund';
  customer_id: string;
  status: string;
  created_at: string; // ISO UTC
  channel: string;
  country: string;
  gross: string;
  discount?: string;
  shipping?: string;
  tax?: string;
  net: string;
  refunded?: string;
  shipped_at?: string;
  delivered_at?: string;
  returned_at?: string;
  updated_at?: string;
}
export interface FxItem {
  order_id: string;
  line_number: number;
  product_id: string;
  quantity: number;
  unit_price: string;
  discount?: string;
  line_amount: string;
}
export interface FxPayment {
  payment_id: string;
  order_id: string;
  method: string;
  amount: string;
  status: string;
  paid_at: string;
}
export interface FxProduct {
  product_id: string;
  sku: string;
  name: string;
  category: string;
}

let seq = 0;
async function* rowsOf(records: object[]): AsyncIterable<SourceRow> {
  let n = 0;
  for (const r of records) {
    const fields = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
    yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
  }
}

/** Loads records of one entity through runBatch (the real pipeline). */
export function load(wh: Warehouse, storeId: string, entity: Entity, records: object[], timezone: string): Promise<BatchResult> {
  return runBatch({
    wh, storeId, batchId: `fx${++seq}-${Date.now()}`, source: `${entity}.json`, entity, format: 'json', timezone, retentionDays: 30,
    rows: rowsOf(records), chunkSize: 4,
  });
}

// ---------------------------------------------------------------------------------------------
// Money as BigInt ten-thousandths

export const u = (s: string | undefined): bigint => {
  if (!s) return 0n;
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) throw new Error(`bad money ${s}`);
  const v = BigInt(m[2]!) * 10000n + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] ? -v : v;
};
export const s4 = (v: bigint): string => {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(4, '0')}`;
};
/** a * b / c rounded half away from zero (all in units). */
const mulDivRound = (a: bigint, b: bigint, c: bigint): bigint => {
  const n = a * b;
  const neg = (n < 0n) !== (c < 0n);
  const an = n < 0n ? -n : n;
  const ac = c < 0n ? -c : c;
  const q = (2n * an + ac) / (2n * ac);
  return neg ? -q : q;
};

// ---------------------------------------------------------------------------------------------
// The model

/** Store-local YYYY-MM-DD of an instant. */
export function localDate(iso: string, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}

export interface RefLine {
  order_id: string;
  customer_id: string;
  day: string;
  hourUtc: string;
  country: string;
  channel: string;
  payment_method: string;
  product_id: string;
  category: string;
  has_line: boolean;
  booked: boolean;
  cancelled: boolean;
  returned: boolean;
  isNew: boolean;
  quantity: number;
  gross: bigint;
  refund: bigint;
  disc: bigint;
  cancel: bigint;
  ret: bigint;
}

/** The final state of the shop (what the warehouse should hold after all batches). */
export interface Shop {
  tz: string;
  orders: FxOrder[];
  items: FxItem[];
  payments: FxPayment[];
  products: FxProduct[];
}

/** First purchase (local date of the first non-cancelled sale) per customer. */
export function firstPurchases(shop: Shop): Map<string, string> {
  const first = new Map<string, string>();
  for (const o of shop.orders) {
    if ((o.order_kind ?? 'sale') !== 'sale' || o.status === 'cancelled' || !o.customer_id) continue;
    const d = localDate(o.created_at, shop.tz);
    if (!first.has(o.customer_id) || d < first.get(o.customer_id)!) first.set(o.customer_id, d);
  }
  return first;
}

/** One reference line per order line (a line-less order: one), amounts allocated as documented. */
export function refLines(shop: Shop): RefLine[] {
  const first = firstPurchases(shop);
  const cat = new Map(shop.products.map((p) => [p.product_id, p.category]));
  const rank = (st: string) => (st === 'captured' || st === 'authorized' ? 2 : st === 'failed' ? 0 : 1);
  const out: RefLine[] = [];
  for (const o of shop.orders) {
    const sale = (o.order_kind ?? 'sale') === 'sale';
    const cancelled = o.status === 'cancelled';
    const booked = sale && !cancelled;
    const returned = booked && (o.status === 'returned' || o.status === 'refunded' || !!o.returned_at);
    const net = u(o.net);
    const X = {
      gross: booked ? net : 0n,
      refund: booked ? u(o.refunded) : !sale ? -net : 0n,
      disc: booked ? u(o.discount) : 0n,
      cancel: cancelled ? (net < 0n ? -net : net) : 0n,
      ret: returned ? u(o.refunded) : 0n,
    };
    const pays = shop.payments.filter((p) => p.order_id === o.order_id);
    pays.sort((a, b) => rank(b.status) - rank(a.status) || Number(u(b.amount) - u(a.amount)) || (a.payment_id < b.payment_id ? 1 : -1));
    const day = localDate(o.created_at, shop.tz);
    const hourUtc = new Date(Math.floor(Date.parse(o.created_at) / 3_600_000) * 3_600_000).toISOString().replace('.000Z', 'Z');
    const lines = shop.items.filter((i) => i.order_id === o.order_id).sort((a, b) => a.line_number - b.line_number);
    const base = {
      order_id: o.order_id, customer_id: o.customer_id, day, hourUtc, country: o.country, channel: o.channel,
      payment_method: pays[0]?.method ?? 'none', booked, cancelled, returned,
      isNew: booked && !!o.customer_id && first.get(o.customer_id) === day,
    };
    if (lines.length === 0) {
      out.push({ ...base, product_id: '', category: '', has_line: false, quantity: 0, ...X });
      continue;
    }
    // Cumulative rounding: line i gets round(X·C_i/W) − round(X·C_(i−1)/W).
    const W = lines.reduce((s, l) => s + u(l.line_amount), 0n);
    const weight = (l: FxItem) => (W === 0n ? 10000n : u(l.line_amount));
    const total = W === 0n ? BigInt(lines.length) * 10000n : W;
    const keys = ['gross', 'refund', 'disc', 'cancel', 'ret'] as const;
    let cum = 0n;
    lines.forEach((l) => {
      const lo = cum;
      cum += weight(l);
      const a = {} as Record<(typeof keys)[number], bigint>;
      for (const k of keys) a[k] = mulDivRound(X[k], cum, total) - mulDivRound(X[k], lo, total);
      out.push({
        ...base, product_id: l.product_id, category: cat.get(l.product_id) || 'uncategorized', has_line: true, quantity: l.quantity,
        gross: a.gross, refund: a.refund, disc: a.disc + (booked ? u(l.discount) : 0n), cancel: a.cancel, ret: a.ret,
      });
    });
  }
  return out;
}

export interface RefFilter {
  countries?: string[];
  categories?: string[];
  channels?: string[];
  productIds?: string[];
}

export function filterLines(lines: RefLine[], from: string, to: string, f: RefFilter = {}): RefLine[] {
  const ok = (list: string[] | undefined, v: string) => !list || list.length === 0 || list.includes(v);
  return lines.filter(
    (l) => l.day >= from && l.day <= to && ok(f.countries, l.country) && ok(f.channels, l.channel) && ok(f.categories, l.category) && ok(f.productIds, l.product_id),
  );
}

/** KPIs of a set of reference lines, as the API returns them. */
export function refKpis(lines: RefLine[]) {
  const sum = (k: 'gross' | 'refund' | 'disc' | 'cancel' | 'ret') => lines.reduce((s, l) => s + l[k], 0n);
  const distinct = (pred: (l: RefLine) => boolean, key: (l: RefLine) => string) => new Set(lines.filter(pred).map(key)).size;
  const gross = sum('gross');
  const refunds = sum('refund');
  const orders = distinct((l) => l.booked, (l) => l.order_id);
  const customers = distinct((l) => l.booked && !!l.customer_id, (l) => l.customer_id);
  const newCustomers = distinct((l) => l.isNew, (l) => l.customer_id);
  return {
    netRevenue: s4(gross - refunds),
    grossRevenue: s4(gross),
    refunds: s4(refunds),
    discounts: s4(sum('disc')),
    orders,
    customers,
    newCustomers,
    returningCustomers: customers - newCustomers,
    averageOrderValue: orders > 0 ? s4(mulDivRound(gross, 1n, BigInt(orders))) : null,
    units: lines.filter((l) => l.booked && l.has_line).reduce((s, l) => s + l.quantity, 0),
    items: lines.filter((l) => l.booked && l.has_line).length,
    returnRate: gross === 0n ? null : Number(refunds) / Number(gross),
    cancelledOrders: distinct((l) => l.cancelled, (l) => l.order_id),
    cancelledValue: s4(sum('cancel')),
    returnedOrders: distinct((l) => l.returned, (l) => l.order_id),
    returnedValue: s4(sum('ret')),
  };
}

/** Start of the calendar period of a local date. */
export function periodOf(day: string, g: 'DAY' | 'WEEK' | 'MONTH' | 'QUARTER' | 'YEAR'): string {
  const d = new Date(day + 'T00:00:00Z');
  if (g === 'DAY') return day;
  if (g === 'WEEK') return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
  if (g === 'MONTH') return day.slice(0, 8) + '01';
  if (g === 'QUARTER') return `${day.slice(0, 4)}-${String(Math.floor(d.getUTCMonth() / 3) * 3 + 1).padStart(2, '0')}-01`;
  return day.slice(0, 4) + '-01-01';
}

/** Groups reference lines by a key and computes the KPIs of each group (sorted by key). */
export function refGroups(lines: RefLine[], key: (l: RefLine) => string) {
  const groups = new Map<string, RefLine[]>();
  for (const l of lines) {
    const k = key(l);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(l);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, ls]) => ({ key: k, kpis: refKpis(ls) }));
}
