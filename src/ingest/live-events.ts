/**
 * The live-events fast path: many event batches (one per POST /v1/events or ingestEvents call,
 * each a BullMQ job) loaded together in one pass with one round trip per table, instead of one
 * `runBatch` (eight round trips) per 500 events. Each batch keeps its own identity: its own
 * batch id, bronze rows, rejects, `ingest_batches` row and `read = inserted + unchanged + rejected`.
 *
 * The outcome is the one the batches would have had loaded one after the other with `runBatch`:
 * events are immutable, so across batches the first stored version of an event (its id on its UTC
 * day, see `EVENT_SPEC`) wins and later ones are `unchanged`; within a batch a later, different
 * record of the same event replaces an earlier one (as `runBatch` does within a chunk).
 * test/integration/ingest-live-events.test.ts checks both paths agree.
 *
 * Only for batches of events (records without an `entity` or with `entity: "events"`; an unknown
 * entity is rejected as `runBatch`'s live mapper does); batches carrying orders, items or payments
 * go through `runBatch`.
 */
import type { Warehouse } from '../warehouse/client.js';
import { derivedEventId, hasEventId, type BatchResult } from './pipeline.js';
import { EVENT_SPEC, FACT_INSERT_SETTINGS, LOAD_INSERT_SETTINGS, encodeFactRow, epochDay, eventKey, keyDayFilter } from './facts.js';
import { addInferredMembers } from './dimensions.js';
import { fastEventValidator, toChTime, type EntityRecord, type Validated } from './validate/entities.js';
import { TextBytes, tsvField } from '../warehouse/text-bytes.js';
import { IN_KEYS, queryByKeys } from '../warehouse/key-lookup.js';

/** Entities a live batch may carry in a record's `entity` field (default: events). */
export const LIVE_ENTITIES = ['events', 'orders', 'order_items', 'payments'] as const;
export type LiveEntity = (typeof LIVE_ENTITIES)[number];

/** A live record's entity (its `entity` field, default events); undefined when not a live entity. */
export function liveEntity(record: Record<string, unknown>): LiveEntity | undefined {
  const e = record['entity'] ?? 'events';
  return (LIVE_ENTITIES as readonly unknown[]).includes(e) ? (e as LiveEntity) : undefined;
}

/** The reject of a record whose `entity` is not a live entity (same words on both paths). */
export function unknownEntityMessage(record: Record<string, unknown>): string {
  return `entity "${String(record['entity'])}" is not one of ${LIVE_ENTITIES.join(', ')}`;
}

/** True when no record of the batch is an order, item or payment (the fast path can load it). */
export function isEventsOnly(records: readonly Record<string, unknown>[]): boolean {
  for (const r of records) {
    const e = liveEntity(r);
    if (e !== undefined && e !== 'events') return false;
  }
  return true;
}

export interface LiveBatch {
  batchId: string;
  jobId: string;
  storeId: string;
  /** The store's time zone (times without a zone are wall-clock there). */
  timezone: string;
  records: readonly Record<string, unknown>[];
}

/** A rejected record of a prepared batch. */
export interface PreparedReject {
  rowNumber: number;
  field: string;
  reason: string;
  message: string;
  /** The record's JSON text. */
  raw: string;
}

/** An event's fact row, ready to insert. */
export interface PreparedFact {
  /** The event's business key: its id and its UTC day (see `EVENT_SPEC`). */
  key: string;
  /** The event id. */
  id: string;
  /** UTC epoch ms of the event. */
  time: number;
  /**
   * Where the start of the row's JSONCompactEachRow line is in the batch's `heads`: `[` + its
   * values as JSON in `EVENT_SPEC.row` key order (see `encodeFactRow`) + `,"<row hash>",`
   * ({@link FACT_COLUMNS}); the load appends store, batch, version and received_at. -1 when a value is undefined.
   */
  start: number;
  end: number;
  /** The row and its hash, kept only when a value is undefined (it goes as JSONEachRow). */
  plain: { row: Record<string, unknown>; hash: string } | undefined;
}

