import { createHash } from 'node:crypto';
import { LOOKUP_SETTINGS, type Warehouse } from '../warehouse/client.js';
import { IN_KEYS, queryByKeys } from '../warehouse/key-lookup.js';
import type { SourceRow } from './parsers/source-row.js';
import { fastValidators, rowHash, toChTime, type Entity, type EntityRecord, type FieldProblem, type Validated } from './validate/entities.js';
import type { RejectReason } from './validate/values.js';
import { FACT_INSERT_SETTINGS, FACT_SPECS, LOAD_INSERT_SETTINGS, encodeFactRow, keyDayFilter, type FactEntity, type FactSpec } from './facts.js';
import { TextBytes, tsvField } from '../warehouse/text-bytes.js';
import { upsertCustomers, upsertProducts, addInferredMembers } from './dimensions.js';

/** A record produced from the source rows, for one entity. */
export interface IncomingRecord {
  entity: Entity;
  rowNumber: number;
  fields: Record<string, unknown>;
  raw: string;
  /** Counts in the batch's read = inserted + unchanged + rejected (derived records do not). */
  primary: boolean;
  /**
   * The mapper emits the records this one refers to (an item's order with its `created_at`, the
   * products and customers it names) later in the same batch. Such a record is written at once,
   * with the `created_at` it carries, instead of waiting for its order, and makes no inferred
   * dimension members. This keeps memory bounded for formats whose orders are only complete at the
   * end of the file (online-retail: an order's totals are the sum of all its lines).
   */
  refsInBatch?: boolean;
}
export interface IncomingReject {
  reject: { rowNumber: number; field: string; reason: RejectReason; message: string; raw: string };
}
export type Incoming = IncomingRecord | IncomingReject;

/** Turns source rows into entity records (identity for a plain entity file; online-retail maps). */
export type RecordMapper = (rows: AsyncIterable<SourceRow>) => AsyncIterable<Incoming>;

export interface BatchCounts {
  read: number;
  inserted: number;
  unchanged: number;
  rejected: number;
}

export interface AffectedScope {
  /** UTC days (YYYY-MM-DD) whose facts changed, for the aggregation that follows. */
  days: string[];
  /** The fact tables with changed rows on those days (the analytics runs only the steps that read them). */
  tables: string[];
}

/** What ingest_batches says about a batch besides its counts and status. */
export interface BatchIdentity {
  storeId: string;
  batchId: string;
  /** File name or 'events'. */
  source: string;
  /** The entity of the source rows (bronze table raw_<entity>). */
  entity: Entity;
  format: string;
  contentHash?: string;
  jobId?: string;
  /** Epoch ms. */
  startedAt: number;
}

export interface RunBatchOptions extends Omit<BatchIdentity, 'startedAt'> {
  wh: Warehouse;
  timezone: string;
  retentionDays: number;
  rows: AsyncIterable<SourceRow>;
  mapper?: RecordMapper;
  /**
   * Records validated and written per round trip. @default 10000 (each fact lookup reads the
   * store's key column, and each insert makes a part per month it spans: fewer, larger round trips
   * are faster; 10,000 measured no higher peak RSS than 5,000 on a large orders file)
   */
  chunkSize?: number;
  onProgress?: (counts: BatchCounts) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface BatchResult extends BatchCounts {
  batchId: string;
  affected: AffectedScope;
  rejectsByReason: Record<string, number>;
}

/** The states of a batch in ingest_batches. */
export type BatchStatus = 'running' | 'completed' | 'failed';


/**
 * Writes a batch's row of ingest_batches (ReplacingMergeTree by version: the row written last
 * wins; `order` breaks a tie within one millisecond, so a later status always replaces an earlier one).
 */
export function writeBatchLog(wh: Warehouse, b: BatchIdentity, counts: BatchCounts, status: BatchStatus, error = '', order = status === 'running' ? 0 : 1): Promise<void> {
  return wh.insert('ingest_batches', [
    {
      store_id: b.storeId,
      batch_id: b.batchId,
      source: b.source,
      entity: b.entity,
      format: b.format,
      content_hash: b.contentHash ?? '',
      status,
      rows_read: counts.read,
      rows_inserted: counts.inserted,
      rows_unchanged: counts.unchanged,
      rows_rejected: counts.rejected,
      started_at: toChTime(b.startedAt),
      finished_at: status === 'running' ? null : toChTime(Date.now()),
      error,
      file_name: b.source,
      job_id: b.jobId ?? '',
      version: Date.now() * 1000 + order,
    },
  ]);
}

/** The identity mapper: each source row is one record of `entity`. */
export function plainMapper(entity: Entity): RecordMapper {
  return async function* (rows) {
    for await (const r of rows) {
      if (r.error) yield { reject: { rowNumber: r.rowNumber, field: r.error.field ?? '', reason: 'malformed_row', message: r.error.message, raw: r.raw } };
      else yield { entity, rowNumber: r.rowNumber, fields: r.fields, raw: r.raw, primary: true };
    }
  };
}

/**
 * True when a record carries an event id. A blank one (only whitespace) is none: such events get
 * their id from their content like events without one, instead of all sharing the id ''.
 */
export function hasEventId(fields: Record<string, unknown>): boolean {
  const v = fields['event_id'];
  return typeof v === 'string' ? v.trim() !== '' : Boolean(v);
}

/** Deterministic id of an event without one: a hash of its content, so a re-send is stored once. */
export function derivedEventId(fields: Record<string, unknown>): string {
  const sorted = Object.entries(fields).sort(([a], [b]) => a.localeCompare(b));
  return 'h_' + createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 32);
}

