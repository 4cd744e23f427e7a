/**
 * The `online-retail` named format: the UCI "Online Retail" invoice-line export
 * (`InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`, one row per
 * invoice line, dates like `12/1/2010 8:26` in the shop's local time) mapped into the canonical
 * `orders`, `order_items`, `customers` and `products` records the ingest pipeline validates.
 *
 * The rules, their order and every output field are documented in docs/online-retail.md; keep the
 * two in step. In short:
 *
 * - InvoiceNo of digits = a sale; `C` + digits = a cancellation (refund order, negative quantities);
 *   anything else is rejected `unknown_invoice_type`.
 * - A line that exactly repeats an earlier line of the file is rejected `duplicate`.
 * - Negative unit price → `negative_price`; negative quantity in a sale → `negative_quantity`;
 *   positive quantity in a cancellation → `positive_quantity_in_cancellation`.
 * - No CustomerID = guest order (customer_id ''), counted in orders and revenue, not in customers.
 * - A StockCode not starting with five digits is non-merchandise (category `non-merchandise`),
 *   still counted in revenue; other products are `uncategorized`, named after their most recent
 *   non-empty description.
 * - InvoiceDate is wall-clock time in `opts.timezone`, stored as UTC (see ./timezone.ts).
 * - A customer's country is the Country of their orders; a change opens a new SCD2 version.
 *
 * The mapper is a pure, stateful, streaming transformer: one output (a record or a reject) per input
 * row, in input order, then the orders, customers and products at the end of the stream. Money is
 * exact: integer ten-thousandths (BigInt) inside, decimal strings outside.
 */
import crypto from 'node:crypto';
import { assertTimeZone, isValidWallClock, wallClockToUtc, type WallClock } from './timezone.js';
import { DigestSet } from './digest-set.js';

// ---------------------------------------------------------------------------------------------
// Contract

/** One row of a source file, as the streaming readers in src/ingest/parsers produce it. */
export interface SourceRow {
  rowNumber: number;
  fields: Record<string, unknown>;
  raw: string;
  error?: { code: 'malformed_row'; message: string; field?: string };
}

export type OnlineRetailEntity = 'orders' | 'order_items' | 'customers' | 'products';

export interface MappedRecord {
  entity: OnlineRetailEntity;
  /** The source row the record comes from (for orders/customers/products: the row that defined it). */
  rowNumber: number;
  record: Record<string, unknown>;
  /** The source line, for an `order_items` record (derived records have none). */
  raw?: string;
}

export type RejectReason =
  | 'unknown_invoice_type'
  | 'duplicate'
  | 'negative_price'
  | 'negative_quantity'
  | 'positive_quantity_in_cancellation'
  | 'malformed_row'
  | 'invalid_value'
  | 'missing_field';

export interface MappedReject {
  rowNumber: number;
  /** The source column at fault, as the header spells it ('' when the whole line is at fault). */
  field: string;
  reason: RejectReason;
  message: string;
  raw: string;
}

export type MappedOutput = MappedRecord | { reject: MappedReject };

export interface OnlineRetailOptions {
  /** IANA zone the InvoiceDate wall-clock times are in (the store's; CLI `--timezone`). */
  timezone: string;
  /** The store the file belongs to (records do not carry it: the pipeline stamps store_id). */
  storeId: string;
}

export const ONLINE_RETAIL_FORMAT = 'online-retail';
export const ONLINE_RETAIL_HEADER = [
  'InvoiceNo',
  'StockCode',
  'Description',
  'Quantity',
  'InvoiceDate',
  'UnitPrice',
  'CustomerID',
  'Country',
] as const;
export const ONLINE_RETAIL_CURRENCY = 'GBP';
export const NON_MERCHANDISE_CATEGORY = 'non-merchandise';
export const MERCHANDISE_CATEGORY = 'uncategorized';

// ---------------------------------------------------------------------------------------------
// Value parsing (exported for tests and for the docs' examples)

