import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import {
  CHANNELS,
  DEMO_COLUMNS,
  DEMO_ENTITIES,
  ORDER_STATUSES,
  PAYMENT_METHODS,
  Rng,
  demoRowCounts,
  generateDemoShop,
  writeDemoFiles,
  type DemoEntity,
  type DemoShop,
  type ExportValue,
} from '../../src/demo/index.js';
import { generateCommand } from '../../src/cli/generate.command.js';
import { tempDir } from '../support/temp.js';

const DAY = 86_400_000;

/** Money string → integer cents, independently of the generator's helpers. */
function cents(s: string): number {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(s);
  assert.ok(m, `money must have exactly 2 decimals: ${s}`);
  const v = Number(m[2]) * 100 + Number(m[3]);
  return m[1] ? -v : v;
}

/** A small RFC 4180 parser: records of fields (handles quotes, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** How a value appears as a CSV field once parsed. */
function csvText(v: ExportValue): string {
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const dirs: (() => void)[] = [];
function newDir(): string {
  const t = tempDir('ecomm-demo-');
  dirs.push(t.cleanup);
  return t.dir;
}
after(() => dirs.forEach((cleanup) => cleanup()));

describe('Rng', () => {
  it('is deterministic per seed and stream, and stays in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 50 }, () => a.uint32());
    assert.deepEqual(xs, Array.from({ length: 50 }, () => b.uint32()));
    assert.notDeepEqual(xs, Array.from({ length: 50 }, () => c.uint32()));
    assert.notDeepEqual(new Rng(42, 'x').uint32(), new Rng(42, 'y').uint32());
    const r = new Rng(-7);
    for (let i = 0; i < 2000; i++) {
      const n = r.int(3, 9);
      assert.ok(n >= 3 && n <= 9 && Number.isInteger(n));
      const f = r.next();
      assert.ok(f >= 0 && f < 1);
    }
    assert.match(r.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('generateDemoShop', () => {
  let shop: DemoShop;
  before(() => {
    shop = generateDemoShop({ seed: 1234, scale: 0.25 });
  });

  it('covers at least a year, ending on a fixed date (not today)', () => {
    assert.ok(shop.days >= 365);
    const times = shop.orders.map((o) => Date.parse(o.created_at));
    const first = Math.min(...times);
    const last = Math.max(...times);
    assert.ok(last - first >= 364 * DAY, `orders span ${(last - first) / DAY} days`);
    assert.ok(first >= Date.parse(`${shop.start}T00:00:00Z`) && last < Date.parse(shop.asOf));
    assert.equal(shop.end, '2026-11-01');
    const days = new Set(shop.orders.map((o) => o.created_at.slice(0, 10)));
    assert.ok(days.size >= 360, `orders on ${days.size} days`);
    // Volume in the expected range for the scale.
    assert.ok(shop.orders.length > 5000 && shop.orders.length < 12000, `${shop.orders.length} orders`);
  });

  it('has weekly and yearly seasonality', () => {
    const perDay = new Map<string, number>();
    for (const o of shop.orders) perDay.set(o.created_at.slice(0, 10), (perDay.get(o.created_at.slice(0, 10)) ?? 0) + 1);
    const avg = (pred: (day: string) => boolean): number => {
      let n = 0;
      let sum = 0;
      for (let ms = Date.parse(`${shop.start}T00:00:00Z`); ms < Date.parse(`${shop.end}T00:00:00Z`); ms += DAY) {
        const day = new Date(ms).toISOString().slice(0, 10);
        if (!pred(day)) continue;
        n++;
        sum += perDay.get(day) ?? 0;
      }
      return sum / n;
    };
    const december = avg((d) => d.slice(5, 7) === '12');
    const springSummer = avg((d) => ['02', '03', '04', '05', '06'].includes(d.slice(5, 7)));
    assert.ok(december > 1.2 * springSummer, `December ${december.toFixed(1)}/day vs Feb–Jun ${springSummer.toFixed(1)}/day`);
    const dow = (d: string) => new Date(`${d}T00:00:00Z`).getUTCDay();
    const saturday = avg((d) => dow(d) === 6);
    const monday = avg((d) => dow(d) === 1);
    assert.ok(saturday < 0.85 * monday, `Saturday ${saturday.toFixed(1)}/day vs Monday ${monday.toFixed(1)}/day`);
  });

  it('has repeat, guest and new customers, and SCD2 history', () => {
    const perCustomer = new Map<string, number>();
    let guests = 0;
    for (const o of shop.orders) {
      if (o.customer_id === '') guests++;
      else perCustomer.set(o.customer_id, (perCustomer.get(o.customer_id) ?? 0) + 1);
    }
    const repeat = [...perCustomer.values()].filter((n) => n > 1).length;
    assert.ok(repeat > 0.2 * perCustomer.size, `${repeat} of ${perCustomer.size} customers ordered more than once`);
    assert.ok(guests > 0.05 * shop.orders.length, `${guests} guest orders`);

    const customerIds = new Set(shop.customers.map((c) => c.customer_id));
    for (const id of perCustomer.keys()) assert.ok(customerIds.has(id), `order customer ${id} exists`);
    const versions = new Map<string, typeof shop.customers>();
    for (const c of shop.customers) versions.set(c.customer_id, [...(versions.get(c.customer_id) ?? []), c]);
    const keys = new Set(shop.customers.map((c) => `${c.customer_id}|${c.updated_at}`));
    assert.equal(keys.size, shop.customers.length, '(customer_id, updated_at) is unique');
    const histories = [...versions.values()].filter((v) => v.length > 1);
    assert.ok(histories.length > 0.02 * versions.size, `${histories.length} customers with history`);
    let countryChanges = 0;
    let segmentChanges = 0;
    for (const h of histories) {
      const sorted = [...h].sort((a, b) => a.updated_at.localeCompare(b.updated_at));
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.country !== sorted[i - 1]!.country) countryChanges++;
        if (sorted[i]!.segment !== sorted[i - 1]!.segment) segmentChanges++;
        assert.equal(sorted[i]!.created_at, sorted[0]!.created_at);
      }
      assert.equal(sorted[0]!.updated_at, sorted[0]!.created_at, 'first version starts at sign-up');
    }
    assert.ok(countryChanges > 0 && segmentChanges > 0, `${countryChanges} country and ${segmentChanges} segment changes`);
    assert.ok(shop.orders.every((o) => o.customer_id === '' || o.country !== ''));
  });

  it('has every status, channel, several countries and every payment method', () => {
    assert.deepEqual(new Set(shop.orders.map((o) => o.status)), new Set(ORDER_STATUSES));
    assert.deepEqual(new Set(shop.orders.map((o) => o.channel)), new Set(CHANNELS));
    assert.ok(new Set(shop.orders.map((o) => o.country)).size >= 5);
    assert.deepEqual(new Set(shop.payments.map((p) => p.method)), new Set(PAYMENT_METHODS));
    assert.ok(shop.payments.some((p) => p.installments > 1));
    const count = (s: string) => shop.orders.filter((o) => o.status === s).length;
    assert.ok(count('returned') > 0.03 * shop.orders.length && count('cancelled') > 0.01 * shop.orders.length);
    for (const o of shop.orders) {
      if (o.status === 'returned') assert.ok(o.returned_at && o.delivered_at && o.shipped_at && o.returned_at > o.delivered_at);
      if (o.status === 'cancelled') assert.equal(o.shipped_at, null);
      if (o.status === 'pending' || o.status === 'paid') assert.equal(o.shipped_at, null);
      if (o.shipped_at) assert.ok(o.shipped_at > o.created_at);
      assert.ok(o.updated_at >= o.created_at && o.updated_at <= shop.asOf);
    }
  });

  it('keeps the money consistent: gross = Σ items, net = gross − discount + shipping + tax', () => {
    const itemsByOrder = new Map<string, typeof shop.order_items>();
    for (const i of shop.order_items) itemsByOrder.set(i.order_id, [...(itemsByOrder.get(i.order_id) ?? []), i]);
    const payByOrder = new Map<string, typeof shop.payments>();
    for (const p of shop.payments) payByOrder.set(p.order_id, [...(payByOrder.get(p.order_id) ?? []), p]);
    const productIds = new Set(shop.products.map((p) => p.product_id));
    for (const o of shop.orders) {
      const items = itemsByOrder.get(o.order_id) ?? [];
      assert.ok(items.length > 0, `${o.order_id} has items`);
      let sum = 0;
      items.forEach((i, k) => {
        assert.equal(i.line_number, k + 1);
        assert.ok(productIds.has(i.product_id));
        assert.ok(Number.isInteger(i.quantity) && i.quantity > 0);
        assert.equal(cents(i.line_amount), i.quantity * cents(i.unit_price) - cents(i.discount), `${o.order_id} line ${i.line_number}`);
        assert.equal(i.created_at, o.created_at);
        sum += cents(i.line_amount);
      });
      const gross = cents(o.gross);
      const discount = cents(o.discount);
      assert.equal(gross, sum, `${o.order_id}: gross = Σ line_amount`);
      assert.ok(discount >= 0 && discount <= gross && cents(o.shipping) >= 0 && cents(o.tax) >= 0);
      assert.equal(cents(o.net), gross - discount + cents(o.shipping) + cents(o.tax), `${o.order_id}: net formula`);
      assert.ok(cents(o.refunded) >= 0 && cents(o.refunded) <= cents(o.net));
      assert.equal(o.currency, 'EUR');
      const pays = payByOrder.get(o.order_id) ?? [];
      const captured = pays.filter((p) => p.status === 'captured').reduce((s, p) => s + cents(p.amount), 0);
      const refunded = pays.filter((p) => p.status === 'refunded').reduce((s, p) => s + cents(p.amount), 0);
      if (o.status === 'delivered' || o.status === 'returned') assert.equal(captured, cents(o.net), `${o.order_id}: captured = net`);
      assert.equal(refunded, cents(o.refunded), `${o.order_id}: refund payments = refunded`);
    }
    assert.equal(new Set(shop.orders.map((o) => o.order_id)).size, shop.orders.length);
    assert.equal(new Set(shop.payments.map((p) => p.payment_id)).size, shop.payments.length);
    assert.equal(new Set(shop.products.map((p) => p.product_id)).size, shop.products.length);
    assert.ok(new Set(shop.products.map((p) => p.category)).size >= 6);
  });

  it('has a purchase funnel with drop-off, linked to orders, and inventory snapshots', () => {
    const sessions = new Map<string, Set<string>>();
    for (const e of shop.events) {
      const types = sessions.get(e.event_type) ?? new Set<string>();
      types.add(e.session_id);
      sessions.set(e.event_type, types);
    }
    const funnel = ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'].map((t) => sessions.get(t)?.size ?? 0);
    for (let i = 1; i < funnel.length; i++) assert.ok(funnel[i]! < funnel[i - 1]! && funnel[i]! > 0, `funnel ${funnel.join(' > ')}`);
    const orderIds = new Set(shop.orders.map((o) => o.order_id));
    const purchases = shop.events.filter((e) => e.event_type === 'purchase');
    assert.ok(purchases.every((e) => orderIds.has(String(e.properties.order_id))));
    assert.equal(new Set(shop.events.map((e) => e.event_id)).size, shop.events.length);

    assert.ok(shop.inventory.length > 0);
    assert.ok(shop.inventory.every((s) => new Date(`${s.snapshot_date}T00:00:00Z`).getUTCDay() === 1 && s.on_hand >= 0 && s.reserved <= s.on_hand));
    assert.deepEqual(new Set(shop.inventory.map((s) => s.warehouse_id)), new Set(['WH-BER', 'WH-RTM']));
  });

  it('keeps a small share of dirty rows apart from the clean records', () => {
    const counts = demoRowCounts(shop);
    for (const e of DEMO_ENTITIES) assert.equal(counts[e].dirty, Math.round(counts[e].clean * 0.005), e);
    assert.ok(shop.dirty.length > 0);
    assert.deepEqual(
      new Set(shop.dirty.map((d) => d.reason)),
      new Set(['negative_amount', 'missing_required', 'invalid_date', 'unknown_value', 'invalid_number']),
    );
    const cleanOrderIds = new Set(shop.orders.map((o) => o.order_id));
    for (const d of shop.dirty.filter((x) => x.entity === 'orders')) {
      assert.ok(d.row.order_id === null || !cleanOrderIds.has(String(d.row.order_id)), 'a dirty order never reuses a clean id');
    }
    const none = generateDemoShop({ seed: 1, scale: 0.05, days: 370, dirtyRate: 0 });
    assert.equal(none.dirty.length, 0);
  });

  it('rejects bad options', () => {
    assert.throws(() => generateDemoShop({ seed: 1.5 }), RangeError);
    assert.throws(() => generateDemoShop({ seed: 1, days: 0 }), RangeError);
    assert.throws(() => generateDemoShop({ seed: 1, scale: -1 }), RangeError);
    assert.throws(() => generateDemoShop({ seed: 1, start: '2025-02-30' }), RangeError);
  });
});

describe('writeDemoFiles', () => {
  it('same seed ⇒ byte-identical CSV files; different seed ⇒ different', async () => {
    const opts = { seed: 99, scale: 0.1 };
    const a = await writeDemoFiles(generateDemoShop(opts), newDir(), 'csv');
    const b = await writeDemoFiles(generateDemoShop(opts), newDir(), 'csv');
    const c = await writeDemoFiles(generateDemoShop({ ...opts, seed: 100 }), newDir(), 'csv');
    assert.equal(a.length, DEMO_ENTITIES.length);
    a.forEach((file, i) => {
      assert.equal(path.basename(file.path), `${file.entity}.csv`);
      assert.equal(sha256File(file.path), sha256File(b[i]!.path), `${file.entity}.csv identical`);
    });
    const orders = (files: typeof a) => files.find((f) => f.entity === 'orders')!.path;
    assert.notEqual(sha256File(orders(a)), sha256File(orders(c)));
  });

  it('writes CSV (RFC 4180) and JSON Lines with every clean and dirty row in place', async () => {
    const shop = generateDemoShop({ seed: 5, scale: 0.1 });
    const counts = demoRowCounts(shop);
    const csv = await writeDemoFiles(shop, newDir(), 'csv');
    const jsonl = await writeDemoFiles(shop, newDir(), 'jsonl');
    for (const entity of DEMO_ENTITIES) {
      const columns = DEMO_COLUMNS[entity].map((c) => c.name);
      const csvFile = csv.find((f) => f.entity === entity)!;
      const records = parseCsv(fs.readFileSync(csvFile.path, 'utf8'));
      assert.deepEqual(records[0], columns, `${entity}.csv header`);
      assert.equal(records.length - 1, counts[entity].total, `${entity}.csv rows`);
      assert.equal(csvFile.rows, counts[entity].total);
      assert.equal(csvFile.dirtyRows, counts[entity].dirty);
      assert.ok(records.every((r) => r.length === columns.length), `${entity}.csv: every record has ${columns.length} fields`);

      const lines = fs.readFileSync(jsonl.find((f) => f.entity === entity)!.path, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      assert.equal(lines.length, counts[entity].total, `${entity}.jsonl rows`);
      const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(Object.keys(objects[0]!), columns);

      for (const d of shop.dirty.filter((x) => x.entity === entity)) {
        assert.equal(records[d.position + 1]![columns.indexOf(d.field)], csvText(d.row[d.field] ?? null), `${entity} dirty row at ${d.position}`);
        assert.deepEqual(objects[d.position]![d.field], d.row[d.field] ?? null);
      }
    }
    // A clean order round-trips, and JSON properties survive CSV quoting.
    const orderRecords = parseCsv(fs.readFileSync(csv.find((f) => f.entity === 'orders')!.path, 'utf8'));
    const firstClean = orderRecords.find((r) => r[0] === shop.orders[0]!.order_id)!;
    assert.equal(firstClean[DEMO_COLUMNS.orders.findIndex((c) => c.name === 'net')], shop.orders[0]!.net);
    const eventRecords = parseCsv(fs.readFileSync(csv.find((f) => f.entity === 'events')!.path, 'utf8'));
    const propsIndex = DEMO_COLUMNS.events.findIndex((c) => c.name === 'properties');
    const purchase = eventRecords.find((r) => r[5] === 'purchase')!;
    assert.ok(typeof (JSON.parse(purchase[propsIndex]!) as { order_id: string }).order_id === 'string');
  });

  it('writes XLSX that reads back with the expected rows', async () => {
    const shop = generateDemoShop({ seed: 11, scale: 0.04, days: 366 });
    const counts = demoRowCounts(shop);
    const files = await writeDemoFiles(shop, newDir(), 'xlsx', { entities: ['orders', 'order_items', 'products'] satisfies DemoEntity[] });
    assert.equal(files.length, 3);
    for (const f of files) {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.readFile(f.path);
      const sheet = wb.getWorksheet(f.entity)!;
      assert.ok(sheet, `sheet ${f.entity}`);
      assert.equal(sheet.actualRowCount, counts[f.entity].total + 1, `${f.entity}.xlsx rows`);
      assert.deepEqual((sheet.getRow(1).values as unknown[]).slice(1), DEMO_COLUMNS[f.entity].map((c) => c.name));
      if (f.entity === 'orders') {
        const netCol = DEMO_COLUMNS.orders.findIndex((c) => c.name === 'net') + 1;
        const row = [...Array(sheet.actualRowCount).keys()].map((i) => sheet.getRow(i + 1)).find((r) => r.getCell(1).value === shop.orders[0]!.order_id)!;
        assert.equal(Number(row.getCell(netCol).value).toFixed(2), shop.orders[0]!.net);
        for (const d of shop.dirty.filter((x) => x.entity === 'orders')) {
          const cell = sheet.getRow(d.position + 2).getCell(DEMO_COLUMNS.orders.findIndex((c) => c.name === d.field) + 1).value;
          const expected = d.row[d.field];
          if (expected === null) assert.equal(cell ?? null, null);
          else assert.equal(String(cell), String(typeof expected === 'string' && /^-?\d+\.\d+$/.test(expected) ? Number(expected) : expected));
        }
      }
    }
  });
});

describe('ecomm generate', () => {
  it('writes the files and prints what it wrote', async () => {
    const dir = newDir();
    let out = '';
    let err = '';
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
    const code = await generateCommand(['--seed', '3', '--format', 'jsonl', '--out', dir, '--scale', '0.04', '--days', '366'], io);
    assert.equal(code, 0, err);
    for (const e of DEMO_ENTITIES) {
      assert.ok(fs.existsSync(path.join(dir, `${e}.jsonl`)));
      assert.match(out, new RegExp(`${e}\\.jsonl\\s+[\\d,]+ rows`));
    }
    assert.match(out, /seed 3/);
  });

  it('prints help and refuses bad usage with exit code 2', async () => {
    let out = '';
    let err = '';
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
    assert.equal(await generateCommand(['--help'], io), 0);
    assert.match(out, /Usage: ecomm generate/);
    assert.equal(await generateCommand(['--format', 'xml'], io), 2);
    assert.match(err, /--format must be one of csv, jsonl, xlsx/);
    assert.equal(await generateCommand(['--seed', 'abc'], io), 2);
    assert.equal(await generateCommand(['--bogus'], io), 2);
    assert.equal(await generateCommand(['--days', '0'], io), 2);
  });
});
