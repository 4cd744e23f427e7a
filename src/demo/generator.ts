/**
 * Demo data generator: a deterministic (seeded) online shop with a bit more than a year of
 * customers, products, orders, order items, payments, inventory snapshots and user-activity events,
 * shaped like a shop's exports.
 *
 * Realism built in: weekly and yearly seasonality (Black Friday, Cyber Monday, pre-Christmas,
 * January and summer sales), a growth trend, an outage day and newsletter spikes, seasonal category
 * mix, repeat and guest customers, customers moving country or changing segment (SCD type 2
 * history), returns (full and partial refunds), cancellations, unpaid bank transfers, failed card
 * attempts, split gift-card payments, installments, stock-outs and a browsing funnel with drop-off.
 * A small configurable share of deliberately broken rows is produced separately (`dirty`) for the
 * exported files only.
 *
 * Money is integer cents throughout and rendered as 2-decimal strings. Everything is in the
 * store currency (EUR): the warehouse has no exchange-rate table, so the demo sells in one currency.
 */
import { Rng, WeightedTable } from './random.js';

// ---------------------------------------------------------------------------------------------
// Public types

/** The entities the generator produces, in file/load order. */
export const DEMO_ENTITIES = ['customers', 'products', 'orders', 'order_items', 'payments', 'inventory', 'events'] as const;
export type DemoEntity = (typeof DEMO_ENTITIES)[number];

