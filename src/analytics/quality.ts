import { randomUUID } from 'node:crypto';
import type { Warehouse } from '../warehouse/client.js';

/**
 * Data-quality checks of one store (issue 4, item 7), stored per run. Every check measures a
 * *badness* value — a share of rows (0..1), or hours for freshness — and compares it with two
 * thresholds: PASS when value ≤ warn, WARN when warn < value ≤ fail, FAIL when value > fail.
 * Each result keeps up to `sampleSize` offending ids. Tables without rows for the store are not
 * checked (no result rows), so a store that never sends events gets no events checks.
 *
 * - COMPLETENESS `not_empty:<field>`: share of current rows whose field is empty. Fields the ingest
 *   requires (ids, status, event type …) fail at any missing value; fields analytics need but the
 *   ingest allows to be blank (order country and currency, event session, customer country,
 *   product name and category) warn above 1 % and fail above 5 %.
 * - UNIQUENESS `unique_key`: share of business keys held by more than one current row (e.g. an
 *   order under two days because a move lost its tombstone). Any duplicate fails.
 * - VALIDITY `reject_rate` and `reject_rate:<reason>`: rejected records / rows read of the
 *   batches started in the last `validityWindowDays` (ingest_batches, rejected_records), per
 *   entity; warn above 1 %, fail above 5 %. Samples are `<batch_id>#<row_number>`.
 * - CONSISTENCY `items_match_total` (orders whose Σ line_amount differs from gross by more than
 *   `amountTolerance`; warn above 0, fail above 1 %), `payments_cover_orders` (sale orders past
 *   pending and not cancelled, older than a day, whose captured/authorized payments are below
 *   net − tolerance, when the store sends payments at all; warn above 0.5 %, fail above 2 %),
 *   `orphan_items` / `orphan_payments` (rows whose order is not a current order; warn above 0,
 *   fail above 0.1 %), `unknown_customers` / `unknown_products` (orders / lines referring to a
 *   customer / product that is only an inferred member or missing; warn above 1 %, fail above 5 %).
 * - FRESHNESS `freshness`: hours from the newest business timestamp of the table to `asOf`,
 *   against a cadence per table (orders, items, payments: warn 24 h, fail 72 h; events: 6 h /
 *   24 h; inventory snapshots (end of the snapshot day): 36 h / 72 h), configurable.
 */

export type QualityDimension = 'COMPLETENESS' | 'UNIQUENESS' | 'VALIDITY' | 'CONSISTENCY' | 'FRESHNESS';
export type QualityStatus = 'PASS' | 'WARN' | 'FAIL';

/** One check's outcome. */
export interface QualityResult {
  table: string;
  check: string;
  dimension: QualityDimension;
  value: number;
  warnThreshold: number;
  threshold: number;
  status: QualityStatus;
  offending: number;
  checked: number;
  sampleIds: string[];
  message: string;
}

export interface Thresholds {
  warn: number;
  fail: number;
}

export interface QualityOptions {
  storeId: string;
  runId: string;
  /** The instant freshness and the validity window are measured from. @default now */
  asOf?: Date | string | number;
  /** Offending ids kept per check. @default 10 */
  sampleSize?: number;
  /** Days of ingest batches the reject rates cover. @default 7 */
  validityWindowDays?: number;
  /** Money difference tolerated between items and order totals, and payments and orders. @default 0.01 */
  amountTolerance?: number;
  /** Freshness cadence per table, in hours (merged over the defaults). */
  freshness?: Partial<Record<FreshTable, Thresholds>>;
  /** Threshold overrides per check name (e.g. 'reject_rate', 'items_match_total', 'not_empty:country'). */
  thresholds?: Record<string, Thresholds>;
}

type FreshTable = 'fact_orders' | 'fact_order_items' | 'fact_payments' | 'fact_events' | 'fact_inventory_snapshots';

export const DEFAULT_FRESHNESS: Record<FreshTable, Thresholds> = {
  fact_orders: { warn: 24, fail: 72 },
  fact_order_items: { warn: 24, fail: 72 },
  fact_payments: { warn: 24, fail: 72 },
  fact_events: { warn: 6, fail: 24 },
  fact_inventory_snapshots: { warn: 36, fail: 72 },
};

