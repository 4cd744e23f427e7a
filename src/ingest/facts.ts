import type { ClickHouseSettings } from '@clickhouse/client';
import type { Entity, EntityRecord } from './validate/entities.js';
import { lineAmount, orderNet, rowHashOfJson, toChTime } from './validate/entities.js';

/**
 * How each fact entity lands in its silver table: the business key (as SQL over the table and
 * as the same string in JS), the day the table is sorted by (a change of it needs a tombstone for
 * the old sort key), and the row builder. Table and column names come only from here.
 */
export interface FactSpec<E extends Entity> {
  entity: E;
  table: string;
  /** SQL expression of the business key over the table's columns. */
  keySql: string;
  /** SQL expression of the sort-key day, or '' when the day is part of the business key. */
  daySql: string;
  /** Tables without is_deleted keep the first version of a key (immutable records). */
  immutable: boolean;
  /**
   * When the business key includes a day that leads the table's sort key: that day as the sort
   * key's SQL over the table (a `Date`), the last day that SQL gives exactly (a `Date` ends at
   * 2149-06-06; later instants wrap around), and the day of a record (days since the epoch, UTC).
   * A lookup of stored keys then reads only the days of the keys it looks for, not the whole store
   * (the whole store when a key's day is past `maxDay`).
   */
  keyDay?: { sql: string; maxDay: number; of(r: EntityRecord<E>): number };
  key(r: EntityRecord<E>): string;
  /** UTC ms the row is sorted and partitioned by. */
  time(r: EntityRecord<E>): number | undefined;
  /** Silver row without store_id, batch_id, version, row_hash (and received_at). */
  row(r: EntityRecord<E>): Record<string, unknown>;
  /**
   * The table has a `received_at` column: the load stamps each row with the time its batch was
   * received (its bronze rows' received_at). Not part of the row or its hash: the same event
   * received again is the same content.
   */
  receivedAt?: boolean;
}

const t = (ms: number | undefined) => (ms === undefined ? null : toChTime(ms));
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export const ORDER_SPEC: FactSpec<'orders'> = {
  entity: 'orders',
  table: 'fact_orders',
  keySql: 'order_id',
  daySql: 'toString(toDate(created_at))',
  immutable: false,
  key: (r) => r.order_id,
  time: (r) => r.created_at,
  row: (r) => {
    const discount = r.discount ?? '0';
    const shipping = r.shipping ?? '0';
    const tax = r.tax ?? '0';
    return {
      order_id: r.order_id,
      order_kind: r.order_kind ?? 'sale',
      customer_id: r.customer_id ?? '',
      status: r.status,
      created_at: t(r.created_at),
      shipped_at: t(r.shipped_at),
      delivered_at: t(r.delivered_at),
      returned_at: t(r.returned_at),
      channel: r.channel ?? '',
      country: r.country ?? '',
      currency: r.currency ?? '',
      gross: r.gross,
      discount,
      shipping,
      tax,
      // net = gross − discount + shipping + tax when the source does not give it
      net: r.net ?? orderNet(r.gross, discount, shipping, tax),
      refunded: r.refunded ?? '0',
      updated_at: t(r.updated_at ?? r.created_at),
    };
  },
};

export const ORDER_ITEM_SPEC: FactSpec<'order_items'> = {
  entity: 'order_items',
  table: 'fact_order_items',
  keySql: "concat(order_id, '|', toString(line_number))",
  daySql: 'toString(toDate(created_at))',
  immutable: false,
  key: (r) => `${r.order_id}|${r.line_number}`,
  time: (r) => r.created_at,
  row: (r) => ({
    order_id: r.order_id,
    line_number: r.line_number,
    product_id: r.product_id,
    created_at: t(r.created_at),
    quantity: r.quantity,
    unit_price: r.unit_price,
    discount: r.discount ?? '0',
    line_amount: r.line_amount ?? lineAmount(r.quantity, r.unit_price, r.discount ?? '0'),
    updated_at: t(r.updated_at ?? r.created_at),
  }),
};