/** Money and prices are integers of this many units per currency unit (4 decimals, Decimal(18,4)). */
export const MONEY_SCALE = 10_000n;
/** Largest magnitude Decimal(18,4) holds, in scaled units. */
export const MONEY_LIMIT = 10n ** 18n;
/** The pipeline's bound on an order item's quantity (|quantity| ≤ 2e9, stored as Int32). */
export const QUANTITY_LIMIT = 2_000_000_000;
/** The pipeline's bound on the length of an id (order, product, customer). */
export const ID_LIMIT = 200;

/** `'2.55'` → 25500n (ten-thousandths). Undefined when not a plain decimal or finer than 4 decimals. */
export function parseMoney(text: string): bigint | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return undefined;
  const int = m[2] ?? '';
  let frac = (m[3] ?? '').replace(/0+$/, '');
  if (int === '' && (m[3] ?? '') === '') return undefined;
  if (frac.length > 4) return undefined;
  frac = frac.padEnd(4, '0');
  const v = BigInt((int || '0') + frac);
  return m[1] === '-' ? -v : v;
}

/** 25500n (or 25500) → `'2.55'`: at least 2 and at most 4 decimals, exact. */
export function formatMoney(v: bigint | number): string {
  let int: string;
  let rest: number;
  const neg = v < 0;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`formatMoney: not a safe integer: ${v}`);
    const a = Math.abs(v);
    rest = a % 10_000; // exact for integers
    int = String((a - rest) / 10_000);
  } else {
    const a = neg ? -v : v;
    rest = Number(a % MONEY_SCALE);
    int = (a / MONEY_SCALE).toString();
  }
  let frac = String(rest).padStart(4, '0');
  if (frac.endsWith('00')) frac = frac.slice(0, 2);
  else if (frac.endsWith('0')) frac = frac.slice(0, 3);
  return `${neg ? '-' : ''}${int}.${frac}`;
}

/**
 * An exact amount in ten-thousandths: a Number while it is a safe integer (every amount of a real
 * shop, and much cheaper), a BigInt beyond. Products and sums of safe integers that come out as safe
 * integers are exact, so each operation checks and falls back to BigInt.
 */
export type Scaled = number | bigint;

function scaled(v: bigint): Scaled {
  return v >= -9_007_199_254_740_991n && v <= 9_007_199_254_740_991n ? Number(v) : v;
}

function addScaled(a: Scaled, b: Scaled): Scaled {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return scaled(BigInt(a) + BigInt(b));
}

function mulScaled(q: number, p: Scaled): Scaled {
  if (typeof p === 'number') {
    const x = q * p;
    if (Number.isSafeInteger(x)) return x;
  }
  return scaled(BigInt(q) * BigInt(p));
}

/** True when |v| does not fit Decimal(18,4). */
function tooLarge(v: Scaled): boolean {
  return typeof v === 'bigint' && (v >= MONEY_LIMIT || -v >= MONEY_LIMIT);
}

/**
 * An InvoiceDate as wall-clock fields: `M/D/YYYY H:MM` (the file's form, optional `:SS`), or
 * `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` (re-exports of the same data). A `Date`
 * (spreadsheet readers) contributes its UTC fields as the wall-clock time. Undefined when invalid.
 */
export function parseInvoiceDate(value: unknown): WallClock | undefined {
  let w: WallClock | undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    w = {
      year: value.getUTCFullYear(),
      month: value.getUTCMonth() + 1,
      day: value.getUTCDate(),
      hour: value.getUTCHours(),
      minute: value.getUTCMinutes(),
      second: value.getUTCSeconds(),
    };
  } else if (typeof value === 'string') {
    const t = value.trim();
    let m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) +(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
    if (m) {
      w = { year: +m[3]!, month: +m[1]!, day: +m[2]!, hour: +m[4]!, minute: +m[5]!, second: m[6] ? +m[6] : 0 };
    } else if ((m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(t))) {
      w = { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: m[6] ? +m[6] : 0 };
    }
  }
  return w && isValidWallClock(w) ? w : undefined;
}