/**
 * A batch of live events validated and turned into the rows its load writes: everything that
 * takes no warehouse round trip, kept apart from {@link LiveEventsLoader.commit} so the per-record
 * work is one pass that allocates each row once. The rows' text is kept as bytes (`heads`,
 * `bronze`): a batch lives from its request until its group is loaded, and strings living that
 * long would be copied by every young-generation collection meanwhile.
 */
export interface PreparedBatch {
  batch: { batchId: string; jobId: string; storeId: string };
  /** Records received. */
  read: number;
  /** Records that repeat an earlier record of the batch (identical, or replaced by a later different one). */
  repeats: number;
  rejects: PreparedReject[];
  /**
   * One fact row (`EVENT_SPEC.row`) per distinct event id, in first-seen order (a later, different
   * record with the same id replaces the earlier one's content).
   */
  facts: PreparedFact[];
  /** The facts' line starts, UTF-8. */
  heads: Buffer;
  /** Each received record's JSON text (its bronze payload) as a TabSeparated field, in order, UTF-8. */
  bronze: Buffer;
  /** End offset in `bronze` of each record's field. */
  bronzeEnds: Uint32Array;
  /** Customer and product ids the valid events refer to (inferred members when unknown). */
  customers: string[];
  products: string[];
}

/**
 * Validates a batch of live records (records of another entity than events are rejected as
 * unknown: callers route batches with orders, items or payments to `runBatch`) and builds the rows
 * its load writes. The same rules and outcome as `runBatch` with the live mapper.
 */
export function prepareEvents(batch: LiveBatch, validate: (fields: Record<string, unknown>) => Validated<EntityRecord<'events'>>): PreparedBatch {
  const { batchId, jobId, storeId } = batch;
  const n = batch.records.length;
  const heads = new TextBytes(n * 256);
  const bronze = new TextBytes(n * 160);
  const bronzeEnds = new Uint32Array(n);
  const rejects: PreparedReject[] = [];
  const facts: PreparedFact[] = [];
  /** Event id → its index in `facts` and its row hash (for a repeat of the id within the batch). */
  const byKey = new Map<string, { at: number; hash: string }>();
  const customers = new Set<string>();
  const products = new Set<string>();
  let repeats = 0;
  let rowNumber = 0;
  for (const record of batch.records) {
    rowNumber++;
    const raw = JSON.stringify(record);
    bronze.text(tsvField(raw));
    bronzeEnds[rowNumber - 1] = bronze.length;
    const entity = liveEntity(record);
    if (entity !== 'events') {
      // Only unknown entities reach here (the caller routes orders, items and payments to runBatch).
      rejects.push({ rowNumber, field: 'entity', reason: 'invalid_enum', message: unknownEntityMessage(record), raw });
      continue;
    }
    let fields = record;
    // Most records carry no `entity`: no copy for them.
    if ('entity' in record) {
      const { entity: _e, ...rest } = record;
      fields = rest;
    }
    const withId = hasEventId(fields) ? fields : { ...fields, event_id: derivedEventId(fields) };
    const result = validate(withId);
    if (!result.ok) {
      rejects.push({ rowNumber, field: result.problems[0]!.field, reason: result.problems[0]!.reason, message: result.problems.map((x) => x.message).join('; '), raw });
      continue;
    }
    const rec = result.value;
    if (rec.customer_id) customers.add(rec.customer_id);
    if (rec.product_id) products.add(rec.product_id);
    const row = EVENT_SPEC.row(rec) as Record<string, unknown>;
    const { hash, values } = encodeFactRow(row);
    // Every valid event has an id here (a blank one was replaced by one from its content above).
    const id = rec.event_id ?? '';
    const key = eventKey(id, rec.event_time);
    const prev = byKey.get(key);
    if (prev) repeats++; // the identical repeat, or the earlier record a later different one replaces
    if (prev && prev.hash === hash) continue;
    let fact: PreparedFact;
    if (values === undefined) fact = { key, id, time: rec.event_time, start: -1, end: -1, plain: { row, hash } };
    else {
      const start = heads.length;
      heads.text('[' + values + ',"' + hash + '",');
      fact = { key, id, time: rec.event_time, start, end: heads.length, plain: undefined };
    }
    if (prev) {
      facts[prev.at] = fact;
      prev.hash = hash;
    } else {
      byKey.set(key, { at: facts.length, hash });
      facts.push(fact);
    }
  }
  return {
    batch: { batchId, jobId, storeId },
    read: rowNumber,
    repeats,
    rejects,
    facts,
    heads: Buffer.from(heads.bytes()),
    bronze: Buffer.from(bronze.bytes()),
    bronzeEnds,
    customers: [...customers],
    products: [...products],
  };
}

