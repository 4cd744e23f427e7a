/**
 * Loads a generated demo shop straight into the warehouse (store, dimensions, facts and the
 * store country's calendar). Only the clean records are loaded; dirty rows exist in exported
 * files only. This is the direct path used by `npm start` on an empty warehouse; the ingestion
 * pipeline is the general one.
 */
import { createHash } from 'node:crypto';
import type { Warehouse } from '../warehouse/client.js';
import { fillCalendar } from '../warehouse/calendar.js';
import type { DemoCustomer, DemoShop, DemoStoreInfo } from './generator.js';

/** Rows inserted per table by {@link loadDemoShop}. */
export interface DemoLoadCounts {
  dim_store: number;
  dim_customer: number;
  dim_product: number;
  dim_date: number;
  fact_orders: number;
  fact_order_items: number;
  fact_payments: number;
  fact_inventory_snapshots: number;
  fact_events: number;
}

/** Options of {@link loadDemoShop}. */
export interface LoadDemoOptions {
  /** Rows per INSERT. @default 50000 */
  batchSize?: number;
  /** The `version` of every row. @default Date.now() */
  version?: number;
  /** @default `demo-<seed>` */
  batchId?: string;
  /** Overrides of the store row (the store id always comes from the shop). */
  store?: Partial<Omit<DemoStoreInfo, 'store_id'>>;
  /** Fill dim_date for the store's country over the data's years. @default true */
  calendar?: boolean;
  /** Progress messages. */
  log?: (message: string) => void;
}

/** valid_to of a customer's current version. */
export const OPEN_VALID_TO = '2299-12-31T00:00:00.000Z';

type Row = Record<string, unknown>;

/** SHA-256 (hex) of the trimmed, lower-cased e-mail address; '' for none. */
export function emailHash(email: string): string {
  const normalized = email.trim().toLowerCase();
  return normalized === '' ? '' : createHash('sha256').update(normalized).digest('hex');
}

/**
 * The SCD type 2 rows of dim_customer from customer versions: per customer, versions ordered by
 * updated_at; each is valid from its updated_at until the next one's (the last stays open until
 * {@link OPEN_VALID_TO} and is the only one with is_current = 1).
 */
export function customerScd2Rows(storeId: string, customers: readonly DemoCustomer[], version: number, batchId: string): Row[] {
  const byId = new Map<string, DemoCustomer[]>();
  for (const c of customers) {
    const list = byId.get(c.customer_id);
    if (list) list.push(c);
    else byId.set(c.customer_id, [c]);
  }
  const rows: Row[] = [];
  for (const [id, versions] of byId) {
    versions.sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0));
    versions.forEach((v, i) => {
      const next = versions[i + 1];
      rows.push({
        store_id: storeId,
        customer_id: id,
        valid_from: v.updated_at,
        valid_to: next ? next.updated_at : OPEN_VALID_TO,
        is_current: next ? 0 : 1,
        name: v.name,
        email_hash: emailHash(v.email),
        country: v.country,
        region: v.region,
        city: v.city,
        segment: v.segment,
        is_inferred: 0,
        updated_at: v.updated_at,
        batch_id: batchId,
        version,
      });
    });
  }
  return rows;
}

/**
 * Inserts the shop's clean records into dim_store, dim_customer (SCD2), dim_product, the fact
 * tables and dim_date (the store country's public holidays for every year of data), in batches.
 * Does not check whether the warehouse already holds data: loading twice replaces rows with the
 * same keys once ReplacingMergeTree merges (or when read with FINAL).
 *
 * @returns rows inserted per table
 */