/** `'12345'` / `'12345.0'` → `'12345'`; other non-empty ids are kept trimmed; '' for none. */
export function normalizeCustomerId(value: unknown): string {
  const t = text(value).trim();
  const m = /^(\d+)\.0*$/.exec(t);
  return m ? m[1]! : t;
}

/** StockCode → product_id: trimmed and upper-cased (`85123a` and `85123A` are one product). */
export function normalizeStockCode(value: unknown): string {
  return text(value).trim().toUpperCase();
}

/** Merchandise stock codes start with five digits; POST, DOT, M, D, C2, BANK CHARGES, gift_… do not. */
export function isMerchandiseStockCode(productId: string): boolean {
  return /^\d{5}/.test(productId);
}

export type InvoiceType = 'sale' | 'cancellation' | 'unknown';

/** Digits → sale, `C` + digits → cancellation, anything else (e.g. `A563185`) → unknown. */
export function invoiceType(invoiceNo: string): InvoiceType {
  if (/^\d+$/.test(invoiceNo)) return 'sale';
  if (/^C\d+$/.test(invoiceNo)) return 'cancellation';
  return 'unknown';
}

/**
 * The file's English country names → ISO 3166-1 alpha-2. Names with no code of their own:
 * `Channel Islands` → `JE` (Jersey, the larger of the two bailiwicks; Guernsey cannot be told apart),
 * `European Community` → `EU` (ISO 3166-1 "exceptionally reserved" code), `Unspecified` → ''.
 */
export const ONLINE_RETAIL_COUNTRIES: Readonly<Record<string, string>> = {
  'Australia': 'AU',
  'Austria': 'AT',
  'Bahrain': 'BH',
  'Belgium': 'BE',
  'Brazil': 'BR',
  'Canada': 'CA',
  'Channel Islands': 'JE',
  'Cyprus': 'CY',
  'Czech Republic': 'CZ',
  'Denmark': 'DK',
  'EIRE': 'IE',
  'European Community': 'EU',
  'Finland': 'FI',
  'France': 'FR',
  'Germany': 'DE',
  'Greece': 'GR',
  'Hong Kong': 'HK',
  'Iceland': 'IS',
  'Israel': 'IL',
  'Italy': 'IT',
  'Japan': 'JP',
  'Lebanon': 'LB',
  'Lithuania': 'LT',
  'Malta': 'MT',
  'Netherlands': 'NL',
  'Norway': 'NO',
  'Poland': 'PL',
  'Portugal': 'PT',
  'RSA': 'ZA',
  'Saudi Arabia': 'SA',
  'Singapore': 'SG',
  'Spain': 'ES',
  'Sweden': 'SE',
  'Switzerland': 'CH',
  'USA': 'US',
  'United Arab Emirates': 'AE',
  'United Kingdom': 'GB',
  'Unspecified': '',
};

let displayNameIndex: Map<string, string> | undefined;

/** English region names (CLDR, via Intl.DisplayNames) → alpha-2 code, lower-cased keys. */
function displayNames(): Map<string, string> {
  if (displayNameIndex) return displayNameIndex;
  displayNameIndex = new Map();
  try {
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    const A = 'A'.charCodeAt(0);
    for (let i = 0; i < 26; i++) {
      for (let j = 0; j < 26; j++) {
        const code = String.fromCharCode(A + i, A + j);
        const name = names.of(code);
        if (name && name !== code) {
          displayNameIndex.set(code.toLowerCase(), code);
          if (!displayNameIndex.has(name.toLowerCase())) displayNameIndex.set(name.toLowerCase(), code);
        }
      }
    }
  } catch {
    // no ICU region names: only the table above
  }
  return displayNameIndex;
}

const caseInsensitiveCountries = new Map(Object.entries(ONLINE_RETAIL_COUNTRIES).map(([k, v]) => [k.toLowerCase(), v]));

/**
 * A Country value → ISO alpha-2 ('' for none/unspecified). The file's names first (case-insensitive),
 * then any English region name or alpha-2 code Intl knows. Undefined when unknown.
 */