/** Columns of a bronze line (`raw_<entity>`), in order. */
const BRONZE_COLUMNS = ['store_id', 'batch_id', 'source', 'row_number', 'payload', 'received_at', 'retention_days'];

/** Bound of the in-batch order cache (a plain orders file can hold millions). */
const KNOWN_ORDERS_LIMIT = 50_000;

const ENTITY_ORDER: Entity[] = ['customers', 'products', 'orders', 'order_items', 'payments', 'inventory', 'events'];

interface Rejected {
  rowNumber: number;
  entity: Entity;
  field: string;
  reason: RejectReason;
  message: string;
  raw: string;
  primary: boolean;
}

interface Valid<E extends Entity> {
  rec: EntityRecord<E>;
  incoming: IncomingRecord;
}

/**
 * Loads one batch: every source row is kept in bronze, then validated, cleaned and written to
 * the silver tables idempotently. Every primary record ends as inserted, unchanged (already
 * present, identical or older) or rejected (in rejected_records with field, reason and the raw
 * record); the counts are stored in ingest_batches and reconcile: read = inserted + unchanged + rejected.
 */
export async function runBatch(opts: RunBatchOptions): Promise<BatchResult> {
  const { wh, storeId, batchId } = opts;
  const chunkSize = opts.chunkSize ?? 10_000;
  // Validators with exactly the zod schemas' rules, without zod's cost (entitySchemas stays the schema of record).
  const fast = fastValidators(opts.timezone) as Record<Entity, (fields: Record<string, unknown>) => Validated<EntityRecord<Entity>>>;
  const validate = (entity: Entity, fields: Record<string, unknown>): Validated<EntityRecord<Entity>> => fast[entity](fields);
  const startedAt = Date.now();
  let versionSeq = 0n;
  const versionBase = BigInt(startedAt) * 1_000_000n;
  /** Monotonic versions within the batch, newer than any earlier batch's. */
  const nextVersion = () => versionBase + versionSeq++;
  const counts: BatchCounts = { read: 0, inserted: 0, unchanged: 0, rejected: 0 };
  const rejectsByReason: Record<string, number> = {};
  const affectedDays = new Set<string>();
  const affectedTables = new Set<string>();
  // order_id → created_at ms of orders seen in this batch: a bounded cache in front of the warehouse
  // (orders are written before the items of their chunk are resolved, so a miss is a lookup, not a loss).
  // Only a batch from a mapper can hold items after their orders, so a plain file keeps none.
  const knownOrders = new Map<string, number>();
  const rememberOrder = (id: string, ms: number) => {
    if (opts.mapper === undefined) return;
    if (knownOrders.size >= KNOWN_ORDERS_LIMIT) knownOrders.clear();
    knownOrders.set(id, ms);
  };
  let deferred: Valid<'order_items' | 'payments'>[] = [];

  const writeBatchRow = (status: BatchStatus, error = '') =>
    writeBatchLog(wh, { storeId, batchId, source: opts.source, entity: opts.entity, format: opts.format, contentHash: opts.contentHash, jobId: opts.jobId, startedAt }, counts, status, error);
  await writeBatchRow('running');

  // Bronze: every source row as received, before anything else looks at it. Kept as TabSeparated
  // lines (off the V8 heap) until the chunk's bronze insert.
  const receivedAt = toChTime(startedAt);
  const bronzeHead = tsvField(storeId) + '\t' + tsvField(batchId) + '\t' + tsvField(opts.source) + '\t';
  const bronzeTail = '\t' + receivedAt + '\t' + opts.retentionDays;
  let bronze = new TextBytes(64 * 1024);
  let bronzeRows = 0;
  const flushBronze = async () => {
    if (bronzeRows === 0) return;
    const bytes = bronze.bytes();
    bronze = new TextBytes(bytes.length * 1.25);
    bronzeRows = 0;
    await wh.insertLines(`raw_${opts.entity}`, { format: 'TabSeparated', columns: BRONZE_COLUMNS, bytes }, { settings: LOAD_INSERT_SETTINGS });
  };
  async function* tee(rows: AsyncIterable<SourceRow>): AsyncIterable<SourceRow> {
    for await (const r of rows) {
      opts.signal?.throwIfAborted();
      counts.read++;
      // Piece by piece: a concatenation would be one more copy of the row's text to collect.
      bronze.text(bronzeHead);
      bronze.text(String(r.rowNumber));
      bronze.text('\t');
      bronze.text(tsvField(r.raw));
      bronze.line(bronzeTail);
      bronzeRows++;
      yield r;
    }
  }

  const rejects: Rejected[] = [];
  const reject = (r: Rejected) => {
    rejects.push(r);
    if (r.primary) {
      counts.rejected++;
      rejectsByReason[r.reason] = (rejectsByReason[r.reason] ?? 0) + 1;
    }
  };
  /** Rejects are written in batches of at least this many (each insert has a fixed cost), and at the end. */
  const REJECTS_PER_INSERT = 5000;
  const flushRejects = async (all: boolean) => {
    if (rejects.length === 0 || (!all && rejects.length < REJECTS_PER_INSERT)) return;
    const rows = rejects.splice(0).map((r) => ({
      store_id: storeId,
      batch_id: batchId,
      source: opts.source,
      entity: r.entity,
      row_number: r.rowNumber,
      field: r.field,
      reason_code: r.reason,
      message: `row ${r.rowNumber}: ${r.message}`,
      raw_payload: r.raw,
      rejected_at: toChTime(Date.now()),
    }));
    await wh.insert('rejected_records', rows);
  };

  /** Writes fact rows idempotently; returns the records' outcomes. */
  async function writeFacts<E extends FactEntity>(spec: FactSpec<E>, valid: Valid<E>[]) {
    if (valid.length === 0) return;
    // Later duplicates of a key within the chunk: identical → unchanged; different → the later wins.
    const byKey = new Map<string, { v: Valid<E>; row: Record<string, unknown>; hash: string; values: string | undefined; version: bigint; dups: Valid<E>[] | undefined }>();
    for (const v of valid) {
      const row = spec.row(v.rec);
      const { hash, values } = encodeFactRow(row);
      const updated = (v.rec as { updated_at?: number }).updated_at;
      const version = updated !== undefined ? BigInt(updated) * 1_000_000n + BigInt(v.incoming.rowNumber % 1_000_000) : nextVersion();
      const key = spec.key(v.rec);
      const prev = byKey.get(key);
      if (prev && (prev.hash === hash || prev.version > version)) {
        (prev.dups ??= []).push(v);
        continue;
      }
      byKey.set(key, { v, row, hash, values, version, dups: prev ? [...(prev.dups ?? []), prev.v] : undefined });
    }
    const keys = [...byKey.keys()];
    const existing = new Map<string, { hash: string; version: bigint; day: string }>();
    // The stored version of each key, as FINAL would show it, but cheaper than FINAL over the
    // whole table: the latest version per sort key (key + its day), dropped when that is a
    // tombstone. Tables without is_deleted (events) hold immutable rows.
    const day = spec.daySql || "''";
    const live = spec.immutable ? '' : 'HAVING argMax(is_deleted, version) = 0';
    // A key that includes its day is looked for among that day's rows only (see FactSpec.keyDay).
    const days = keyDayFilter(spec, spec.keyDay ? [...byKey.values()].map((item) => spec.keyDay!.of(item.v.rec)) : []);
    const rows = await queryByKeys<{ k: string; h: string; v: string; d: string }>(
      wh,
      `SELECT ${spec.keySql} AS k, ${day} AS d, toString(argMax(row_hash, version)) AS h, toString(max(version)) AS v
         FROM ${spec.table}
        WHERE store_id = {store:String} ${days.sql} AND ${spec.keySql} ${IN_KEYS}
        GROUP BY k, d ${live} ${LOOKUP_SETTINGS}`,
      keys,
      { store: storeId, ...days.params },
    );
    for (const r of rows) existing.set(r.k, { hash: r.h, version: BigInt(r.v), day: r.d });
    // The rows to write as JSONCompactEachRow lines: each row's values as encodeFactRow serialized
    // them for its hash, then store_id, batch_id, version, row_hash (and received_at). Rows with an
    // undefined value, and tombstones, go as objects (JSONEachRow: a missing key is the default).
    const lines = new TextBytes(byKey.size * 256);
    let columns: string[] | undefined;
    const tail = ',' + JSON.stringify(storeId) + ',' + JSON.stringify(batchId) + ',"';
    const end = spec.receivedAt ? '","' + receivedAt + '"]' : '"]';
    const inserts: Record<string, unknown>[] = [];
    const countOne = (v: Valid<E>, outcome: 'inserted' | 'unchanged') => {
      if (v.incoming.primary) counts[outcome]++;
    };
    // Consecutive rows often share their instant (an invoice's lines): its day is kept.
    let dayMs = NaN;
    let dayText = '';
    for (const [key, item] of byKey) {
      if (item.dups) for (const d of item.dups) countOne(d, 'unchanged');
      const old = existing.get(key);
      if (old && (spec.immutable || old.hash === item.hash || old.version >= item.version)) {
        countOne(item.v, 'unchanged');
        continue;
      }
      const ms = spec.time(item.v.rec);
      if (ms !== undefined && ms !== dayMs) {
        dayMs = ms;
        dayText = new Date(ms).toISOString().slice(0, 10);
      }
      const newDay = ms === undefined ? '' : dayText;
      if (old && spec.daySql && old.day && old.day !== newDay) {
        // The sort-key day changed: remove the row under its old key with a tombstone.
        const oldRows = await wh.query<Record<string, unknown>>(
          `SELECT * FROM ${spec.table} FINAL WHERE store_id = {store:String} AND ${spec.keySql} = {key:String}`,
          { store: storeId, key },
        );
        for (const o of oldRows) inserts.push({ ...o, version: item.version.toString(), is_deleted: 1, batch_id: batchId });
        affectedDays.add(old.day);
        affectedTables.add(spec.table);
      }
      if (item.values !== undefined) {
        columns ??= [...Object.keys(item.row), 'store_id', 'batch_id', 'version', 'row_hash', ...(spec.receivedAt ? ['received_at'] : [])];
        lines.text('[');
        lines.text(item.values);
        lines.text(tail);
        lines.text(item.version.toString());
        lines.text('","');
        lines.text(item.hash);
        lines.line(end);
      } else {
        // The row object is not needed after hashing: it becomes the insert (JSONEachRow is by name).
        const row = item.row;
        row.store_id = storeId;
        row.batch_id = batchId;
        row.version = item.version.toString();
        row.row_hash = item.hash;
        if (spec.receivedAt) row.received_at = receivedAt;
        inserts.push(row);
      }
      if (newDay) {
        affectedDays.add(newDay);
        affectedTables.add(spec.table);
      }
      countOne(item.v, 'inserted');
    }
    if (columns && inserts.length > 0) {
      // Tombstones (rare) are written in the same insert as the rows that replace them.
      const text = lines.bytes().toString('utf8');
      for (const line of text.split('\n')) {
        if (line) inserts.push(Object.fromEntries((JSON.parse(line) as unknown[]).map((v, i) => [columns![i]!, v])));
      }
    } else if (columns) {
      await wh.insertLines(spec.table, { format: 'JSONCompactEachRow', columns, bytes: lines.bytes() }, { settings: FACT_INSERT_SETTINGS });
    }
    await wh.insert(spec.table, inserts, { settings: FACT_INSERT_SETTINGS });
  }

  /** Orders known in this batch or in the warehouse, with their created_at. */
  async function resolveOrders(ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const known = knownOrders.get(id);
      if (known !== undefined) out.set(id, known);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const rows = await queryByKeys<{ order_id: string; ms: string }>(
        wh,
        `SELECT order_id, toString(toUnixTimestamp64Milli(created_at)) AS ms FROM fact_orders FINAL
          WHERE store_id = {store:String} AND order_id ${IN_KEYS} ${LOOKUP_SETTINGS}`,
        missing,
        { store: storeId },
      );
      for (const r of rows) {
        out.set(r.order_id, Number(r.ms));
        rememberOrder(r.order_id, Number(r.ms));
      }
    }
    return out;
  }

  /** Items and payments need their order; those whose order is not (yet) known wait for the end. */
  async function withOrders<E extends 'order_items' | 'payments'>(valid: Valid<E>[], final: boolean): Promise<Valid<E>[]> {
    if (valid.length === 0) return [];
    const ready: Valid<E>[] = [];
    const lookup: Valid<E>[] = [];
    for (const v of valid) {
      // An item whose order the mapper emits later in this batch carries the order's created_at.
      if (v.incoming.refsInBatch && 'line_number' in v.rec && v.rec.created_at !== undefined) ready.push(v);
      else lookup.push(v);
    }
    if (lookup.length === 0) return ready;
    const orders = await resolveOrders(lookup.map((v) => v.rec.order_id));
    for (const v of lookup) {
      const created = orders.get(v.rec.order_id);
      if (created !== undefined) {
        if ('line_number' in v.rec) (v.rec as EntityRecord<'order_items'>).created_at = created;
        ready.push(v);
      } else if (final) {
        reject({
          rowNumber: v.incoming.rowNumber,
          entity: v.incoming.entity,
          field: 'order_id',
          reason: 'unknown_order',
          message: `order_id "${v.rec.order_id}" is not a known order (import orders before their ${v.incoming.entity})`,
          raw: v.incoming.raw,
          primary: v.incoming.primary,
        });
      } else {
        deferred.push(v as Valid<'order_items' | 'payments'>);
      }
    }
    return ready;
  }

  async function processChunk(items: Incoming[], final: boolean) {
    const byEntity = new Map<Entity, Valid<Entity>[]>();
    for (const it of items) {
      if ('reject' in it) {
        reject({ ...it.reject, entity: opts.entity, primary: true });
        continue;
      }
      const fields = it.entity === 'events' && !hasEventId(it.fields) ? { ...it.fields, event_id: derivedEventId(it.fields) } : it.fields;
      const result = validate(it.entity, fields);
      if (!result.ok) {
        const first = result.problems[0] as FieldProblem;
        reject({
          rowNumber: it.rowNumber,
          entity: it.entity,
          field: first.field,
          reason: first.reason,
          message: result.problems.map((p) => p.message).join('; '),
          raw: it.raw,
          primary: it.primary,
        });
        continue;
      }
      if (!byEntity.has(it.entity)) byEntity.set(it.entity, []);
      byEntity.get(it.entity)!.push({ rec: result.value, incoming: it });
    }
    const get = <E extends Entity>(e: E) => (byEntity.get(e) ?? []) as Valid<E>[];
    for (const entity of ENTITY_ORDER) {
      const valid = get(entity);
      if (entity === 'customers') {
        const r = await upsertCustomers(wh, storeId, batchId, valid as Valid<'customers'>[], nextVersion);
        count(valid as Valid<Entity>[], r);
      } else if (entity === 'products') {
        const r = await upsertProducts(wh, storeId, batchId, valid as Valid<'products'>[], nextVersion);
        count(valid as Valid<Entity>[], r);
      } else if (entity === 'orders') {
        for (const v of valid as Valid<'orders'>[]) rememberOrder(v.rec.order_id, v.rec.created_at);
        await writeFacts(FACT_SPECS.orders, valid as Valid<'orders'>[]);
      } else if (entity === 'order_items') {
        await writeFacts(FACT_SPECS.order_items, await withOrders(valid as Valid<'order_items'>[], final));
      } else if (entity === 'payments') {
        await writeFacts(FACT_SPECS.payments, await withOrders(valid as Valid<'payments'>[], final));
      } else if (entity === 'inventory') {
        await writeFacts(FACT_SPECS.inventory, valid as Valid<'inventory'>[]);
      } else if (entity === 'events') {
        await writeFacts(FACT_SPECS.events, valid as Valid<'events'>[]);
      }
    }
    // Unknown customers and products referenced by facts become inferred members (unless the
    // mapper emits them in this batch).
    const refs = <E extends Entity>(e: E) => get(e).filter((v) => !v.incoming.refsInBatch);
    await addInferredMembers(wh, storeId, batchId, {
      customers: [...refs('orders').map((v) => v.rec.customer_id), ...refs('events').map((v) => v.rec.customer_id)],
      products: [...refs('order_items').map((v) => v.rec.product_id), ...refs('inventory').map((v) => v.rec.product_id), ...refs('events').map((v) => v.rec.product_id)],
    });
    await flushRejects(false);
  }

  function count(valid: Valid<Entity>[], outcome: { inserted: Set<unknown> }) {
    for (const v of valid) {
      if (!v.incoming.primary) continue;
      if (outcome.inserted.has(v)) counts.inserted++;
      else counts.unchanged++;
    }
  }

  let inFlight: Promise<void> | undefined;
  try {
    const mapper = opts.mapper ?? plainMapper(opts.entity);
    // Only a mapper can bring an item's order later in the same batch (a live batch mixing
    // entities); a plain file of items or payments rejects an unknown order at once, so nothing
    // waits in memory.
    const finalChunks = opts.mapper === undefined;
    let chunk: Incoming[] = [];
    // A full chunk is written (bronze, then validated records) while the next one is read and
    // mapped: the engine's work overlaps the JS work. One chunk at a time is in flight, in order,
    // so each chunk's lookups see everything the chunks before it wrote.
    for await (const item of mapper(tee(opts.rows))) {
      chunk.push(item);
      if (chunk.length >= chunkSize) {
        await inFlight;
        const full = chunk;
        chunk = [];
        const written = flushBronze();
        inFlight = (async () => {
          await written;
          await processChunk(full, finalChunks);
          await opts.onProgress?.({ ...counts });
        })();
        // Awaited before the next chunk or at the end; this only keeps a failure from being reported as unhandled meanwhile.
        inFlight.catch(() => {});
      }
    }
    await inFlight;
    inFlight = undefined;
    await flushBronze();
    await processChunk(chunk, finalChunks);
    // Records that waited for their order get a last chance now that the whole batch is in.
    while (deferred.length > 0) {
      const waiting = deferred;
      deferred = [];
      for (let i = 0; i < waiting.length; i += chunkSize) {
        const part = waiting.slice(i, i + chunkSize);
        const items = part.filter((v) => v.incoming.entity === 'order_items') as Valid<'order_items'>[];
        const pays = part.filter((v) => v.incoming.entity === 'payments') as Valid<'payments'>[];
        await writeFacts(FACT_SPECS.order_items, await withOrders(items, true));
        await writeFacts(FACT_SPECS.payments, await withOrders(pays, true));
        await addInferredMembers(wh, storeId, batchId, { customers: [], products: items.map((v) => v.rec.product_id) });
      }
      await flushRejects(true);
    }
    await flushRejects(true);
    if (counts.read !== counts.inserted + counts.unchanged + counts.rejected) {
      throw new Error(
        `batch ${batchId} does not reconcile: read ${counts.read} ≠ inserted ${counts.inserted} + unchanged ${counts.unchanged} + rejected ${counts.rejected}`,
      );
    }
    await writeBatchRow('completed');
    await opts.onProgress?.({ ...counts });
    return { batchId, ...counts, affected: { days: [...affectedDays].sort(), tables: [...affectedTables].sort() }, rejectsByReason };
  } catch (err) {
    // A chunk still being written settles before the batch is marked failed.
    await inFlight?.catch(() => {});
    // The rejects found before the failure are kept, as they were before they were written in batches.
    await flushRejects(true).catch(() => {});
    await writeBatchRow('failed', (err as Error).message.slice(0, 2000)).catch(() => {});
    throw err;
  }
}

export { rowHash };