export async function loadDemoShop(wh: Warehouse, shop: DemoShop, opts: LoadDemoOptions = {}): Promise<DemoLoadCounts> {
  const batchSize = opts.batchSize ?? 50_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const version = opts.version ?? Date.now();
  const batchId = opts.batchId ?? `demo-${shop.seed}`;
  const log = opts.log ?? (() => {});
  const storeId = shop.store.store_id;
  const store: DemoStoreInfo = { ...shop.store, ...opts.store, store_id: storeId };
  const loadedAt = new Date(version).toISOString();

  const insert = async (table: string, rows: readonly Row[]): Promise<number> => {
    for (let i = 0; i < rows.length; i += batchSize) await wh.insert(table, rows.slice(i, i + batchSize));
    log(`${table}: ${rows.length} rows`);
    return rows.length;
  };
  /** Maps records to rows a batch at a time, so the whole table is never converted at once. */
  const insertMapped = async <T>(table: string, records: readonly T[], map: (r: T) => Row): Promise<number> => {
    for (let i = 0; i < records.length; i += batchSize) {
      await wh.insert(table, records.slice(i, i + batchSize).map(map));
    }
    log(`${table}: ${records.length} rows`);
    return records.length;
  };

  const counts: DemoLoadCounts = {
    dim_store: await insert('dim_store', [
      {
        store_id: storeId,
        name: store.name,
        timezone: store.timezone,
        country: store.country,
        currency: store.currency,
        created_at: `${shop.start}T00:00:00.000Z`,
        version,
      },
    ]),
    dim_customer: await insert('dim_customer', customerScd2Rows(storeId, shop.customers, version, batchId)),
    dim_product: await insertMapped('dim_product', shop.products, (p) => ({
      store_id: storeId,
      product_id: p.product_id,
      sku: p.sku,
      name: p.name,
      category: p.category,
      brand: p.brand,
      list_price: p.list_price,
      cost: p.cost,
      is_inferred: 0,
      updated_at: p.updated_at,
      batch_id: batchId,
      version,
    })),
    dim_date: 0,
    fact_orders: await insertMapped('fact_orders', shop.orders, (o) => ({
      store_id: storeId,
      order_id: o.order_id,
      order_kind: o.order_kind,
      customer_id: o.customer_id,
      status: o.status,
      created_at: o.created_at,
      shipped_at: o.shipped_at,
      delivered_at: o.delivered_at,
      returned_at: o.returned_at,
      channel: o.channel,
      country: o.country,
      currency: o.currency,
      gross: o.gross,
      discount: o.discount,
      shipping: o.shipping,
      tax: o.tax,
      net: o.net,
      refunded: o.refunded,
      updated_at: o.updated_at,
      batch_id: batchId,
      version,
      is_deleted: 0,
    })),
    fact_order_items: await insertMapped('fact_order_items', shop.order_items, (i) => ({
      store_id: storeId,
      order_id: i.order_id,
      line_number: i.line_number,
      product_id: i.product_id,
      created_at: i.created_at,
      quantity: i.quantity,
      unit_price: i.unit_price,
      discount: i.discount,
      line_amount: i.line_amount,
      updated_at: i.created_at,
      batch_id: batchId,
      version,
      is_deleted: 0,
    })),
    fact_payments: await insertMapped('fact_payments', shop.payments, (p) => ({
      store_id: storeId,
      payment_id: p.payment_id,
      order_id: p.order_id,
      method: p.method,
      amount: p.amount,
      currency: p.currency,
      status: p.status,
      installments: p.installments,
      paid_at: p.paid_at,
      updated_at: p.updated_at,
      batch_id: batchId,
      version,
      is_deleted: 0,
    })),
    fact_inventory_snapshots: await insertMapped('fact_inventory_snapshots', shop.inventory, (s) => ({
      store_id: storeId,
      snapshot_date: s.snapshot_date,
      product_id: s.product_id,
      warehouse_id: s.warehouse_id,
      on_hand: s.on_hand,
      reserved: s.reserved,
      unit_cost: s.unit_cost,
      updated_at: loadedAt,
      batch_id: batchId,
      version,
      is_deleted: 0,
    })),
    fact_events: await insertMapped('fact_events', shop.events, (e) => ({
      store_id: storeId,
      event_id: e.event_id,
      event_time: e.event_time,
      session_id: e.session_id,
      customer_id: e.customer_id,
      anonymous_id: e.anonymous_id,
      event_type: e.event_type,
      product_id: e.product_id,
      channel: e.channel,
      properties: JSON.stringify(e.properties),
      received_at: e.event_time,
      batch_id: batchId,
      version,
    })),
  };

  if (opts.calendar ?? true) {
    const fromYear = Number(shop.start.slice(0, 4));
    const lastDay = new Date(Date.parse(`${shop.end}T00:00:00.000Z`) - 1);
    const toYear = lastDay.getUTCFullYear();
    counts.dim_date = await fillCalendar(wh, store.country, fromYear, toYear);
    log(`dim_date: ${counts.dim_date} rows (${store.country} ${fromYear}–${toYear})`);
  }
  return counts;
}