export function countryCode(value: unknown): string | undefined {
  const t = text(value).trim().replace(/\s+/g, ' ');
  if (t === '') return '';
  const key = t.toLowerCase();
  return caseInsensitiveCountries.get(key) ?? displayNames().get(key);
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  return String(v);
}

/**
 * The reject messages of the rules, one place for both implementations (the streaming mapper below
 * and the SQL import in ./online-retail-sql.ts).
 */
export const REJECT_MESSAGES = {
  empty: (header: string) => `${header} is empty`,
  tooLong: (header: string) => `${header} is longer than ${ID_LIMIT} characters`,
  invalidQuantity: (trimmed: string) => `Quantity is not a whole number between -2000000000 and 2000000000: ${JSON.stringify(trimmed)}`,
  zeroQuantity: 'Quantity is 0 (a line must sell or cancel something)',
  invalidDate: (raw: string) => `InvoiceDate is not a valid M/D/YYYY H:MM date and time: ${JSON.stringify(raw)}`,
  invalidPrice: (raw: string) => `UnitPrice is not a decimal number with at most 4 decimals: ${JSON.stringify(raw)}`,
  amountTooLarge: 'Quantity × UnitPrice does not fit Decimal(18,4)',
  unknownCountry: (raw: string) => `unknown country: ${JSON.stringify(raw)}`,
  unknownInvoiceType: (invoiceNo: string) => `InvoiceNo ${JSON.stringify(invoiceNo)} is neither a sale (digits) nor a cancellation (C + digits)`,
  duplicate: 'the line exactly repeats an earlier line of the file',
  negativePrice: (trimmed: string) => `negative UnitPrice ${trimmed}`,
  negativeQuantity: (quantity: number) => `negative Quantity ${quantity} outside a cancellation (stock adjustment)`,
  positiveInCancellation: (quantity: number, invoiceNo: string) => `positive Quantity ${quantity} in cancellation ${invoiceNo}`,
} as const;

// ---------------------------------------------------------------------------------------------
// The mapper

/** An invoice as the accepted lines define it (the first accepted line gives its time, customer, country). */
export interface OrderState {
  order_id: string;
  kind: 'sale' | 'refund';
  customer_id: string;
  country: string;
  createdMs: number;
  created_at: string;
  rowNumber: number;
  lines: number;
  sum: Scaled;
}

/** A stock code as the accepted lines define it. */
export interface ProductState {
  product_id: string;
  merchandise: boolean;
  name: string;
  /** Invoice time of the line the name comes from (-Infinity: no non-empty description yet). */
  nameMs: number;
  rowNumber: number;
}

interface CustomerVersion {
  customer_id: string;
  country: string;
  validFromMs: number;
  valid_from: string;
  rowNumber: number;
}

/** Source columns that must be present and non-empty, in the order they are checked. */
const REQUIRED: readonly [key: string, header: string][] = [
  ['invoiceno', 'InvoiceNo'],
  ['stockcode', 'StockCode'],
  ['quantity', 'Quantity'],
  ['invoicedate', 'InvoiceDate'],
  ['unitprice', 'UnitPrice'],
];

/** Bound of each per-value memo (dates, prices, countries); a full memo is simply emptied. */
const CACHE_LIMIT = 100_000;

/**
 * The stateful transformer behind {@link mapOnlineRetail}, usable synchronously: `push` each row
 * (one output per row, in order), then `finish` once for the orders, customers and products.
 */
export class OnlineRetailMapper {
  readonly timezone: string;
  readonly storeId: string;
  /** Digests of every well-formed line seen so far (for `duplicate`): 12 bytes a line. */
  private readonly seen = new DigestSet();
  private readonly orders = new Map<string, OrderState>();
  private readonly products = new Map<string, ProductState>();
  /** InvoiceDate text → UTC epoch ms (a file has far fewer distinct times than lines). */
  private readonly dateCache = new Map<string, number>();
  /** UnitPrice text → exact value and canonical text (null: invalid); Country text → code. */
  private readonly priceCache = new Map<string, { value: Scaled; text: string } | null>();
  private readonly countryCache = new Map<string, string | undefined>();
  private finished = false;

