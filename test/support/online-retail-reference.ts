/**
 * Test support for the `online-retail` format:
 *
 * - `onlineRetailCsvPath()`: where the real UCI file lives (outside the repository);
 * - `readOnlineRetailCsv()`: a small line-based RFC 4180 reader (ISO-8859-1) producing SourceRow
 *   objects, to feed the mapper without depending on src/ingest/parsers;
 * - `computeOnlineRetailReference()`: an INDEPENDENT computation of the totals the mapper's output
 *   must reproduce, written as one straightforward pass over the raw lines. It shares no code with
 *   the mapper (own field splitting, own decimal arithmetic, duplicates by raw line text, local-time
 *   ordering) so a bug in one is not silently repeated in the other.
 *
 * Money totals are BigInt ten-thousandths of a pound (exact to 1/10000).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../../src/config/paths.js';

export function onlineRetailCsvPath(): string {
  return path.join(projectRoot(), '..', 'shared', 'datasets', 'online-retail', 'online_retail.csv');
}

/** Same shape as src/ingest/parsers' SourceRow. */
export interface CsvSourceRow {
  rowNumber: number;
  fields: Record<string, unknown>;
  raw: string;
  error?: { code: 'malformed_row'; message: string; field?: string };
}

function lines(file: string): AsyncIterable<string> {
  return readline.createInterface({ input: fs.createReadStream(file, { encoding: 'latin1' }), crlfDelay: Infinity });
}