/**
 * SETTINGS of the lookup of a group's event ids. The primary index narrows the read to the days
 * of the group's events (the day follows store_id in fact_events' sort key); `event_id` is the
 * last column of the sort key, so within those days every id is read, and building the index's
 * form of the ids' set (`use_index_for_in_with_subqueries`) cost more than that scan: 25,000 ids
 * against 400,000 stored events took 55–60 ms of CPU without it and 100–120 ms with it. One
 * reading thread, as for the import's lookups (LOOKUP_SETTINGS).
 */
const ID_LOOKUP_SETTINGS = 'SETTINGS max_threads = 1, use_index_for_in_with_subqueries = 0';


/** Columns of a bronze line (`raw_events`), in order. */
const BRONZE_COLUMNS = ['store_id', 'batch_id', 'source', 'row_number', 'payload', 'received_at', 'retention_days'];

/** Columns of a fact line: the `EVENT_SPEC.row(r)` values, then row_hash, store_id, batch_id, version, received_at. */
const FACT_COLUMNS = [...Object.keys(EVENT_SPEC.row({ event_time: 0, event_type: 'page_view' } as EntityRecord<'events'>)), 'row_hash', 'store_id', 'batch_id', 'version', 'received_at'];

/**
 * The decimal text of `startedAt × 1,000,000 + seq` (a row's version) without BigInt: exact for
 * any safe-integer `startedAt` (ms) and `seq`.
 */
export function versionText(startedAt: number, seq: number): string {
  const low = seq % 1_000_000;
  const high = startedAt + (seq - low) / 1_000_000;
  return high === 0 ? String(low) : String(high) + String(low).padStart(6, '0');
}

/**
 * Batches prepared where they were received, for the events worker of the same process: the API
 * validates every batch to answer with its rejects, and with {@link prepareEvents} that same pass
 * also builds the rows, so the worker takes them from here instead of validating the job's records
 * a second time. Only a shortcut: the job in Redis carries the records, and a worker that finds
 * nothing here (another process, a retry, a full or expired entry, another time zone) prepares them
 * itself, with the same function and the same outcome.
 */
export class PreparedBatches {
  private readonly entries = new Map<string, { timezone: string; prepared: PreparedBatch; at: number }>();
  private consumers = 0;

  /**
   * @param maxBatches batches kept at most (≈ 250 KB each for 500 events); when full, new ones are
   *   not kept — the worker takes the oldest first, and prepares the others itself. @default 128
   * @param maxAgeMs how long a batch is kept for its job. @default 60000
   */
  constructor(private readonly opts: { maxBatches?: number; maxAgeMs?: number } = {}) {}

  /** Called by an events worker of this process: from now on batches are kept for it. */
  addConsumer(): void {
    this.consumers++;
  }

  /** True when an events worker runs in this process (only then is preparing in the API worth it). */
  get wanted(): boolean {
    return this.consumers > 0;
  }