  constructor(opts: OnlineRetailOptions) {
    this.timezone = assertTimeZone(opts.timezone);
    if (typeof opts.storeId !== 'string' || opts.storeId.trim() === '') throw new Error('storeId must be a non-empty string');
    this.storeId = opts.storeId;
  }

  push(row: SourceRow): MappedOutput {
    if (this.finished) throw new Error('OnlineRetailMapper: push after finish');
    const reject = (reason: RejectReason, field: string, message: string): MappedOutput => ({
      reject: { rowNumber: row.rowNumber, field, reason, message, raw: row.raw },
    });
    if (row.error) return reject('malformed_row', row.error.field ?? '', row.error.message);
    const f = row.fields;

    // 1. required columns
    for (const [key, header] of REQUIRED) {
      if (text(f[key]).trim() === '') return reject('missing_field', header, REJECT_MESSAGES.empty(header));
    }
    const invoiceNo = text(f.invoiceno).trim();
    const productId = normalizeStockCode(f.stockcode);

    // 2. values
    if (invoiceNo.length > ID_LIMIT) return reject('invalid_value', 'InvoiceNo', REJECT_MESSAGES.tooLong('InvoiceNo'));
    if (productId.length > ID_LIMIT) return reject('invalid_value', 'StockCode', REJECT_MESSAGES.tooLong('StockCode'));
    const customerId = normalizeCustomerId(f.customerid);
    if (customerId.length > ID_LIMIT) return reject('invalid_value', 'CustomerID', REJECT_MESSAGES.tooLong('CustomerID'));
    const qText = text(f.quantity).trim();
    if (!/^[+-]?\d+$/.test(qText) || Math.abs(Number(qText)) > QUANTITY_LIMIT) {
      return reject('invalid_value', 'Quantity', REJECT_MESSAGES.invalidQuantity(qText));
    }
    const quantity = Number(qText);
    if (quantity === 0) return reject('invalid_value', 'Quantity', REJECT_MESSAGES.zeroQuantity);
    const createdMs = this.instant(f.invoicedate);
    if (createdMs === undefined) {
      return reject('invalid_value', 'InvoiceDate', REJECT_MESSAGES.invalidDate(text(f.invoicedate)));
    }
    const price = this.price(f.unitprice);
    if (price === undefined) {
      return reject('invalid_value', 'UnitPrice', REJECT_MESSAGES.invalidPrice(text(f.unitprice)));
    }
    const amount = mulScaled(quantity, price.value);
    if (tooLarge(amount)) return reject('invalid_value', 'UnitPrice', REJECT_MESSAGES.amountTooLarge);
    const country = this.country(f.country);
    if (country === undefined) return reject('invalid_value', 'Country', REJECT_MESSAGES.unknownCountry(text(f.country)));

    // 3. invoice type
    const type = invoiceType(invoiceNo);
    if (type === 'unknown') {
      return reject(
        'unknown_invoice_type',
        'InvoiceNo',
        REJECT_MESSAGES.unknownInvoiceType(invoiceNo),
      );
    }

    // 4. exact repeat of an earlier line
    if (!this.seen.add(lineHash(f))) return reject('duplicate', '', REJECT_MESSAGES.duplicate);

    // 5. signs
    if (price.value < 0) return reject('negative_price', 'UnitPrice', REJECT_MESSAGES.negativePrice(text(f.unitprice).trim()));
    if (type === 'sale' && quantity < 0) {
      return reject('negative_quantity', 'Quantity', REJECT_MESSAGES.negativeQuantity(quantity));
    }
    if (type === 'cancellation' && quantity > 0) {
      return reject('positive_quantity_in_cancellation', 'Quantity', REJECT_MESSAGES.positiveInCancellation(quantity, invoiceNo));
    }

    // accepted
    let order = this.orders.get(invoiceNo);
    if (!order) {
      order = {
        order_id: invoiceNo,
        kind: type === 'sale' ? 'sale' : 'refund',
        customer_id: customerId,
        country,
        createdMs,
        created_at: new Date(createdMs).toISOString(),
        rowNumber: row.rowNumber,
        lines: 0,
        sum: 0,
      };
      this.orders.set(invoiceNo, order);
    }
    order.lines += 1;
    order.sum = addScaled(order.sum, amount);

    let product = this.products.get(productId);
    if (!product) {
      product = { product_id: productId, merchandise: isMerchandiseStockCode(productId), name: '', nameMs: -Infinity, rowNumber: row.rowNumber };
      this.products.set(productId, product);
    }
    const description = text(f.description).trim();
    if (description !== '' && createdMs >= product.nameMs) {
      product.name = description;
      product.nameMs = createdMs;
      product.rowNumber = row.rowNumber;
    }

    return {
      entity: 'order_items',
      rowNumber: row.rowNumber,
      raw: row.raw,
      record: {
        order_id: invoiceNo,
        line_number: order.lines,
        product_id: productId,
        created_at: order.created_at,
        quantity,
        unit_price: price.text,
        discount: '0',
        line_amount: formatMoney(amount),
      },
    };
  }