/** RFC 4180 fields of one record (quotes doubled inside quoted fields); undefined on a stray quote. */
export function splitCsvRecord(record: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (record[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = record.indexOf('"', i);
        if (q < 0) return undefined;
        v += record.slice(i, q);
        if (record[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      if (i === record.length) return out;
      if (record[i] !== ',') return undefined;
      i++;
    } else {
      const c = record.indexOf(',', i);
      const v = c < 0 ? record.slice(i) : record.slice(i, c);
      if (v.includes('"')) return undefined;
      out.push(v);
      if (c < 0) return out;
      i = c + 1;
    }
  }
}

/**
 * Streams a CSV file (latin1, CRLF or LF) as SourceRows: header names lower-cased as field keys,
 * rowNumber = 1 for the first data row, a record spanning lines when a quoted field holds a newline.
 */
export async function* readOnlineRetailCsv(file: string): AsyncGenerator<CsvSourceRow> {
  let header: string[] | undefined;
  let pending = '';
  let rowNumber = 0;
  for await (const line of lines(file)) {
    const rec = pending === '' ? line : pending + '\n' + line;
    // an odd number of quotes so far: the record continues on the next line
    if ((rec.split('"').length - 1) % 2 === 1) {
      pending = rec;
      continue;
    }
    pending = '';
    if (!header) {
      header = (splitCsvRecord(rec) ?? []).map((h) => h.trim().toLowerCase());
      continue;
    }
    if (rec === '') continue;
    rowNumber++;
    const values = splitCsvRecord(rec);
    if (!values || values.length !== header.length) {
      yield {
        rowNumber,
        fields: {},
        raw: rec,
        error: { code: 'malformed_row', message: values ? `expected ${header.length} fields, got ${values.length}` : 'bad quoting' },
      };
      continue;
    }
    const fields: Record<string, unknown> = {};
    header.forEach((h, k) => (fields[h] = values[k]));
    yield { rowNumber, fields, raw: rec };
  }
  if (pending !== '') yield { rowNumber: rowNumber + 1, fields: {}, raw: pending, error: { code: 'malformed_row', message: 'unterminated quote' } };
}

// ---------------------------------------------------------------------------------------------
// The independent reference

export interface OnlineRetailTotals {
  /** Lines read (data rows). */
  lines: number;
  acceptedLines: number;
  /** Sum of the amounts of accepted sale lines. */
  saleRevenue: bigint;
  /** Positive: minus the sum of the amounts of accepted cancellation lines. */
  refundTotal: bigint;
  /** saleRevenue − refundTotal. */
  netRevenue: bigint;
  /** Net (sale minus refund) amount of the accepted non-merchandise lines. */
  nonMerchandiseRevenue: bigint;
  saleOrders: number;
  cancellationOrders: number;
  /** Orders of either kind without a customer. */
  guestOrders: number;
  guestSaleOrders: number;
  customers: number;
  /** SCD2 versions: per customer, 1 + the number of country changes along their orders in time. */
  customerVersions: number;
  products: number;
  nonMerchandiseProducts: number;
  rejects: Record<string, number>;
}

/** Decimal text → ten-thousandths, by string surgery (no shared helper with the mapper). */
function tenThousandths(s: string): bigint {
  let t = s.trim();
  let sign = 1n;
  if (t.startsWith('-')) {
    sign = -1n;
    t = t.slice(1);
  }
  const dot = t.indexOf('.');
  const whole = dot < 0 ? t : t.slice(0, dot);
  const frac = dot < 0 ? '' : t.slice(dot + 1);
  if (frac.length > 4 && /[1-9]/.test(frac.slice(4))) throw new Error(`reference: price finer than 1/10000: ${s}`);
  return sign * (BigInt(whole || '0') * 10000n + BigInt((frac.slice(0, 4) + '0000').slice(0, 4)));
}

/** `M/D/YYYY H:MM` → a number that sorts like the local time (YYYYMMDDHHMM). */
function localSortKey(s: string): number {
  const [date, time] = s.trim().split(/\s+/);
  const [mo, d, y] = date!.split('/').map(Number);
  const [h, mi] = time!.split(':').map(Number);
  return ((((y! * 100 + mo!) * 100 + d!) * 100 + h!) * 100 + mi!);
}

/**
 * One pass over the raw file applying the format's rules line by line, in the documented order:
 * unknown invoice type, then exact duplicate (of any earlier line reaching that check), then negative
 * price, then the quantity sign. The real file has no empty required fields or unparsable values;
 * the reference throws if it meets one rather than guessing.
 */
export async function computeOnlineRetailReference(file: string): Promise<OnlineRetailTotals> {
  const t: OnlineRetailTotals = {
    lines: 0,
    acceptedLines: 0,
    saleRevenue: 0n,
    refundTotal: 0n,
    netRevenue: 0n,
    nonMerchandiseRevenue: 0n,
    saleOrders: 0,
    cancellationOrders: 0,
    guestOrders: 0,
    guestSaleOrders: 0,
    customers: 0,
    customerVersions: 0,
    products: 0,
    nonMerchandiseProducts: 0,
    rejects: {},
  };
  const seenLines = new Set<string>();
  // invoice → the customer, country and local time of its first accepted line
  const invoices = new Map<string, { customer: string; country: string; when: number; index: number }>();
  const products = new Set<string>();
  let first = true;
  const reject = (why: string) => (t.rejects[why] = (t.rejects[why] ?? 0) + 1);

  for await (const line of lines(file)) {
    if (first) {
      first = false;
      continue;
    }
    if (line === '') continue;
    if ((line.split('"').length - 1) % 2 === 1) throw new Error('reference: a record spans lines; not supported');
    t.lines++;
    // fields by regex: quoted ("...", "" inside) or bare
    const cells: string[] = [];
    const re = /(?:"((?:[^"]|"")*)"|([^,"]*))(,|$)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line))) {
      cells.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
      if (m[3] === '') break;
    }
    if (cells.length !== 8) throw new Error(`reference: ${cells.length} fields in line ${t.lines}`);
    const [invoice, stock, , qtyText, dateText, priceText, customerText, country] = cells as [string, string, string, string, string, string, string, string];

    const isSale = /^[0-9]+$/.test(invoice);
    const isCancel = invoice[0] === 'C' && /^[0-9]+$/.test(invoice.slice(1));
    if (!isSale && !isCancel) {
      reject('unknown_invoice_type');
      continue;
    }
    if (seenLines.has(line)) {
      reject('duplicate');
      continue;
    }
    seenLines.add(line);
    const price = tenThousandths(priceText);
    const qty = BigInt(qtyText.trim());
    if (price < 0n) {
      reject('negative_price');
      continue;
    }
    if (isSale && qty < 0n) {
      reject('negative_quantity');
      continue;
    }
    if (isCancel && qty > 0n) {
      reject('positive_quantity_in_cancellation');
      continue;
    }

    t.acceptedLines++;
    const amount = qty * price;
    if (isSale) t.saleRevenue += amount;
    else t.refundTotal -= amount;
    const code = stock.trim().toUpperCase();
    const merch = code.length >= 5 && [...code.slice(0, 5)].every((c) => c >= '0' && c <= '9');
    if (!merch) t.nonMerchandiseRevenue += amount;
    if (!products.has(code)) {
      products.add(code);
      t.products++;
      if (!merch) t.nonMerchandiseProducts++;
    }
    if (!invoices.has(invoice)) {
      const customer = customerText.trim().replace(/\.0+$/, '');
      invoices.set(invoice, { customer, country: country.trim(), when: localSortKey(dateText), index: t.lines });
      if (isSale) t.saleOrders++;
      else t.cancellationOrders++;
      if (customer === '') {
        t.guestOrders++;
        if (isSale) t.guestSaleOrders++;
      }
    }
  }
  t.netRevenue = t.saleRevenue - t.refundTotal;

  const perCustomer = new Map<string, { country: string; when: number; index: number }[]>();
  for (const inv of invoices.values()) {
    if (inv.customer === '') continue;
    const list = perCustomer.get(inv.customer) ?? [];
    list.push(inv);
    perCustomer.set(inv.customer, list);
  }
  t.customers = perCustomer.size;
  for (const list of perCustomer.values()) {
    list.sort((a, b) => a.when - b.when || a.index - b.index);
    let versions = 1;
    for (let i = 1; i < list.length; i++) if (list[i]!.country !== list[i - 1]!.country) versions++;
    t.customerVersions += versions;
  }
  return t;
}

/** Ten-thousandths → `1234.5678` (always 4 decimals), for printing. */
export function formatTenThousandths(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / 10000n}.${(a % 10000n).toString().padStart(4, '0')}`;
}