const REQUIRED: Thresholds = { warn: 0, fail: 0 };
const EXPECTED: Thresholds = { warn: 0.01, fail: 0.05 };
export const DEFAULT_THRESHOLDS: Record<string, Thresholds> = {
  unique_key: { warn: 0, fail: 0 },
  reject_rate: { warn: 0.01, fail: 0.05 },
  items_match_total: { warn: 0, fail: 0.01 },
  payments_cover_orders: { warn: 0.005, fail: 0.02 },
  orphan_items: { warn: 0, fail: 0.001 },
  orphan_payments: { warn: 0, fail: 0.001 },
  unknown_customers: { warn: 0.01, fail: 0.05 },
  unknown_products: { warn: 0.01, fail: 0.05 },
};

/**
 * The tables checked, with their current-row filter, business key and fields (SQL over fixed
 * column names only). `empty` is the SQL of "this field is missing".
 */
interface TableSpec {
  table: string;
  /** Current rows of the store. */
  where: string;
  key: string;
  fields: Array<{ name: string; empty: string; level: Thresholds }>;
  /** Newest business instant, as SQL (DateTime64). */
  freshness?: string;
  /** Uniqueness key among current rows ('' = the engine's sort key already guarantees it). */
  unique?: string;
}

const blank = (col: string) => `trimBoth(${col}) = ''`;
const TABLES: TableSpec[] = [
  {
    table: 'fact_orders',
    where: 'is_deleted = 0',
    key: 'order_id',
    fields: [
      { name: 'order_id', empty: blank('order_id'), level: REQUIRED },
      { name: 'status', empty: blank('status'), level: REQUIRED },
      { name: 'country', empty: blank('country'), level: EXPECTED },
      { name: 'currency', empty: blank('currency'), level: EXPECTED },
    ],
    freshness: 'max(created_at)',
    unique: 'order_id',
  },
  {
    table: 'fact_order_items',
    where: 'is_deleted = 0',
    key: "concat(order_id, '|', toString(line_number))",
    fields: [
      { name: 'order_id', empty: blank('order_id'), level: REQUIRED },
      { name: 'product_id', empty: blank('product_id'), level: REQUIRED },
    ],
    freshness: 'max(created_at)',
    unique: "concat(order_id, '|', toString(line_number))",
  },
  {
    table: 'fact_payments',
    where: 'is_deleted = 0',
    key: 'payment_id',
    fields: [
      { name: 'payment_id', empty: blank('payment_id'), level: REQUIRED },
      { name: 'order_id', empty: blank('order_id'), level: REQUIRED },
      { name: 'method', empty: blank('method'), level: REQUIRED },
      { name: 'status', empty: blank('status'), level: REQUIRED },
    ],
    freshness: 'max(paid_at)',
    unique: 'payment_id',
  },
  {
    table: 'fact_events',
    where: '1',
    // An event is its id on its UTC day (the ingest's idempotency key, see EVENT_SPEC).
    key: "concat(event_id, '|', toString(toDate32(event_time)))",
    fields: [
      { name: 'event_id', empty: blank('event_id'), level: REQUIRED },
      { name: 'event_type', empty: blank('event_type'), level: REQUIRED },
      { name: 'session_id', empty: blank('session_id'), level: EXPECTED },
    ],
    freshness: 'max(event_time)',
    unique: "concat(event_id, '|', toString(toDate32(event_time)))",
  },
  {
    table: 'fact_inventory_snapshots',
    where: 'is_deleted = 0',
    key: "concat(toString(snapshot_date), '|', warehouse_id, '|', product_id)",
    fields: [
      { name: 'product_id', empty: blank('product_id'), level: REQUIRED },
      { name: 'warehouse_id', empty: blank('warehouse_id'), level: REQUIRED },
    ],
    // A snapshot is the stock at the end of its day.
    freshness: "toDateTime64(max(snapshot_date) + 1, 3, 'UTC')",
  },
  {
    table: 'dim_customer',
    where: 'is_current = 1 AND is_inferred = 0',
    key: 'customer_id',
    fields: [
      { name: 'customer_id', empty: blank('customer_id'), level: REQUIRED },
      { name: 'country', empty: blank('country'), level: EXPECTED },
    ],
    unique: 'customer_id',
  },
  {
    table: 'dim_product',
    where: 'is_inferred = 0',
    key: 'product_id',
    fields: [
      { name: 'product_id', empty: blank('product_id'), level: REQUIRED },
      { name: 'name', empty: blank('name'), level: EXPECTED },
      { name: 'category', empty: `${blank('category')} OR category = 'uncategorized'`, level: EXPECTED },
    ],
  },
];