  /** Keeps a batch prepared for a newly enqueued job (no-op when full). */
  put(jobId: string, timezone: string, prepared: PreparedBatch): void {
    this.expire();
    if (this.entries.size >= (this.opts.maxBatches ?? 128)) return;
    this.entries.set(jobId, { timezone, prepared, at: Date.now() });
  }

  /** The batch prepared for a job in this time zone (taken out), or undefined. */
  take(jobId: string, timezone: string): PreparedBatch | undefined {
    const e = this.entries.get(jobId);
    if (!e) return undefined;
    this.entries.delete(jobId);
    return e.timezone === timezone && Date.now() - e.at < (this.opts.maxAgeMs ?? 60_000) ? e.prepared : undefined;
  }

  private expire(): void {
    const oldest = Date.now() - (this.opts.maxAgeMs ?? 60_000);
    for (const [id, e] of this.entries) {
      if (e.at >= oldest) break; // in insertion order: the rest is younger
      this.entries.delete(id);
    }
  }
}

/** The process's prepared batches (API → events worker of the same process). */
export const preparedBatches = new PreparedBatches();

interface BatchWork {
  p: PreparedBatch;
  inserted: number;
  unchanged: number;
  /** UTC days (days since the epoch) of the inserted events. */
  days: Set<number>;
}

/** Per-store ids known to be in dim_customer / dim_product: members are never removed, so a hit is final. */
class KnownMembers {
  private readonly sets = new Map<string, Set<string>>();
  constructor(private readonly limit = 200_000) {}
  private set(kind: string, store: string): Set<string> {
    const k = `${kind}\u0000${store}`;
    let s = this.sets.get(k);
    if (!s) this.sets.set(k, (s = new Set()));
    if (s.size > this.limit) s.clear();
    return s;
  }
  unknown(kind: 'customer' | 'product', store: string, ids: Iterable<string>): string[] {
    const s = this.set(kind, store);
    const out = new Set<string>();
    for (const id of ids) if (id && !s.has(id)) out.add(id);
    return [...out];
  }
  remember(kind: 'customer' | 'product', store: string, ids: readonly string[]): void {
    const s = this.set(kind, store);
    for (const id of ids) s.add(id);
  }
}

/**
 * Loads event batches together. Returns one result per batch, in order. Throws (after writing a
 * `failed` row for every batch) when the warehouse fails; the caller retries the batches, which is
 * safe: a retried batch finds its events already stored and counts them unchanged.
 */
export class LiveEventsLoader {
  private readonly validators = new Map<string, ReturnType<typeof fastEventValidator>>();
  private readonly members = new KnownMembers();
  private seq = 0;

  constructor(
    private readonly wh: Warehouse,
    private readonly opts: { retentionDays: number },
  ) {}

  private validator(tz: string) {
    let v = this.validators.get(tz);
    if (!v) this.validators.set(tz, (v = fastEventValidator(tz)));
    return v;
  }

  /** Validates a batch and builds its rows (see {@link prepareEvents}) with the validator of its time zone. */
  prepare(batch: LiveBatch): PreparedBatch {
    return prepareEvents(batch, this.validator(batch.timezone));
  }

  /** Validates and loads batches together (see {@link prepare} and {@link commit}). */
  async load(batches: readonly LiveBatch[]): Promise<BatchResult[]> {
    return this.commit(batches.map((b) => this.prepare(b)));
  }