  /** The orders (first-seen order), customer versions (by valid_from) and products (first-seen order). */
  finish(): MappedRecord[] {
    if (this.finished) throw new Error('OnlineRetailMapper: finish called twice');
    this.finished = true;
    const out = derivedRecords(this.orders.values(), this.products.values());
    this.seen.clear();
    this.orders.clear();
    this.products.clear();
    this.dateCache.clear();
    this.priceCache.clear();
    this.countryCache.clear();
    return out;
  }

  private price(value: unknown): { value: Scaled; text: string } | undefined {
    const key = text(value);
    let hit = this.priceCache.get(key);
    if (hit === undefined) {
      const v = parseMoney(key);
      hit = v === undefined || v >= MONEY_LIMIT || -v >= MONEY_LIMIT ? null : { value: scaled(v), text: formatMoney(v) };
      if (this.priceCache.size >= CACHE_LIMIT) this.priceCache.clear();
      this.priceCache.set(key, hit);
    }
    return hit ?? undefined;
  }

  private country(value: unknown): string | undefined {
    const key = text(value);
    if (this.countryCache.has(key)) return this.countryCache.get(key);
    const code = countryCode(key);
    if (this.countryCache.size >= CACHE_LIMIT) this.countryCache.clear();
    this.countryCache.set(key, code);
    return code;
  }

  private instant(value: unknown): number | undefined {
    const key = typeof value === 'string' ? value : undefined;
    if (key !== undefined) {
      const hit = this.dateCache.get(key);
      if (hit !== undefined) return hit;
    }
    const wall = parseInvoiceDate(value);
    if (!wall) return undefined;
    const ms = wallClockToUtc(wall, this.timezone, 'compatible');
    if (key !== undefined) {
      if (this.dateCache.size >= CACHE_LIMIT) this.dateCache.clear();
      this.dateCache.set(key, ms);
    }
    return ms;
  }
}

/**
 * The records derived from the accepted lines, as {@link OnlineRetailMapper.finish} emits them: the
 * orders (in the given order), the customers' SCD2 versions (by valid_from) and the products (in the
 * given order). Also used by the SQL import (./online-retail-sql.ts), which computes the states in
 * the engine.
 */