/** Entity of an ingest batch → the table its records land in. */
const ENTITY_TABLE: Record<string, string> = {
  orders: 'fact_orders',
  order_items: 'fact_order_items',
  payments: 'fact_payments',
  inventory: 'fact_inventory_snapshots',
  events: 'fact_events',
  customers: 'dim_customer',
  products: 'dim_product',
};

/** Offending ids collected per check (a fixed aggregate parameter; sampleSize keeps ≤ this many). */
const MAX_SAMPLE = 100;

/** PASS / WARN / FAIL of a badness value. */
export function statusOf(value: number, t: Thresholds): QualityStatus {
  if (value > t.fail) return 'FAIL';
  if (value > t.warn) return 'WARN';
  return 'PASS';
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const num = (x: unknown) => Number(x);

function parseAsOf(asOf: QualityOptions['asOf']): number {
  if (asOf === undefined) return Date.now();
  const ms = asOf instanceof Date ? asOf.getTime() : typeof asOf === 'number' ? asOf : Date.parse(asOf);
  if (!Number.isFinite(ms)) throw new RangeError(`asOf ${String(asOf)} is not a valid instant`);
  return ms;
}
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Computes every check for a store without storing anything. */
export async function computeDataQuality(wh: Warehouse, opts: Omit<QualityOptions, 'runId'>): Promise<QualityResult[]> {
  const store = opts.storeId;
  const n = opts.sampleSize ?? 10;
  if (!Number.isInteger(n) || n < 0 || n > MAX_SAMPLE) throw new RangeError(`sampleSize must be an integer 0..${MAX_SAMPLE}`);
  const asOf = parseAsOf(opts.asOf);
  const tol = String(opts.amountTolerance ?? 0.01);
  const limits = (check: string, fallback?: Thresholds): Thresholds => {
    const t = opts.thresholds?.[check] ?? DEFAULT_THRESHOLDS[check] ?? fallback;
    if (!t) throw new Error(`no thresholds for data-quality check ${check}`);
    if (!(t.warn <= t.fail)) throw new RangeError(`thresholds of ${check}: warn ${t.warn} must be ≤ fail ${t.fail}`);
    return t;
  };
  const out: QualityResult[] = [];
  const add = (r: Omit<QualityResult, 'status' | 'warnThreshold' | 'threshold'>, t: Thresholds) =>
    out.push({ ...r, warnThreshold: t.warn, threshold: t.fail, status: statusOf(r.value, t) });
  const p = { store, n };

  // Completeness, uniqueness and freshness, per table: one pass over its current rows (FINAL),
  // grouped by business key when the table has a uniqueness check (its rows' counts, empties and
  // newest instant summed over the keys), else a plain count.
  for (const spec of TABLES) {
    const fresh = spec.freshness ? `, toUnixTimestamp64Milli(${spec.unique ? 'max(newest)' : spec.freshness}) AS newest_ms` : '';
    const sql = spec.unique
      ? `SELECT sum(c) AS total, count() AS keys, countIf(c > 1) AS dups, groupArrayIf(100)(k, c > 1) AS dup_sample,
                ${spec.fields.map((_, i) => `sum(x${i}) AS e${i}, groupArrayIf(100)(k, x${i} > 0) AS s${i}`).join(', ')}${fresh}
           FROM (SELECT ${spec.unique} AS k, count() AS c, ${spec.fields.map((f, i) => `countIf(${f.empty}) AS x${i}`).join(', ')}
                        ${spec.freshness ? `, ${spec.freshness} AS newest` : ''}
                   FROM ${spec.table} FINAL WHERE store_id = {store:String} AND ${spec.where} GROUP BY k)`
      : `SELECT count() AS total, ${spec.fields.map((f, i) => `countIf(${f.empty}) AS e${i}, groupArrayIf(100)(${spec.key}, ${f.empty}) AS s${i}`).join(', ')}${fresh}
           FROM ${spec.table} FINAL WHERE store_id = {store:String} AND ${spec.where}`;
    const [row] = await wh.query<Record<string, unknown>>(sql, p);
    const total = num(row?.['total'] ?? 0);
    if (total === 0) continue;
    spec.fields.forEach((f, i) => {
      const bad = num(row![`e${i}`]);
      add(
        {
          table: spec.table,
          check: `not_empty:${f.name}`,
          dimension: 'COMPLETENESS',
          value: bad / total,
          offending: bad,
          checked: total,
          sampleIds: row![`s${i}`] as string[],
          message: `${bad} of ${total} current rows have no ${f.name} (${pct(bad / total)})`,
        },
        limits(`not_empty:${f.name}`, f.level),
      );
    });
    if (spec.unique) {
      const keys = num(row!['keys']);
      const dups = num(row!['dups']);
      add(
        {
          table: spec.table,
          check: 'unique_key',
          dimension: 'UNIQUENESS',
          value: keys ? dups / keys : 0,
          offending: dups,
          checked: keys,
          sampleIds: row!['dup_sample'] as string[],
          message: `${dups} of ${keys} keys are held by more than one current row`,
        },
        limits('unique_key'),
      );
    }
    if (spec.freshness) {
      const newest = num(row!['newest_ms']);
      const t = { ...DEFAULT_FRESHNESS[spec.table as FreshTable], ...opts.freshness?.[spec.table as FreshTable] };
      const lag = (asOf - newest) / 3_600_000;
      add(
        {
          table: spec.table,
          check: 'freshness',
          dimension: 'FRESHNESS',
          value: Math.round(lag * 100) / 100,
          offending: 0,
          checked: total,
          sampleIds: [],
          message: `newest data ${new Date(newest).toISOString()}, ${lag.toFixed(1)} h before ${new Date(asOf).toISOString()} (expected within ${t.warn} h)`,
        },
        t,
      );
    }
  }

  // Validity: reject rates of the recent batches, per entity and per reason.
  const windowStart = chTime(asOf - (opts.validityWindowDays ?? 7) * 86_400_000);
  const batches = await wh.query<{ entity: string; batches: string; rows_in: string; rows_out: string }>(
    `SELECT entity, count() AS batches, sum(rows_read) AS rows_in, sum(rows_rejected) AS rows_out
       FROM ingest_batches FINAL
      WHERE store_id = {store:String} AND status = 'completed' AND started_at >= {from:DateTime64(3)} AND started_at <= {to:DateTime64(3)}
      GROUP BY entity ORDER BY entity`,
    { ...p, from: windowStart, to: chTime(asOf) },
  );
  const reasons = await wh.query<{ batch_entity: string; reason: string; rejects: string; sample: string[] }>(
    `SELECT b.entity AS batch_entity, r.reason_code AS reason, count() AS rejects,
            groupArray(100)(concat(r.batch_id, '#', toString(r.row_number))) AS sample
       FROM rejected_records AS r
      INNER JOIN (SELECT batch_id, entity FROM ingest_batches FINAL
                   WHERE store_id = {store:String} AND status = 'completed'
                     AND started_at >= {from:DateTime64(3)} AND started_at <= {to:DateTime64(3)}) AS b
         ON b.batch_id = r.batch_id
      WHERE r.store_id = {store:String}
      GROUP BY batch_entity, reason ORDER BY batch_entity, reason`,
    { ...p, from: windowStart, to: chTime(asOf) },
  );
  for (const b of batches) {
    const read = num(b.rows_in);
    const rejected = num(b.rows_out);
    const table = ENTITY_TABLE[b.entity] ?? b.entity;
    const mine = reasons.filter((r) => r.batch_entity === b.entity);
    add(
      {
        table,
        check: 'reject_rate',
        dimension: 'VALIDITY',
        value: read ? rejected / read : 0,
        offending: rejected,
        checked: read,
        sampleIds: mine.flatMap((r) => r.sample).slice(0, n),
        message: `${rejected} of ${read} rows rejected (${pct(read ? rejected / read : 0)}) in ${b.batches} ${b.entity} batches since ${windowStart} UTC` +
          (mine.length ? `: ${mine.map((r) => `${r.reason} ${r.rejects}`).join(', ')}` : ''),
      },
      limits('reject_rate'),
    );
    for (const r of mine) {
      const k = num(r.rejects);
      add(
        {
          table,
          check: `reject_rate:${r.reason}`,
          dimension: 'VALIDITY',
          value: read ? k / read : 0,
          offending: k,
          checked: read,
          sampleIds: r.sample,
          message: `${k} of ${read} rows rejected for ${r.reason} (${pct(read ? k / read : 0)})`,
        },
        limits(`reject_rate:${r.reason}`, limits('reject_rate')),
      );
    }
  }

  // Consistency.
  const consistency = async (table: string, check: string, sql: string, describe: (bad: number, total: number) => string, extra: Record<string, unknown> = {}) => {
    const [r] = await wh.query<{ total: string; bad: string; sample: string[] }>(sql, { ...p, tol, ...extra });
    const total = num(r?.total ?? 0);
    if (total === 0) return;
    const bad = num(r!.bad);
    add({ table, check, dimension: 'CONSISTENCY', value: bad / total, offending: bad, checked: total, sampleIds: r!.sample, message: describe(bad, total) }, limits(check));
  };
  const ORDERS = `SELECT order_id, order_kind, status, customer_id, created_at, gross, net FROM fact_orders FINAL
                   WHERE store_id = {store:String} AND is_deleted = 0`;
  const ITEMS = `SELECT order_id, line_number, product_id, line_amount FROM fact_order_items FINAL
                  WHERE store_id = {store:String} AND is_deleted = 0`;
  const PAYMENTS = `SELECT payment_id, order_id, status, amount FROM fact_payments FINAL
                     WHERE store_id = {store:String} AND is_deleted = 0`;

  await consistency(
    'fact_orders',
    'items_match_total',
    `SELECT count() AS total, countIf(abs(o.gross - i.lines) > toDecimal64({tol:String}, 4)) AS bad,
            groupArrayIf(100)(o.order_id, abs(o.gross - i.lines) > toDecimal64({tol:String}, 4)) AS sample
       FROM (${ORDERS}) AS o
      INNER JOIN (SELECT order_id, sum(line_amount) AS lines FROM (${ITEMS}) GROUP BY order_id) AS i ON i.order_id = o.order_id`,
    (bad, total) => `${bad} of ${total} orders with items have gross ≠ Σ line_amount (tolerance ${tol})`,
  );
  await consistency(
    'fact_payments',
    'payments_cover_orders',
    `SELECT count() AS total, countIf(paid < o.net - toDecimal64({tol:String}, 4)) AS bad,
            groupArrayIf(100)(o.order_id, paid < o.net - toDecimal64({tol:String}, 4)) AS sample
       FROM (${ORDERS}) AS o
       LEFT JOIN (SELECT order_id, sumIf(amount, status IN ('captured', 'authorized')) AS paid FROM (${PAYMENTS}) GROUP BY order_id) AS pay
         ON pay.order_id = o.order_id
      WHERE o.order_kind = 'sale' AND o.status NOT IN ('pending', 'cancelled') AND o.created_at <= {settled:DateTime64(3)}
        AND (SELECT count() FROM (${PAYMENTS})) > 0`,
    (bad, total) => `${bad} of ${total} paid sale orders (older than a day) have captured payments below their net (tolerance ${tol})`,
    { settled: chTime(asOf - 86_400_000) },
  );
  for (const [table, check, rows, key] of [
    ['fact_order_items', 'orphan_items', ITEMS, "concat(x.order_id, '|', toString(x.line_number))"],
    ['fact_payments', 'orphan_payments', PAYMENTS, 'x.payment_id'],
  ] as const) {
    await consistency(
      table,
      check,
      `SELECT count() AS total, countIf(o.order_id = '') AS bad, groupArrayIf(100)(${key}, o.order_id = '') AS sample
         FROM (${rows}) AS x
         LEFT JOIN (SELECT order_id FROM (${ORDERS})) AS o ON o.order_id = x.order_id
        SETTINGS join_use_nulls = 0`,
      (bad, total) => `${bad} of ${total} rows refer to an order that is not a current order`,
    );
  }
  await consistency(
    'fact_orders',
    'unknown_customers',
    `SELECT count() AS total, countIf(c.customer_id = '') AS bad, groupUniqArrayIf(100)(o.customer_id, c.customer_id = '') AS sample
       FROM (${ORDERS}) AS o
       LEFT JOIN (SELECT DISTINCT customer_id FROM dim_customer FINAL WHERE store_id = {store:String} AND is_inferred = 0) AS c
         ON c.customer_id = o.customer_id
      WHERE o.customer_id != ''
      SETTINGS join_use_nulls = 0`,
    (bad, total) => `${bad} of ${total} orders with a customer refer to a customer known only as an inferred member (or not at all)`,
  );
  await consistency(
    'fact_order_items',
    'unknown_products',
    `SELECT count() AS total, countIf(pr.product_id = '') AS bad, groupUniqArrayIf(100)(x.product_id, pr.product_id = '') AS sample
       FROM (${ITEMS}) AS x
       LEFT JOIN (SELECT product_id FROM dim_product FINAL WHERE store_id = {store:String} AND is_inferred = 0) AS pr
         ON pr.product_id = x.product_id
      SETTINGS join_use_nulls = 0`,
    (bad, total) => `${bad} of ${total} order lines refer to a product known only as an inferred member (or not at all)`,
  );
  for (const r of out) r.sampleIds = [...r.sampleIds].sort().slice(0, n);
  return out;
}

/**
 * Runs every data-quality check of a store and stores the results under `runId` (a retry with the
 * same runId replaces the earlier attempt). Returns the number of result rows written.
 */
export async function runDataQuality(wh: Warehouse, opts: QualityOptions): Promise<{ rows: number }> {
  const startedAt = Date.now();
  const attempt = randomUUID();
  const results = await computeDataQuality(wh, opts);
  const checkedAt = new Date().toISOString();
  await wh.insert(
    'data_quality_results',
    results.map((r) => ({
      store_id: opts.storeId,
      run_id: opts.runId,
      attempt,
      table_name: r.table,
      check_name: r.check,
      dimension: r.dimension,
      value: r.value.toFixed(12),
      warn_threshold: r.warnThreshold.toFixed(12),
      threshold: r.threshold.toFixed(12),
      status: r.status,
      offending: r.offending,
      checked: r.checked,
      sample_ids: r.sampleIds,
      message: r.message,
      checked_at: checkedAt,
    })),
  );
  await wh.insert('analytics_runs', [
    {
      store_id: opts.storeId,
      kind: 'quality',
      run_id: opts.runId,
      attempt,
      started_at: new Date(startedAt).toISOString(),
      finished_at: new Date().toISOString(),
      points: results.length,
      rows_written: results.length,
      params: JSON.stringify({
        sampleSize: opts.sampleSize ?? 10,
        validityWindowDays: opts.validityWindowDays ?? 7,
        amountTolerance: opts.amountTolerance ?? 0.01,
        freshness: { ...DEFAULT_FRESHNESS, ...opts.freshness },
        thresholds: { ...DEFAULT_THRESHOLDS, ...opts.thresholds },
        asOf: new Date(parseAsOf(opts.asOf)).toISOString(),
      }),
      version: Date.now() * 1000 + Math.floor(Math.random() * 1000),
    },
  ]);
  return { rows: results.length };
}