export const PAYMENT_SPEC: FactSpec<'payments'> = {
  entity: 'payments',
  table: 'fact_payments',
  keySql: 'payment_id',
  daySql: 'toString(toDate(paid_at))',
  immutable: false,
  key: (r) => r.payment_id,
  time: (r) => r.paid_at,
  row: (r) => ({
    payment_id: r.payment_id,
    order_id: r.order_id,
    method: r.method,
    amount: r.amount,
    currency: r.currency ?? '',
    status: r.status,
    installments: r.installments ?? 1,
    paid_at: t(r.paid_at),
    updated_at: t(r.updated_at ?? r.paid_at),
  }),
};

export const INVENTORY_SPEC: FactSpec<'inventory'> = {
  entity: 'inventory',
  table: 'fact_inventory_snapshots',
  keySql: "concat(toString(snapshot_date), '|', warehouse_id, '|', product_id)",
  daySql: '',
  immutable: false,
  key: (r) => `${r.snapshot_date}|${r.warehouse_id}|${r.product_id}`,
  time: (r) => Date.parse(r.snapshot_date + 'T00:00:00Z'),
  row: (r) => ({
    snapshot_date: r.snapshot_date,
    product_id: r.product_id,
    warehouse_id: r.warehouse_id,
    on_hand: r.on_hand,
    reserved: r.reserved ?? 0,
    unit_cost: r.unit_cost ?? '0',
    updated_at: t(r.updated_at ?? Date.parse(r.snapshot_date + 'T00:00:00Z')),
  }),
};

/** UTC day of an instant, as days since the epoch. */
export const epochDay = (ms: number) => Math.floor(ms / 86_400_000);
/** A day since the epoch as `YYYY-MM-DD` (a `Date` query parameter). */
export const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);
/** The last day a ClickHouse `Date` holds (2149-06-06): `toDate` of a later instant wraps around. */
const DATE_MAX_DAY = 65_535;
/** An event's UTC day as days since the epoch, in SQL: exact for every accepted time (to 2299). */
const EVENT_DAY_SQL = 'toInt32(toDate32(event_time))';

/**
 * Events: an event is its id on its UTC day (the day leads fact_events' sort key). A repeat of an
 * event (the same id on the same day: a retry, a re-sent batch, a re-imported file) is stored
 * once; the same id on another day is another event. Checking an id against the events of its
 * own day keeps the idempotency check bounded by a day's events instead of growing with every
 * event the store has ever received.
 */
export const EVENT_SPEC: FactSpec<'events'> = {
  entity: 'events',
  table: 'fact_events',
  keySql: `concat(event_id, '|', toString(${EVENT_DAY_SQL}))`,
  daySql: '',
  immutable: true,
  receivedAt: true,
  keyDay: { sql: 'toDate(event_time)', maxDay: DATE_MAX_DAY, of: (r) => epochDay(r.event_time) },
  key: (r) => eventKey(r.event_id!, r.event_time),
  time: (r) => r.event_time,
  row: (r) => ({
    event_id: r.event_id,
    event_time: t(r.event_time),
    session_id: r.session_id ?? '',
    customer_id: r.customer_id ?? '',
    anonymous_id: r.anonymous_id ?? '',
    event_type: r.event_type,
    product_id: r.product_id ?? '',
    channel: r.channel ?? '',
    properties: r.properties ?? '{}',
  }),
};

/**
 * The condition (`AND …`, with its `days` parameter) that keeps a lookup of `spec`'s stored keys to
 * the keys' days (`keyDay.of` of their records); none when the spec has no key day or a day is
 * past what the sort key's day holds (the lookup then reads the whole store).
 */
export function keyDayFilter<E extends Entity>(spec: FactSpec<E>, days: Iterable<number>): { sql: string; params: Record<string, unknown> } {
  const keyDay = spec.keyDay;
  if (!keyDay) return { sql: '', params: {} };
  const distinct = new Set(days);
  for (const d of distinct) if (d > keyDay.maxDay) return { sql: '', params: {} };
  return { sql: `AND ${keyDay.sql} IN {days:Array(Date)}`, params: { days: [...distinct].map(isoDay) } };
}

/** An event's business key: its id and its UTC day (see {@link EVENT_SPEC}). */
export function eventKey(eventId: string, eventTimeMs: number): string {
  return eventId + '|' + epochDay(eventTimeMs);
}