export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'returned', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const CHANNELS = ['web', 'mobile', 'marketplace'] as const;
export type Channel = (typeof CHANNELS)[number];
export const PAYMENT_METHODS = ['card', 'paypal', 'bank_transfer', 'gift_card', 'cod'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
/** captured: money received; pending: awaited (bank transfer, cash on delivery); failed: declined attempt;
 * voided: cancelled before capture; refunded: money sent back (a separate row, positive amount). */
export const PAYMENT_STATUSES = ['captured', 'pending', 'failed', 'voided', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const EVENT_TYPES = ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const SEGMENTS = ['standard', 'vip', 'business'] as const;
export type Segment = (typeof SEGMENTS)[number];
export const WAREHOUSES = ['WH-BER', 'WH-RTM'] as const;
export type WarehouseId = (typeof WAREHOUSES)[number];

/** The store the demo data belongs to. */
export interface DemoStoreInfo {
  store_id: string;
  name: string;
  timezone: string;
  country: string;
  currency: string;
}

/** One version of a customer (type-2 history: a later record with a newer updated_at supersedes it). */
export interface DemoCustomer {
  customer_id: string;
  name: string;
  email: string;
  country: string;
  region: string;
  city: string;
  segment: Segment;
  created_at: string;
  /** When this version became effective. */
  updated_at: string;
}

export interface DemoProduct {
  product_id: string;
  sku: string;
  name: string;
  category: string;
  brand: string;
  list_price: string;
  cost: string;
  created_at: string;
  updated_at: string;
}

/**
 * One order, as of the export time (`DemoShop.asOf`). Amounts are 2-decimal strings in `currency`:
 *
 *   line_amount = quantity × unit_price − line discount        (per item)
 *   gross       = Σ line_amount                                 (after line discounts)
 *   discount    = order-level discount (coupon), 0 ≤ discount ≤ gross
 *   shipping    = shipping fee charged
 *   tax         = VAT on (gross − discount + shipping), rounded half-up to the cent
 *   net         = gross − discount + shipping + tax             (what the customer pays)
 *   refunded    = money returned so far (0 ≤ refunded ≤ net)
 */
export interface DemoOrder {
  order_id: string;
  order_kind: 'sale';
  /** '' for a guest order. */
  customer_id: string;
  status: OrderStatus;
  created_at: string;
  shipped_at: string | null;
  delivered_at: string | null;
  returned_at: string | null;
  channel: Channel;
  country: string;
  currency: string;
  gross: string;
  discount: string;
  shipping: string;
  tax: string;
  net: string;
  refunded: string;
  updated_at: string;
}

export interface DemoOrderItem {
  order_id: string;
  /** 1-based. */
  line_number: number;
  product_id: string;
  sku: string;
  /** The order's created_at. */
  created_at: string;
  quantity: number;
  unit_price: string;
  discount: string;
  line_amount: string;
}

export interface DemoPayment {
  payment_id: string;
  order_id: string;
  method: PaymentMethod;
  amount: string;
  currency: string;
  status: PaymentStatus;
  installments: number;
  /** When the money moved (capture, refund, decline, void); for pending: when it was initiated. */
  paid_at: string;
  updated_at: string;
}

export interface DemoInventorySnapshot {
  /** YYYY-MM-DD; stock at the end of that day. */
  snapshot_date: string;
  product_id: string;
  sku: string;
  warehouse_id: WarehouseId;
  on_hand: number;
  reserved: number;
  unit_cost: string;
}

export interface DemoEvent {
  event_id: string;
  event_time: string;
  session_id: string;
  /** '' when not logged in. */
  customer_id: string;
  anonymous_id: string;
  event_type: EventType;
  /** '' when the event is not about a product. */
  product_id: string;
  channel: Channel;
  properties: Record<string, string | number>;
}

/** A value in an exported row. */
export type ExportValue = string | number | null | Readonly<Record<string, string | number>>;
/** A row as written to a file: column name → value. */
export type ExportRow = Record<string, ExportValue>;

/** Why a dirty row must be rejected by the ingestion pipeline. */
export type DirtyReason = 'negative_amount' | 'missing_required' | 'invalid_date' | 'unknown_value' | 'invalid_number';

/** A deliberately broken row, present in the exported files only. */
export interface DirtyRow {
  entity: DemoEntity;
  row: ExportRow;
  reason: DirtyReason;
  /** The broken column. */
  field: string;
  /** 0-based index among the data rows of the entity's file (header excluded). */
  position: number;
}

/** Everything the generator produces. The entity arrays hold clean records only. */
export interface DemoShop {
  seed: number;
  store: DemoStoreInfo;
  /** First day covered (YYYY-MM-DD). */
  start: string;
  /** Day after the last day covered (YYYY-MM-DD, exclusive). */
  end: string;
  /** Export time: statuses, refunds and payments are as of this instant (= `end` at 00:00 UTC). */
  asOf: string;
  days: number;
  scale: number;
  customers: DemoCustomer[];
  products: DemoProduct[];
  orders: DemoOrder[];
  order_items: DemoOrderItem[];
  payments: DemoPayment[];
  inventory: DemoInventorySnapshot[];
  events: DemoEvent[];
  /** Broken rows for the exported files (never in the arrays above), ordered by entity, then position. */
  dirty: DirtyRow[];
}

/** Options of {@link generateDemoShop}. */
export interface GenerateDemoOptions {
  /** Any integer; the same seed (and options) always gives the same shop. */
  seed: number;
  /** @default 'demo' */
  storeId?: string;
  /** First day (YYYY-MM-DD or an ISO timestamp, truncated to the UTC day). Default: `days` before 2026-11-01. */
  start?: string;
  /** Days covered. @default 400 */
  days?: number;
  /** Volume multiplier: 1 ≈ 30k orders / 74k order lines / 140k events over the default 400 days. @default 1 */
  scale?: number;
  /** Share of dirty rows added per exported file. @default 0.005 */
  dirtyRate?: number;
}

/** Kinds of exported columns; writers format values by kind. */
export type ColumnKind = 'string' | 'int' | 'money' | 'datetime' | 'date' | 'json';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  /** A row without a value here is invalid. */
  required: boolean;
  nullable?: boolean;
}

const col = (name: string, kind: ColumnKind, required = true, nullable = false): ColumnSpec => ({ name, kind, required, nullable });

/** The columns of each exported file, in order. Record fields have the same names. */
export const DEMO_COLUMNS: Readonly<Record<DemoEntity, readonly ColumnSpec[]>> = {
  customers: [
    col('customer_id', 'string'),
    col('name', 'string', false),
    col('email', 'string', false),
    col('country', 'string', false),
    col('region', 'string', false),
    col('city', 'string', false),
    col('segment', 'string', false),
    col('created_at', 'datetime'),
    col('updated_at', 'datetime'),
  ],
  products: [
    col('product_id', 'string'),
    col('sku', 'string'),
    col('name', 'string', false),
    col('category', 'string', false),
    col('brand', 'string', false),
    col('list_price', 'money'),
    col('cost', 'money'),
    col('created_at', 'datetime'),
    col('updated_at', 'datetime'),
  ],
  orders: [
    col('order_id', 'string'),
    col('order_kind', 'string'),
    col('customer_id', 'string', false),
    col('status', 'string'),
    col('created_at', 'datetime'),
    col('shipped_at', 'datetime', false, true),
    col('delivered_at', 'datetime', false, true),
    col('returned_at', 'datetime', false, true),
    col('channel', 'string', false),
    col('country', 'string', false),
    col('currency', 'string'),
    col('gross', 'money'),
    col('discount', 'money'),
    col('shipping', 'money'),
    col('tax', 'money'),
    col('net', 'money'),
    col('refunded', 'money'),
    col('updated_at', 'datetime'),
  ],
  order_items: [
    col('order_id', 'string'),
    col('line_number', 'int'),
    col('product_id', 'string'),
    col('sku', 'string', false),
    col('created_at', 'datetime'),
    col('quantity', 'int'),
    col('unit_price', 'money'),
    col('discount', 'money'),
    col('line_amount', 'money'),
  ],
  payments: [
    col('payment_id', 'string'),
    col('order_id', 'string'),
    col('method', 'string'),
    col('amount', 'money'),
    col('currency', 'string'),
    col('status', 'string'),
    col('installments', 'int'),
    col('paid_at', 'datetime'),
    col('updated_at', 'datetime'),
  ],
  inventory: [
    col('snapshot_date', 'date'),
    col('product_id', 'string'),
    col('sku', 'string', false),
    col('warehouse_id', 'string'),
    col('on_hand', 'int'),
    col('reserved', 'int'),
    col('unit_cost', 'money'),
  ],
  events: [
    col('event_id', 'string'),
    col('event_time', 'datetime'),
    col('session_id', 'string', false),
    col('customer_id', 'string', false),
    col('anonymous_id', 'string', false),
    col('event_type', 'string'),
    col('product_id', 'string', false),
    col('channel', 'string', false),
    col('properties', 'json', false),
  ],
};

/** Record type of each entity. */
export interface DemoRecordMap {
  customers: DemoCustomer;
  products: DemoProduct;
  orders: DemoOrder;
  order_items: DemoOrderItem;
  payments: DemoPayment;
  inventory: DemoInventorySnapshot;
  events: DemoEvent;
}

// ---------------------------------------------------------------------------------------------
// Defaults and small helpers

/** Default end of the generated period (exclusive): fixed, so the output never depends on today. */
export const DEFAULT_DEMO_END = '2026-11-01';
export const DEFAULT_DEMO_DAYS = 400;
export const DEFAULT_DIRTY_RATE = 0.005;
export const DEMO_CURRENCY = 'EUR';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Orders per day before seasonality at scale 1. */
const BASE_ORDERS_PER_DAY = 68;

/** Cents → "12.34" (also negative). */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`not an integer number of cents: ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** "12.34" → 1234. Throws on anything that is not a plain decimal with at most 2 decimals. */
export function parseCents(s: string): number {
  const m = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) throw new RangeError(`not a money amount: ${JSON.stringify(s)}`);
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

/** Rounds a ratio of integers half-up (away from zero for positives): round(a × b / c). */
function mulDivRound(a: number, b: number, c: number): number {
  return Math.floor((a * b * 2 + c) / (2 * c));
}

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoDayCache = -1;
let isoDayPrefix = '';
/** Same as `new Date(ms).toISOString()`, faster for the generator's hundreds of thousands of timestamps. */
function iso(ms: number): string {
  const day = Math.floor(ms / DAY);
  if (day !== isoDayCache) {
    isoDayCache = day;
    isoDayPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY;
  const h = Math.floor(rest / HOUR);
  rest -= h * HOUR;
  const m = Math.floor(rest / MINUTE);
  rest -= m * MINUTE;
  const s = Math.floor(rest / 1000);
  return `${isoDayPrefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[rest - s * 1000]}Z`;
}
const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function parseDay(s: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || isoDate(ms) !== `${m[1]}-${m[2]}-${m[3]}`) {
    throw new RangeError(`${what} must be a date like 2025-01-31, got ${JSON.stringify(s)}`);
  }
  return ms;
}

function lastSundayUtc(year: number, month0: number): number {
  const last = new Date(Date.UTC(year, month0 + 1, 0));
  return Date.UTC(year, month0, last.getUTCDate() - last.getUTCDay());
}

/** UTC offset of Europe/Berlin (CET/CEST, EU rules) at an instant. */
function berlinOffsetMs(ms: number): number {
  const y = new Date(ms).getUTCFullYear();
  const from = lastSundayUtc(y, 2) + HOUR;
  const to = lastSundayUtc(y, 9) + HOUR;
  return ms >= from && ms < to ? 2 * HOUR : HOUR;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

// ---------------------------------------------------------------------------------------------
// Reference data

interface CountryInfo {
  code: string;
  weight: number;
  /** VAT in basis points (0 for exports outside the EU). */
  vatBp: number;
  shippingFee: number;
  freeShippingFrom: number;
  warehouse: WarehouseId;
  domestic: boolean;
  cod: boolean;
  regions: readonly (readonly [string, readonly string[]])[];
}

const COUNTRIES: readonly CountryInfo[] = [
  { code: 'DE', weight: 46, vatBp: 1900, shippingFee: 495, freeShippingFrom: 4900, warehouse: 'WH-BER', domestic: true, cod: true,
    regions: [['Berlin', ['Berlin']], ['Bayern', ['München', 'Nürnberg', 'Augsburg']], ['Hamburg', ['Hamburg']], ['Nordrhein-Westfalen', ['Köln', 'Düsseldorf', 'Dortmund']], ['Hessen', ['Frankfurt am Main', 'Wiesbaden']], ['Baden-Württemberg', ['Stuttgart', 'Karlsruhe', 'Freiburg']]] },
  { code: 'AT', weight: 10, vatBp: 2000, shippingFee: 695, freeShippingFrom: 6900, warehouse: 'WH-BER', domestic: false, cod: true,
    regions: [['Wien', ['Wien']], ['Tirol', ['Innsbruck']], ['Steiermark', ['Graz']], ['Salzburg', ['Salzburg']]] },
  { code: 'CH', weight: 6, vatBp: 0, shippingFee: 1495, freeShippingFrom: 15000, warehouse: 'WH-BER', domestic: false, cod: true,
    regions: [['Zürich', ['Zürich', 'Winterthur']], ['Bern', ['Bern']], ['Genève', ['Genève']], ['Basel-Stadt', ['Basel']]] },
  { code: 'FR', weight: 8, vatBp: 2000, shippingFee: 995, freeShippingFrom: 7900, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['Île-de-France', ['Paris', 'Versailles']], ['Auvergne-Rhône-Alpes', ['Lyon', 'Grenoble']], ["Provence-Alpes-Côte d'Azur", ['Marseille', 'Nice']]] },
  { code: 'NL', weight: 8, vatBp: 2100, shippingFee: 995, freeShippingFrom: 7900, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['Noord-Holland', ['Amsterdam', 'Haarlem']], ['Zuid-Holland', ['Rotterdam', 'Den Haag']], ['Utrecht', ['Utrecht']]] },
  { code: 'BE', weight: 3, vatBp: 2100, shippingFee: 995, freeShippingFrom: 7900, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['Brussels', ['Brussels']], ['Flanders', ['Antwerp', 'Ghent']]] },
  { code: 'IT', weight: 4, vatBp: 2200, shippingFee: 1195, freeShippingFrom: 9900, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['Lombardia', ['Milano', 'Bergamo']], ['Lazio', ['Roma']]] },
  { code: 'ES', weight: 3, vatBp: 2100, shippingFee: 1195, freeShippingFrom: 9900, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['Madrid', ['Madrid']], ['Cataluña', ['Barcelona', 'Girona']]] },
  { code: 'GB', weight: 6, vatBp: 0, shippingFee: 1495, freeShippingFrom: 15000, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['England', ['London', 'Manchester', 'Bristol']], ['Scotland', ['Edinburgh', 'Glasgow']]] },
  { code: 'US', weight: 6, vatBp: 0, shippingFee: 1995, freeShippingFrom: 20000, warehouse: 'WH-RTM', domestic: false, cod: false,
    regions: [['California', ['Los Angeles', 'San Francisco']], ['New York', ['New York']], ['Texas', ['Austin', 'Houston']]] },
];
const COUNTRY_BY_CODE = new Map(COUNTRIES.map((c) => [c.code, c]));
const COUNTRY_CHOICES: readonly (readonly [CountryInfo, number])[] = COUNTRIES.map((c) => [c, c.weight]);

const FIRST_NAMES = ['Anna', 'Lukas', 'Sophie', 'Jonas', 'Marie', 'Leon', 'Emma', 'Felix', 'Mia', 'Paul', 'Lena', 'Noah', 'Jürgen', 'Zoë', 'Chloé', 'José', 'Renée', 'François', 'Olivia', 'Liam', 'Sofia', 'Matteo', 'Lucía', 'Daan', 'Sanne', 'James', 'Emily', 'Ava', 'Ethan', 'Hannah', 'Ben', 'Clara'] as const;
const LAST_NAMES = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Hoffmann', 'Schulz', 'Dubois', 'Martin', 'Bernard', 'de Vries', 'Jansen', 'Rossi', 'Bianchi', 'García', 'López', 'Smith', 'Johnson', "O'Brien", 'Brown', 'Taylor', 'Huber', 'Gruber', 'Keller', 'Peeters'] as const;
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'] as const;

interface CategoryDef {
  name: string;
  code: string;
  slug: string;
  share: number;
  /** Price range in whole euros. */
  priceMin: number;
  priceMax: number;
  costRatio: readonly [number, number];
  returnRate: number;
  seasonAmp: number;
  /** Day of year of the seasonal peak. */
  seasonPeak: number;
  /** Multiplier 1–22 December. */
  decBoost: number;
  brands: readonly string[];
  nouns: readonly string[];
}

const CATEGORIES: readonly CategoryDef[] = [
  { name: 'Apparel', code: 'APP', slug: 'apparel', share: 22, priceMin: 15, priceMax: 120, costRatio: [0.3, 0.45], returnRate: 0.2, seasonAmp: 0.15, seasonPeak: 300, decBoost: 1.2,
    brands: ['Nordwind', 'Urban Loom', 'Kestrel & Co', 'Fjellgrå'], nouns: ['T-Shirt', 'Hoodie', 'Jacket', 'Jeans', 'Sweater', 'Dress', 'Scarf', 'Cap', 'Chinos', 'Parka'] },
  { name: 'Footwear', code: 'FTW', slug: 'footwear', share: 12, priceMin: 35, priceMax: 180, costRatio: [0.35, 0.5], returnRate: 0.16, seasonAmp: 0.1, seasonPeak: 270, decBoost: 1.1,
    brands: ['Stride', 'Trailmark', 'Solea'], nouns: ['Sneaker', 'Boot', 'Sandal', 'Loafer', 'Running Shoe', 'Slipper'] },
  { name: 'Electronics', code: 'ELC', slug: 'electronics', share: 14, priceMin: 15, priceMax: 650, costRatio: [0.55, 0.75], returnRate: 0.07, seasonAmp: 0.1, seasonPeak: 340, decBoost: 1.4,
    brands: ['Voltix', 'Lumen', 'Sonara', 'Qubit'], nouns: ['Headphones', 'Speaker', 'Charger', 'Smartwatch', 'Power Bank', 'Keyboard', 'Webcam', 'E-Reader'] },
  { name: 'Home & Kitchen', code: 'HOM', slug: 'home-kitchen', share: 15, priceMin: 8, priceMax: 250, costRatio: [0.4, 0.55], returnRate: 0.05, seasonAmp: 0.05, seasonPeak: 320, decBoost: 1.2,
    brands: ['Hausgut', 'Casa Verde', 'Ironleaf'], nouns: ['Pan', 'Knife Set', 'Kettle', 'Mug Set', 'Blanket', 'Lamp', 'Cutting Board', 'Vase'] },
  { name: 'Beauty', code: 'BEA', slug: 'beauty', share: 12, priceMin: 5, priceMax: 80, costRatio: [0.25, 0.4], returnRate: 0.03, seasonAmp: 0.05, seasonPeak: 340, decBoost: 1.35,
    brands: ['Aurelle', 'Mira Botanics', 'Pure Fjord'], nouns: ['Face Cream', 'Shampoo', 'Perfume', 'Lip Balm', 'Serum', 'Body Lotion'] },
  { name: 'Sports & Outdoors', code: 'SPO', slug: 'sports-outdoors', share: 10, priceMin: 12, priceMax: 320, costRatio: [0.4, 0.55], returnRate: 0.08, seasonAmp: 0.3, seasonPeak: 160, decBoost: 0.9,
    brands: ['Summit', 'Pacebird', 'Alpenfox'], nouns: ['Tent', 'Backpack', 'Yoga Mat', 'Water Bottle', 'Bike Light', 'Trekking Poles', 'Swimsuit'] },
  { name: 'Toys & Games', code: 'TOY', slug: 'toys-games', share: 9, priceMin: 8, priceMax: 120, costRatio: [0.35, 0.5], returnRate: 0.04, seasonAmp: 0.1, seasonPeak: 340, decBoost: 2.2,
    brands: ['Tinkerbox', 'Kleine Welt', 'Brightblocks'], nouns: ['Puzzle', 'Board Game', 'Building Set', 'Plush Bear', 'Toy Car', 'Puppet'] },
  { name: 'Books', code: 'BOO', slug: 'books', share: 6, priceMin: 8, priceMax: 45, costRatio: [0.55, 0.7], returnRate: 0.02, seasonAmp: 0.05, seasonPeak: 340, decBoost: 1.3,
    brands: ['Leselust Verlag', 'Paperwing', 'Inkwell Press'], nouns: ['Cookbook', 'Novel', 'Travel Guide', "Children's Book", 'Thriller', 'Atlas'] },
];
const ADJECTIVES = ['Classic', 'Essential', 'Pro', 'Lite', 'Premium', 'Eco', 'Urban', 'Compact', 'Deluxe', 'Everyday', 'Vintage', 'Smart', 'Soft', 'Active'] as const;
const VARIANTS = ['Black', 'White', 'Navy', 'Olive', 'Sand', 'Red', 'Grey', 'Blue', 'S', 'M', 'L', 'XL'] as const;

/** Relative order volume by UTC weekday (0 = Sunday): Sunday evening and Monday peak, Saturday dips. */
const WEEKDAY_FACTOR = [1.02, 1.1, 1.04, 1.0, 0.97, 0.88, 0.76] as const;
/** Relative order volume by local hour. */
const HOUR_PROFILE = [0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 1.8, 2.3, 2.6, 2.8, 3.2, 3.0, 2.7, 2.6, 2.7, 3.0, 3.4, 4.0, 4.4, 4.2, 3.0, 1.6] as const;

// ---------------------------------------------------------------------------------------------
// Internal state

interface ProductState {
  idx: number;
  record: DemoProduct;
  category: number;
  priceCents: number;
  costCents: number;
  launchedAt: number;
}

interface CustomerVersion {
  from: number;
  country: string;
  region: string;
  city: string;
  segment: Segment;
}

interface CustomerState {
  idx: number;
  id: string;
  name: string;
  email: string;
  createdAt: number;
  versions: CustomerVersion[];
  anonId: string;
  trackingConsent: boolean;
}

interface DayContext {
  index: number;
  startMs: number;
  month: number;
  dom: number;
  dow: number;
  offsetMs: number;
  promo: boolean;
  giftCardSeason: boolean;
  categoryTable: WeightedTable<number>;
}

interface TimedEvent {
  ms: number;
  event: DemoEvent;
}

// ---------------------------------------------------------------------------------------------
// The generator

/**
 * Generates the demo shop. Pure and deterministic: the same options always give the same shop
 * (byte-identical files), and nothing depends on the current date.
 *
 * @example generateDemoShop({ seed: 42 }) // ~30k orders, 2025-09-27 … 2026-10-31
 */
export function generateDemoShop(opts: GenerateDemoOptions): DemoShop {
  const seed = opts.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const days = opts.days ?? DEFAULT_DEMO_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw new RangeError(`days must be an integer in 1..3660, got ${days}`);
  const scale = opts.scale ?? 1;
  if (!(scale > 0 && scale <= 50)) throw new RangeError(`scale must be > 0 and ≤ 50, got ${scale}`);
  const dirtyRate = opts.dirtyRate ?? DEFAULT_DIRTY_RATE;
  if (!(dirtyRate >= 0 && dirtyRate <= 0.5)) throw new RangeError(`dirtyRate must be in 0..0.5, got ${dirtyRate}`);
  const storeId = opts.storeId ?? 'demo';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(storeId)) throw new RangeError(`storeId must be 1–64 letters, digits, _ or -, got ${JSON.stringify(storeId)}`);
  const startMs = opts.start !== undefined ? parseDay(opts.start, 'start') : parseDay(DEFAULT_DEMO_END, 'end') - days * DAY;
  const endMs = startMs + days * DAY;
  const asOf = endMs;

  const root = new Rng(seed, 'ecommerce-analytics demo shop v1');
  const rngProducts = root.fork('products');
  const rngCustomers = root.fork('customers');
  const rngDays = root.fork('days');
  const rngOrders = root.fork('orders');
  const rngLife = root.fork('lifecycle');
  const rngEvents = root.fork('events');
  const rngInventory = root.fork('inventory');
  const rngDirty = root.fork('dirty');

  // --- products ---------------------------------------------------------------------------
  const productCount = Math.max(24, Math.round(240 * Math.sqrt(scale)));
  const products: ProductState[] = [];
  const productsByCategory: ProductState[][] = CATEGORIES.map(() => []);
  const categoryChoices: readonly (readonly [number, number])[] = CATEGORIES.map((c, i) => [i, c.share]);
  const usedNames = new Set<string>();
  for (let i = 0; i < productCount; i++) {
    const ci = i < CATEGORIES.length ? i : rngProducts.weighted(categoryChoices);
    const cat = CATEGORIES[ci]!;
    const brand = rngProducts.pick(cat.brands);
    let name = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      name = `${brand} ${rngProducts.pick(ADJECTIVES)} ${rngProducts.pick(cat.nouns)} ${rngProducts.pick(VARIANTS)}`;
      if (!usedNames.has(name)) break;
    }
    if (usedNames.has(name)) name = `${name} ${i + 1}`;
    usedNames.add(name);
    // Log-uniform price, ending in .99 / .95 / .49.
    const euros = Math.exp(rngProducts.float(Math.log(cat.priceMin), Math.log(cat.priceMax)));
    const priceCents = Math.max(1, Math.floor(euros)) * 100 - 100 + rngProducts.pick([99, 95, 49] as const);
    const costCents = Math.round(priceCents * rngProducts.float(cat.costRatio[0], cat.costRatio[1]));
    const launchedAt = rngProducts.chance(0.85)
      ? startMs - rngProducts.int(30, 900) * DAY + rngProducts.int(8 * HOUR, 18 * HOUR)
      : startMs + rngProducts.int(0, Math.max(0, days - 21)) * DAY + rngProducts.int(8 * HOUR, 18 * HOUR);
    const updatedAt = rngProducts.chance(0.4) ? launchedAt + Math.floor(rngProducts.next() * (asOf - launchedAt)) : launchedAt;
    const state: ProductState = {
      idx: i,
      category: ci,
      priceCents,
      costCents,
      launchedAt,
      record: {
        product_id: `PROD-${pad(i + 1, 4)}`,
        sku: `${cat.code}-${10001 + i}`,
        name,
        category: cat.name,
        brand,
        list_price: formatCents(priceCents),
        cost: formatCents(costCents),
        created_at: iso(launchedAt),
        updated_at: iso(updatedAt),
      },
    };
    products.push(state);
    productsByCategory[ci]!.push(state);
  }
  // Popularity: Zipf-like within each category, in a random order; cheaper products sell more often.
  const productTables = productsByCategory.map((list, ci) => {
    const ranks = rngProducts.shuffle(list.map((_, i) => i));
    const floor = CATEGORIES[ci]!.priceMin * 100;
    return new WeightedTable(list, ranks.map((r, i) => Math.pow(floor / list[i]!.priceCents, 0.5) / Math.pow(r + 1, 0.9)));
  });
  const earlyProducts = products.filter((p) => p.launchedAt <= startMs);
  const fallbackProducts = earlyProducts.length > 0 ? earlyProducts : products;

  // --- customers --------------------------------------------------------------------------
  const customers: CustomerState[] = [];
  /** Repeat-purchase lottery: a customer's index once per ticket. */
  const tickets: number[] = [];

  const pickLocation = (rng: Rng, country: CountryInfo): [string, string] => {
    const [region, cities] = rng.pick(country.regions);
    return [region, rng.pick(cities)];
  };

  const createCustomer = (createdAt: number): CustomerState => {
    const rng = rngCustomers;
    const idx = customers.length;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const country = rng.weighted(COUNTRY_CHOICES);
    const [region, city] = pickLocation(rng, country);
    const segment = rng.weighted<Segment>([['standard', 85], ['business', 10], ['vip', 5]]);
    const fold = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z]/g, '').toLowerCase();
    const versions: CustomerVersion[] = [{ from: createdAt, country: country.code, region, city, segment }];
    const r = rng.next();
    const changes = r < 0.025 ? 2 : r < 0.115 ? 1 : 0;
    const times: number[] = [];
    for (let i = 0; i < changes; i++) times.push(createdAt + rng.int(10 * DAY, 420 * DAY));
    times.sort((a, b) => a - b);
    for (const t of times) {
      const prev = versions[versions.length - 1]!;
      const kind = rng.weighted<'segment' | 'country' | 'region'>([['segment', 50], ['country', 30], ['region', 20]]);
      const next: CustomerVersion = { ...prev, from: t };
      if (kind === 'segment') {
        next.segment = prev.segment === 'standard' ? rng.weighted<Segment>([['vip', 70], ['business', 30]]) : 'standard';
      } else if (kind === 'country') {
        let c = rng.weighted(COUNTRY_CHOICES);
        while (c.code === prev.country) c = rng.weighted(COUNTRY_CHOICES);
        [next.region, next.city] = pickLocation(rng, c);
        next.country = c.code;
      } else {
        const c = COUNTRY_BY_CODE.get(prev.country)!;
        [next.region, next.city] = pickLocation(rng, c);
        if (next.city === prev.city && next.region === prev.region) next.segment = prev.segment === 'vip' ? 'standard' : 'vip';
      }
      if (t < asOf && t > prev.from) versions.push(next);
    }
    const c: CustomerState = {
      idx,
      id: `CUST-${pad(idx + 1, 6)}`,
      name: `${first} ${last}`,
      email: `${fold(first)}.${fold(last)}.${idx + 1}@${rng.pick(EMAIL_DOMAINS)}`,
      createdAt,
      versions,
      anonId: `anon-${rng.hex(16)}`,
      trackingConsent: rng.chance(0.38),
    };
    customers.push(c);
    const loyalty = rng.weighted<number>([[1, 60], [2, 25], [4, 10], [8, 5]]);
    for (let i = 0; i < loyalty; i++) tickets.push(idx);
    return c;
  };

  const versionAt = (c: CustomerState, t: number): CustomerVersion => {
    let v = c.versions[0]!;
    for (const candidate of c.versions) if (candidate.from <= t) v = candidate;
    return v;
  };

  // Customers who signed up before the period.
  const initialCustomers = Math.round(2500 * scale);
  const initialTimes: number[] = [];
  for (let i = 0; i < initialCustomers; i++) initialTimes.push(startMs - rngCustomers.int(1, 730 * 24) * HOUR - rngCustomers.int(0, HOUR - 1));
  initialTimes.sort((a, b) => a - b);
  for (const t of initialTimes) createCustomer(t);

  // --- calendar effects -------------------------------------------------------------------
  const hourTable = new WeightedTable(HOUR_PROFILE.map((_, h) => h), [...HOUR_PROFILE]);
  const outageDay = rngDays.int(Math.floor(days * 0.15), Math.floor(days * 0.55));
  const campaignDays = new Set<number>([rngDays.int(0, days - 1), rngDays.int(0, days - 1), rngDays.int(0, days - 1)]);

  const blackFriday = (year: number): number => {
    const nov1 = new Date(Date.UTC(year, 10, 1)).getUTCDay();
    const firstFriday = 1 + ((5 - nov1 + 7) % 7);
    return Date.UTC(year, 10, firstFriday + 21);
  };

  const dayContext = (index: number): DayContext & { volume: number } => {
    const ms = startMs + index * DAY;
    const d = new Date(ms);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    const dom = d.getUTCDate();
    const dow = d.getUTCDay();
    const doy = Math.floor((ms - Date.UTC(year, 0, 1)) / DAY) + 1;
    const bf = blackFriday(year);
    const sinceBf = Math.round((ms - bf) / DAY);
    let special = 1;
    let promo = false;
    if (sinceBf >= -4 && sinceBf <= -1) { special = 1.25; promo = true; }
    else if (sinceBf === 0) { special = 2.6; promo = true; }
    else if (sinceBf === 1 || sinceBf === 2) { special = 1.5; promo = true; }
    else if (sinceBf === 3) { special = 2.0; promo = true; }
    else if (month === 12 && dom <= 18) special = 1.35;
    else if (month === 12 && dom <= 22) special = 1.15;
    else if (month === 12 && dom === 23) special = 0.8;
    else if (month === 12 && dom === 24) special = 0.55;
    else if (month === 12 && (dom === 25 || dom === 26)) special = 0.6;
    else if (month === 1 && dom >= 2 && dom <= 14) { special = 1.1; promo = true; }
    else if (month === 7 && dom <= 14) { special = 1.15; promo = true; }
    if (index === outageDay) special *= 0.15;
    if (campaignDays.has(index)) special *= 1.8;
    const season = 1 + 0.1 * Math.cos((2 * Math.PI * (doy - 340)) / 365.25);
    const trend = 1 + 0.2 * (index / days);
    const noise = Math.exp(0.06 * rngDays.normal());
    const volume = BASE_ORDERS_PER_DAY * scale * WEEKDAY_FACTOR[dow]! * season * special * trend * noise;
    const weights = CATEGORIES.map((c) => {
      let w = c.share * (1 + c.seasonAmp * Math.cos((2 * Math.PI * (doy - c.seasonPeak)) / 365.25));
      if (month === 12 && dom <= 22) w *= c.decBoost;
      if (promo && c.code === 'ELC' && month === 11) w *= 1.5;
      return w;
    });
    const giftCardSeason = (month === 12 && dom >= 25) || (month === 1 && dom <= 20);
    return {
      index,
      startMs: ms,
      month,
      dom,
      dow,
      offsetMs: berlinOffsetMs(ms + 12 * HOUR),
      promo,
      giftCardSeason,
      categoryTable: new WeightedTable(CATEGORIES.map((_, i) => i), weights),
      volume,
    };
  };

  /** A UTC instant inside the day, its local hour drawn from the hourly profile. */
  const timeInDay = (rng: Rng, day: DayContext): number => {
    const local = hourTable.draw(rng) * HOUR + rng.int(0, HOUR - 1);
    return day.startMs + ((((local - day.offsetMs) % DAY) + DAY) % DAY);
  };

  const pickProduct = (rng: Rng, day: DayContext, t: number, exclude?: ReadonlySet<number>): ProductState => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ci = day.categoryTable.draw(rng);
      const table = productTables[ci]!;
      if (table.size === 0) continue;
      const p = table.draw(rng);
      if (p.launchedAt <= t && !exclude?.has(p.idx)) return p;
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      const p = rng.pick(fallbackProducts);
      if (p.launchedAt <= t && !exclude?.has(p.idx)) return p;
    }
    return rng.pick(fallbackProducts);
  };

  // --- orders, items, payments, events ------------------------------------------------------
  const orders: DemoOrder[] = [];
  const items: DemoOrderItem[] = [];
  const payments: DemoPayment[] = [];
  const events: DemoEvent[] = [];
  /** Units sold per (product, warehouse, day). */
  const sold = new Int32Array(productCount * WAREHOUSES.length * days);
  let orderSeq = 1_000_000;
  let paymentSeq = 0;

  const pushPayment = (p: Omit<DemoPayment, 'payment_id' | 'currency' | 'updated_at'> & { updatedAt: number }): void => {
    paymentSeq++;
    payments.push({
      payment_id: `PAY-${pad(paymentSeq, 7)}`,
      order_id: p.order_id,
      method: p.method,
      amount: p.amount,
      currency: DEMO_CURRENCY,
      status: p.status,
      installments: p.installments,
      paid_at: p.paid_at,
      updated_at: iso(p.updatedAt),
    });
  };

  const newEvent = (
    rng: Rng,
    ms: number,
    session: string,
    customerId: string,
    anonId: string,
    type: EventType,
    channel: Channel,
    productId: string,
    properties: Record<string, string | number>,
  ): TimedEvent => ({
    ms,
    event: { event_id: rng.uuid(), event_time: iso(ms), session_id: session, customer_id: customerId, anonymous_id: anonId, event_type: type, product_id: productId, channel, properties },
  });

  /** Spreads a session's events over [from, to): sorted random instants. */
  const spread = (rng: Rng, from: number, to: number, n: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(from + Math.floor(rng.next() * Math.max(1, to - from)));
    return out.sort((a, b) => a - b);
  };

  for (let d = 0; d < days; d++) {
    const day = dayContext(d);
    const dayEvents: TimedEvent[] = [];
    const orderCount = rngOrders.poisson(day.volume);
    const times: number[] = [];
    for (let i = 0; i < orderCount; i++) times.push(timeInDay(rngOrders, day));
    times.sort((a, b) => a - b);
    let trackedPurchases = 0;

    for (const t of times) {
      const rng = rngOrders;
      orderSeq++;
      const orderId = `ORD-${orderSeq}`;
      const channel = rng.weighted<Channel>([['web', 52], ['mobile', 33], ['marketplace', 15]]);
      const guest = rng.chance(channel === 'marketplace' ? 0.55 : 0.08);
      let customer: CustomerState | undefined;
      if (!guest) {
        if (tickets.length > 0 && rng.chance(0.6)) {
          customer = customers[rng.pick(tickets)]!;
          if (rng.chance(0.35)) tickets.push(customer.idx);
        } else {
          customer = createCustomer(t - rng.int(30_000, 600_000));
        }
      }
      const version = customer ? versionAt(customer, t) : undefined;
      const country = version ? COUNTRY_BY_CODE.get(version.country)! : rng.weighted(COUNTRY_CHOICES);
      const segment: Segment = version?.segment ?? 'standard';

      // Basket.
      const lineCount = rng.weighted<number>([[1, 36], [2, 27], [3, 16], [4, 10], [5, 5], [6, 3], [7, 2], [8, 1]]) + (segment === 'vip' && rng.chance(0.5) ? 1 : 0);
      const chosen = new Set<number>();
      const lines: { product: ProductState; quantity: number; unit: number; discount: number; amount: number }[] = [];
      for (let l = 0; l < lineCount; l++) {
        const product = pickProduct(rng, day, t, chosen);
        if (chosen.has(product.idx)) continue;
        chosen.add(product.idx);
        let quantity = rng.weighted<number>([[1, 78], [2, 15], [3, 4], [4, 2], [6, 1]]);
        if (segment === 'business' && rng.chance(0.4)) quantity *= rng.int(2, 5);
        const unit = day.promo && rng.chance(0.5) ? Math.round((product.priceCents * rng.int(70, 90)) / 100) : product.priceCents;
        // Bundle discount: 10 % off a line of 2 or more.
        const discount = quantity >= 2 && rng.chance(0.3) ? Math.round((quantity * unit) / 10) : 0;
        lines.push({ product, quantity, unit, discount, amount: quantity * unit - discount });
      }
      const gross = lines.reduce((s, l) => s + l.amount, 0);
      let discount = 0;
      if (channel !== 'marketplace' && rng.chance(day.promo ? 0.25 : 0.1)) {
        discount = rng.chance(0.6) ? Math.round(gross / 10) : Math.min(gross, rng.pick([500, 1000] as const));
      }
      const shipping = gross - discount >= country.freeShippingFrom ? 0 : country.shippingFee;
      const taxable = gross - discount + shipping;
      const tax = mulDivRound(taxable, country.vatBp, 10_000);
      const net = gross - discount + shipping + tax;

      // Payment method.
      const method = rng.weighted<PaymentMethod>([
        ['card', 38],
        ['paypal', 32],
        ['bank_transfer', country.code === 'US' ? 2 : 12],
        ['gift_card', day.giftCardSeason ? 18 : 6],
        ['cod', country.cod ? 8 : 0],
      ]);

      // Lifecycle (absolute instants; anything after asOf has not happened yet).
      const life = rngLife;
      let failedAt: number | null = null;
      let paidAt: number | null = null;
      let cancelAt: number | null = null;
      if (method === 'bank_transfer') {
        if (life.chance(0.07)) cancelAt = t + 14 * DAY + life.int(0, 6 * HOUR);
        else paidAt = t + life.int(3 * HOUR, 4 * DAY);
      } else if (method !== 'cod') {
        paidAt = t + life.int(5_000, 90_000);
        if (method === 'card' && life.chance(0.04)) {
          failedAt = t + life.int(2_000, 4_000);
          paidAt += 60_000;
        }
      }
      if (cancelAt === null && life.chance(0.03)) {
        cancelAt = t + life.int(10 * MINUTE, 30 * HOUR);
        if (paidAt !== null && paidAt > cancelAt) paidAt = null;
      }
      let shippedAt: number | null = null;
      let deliveredAt: number | null = null;
      let returnedAt: number | null = null;
      let refundAt: number | null = null;
      let refundCents = 0;
      if (cancelAt === null) {
        shippedAt = (paidAt ?? t) + life.int(3 * HOUR, 60 * HOUR);
        deliveredAt = shippedAt + (country.domestic ? life.int(20 * HOUR, 84 * HOUR) : life.int(2 * DAY, 8 * DAY));
        if (method === 'cod') paidAt = deliveredAt;
        const returnRate = lines.reduce((s, l) => s + CATEGORIES[l.product.category]!.returnRate, 0) / Math.max(1, lines.length);
        if (life.chance(returnRate)) {
          returnedAt = deliveredAt + life.int(2 * DAY, 25 * DAY);
          refundAt = returnedAt + life.int(4 * HOUR, 4 * DAY);
          if (lines.length >= 2 && life.chance(0.4)) {
            let returnedGross = 0;
            lines.forEach((l, i) => {
              if (i === 0 || life.chance(0.4)) returnedGross += l.amount;
            });
            if (returnedGross >= gross) returnedGross = lines[0]!.amount;
            refundCents = gross > 0 ? mulDivRound(net, returnedGross, gross) : 0;
          } else {
            refundCents = net;
          }
        }
      } else if (paidAt !== null && paidAt <= cancelAt) {
        refundAt = cancelAt + life.int(HOUR, DAY);
        refundCents = net;
      }
      const seen = (x: number | null): x is number => x !== null && x <= asOf;
      let status: OrderStatus;
      if (seen(cancelAt)) status = 'cancelled';
      else if (seen(returnedAt)) status = 'returned';
      else if (seen(deliveredAt)) status = 'delivered';
      else if (seen(shippedAt)) status = 'shipped';
      else if (seen(paidAt)) status = 'paid';
      else status = 'pending';
      const refunded = seen(refundAt) ? refundCents : 0;
      const updatedAt = Math.max(t, ...[failedAt, paidAt, shippedAt, deliveredAt, returnedAt, cancelAt, refundAt].filter(seen));
      const createdIso = iso(t);

      orders.push({
        order_id: orderId,
        order_kind: 'sale',
        customer_id: customer?.id ?? '',
        status,
        created_at: createdIso,
        shipped_at: seen(shippedAt) ? iso(shippedAt) : null,
        delivered_at: seen(deliveredAt) ? iso(deliveredAt) : null,
        returned_at: seen(returnedAt) ? iso(returnedAt) : null,
        channel,
        country: country.code,
        currency: DEMO_CURRENCY,
        gross: formatCents(gross),
        discount: formatCents(discount),
        shipping: formatCents(shipping),
        tax: formatCents(tax),
        net: formatCents(net),
        refunded: formatCents(refunded),
        updated_at: iso(updatedAt),
      });
      const whIndex = country.warehouse === 'WH-BER' ? 0 : 1;
      lines.forEach((l, i) => {
        items.push({
          order_id: orderId,
          line_number: i + 1,
          product_id: l.product.record.product_id,
          sku: l.product.record.sku,
          created_at: createdIso,
          quantity: l.quantity,
          unit_price: formatCents(l.unit),
          discount: formatCents(l.discount),
          line_amount: formatCents(l.amount),
        });
        if (cancelAt === null) sold[(l.product.idx * WAREHOUSES.length + whIndex) * days + d] += l.quantity;
      });

      // Payments.
      const installments = (m: PaymentMethod): number =>
        m === 'card' ? life.weighted<number>([[1, 85], [3, 7], [6, 5], [12, 3]]) : m === 'paypal' ? life.weighted<number>([[1, 93], [3, 7]]) : 1;
      if (failedAt !== null && seen(failedAt)) {
        pushPayment({ order_id: orderId, method: 'card', amount: formatCents(net), status: 'failed', installments: 1, paid_at: iso(failedAt), updatedAt: failedAt });
      }
      let refundMethod: PaymentMethod = method;
      if (seen(paidAt)) {
        if (method === 'gift_card') {
          const balance = life.pick([2500, 5000, 10000] as const);
          if (balance >= net) {
            pushPayment({ order_id: orderId, method, amount: formatCents(net), status: 'captured', installments: 1, paid_at: iso(paidAt), updatedAt: paidAt });
          } else {
            const rest: PaymentMethod = life.chance(0.6) ? 'card' : 'paypal';
            refundMethod = rest;
            pushPayment({ order_id: orderId, method: 'gift_card', amount: formatCents(balance), status: 'captured', installments: 1, paid_at: iso(paidAt), updatedAt: paidAt });
            pushPayment({ order_id: orderId, method: rest, amount: formatCents(net - balance), status: 'captured', installments: installments(rest), paid_at: iso(paidAt + 1_000), updatedAt: paidAt + 1_000 });
          }
        } else {
          pushPayment({ order_id: orderId, method, amount: formatCents(net), status: 'captured', installments: installments(method), paid_at: iso(paidAt), updatedAt: paidAt });
        }
      } else if (seen(cancelAt)) {
        pushPayment({ order_id: orderId, method, amount: formatCents(net), status: 'voided', installments: 1, paid_at: iso(cancelAt), updatedAt: cancelAt });
      } else {
        pushPayment({ order_id: orderId, method, amount: formatCents(net), status: 'pending', installments: 1, paid_at: createdIso, updatedAt: t });
      }
      if (seen(refundAt) && refundCents > 0) {
        pushPayment({ order_id: orderId, method: refundMethod, amount: formatCents(refundCents), status: 'refunded', installments: 1, paid_at: iso(refundAt), updatedAt: refundAt });
      }

      // The purchasing session, when tracked (consent) and not on a marketplace.
      const ev = rngEvents;
      const tracked = channel !== 'marketplace' && (customer ? customer.trackingConsent : ev.chance(0.3));
      if (tracked) {
        trackedPurchases++;
        const session = `S-${ev.hex(16)}`;
        const anonId = customer?.anonId ?? `anon-${ev.hex(16)}`;
        const customerId = customer?.id ?? '';
        const sessionStart = Math.max(day.startMs, t - ev.int(3 * MINUTE, 28 * MINUTE));
        const seq: { type: EventType; product: string; props: Record<string, string | number> }[] = [];
        const firstCat = CATEGORIES[lines[0]?.product.category ?? 0]!;
        seq.push({ type: 'page_view', product: '', props: { path: ev.chance(0.5) ? '/' : `/c/${firstCat.slug}` } });
        for (const l of lines) {
          if (ev.chance(0.25)) {
            const other = pickProduct(ev, day, t, chosen);
            seq.push({ type: 'product_view', product: other.record.product_id, props: { sku: other.record.sku, price: other.record.list_price } });
          }
          seq.push({ type: 'product_view', product: l.product.record.product_id, props: { sku: l.product.record.sku, price: formatCents(l.unit) } });
          seq.push({ type: 'add_to_cart', product: l.product.record.product_id, props: { sku: l.product.record.sku, quantity: l.quantity } });
        }
        seq.push({ type: 'checkout', product: '', props: { items: lines.length, value: formatCents(net), currency: DEMO_CURRENCY } });
        const instants = spread(ev, sessionStart, t, seq.length);
        seq.forEach((s, i) => dayEvents.push(newEvent(ev, instants[i]!, session, customerId, anonId, s.type, channel, s.product, s.props)));
        dayEvents.push(newEvent(ev, t, session, customerId, anonId, 'purchase', channel, '', { order_id: orderId, value: formatCents(net), currency: DEMO_CURRENCY }));
      }
    }

    // Browsing sessions that do not buy: the funnel's drop-off.
    const ev = rngEvents;
    const browseCount = ev.poisson(trackedPurchases * 2.4 + 1);
    for (let s = 0; s < browseCount; s++) {
      const start = timeInDay(ev, day);
      const channel: Channel = ev.chance(0.6) ? 'web' : 'mobile';
      let customerId = '';
      let anonId = `anon-${ev.hex(16)}`;
      if (ev.chance(0.35) && tickets.length > 0) {
        const c = customers[ev.pick(tickets)]!;
        if (c.createdAt <= start && c.trackingConsent) {
          customerId = c.id;
          anonId = c.anonId;
        }
      }
      const session = `S-${ev.hex(16)}`;
      const seq: { type: EventType; product: string; props: Record<string, string | number> }[] = [];
      const landing = CATEGORIES[day.categoryTable.draw(ev)]!;
      seq.push({ type: 'page_view', product: '', props: { path: ev.chance(0.5) ? '/' : `/c/${landing.slug}` } });
      if (ev.chance(0.3)) seq.push({ type: 'page_view', product: '', props: { path: day.promo ? '/sale' : `/c/${landing.slug}` } });
      if (ev.chance(0.55)) {
        const viewed: ProductState[] = [];
        const n = ev.int(1, 3);
        for (let i = 0; i < n; i++) {
          const p = pickProduct(ev, day, start);
          viewed.push(p);
          seq.push({ type: 'product_view', product: p.record.product_id, props: { sku: p.record.sku, price: p.record.list_price } });
        }
        if (ev.chance(0.4)) {
          const p = ev.pick(viewed);
          seq.push({ type: 'add_to_cart', product: p.record.product_id, props: { sku: p.record.sku, quantity: 1 } });
          if (ev.chance(0.45)) seq.push({ type: 'checkout', product: '', props: { items: 1, value: p.record.list_price, currency: DEMO_CURRENCY } });
        }
      }
      const end = Math.min(day.startMs + DAY - 1, start + ev.int(MINUTE, 20 * MINUTE));
      const instants = spread(ev, start, end, seq.length);
      seq.forEach((x, i) => dayEvents.push(newEvent(ev, instants[i]!, session, customerId, anonId, x.type, channel, x.product, x.props)));
    }
    dayEvents.sort((a, b) => a.ms - b.ms);
    for (const e of dayEvents) events.push(e.event);
  }

  // --- inventory: weekly (Monday) snapshots per product and warehouse -----------------------
  const inventory: DemoInventorySnapshot[] = [];
  const slots = productCount * WAREHOUSES.length;
  const onHand = new Float64Array(slots);
  const reorderPoint = new Float64Array(slots);
  const orderUpTo = new Float64Array(slots);
  const arrivalDay = new Int32Array(slots).fill(-1);
  const arrivalQty = new Float64Array(slots);
  const launchDay = products.map((p) => Math.max(0, Math.ceil((p.launchedAt - startMs) / DAY)));
  for (let p = 0; p < productCount; p++) {
    for (let w = 0; w < WAREHOUSES.length; w++) {
      const slot = p * WAREHOUSES.length + w;
      let total = 0;
      for (let d = 0; d < days; d++) total += sold[slot * days + d]!;
      const avg = Math.max(0.05, total / Math.max(1, days - launchDay[p]!));
      reorderPoint[slot] = Math.ceil(avg * 12) + 2;
      orderUpTo[slot] = Math.ceil(avg * 40) + 8;
      onHand[slot] = Math.round(avg * rngInventory.float(15, 50)) + rngInventory.int(5, 20);
    }
  }
  for (let d = 0; d < days; d++) {
    const ms = startMs + d * DAY;
    const isSnapshotDay = new Date(ms).getUTCDay() === 1;
    const date = isoDate(ms);
    for (let w = 0; w < WAREHOUSES.length; w++) {
      for (let p = 0; p < productCount; p++) {
        if (d < launchDay[p]!) continue;
        const slot = p * WAREHOUSES.length + w;
        if (arrivalDay[slot] === d) {
          onHand[slot] = onHand[slot]! + arrivalQty[slot]!;
          arrivalDay[slot] = -1;
        }
        const units = sold[slot * days + d]!;
        onHand[slot] = Math.max(0, onHand[slot]! - units);
        if (arrivalDay[slot] === -1 && onHand[slot]! <= reorderPoint[slot]!) {
          // Supplier lead time; now and then a supplier is late and the product runs out.
          const lead = rngInventory.int(4, 10) + (rngInventory.chance(0.1) ? rngInventory.int(10, 25) : 0);
          arrivalDay[slot] = d + lead;
          arrivalQty[slot] = Math.max(1, orderUpTo[slot]! - onHand[slot]!);
        }
        if (isSnapshotDay) {
          const product = products[p]!;
          inventory.push({
            snapshot_date: date,
            product_id: product.record.product_id,
            sku: product.record.sku,
            warehouse_id: WAREHOUSES[w]!,
            on_hand: onHand[slot]!,
            reserved: Math.min(onHand[slot]!, units),
            unit_cost: product.record.cost,
          });
        }
      }
    }
  }

  // --- customers as exported: one record per version ----------------------------------------
  const customerRecords: DemoCustomer[] = [];
  for (const c of customers) {
    for (const v of c.versions) {
      customerRecords.push({
        customer_id: c.id,
        name: c.name,
        email: c.email,
        country: v.country,
        region: v.region,
        city: v.city,
        segment: v.segment,
        created_at: iso(c.createdAt),
        updated_at: iso(v.from),
      });
    }
  }

  const shop: DemoShop = {
    seed,
    store: { store_id: storeId, name: 'Demo Shop', timezone: 'Europe/Berlin', country: 'DE', currency: DEMO_CURRENCY },
    start: isoDate(startMs),
    end: isoDate(endMs),
    asOf: iso(asOf),
    days,
    scale,
    customers: customerRecords,
    products: products.map((p) => p.record),
    orders,
    order_items: items,
    payments,
    inventory,
    events,
    dirty: [],
  };
  shop.dirty = makeDirtyRows(shop, rngDirty, dirtyRate);
  return shop;
}

// ---------------------------------------------------------------------------------------------
// Export rows and dirty rows

/** The records of one entity. */
export function entityRecords<E extends DemoEntity>(shop: DemoShop, entity: E): readonly DemoRecordMap[E][] {
  return shop[entity] as unknown as readonly DemoRecordMap[E][];
}

/** A record as an exported row: the entity's columns, in order. */
export function toExportRow(entity: DemoEntity, record: object): ExportRow {
  const source = record as Record<string, ExportValue | undefined>;
  const row: ExportRow = {};
  for (const c of DEMO_COLUMNS[entity]) row[c.name] = source[c.name] ?? null;
  return row;
}

/** Data rows per exported file: clean records plus dirty rows. */
export function demoRowCounts(shop: DemoShop): Record<DemoEntity, { clean: number; dirty: number; total: number }> {
  const out = {} as Record<DemoEntity, { clean: number; dirty: number; total: number }>;
  for (const e of DEMO_ENTITIES) {
    const clean = shop[e].length;
    const dirty = shop.dirty.filter((r) => r.entity === e).length;
    out[e] = { clean, dirty, total: clean + dirty };
  }
  return out;
}

interface DirtyKind {
  reason: DirtyReason;
  field: string;
}

const DIRTY_KINDS: Readonly<Record<DemoEntity, readonly DirtyKind[]>> = {
  customers: [
    { reason: 'missing_required', field: 'customer_id' },
    { reason: 'invalid_date', field: 'created_at' },
    { reason: 'invalid_date', field: 'updated_at' },
  ],
  products: [
    { reason: 'negative_amount', field: 'list_price' },
    { reason: 'missing_required', field: 'product_id' },
    { reason: 'invalid_number', field: 'cost' },
  ],
  orders: [
    { reason: 'negative_amount', field: 'gross' },
    { reason: 'missing_required', field: 'order_id' },
    { reason: 'invalid_date', field: 'created_at' },
    { reason: 'unknown_value', field: 'status' },
    { reason: 'unknown_value', field: 'currency' },
    { reason: 'negative_amount', field: 'net' },
  ],
  order_items: [
    { reason: 'negative_amount', field: 'unit_price' },
    { reason: 'missing_required', field: 'product_id' },
    { reason: 'invalid_number', field: 'quantity' },
    { reason: 'missing_required', field: 'order_id' },
  ],
  payments: [
    { reason: 'unknown_value', field: 'method' },
    { reason: 'negative_amount', field: 'amount' },
    { reason: 'invalid_date', field: 'paid_at' },
    { reason: 'missing_required', field: 'order_id' },
  ],
  inventory: [
    { reason: 'invalid_date', field: 'snapshot_date' },
    { reason: 'missing_required', field: 'product_id' },
    { reason: 'invalid_number', field: 'on_hand' },
  ],
  events: [
    { reason: 'invalid_date', field: 'event_time' },
    { reason: 'missing_required', field: 'event_id' },
    { reason: 'missing_required', field: 'event_type' },
  ],
};

const BAD_DATES = ['2025-02-30 10:00:00', '31/13/2025', 'not a date', '2025-13-01T00:00:00Z', '0000-00-00 00:00:00'] as const;
const BAD_DATE_ONLY = ['2025-02-30', '13/31/2025', 'yesterday', '2025-13-01'] as const;
const BAD_INTEGERS = ['n/a', 'two', '1.5'] as const;
const BAD_MONEY = ['n/a', 'abc', '1.2.3'] as const;
const UNKNOWN_VALUES: Readonly<Record<string, readonly string[]>> = {
  status: ['on_hold', 'lost', 'SHIPPED_PARTIALLY'],
  currency: ['EURO', '€'],
  method: ['bitcoin', 'voucher_x'],
};

/** A fresh, non-colliding key for a dirty row, so a pipeline that wrongly accepted it could not overwrite a clean row. */
function rekey(entity: DemoEntity, row: ExportRow, k: number, rng: Rng): void {
  const n = k + 1;
  switch (entity) {
    case 'customers': row.customer_id = `CUST-X${pad(n, 5)}`; break;
    case 'products': row.product_id = `PROD-X${pad(n, 4)}`; row.sku = `BAD-${pad(n, 5)}`; break;
    case 'orders': row.order_id = `ORD-X${pad(n, 5)}`; break;
    case 'order_items': row.line_number = 900 + n; break;
    case 'payments': row.payment_id = `PAY-X${pad(n, 5)}`; break;
    case 'inventory': row.product_id = `PROD-X${pad(n, 4)}`; break;
    case 'events': row.event_id = rng.uuid(); break;
  }
}

function makeDirtyRows(shop: DemoShop, rng: Rng, rate: number): DirtyRow[] {
  const out: DirtyRow[] = [];
  for (const entity of DEMO_ENTITIES) {
    const records = shop[entity] as readonly object[];
    const n = records.length > 0 ? Math.round(records.length * rate) : 0;
    if (n === 0) continue;
    const total = records.length + n;
    const positions = new Set<number>();
    while (positions.size < n) positions.add(rng.int(0, total - 1));
    const sorted = [...positions].sort((a, b) => a - b);
    const kinds = DIRTY_KINDS[entity];
    for (let k = 0; k < n; k++) {
      const row = toExportRow(entity, rng.pick(records));
      rekey(entity, row, k, rng);
      const kind = kinds[k % kinds.length]!;
      const spec = DEMO_COLUMNS[entity].find((c) => c.name === kind.field)!;
      switch (kind.reason) {
        case 'missing_required':
          row[kind.field] = null;
          break;
        case 'negative_amount': {
          const cents = parseCents(String(row[kind.field]));
          row[kind.field] = formatCents(-(cents === 0 ? rng.int(100, 5000) : cents));
          break;
        }
        case 'invalid_date':
          row[kind.field] = spec.kind === 'date' ? rng.pick(BAD_DATE_ONLY) : rng.pick(BAD_DATES);
          break;
        case 'invalid_number':
          row[kind.field] = spec.kind === 'money' ? rng.pick(BAD_MONEY) : rng.pick(BAD_INTEGERS);
          break;
        case 'unknown_value':
          row[kind.field] = rng.pick(UNKNOWN_VALUES[kind.field] ?? ['???']);
          break;
      }
      out.push({ entity, row, reason: kind.reason, field: kind.field, position: sorted[k]! });
    }
  }
  return out;
}