  /**
   * Writes prepared batches together: bronze, then the events whose ids are not stored yet (one
   * lookup per store), inferred members, rejects and one `ingest_batches` row per batch. Returns
   * one result per batch, in order.
   */
  async commit(prepared: readonly PreparedBatch[]): Promise<BatchResult[]> {
    const startedAt = Date.now();
    const receivedAt = toChTime(startedAt);
    const work: BatchWork[] = prepared.map((p) => ({ p, inserted: 0, unchanged: p.repeats, days: new Set<number>() }));
    let bronzeWritten: Promise<void> | undefined;

    try {
      // Bronze first: every received record is kept whatever happens next.
      const bronze = new TextBytes(work.reduce((n, { p }) => n + p.bronze.length + p.read * 120, 0));
      const bronzeTail = '\t' + receivedAt + '\t' + this.opts.retentionDays;
      for (const { p } of work) {
        const head = tsvField(p.batch.storeId) + '\t' + tsvField(p.batch.batchId) + '\tevents\t';
        for (let i = 0; i < p.read; i++) {
          bronze.text(head + (i + 1) + '\t');
          bronze.copy(p.bronze, i === 0 ? 0 : p.bronzeEnds[i - 1]!, p.bronzeEnds[i]!);
          bronze.line(bronzeTail);
        }
      }
      // The bronze insert takes no query parameters, so the engine runs it beside the id lookup
      // (parameterized statements run one at a time); the facts wait for both.
      bronzeWritten = this.wh.insertLines('raw_events', { format: 'TabSeparated', columns: BRONZE_COLUMNS, bytes: bronze.bytes() }, { settings: LOAD_INSERT_SETTINGS });
      bronzeWritten.catch(() => {}); // awaited below; a lookup that fails first must not leave it unhandled
      // The events whose ids are not stored yet, with their versions.
      const inserts: { w: BatchWork; f: PreparedFact; version: string }[] = [];
      for (const store of new Set(work.map((w) => w.p.batch.storeId))) {
        const mine = work.filter((w) => w.p.batch.storeId === store);
        const ids = new Set<string>();
        const days: number[] = [];
        for (const w of mine) {
          for (const f of w.p.facts) {
            ids.add(f.id);
            days.push(epochDay(f.time));
          }
        }
        // The keys (id and day, EVENT_SPEC's) already stored: each id is looked for among its days'
        // events only (see keyDayFilter).
        const claimed = new Set<string>();
        if (ids.size > 0) {
          const byDay = keyDayFilter(EVENT_SPEC, days);
          const found = await queryByKeys<{ k: string }>(
            this.wh,
            `SELECT DISTINCT ${EVENT_SPEC.keySql} AS k FROM fact_events
              WHERE store_id = {store:String} ${byDay.sql} AND event_id ${IN_KEYS} ${ID_LOOKUP_SETTINGS}`,
            [...ids],
            { store, ...byDay.params },
          );
          for (const r of found) claimed.add(r.k);
        }
        for (const w of mine) {
          for (const f of w.p.facts) {
            if (claimed.has(f.key)) {
              w.unchanged++; // events are immutable: the first stored version stays
              continue;
            }
            claimed.add(f.key);
            inserts.push({ w, f, version: versionText(startedAt, this.seq++) });
            w.inserted++;
            w.days.add(Math.floor(f.time / 86_400_000));
          }
        }
      }
      await bronzeWritten;
      // As JSONCompactEachRow lines of { ...row, row_hash, store_id, batch_id, version, received_at }
      // (received_at: the bronze rows' time); a row with an undefined value (none today: a blank
      // event_id now gets an id from its content; kept for rows `EVENT_SPEC.row` may leave
      // undefined) has no such line, and then the whole insert goes as JSONEachRow rows (a
      // missing key is the column's default).
      const tailOf = (w: BatchWork) => JSON.stringify(w.p.batch.storeId) + ',' + JSON.stringify(w.p.batch.batchId) + ',"';
      const end = '","' + receivedAt + '"]';
      if (inserts.every((i) => i.f.plain === undefined)) {
        const lines = new TextBytes(inserts.length * 300);
        let tail = '';
        let tailFor: BatchWork | undefined;
        for (const { w, f, version } of inserts) {
          if (tailFor !== w) [tail, tailFor] = [tailOf(w), w];
          lines.copy(w.p.heads, f.start, f.end);
          lines.line(tail + version + end);
        }
        await this.wh.insertLines('fact_events', { format: 'JSONCompactEachRow', columns: FACT_COLUMNS, bytes: lines.bytes() }, { settings: FACT_INSERT_SETTINGS });
      } else {
        await this.wh.insert(
          'fact_events',
          inserts.map(({ w, f, version }) =>
            f.plain
              ? { store_id: w.p.batch.storeId, ...f.plain.row, batch_id: w.p.batch.batchId, version, row_hash: f.plain.hash, received_at: receivedAt }
              : Object.fromEntries((JSON.parse(w.p.heads.toString('utf8', f.start, f.end) + tailOf(w) + version + end) as unknown[]).map((v, c) => [FACT_COLUMNS[c]!, v])),
          ),
        );
      }
      for (const store of new Set(work.map((w) => w.p.batch.storeId))) {
        const mine = work.filter((w) => w.p.batch.storeId === store);
        const customers = this.members.unknown('customer', store, mine.flatMap((w) => w.p.customers));
        const products = this.members.unknown('product', store, mine.flatMap((w) => w.p.products));
        if (customers.length === 0 && products.length === 0) continue;
        await addInferredMembers(this.wh, store, mine[0]!.p.batch.batchId, { customers, products });
        this.members.remember('customer', store, customers);
        this.members.remember('product', store, products);
      }
      const now = toChTime(Date.now());
      await this.wh.insert(
        'rejected_records',
        work.flatMap(({ p }) =>
          p.rejects.map((r) => ({
            store_id: p.batch.storeId,
            batch_id: p.batch.batchId,
            source: 'events',
            entity: 'events',
            row_number: r.rowNumber,
            field: r.field,
            reason_code: r.reason,
            message: `row ${r.rowNumber}: ${r.message}`,
            raw_payload: r.raw,
            rejected_at: now,
          })),
        ),
      );
      for (const w of work) {
        if (w.p.read !== w.inserted + w.unchanged + w.p.rejects.length) {
          throw new Error(`batch ${w.p.batch.batchId} does not reconcile: read ${w.p.read} ≠ inserted ${w.inserted} + unchanged ${w.unchanged} + rejected ${w.p.rejects.length}`);
        }
      }
      await this.writeBatchRows(work, startedAt, 'completed');
    } catch (err) {
      await bronzeWritten?.catch(() => {}); // settled before the batches are marked failed
      await this.writeBatchRows(work, startedAt, 'failed', (err as Error).message.slice(0, 2000)).catch(() => {});
      throw err;
    }
    return work.map((w) => {
      const rejectsByReason: Record<string, number> = {};
      for (const r of w.p.rejects) rejectsByReason[r.reason] = (rejectsByReason[r.reason] ?? 0) + 1;
      return {
        batchId: w.p.batch.batchId,
        read: w.p.read,
        inserted: w.inserted,
        unchanged: w.unchanged,
        rejected: w.p.rejects.length,
        affected: { days: [...w.days].sort((a, b) => a - b).map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)), tables: w.days.size > 0 ? ['fact_events'] : [] },
        rejectsByReason,
      };
    });
  }

  private writeBatchRows(work: BatchWork[], startedAt: number, status: 'completed' | 'failed', error = '') {
    const finished = Date.now();
    return this.wh.insert(
      'ingest_batches',
      work.map((w) => ({
        store_id: w.p.batch.storeId,
        batch_id: w.p.batch.batchId,
        source: 'events',
        entity: 'events',
        format: 'json',
        content_hash: '',
        status,
        rows_read: w.p.read,
        rows_inserted: status === 'completed' ? w.inserted : 0,
        rows_unchanged: status === 'completed' ? w.unchanged : 0,
        rows_rejected: status === 'completed' ? w.p.rejects.length : 0,
        started_at: toChTime(startedAt),
        finished_at: toChTime(finished),
        error,
        file_name: 'events',
        job_id: w.p.batch.jobId,
        version: finished * 1000 + 1,
      })),
    );
  }
}