/**
 * Settings of the loads' inserts (a few MB each: a live-events group, a file import's chunk).
 * Parallel parsing splits an insert's text among threads of its own, which costs more than it
 * saves at this size (≈ 0.2–0.3 µs a row of CPU). The fact rows of one insert have distinct sort
 * keys (one row per business key, a tombstone under the key's old day), so a ReplacingMergeTree
 * has nothing to collapse within it: `optimize_on_insert` would sort and scan it for nothing
 * (≈ 0.6 µs a row).
 */
export const LOAD_INSERT_SETTINGS: ClickHouseSettings = { input_format_parallel_parsing: 0 };
export const FACT_INSERT_SETTINGS: ClickHouseSettings = { input_format_parallel_parsing: 0, optimize_on_insert: 0 };

export const FACT_SPECS = {
  orders: ORDER_SPEC,
  order_items: ORDER_ITEM_SPEC,
  payments: PAYMENT_SPEC,
  inventory: INVENTORY_SPEC,
  events: EVENT_SPEC,
} as const;
export type FactEntity = keyof typeof FACT_SPECS;

/**
 * Per row shape, computed once: for the hash's key order (localeCompare, as stored hashes were
 * made; `updated_at` left out), each key's position in the row (`at`) and the JSON text before
 * its value (`glue`).
 */
interface RowShape {
  glue: string[];
  at: number[];
}
const shapes = new Map<string, RowShape>();

/** The last shape asked for, by its keys (a loader asks for the same one row after row). */
let lastShape: { keys: string[]; shape: RowShape } | undefined;

function shapeOf(keys: string[]): RowShape {
  const last = lastShape;
  if (last && last.keys.length === keys.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === last.keys[i];
    if (same) return last.shape;
  }
  const shape = shapeByKey(keys);
  lastShape = { keys, shape };
  return shape;
}

function shapeByKey(keys: string[]): RowShape {
  const key = keys.join(',');
  let shape = shapes.get(key);
  if (!shape) {
    const order = keys.filter((k) => k !== 'updated_at').sort((a, b) => a.localeCompare(b));
    // JSON.stringify([[k0, v0], [k1, v1]]) = '[[' + "k0" + ',' + v0 + '],[' + "k1" + ',' + v1 + ']]'
    const glue = order.map((k, i) => (i === 0 ? '[[' : '],[') + JSON.stringify(k) + ',');
    shape = { glue, at: order.map((k) => keys.indexOf(k)) };
    if (shapes.size < 1000) shapes.set(key, shape);
  }
  return shape;
}

/**
 * Hash of a silver row's business content (timestamps of the load excluded): exactly
 * `rowHash(order.map((k) => [k, row[k]]))` over the keys in localeCompare order, without
 * `updated_at`; the JSON text is built without the pair arrays (see {@link encodeFactRow}).
 */
export function factHash(row: Record<string, unknown>): string {
  return encodeFactRow(row).hash;
}

/**
 * A silver row's {@link factHash} and its values as JSON text in the row's key order, joined by
 * commas (the inside of its JSONCompactEachRow array), each value serialized once for both.
 * `values` is undefined when a value is undefined (JSON has no such value: the row must go as
 * JSONEachRow, where the missing key means the column's default).
 */
export function encodeFactRow(row: Record<string, unknown>): { hash: string; values: string | undefined } {
  const keys = Object.keys(row);
  const { glue, at } = shapeOf(keys);
  // Scratch arrays, joined into flat strings (no chain of concatenations to flatten later).
  const json = scratchJson;
  json.length = keys.length;
  let defined = true;
  for (let i = 0; i < keys.length; i++) {
    const s = JSON.stringify(row[keys[i]!]);
    if (s === undefined) defined = false;
    json[i] = s ?? 'null';
  }
  const values = defined ? json.join(',') : undefined;
  if (at.length === 0) return { hash: rowHashOfJson('[]'), values };
  const parts = scratchParts;
  parts.length = 2 * at.length + 1;
  for (let i = 0; i < at.length; i++) {
    parts[2 * i] = glue[i]!;
    parts[2 * i + 1] = json[at[i]!]!;
  }
  parts[2 * at.length] = ']]';
  return { hash: rowHashOfJson(parts.join('')), values };
}
const scratchJson: string[] = [];
const scratchParts: string[] = [];

export { day as utcDay };