export function derivedRecords(orders: Iterable<OrderState>, products: Iterable<ProductState>): MappedRecord[] {
  const out: MappedRecord[] = [];
  const byCustomer = new Map<string, OrderState[]>();
  for (const o of orders) {
    const refund = o.kind === 'refund';
    out.push({
      entity: 'orders',
      rowNumber: o.rowNumber,
      record: {
        order_id: o.order_id,
        order_kind: o.kind,
        customer_id: o.customer_id,
        status: refund ? 'cancelled' : 'completed',
        created_at: o.created_at,
        channel: 'web',
        country: o.country,
        currency: ONLINE_RETAIL_CURRENCY,
        gross: formatMoney(o.sum),
        discount: '0',
        shipping: '0',
        tax: '0',
        net: formatMoney(o.sum),
        refunded: refund ? formatMoney(-o.sum) : '0',
      },
    });
    if (o.customer_id !== '') {
      let list = byCustomer.get(o.customer_id);
      if (!list) byCustomer.set(o.customer_id, (list = []));
      list.push(o);
    }
  }

  const versions: CustomerVersion[] = [];
  for (const [customerId, list] of byCustomer) versions.push(...customerVersions(customerId, list));
  versions.sort((a, b) => a.validFromMs - b.validFromMs || a.rowNumber - b.rowNumber);
  for (const v of versions) {
    out.push({
      entity: 'customers',
      rowNumber: v.rowNumber,
      record: { customer_id: v.customer_id, valid_from: v.valid_from, country: v.country, name: '', segment: '' },
    });
  }

  for (const p of products) {
    out.push({
      entity: 'products',
      rowNumber: p.rowNumber,
      record: {
        product_id: p.product_id,
        sku: p.product_id,
        name: p.name,
        category: p.merchandise ? MERCHANDISE_CATEGORY : NON_MERCHANDISE_CATEGORY,
      },
    });
  }
  return out;
}

/** One-shot hashing (Node ≥ 20.12 has crypto.hash, much cheaper than createHash for short input). */
const sha1: (data: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha1', data, 'buffer') as unknown as Buffer
    : (data) => crypto.createHash('sha1').update(data).digest();

/**
 * SHA-1 digest of a line's field values: exact and untrimmed, in column order, each tagged with its
 * type and length so no two different lines serialize alike. The duplicate set keeps 96 bits of it.
 */
function lineHash(fields: Record<string, unknown>): Buffer {
  let s = '';
  for (const key in fields) {
    const v = fields[key];
    const t = v instanceof Date ? `D${v.getTime()}` : typeof v === 'string' ? `S${v}` : `V${typeof v}:${text(v)}`;
    s += `${t.length}:${t}`;
  }
  return sha1(s);
}

/**
 * SCD2 versions of one customer from their orders: ordered by order time (then file order), a new
 * version whenever the country differs from the current one, valid from that order's time. A change
 * at the very instant the current version starts replaces it (two versions cannot share valid_from).
 */
function customerVersions(customerId: string, orders: OrderState[]): CustomerVersion[] {
  const sorted = [...orders].sort((a, b) => a.createdMs - b.createdMs || a.rowNumber - b.rowNumber);
  const out: CustomerVersion[] = [];
  for (const o of sorted) {
    const cur = out[out.length - 1];
    if (cur && cur.country === o.country) continue;
    if (cur && cur.validFromMs === o.createdMs) {
      cur.country = o.country;
      cur.rowNumber = o.rowNumber;
      const prev = out[out.length - 2];
      if (prev && prev.country === cur.country) out.pop();
      continue;
    }
    out.push({ customer_id: customerId, country: o.country, validFromMs: o.createdMs, valid_from: o.created_at, rowNumber: o.rowNumber });
  }
  return out;
}

/**
 * Maps a stream of Online Retail source rows. Yields, in input order, one `order_items` record or
 * one `{ reject }` per row; after the last row, the `orders`, then the `customers` versions (by
 * valid_from), then the `products`. Throws at once (not on first iteration) for an unknown time zone
 * or an empty storeId.
 */
export function mapOnlineRetail(rows: AsyncIterable<SourceRow>, opts: OnlineRetailOptions): AsyncIterable<MappedOutput> {
  const mapper = new OnlineRetailMapper(opts);
  return (async function* () {
    for await (const row of rows) yield mapper.push(row);
    yield* mapper.finish();
  })();
}
