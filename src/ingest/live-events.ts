/**
 * The live-events fast path: many event batches (one per POST /v1/events or ingestEvents call,
 * each a BullMQ job) loaded together in one pass with one round trip per table, instead of one
 * `runBatch` (eight round trips) per 500 events. Each batch keeps its own identity: its own
 * batch id, bronze rows, rejects, `ingest_batches` row and `read = inserted + unchanged + rejected`.
 *
 * The outcome is the one the batches would have had loaded one after the other with `runBatch`:
 * events are immutable, so across batches the first stored version of an event id wins and later
 * ones are `unchanged`; within a batch a later, different record with the same id replaces an
 * earlier one (as `runBatch` does within a chunk). test/integration/ingest-live-events.test.ts
 * checks both paths agree.
 *
 * Only for batches of events (records without an `entity` or with `entity: "events"`; an unknown
 * entity is rejected as `runBatch`'s live mapper does); batches carrying orders, items or payments
 * go through `runBatch`.
 */
import type { Warehouse } from '../warehouse/client.js';
import { derivedEventId, type BatchResult } from './pipeline.js';
import { EVENT_SPEC, factHash } from './facts.js';
import { addInferredMembers } from './dimensions.js';
import { fastEventValidator, toChTime, type EntityRecord, type Validated } from './validate/entities.js';

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

interface Reject {
  rowNumber: number;
  field: string;
  reason: string;
  message: string;
  raw: string;
}

interface Candidate {
  row: Record<string, unknown>;
  hash: string;
  time: number;
}

interface BatchWork {
  batch: LiveBatch;
  read: number;
  inserted: number;
  unchanged: number;
  rejects: Reject[];
  /** event_id → the batch's record for it (later different content replaces earlier). */
  byKey: Map<string, Candidate>;
  days: Set<string>;
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
  private seq = 0n;

  constructor(
    private readonly wh: Warehouse,
    private readonly opts: { retentionDays: number },
  ) {}

  private validator(tz: string) {
    let v = this.validators.get(tz);
    if (!v) this.validators.set(tz, (v = fastEventValidator(tz)));
    return v;
  }

  async load(batches: readonly LiveBatch[]): Promise<BatchResult[]> {
    const startedAt = Date.now();
    const versionBase = BigInt(startedAt) * 1_000_000n;
    const bronze: Record<string, unknown>[] = [];
    const receivedAt = toChTime(startedAt);
    const work: BatchWork[] = [];
    const refs = new Map<string, { customers: Set<string>; products: Set<string> }>();

    for (const batch of batches) {
      const w: BatchWork = { batch, read: 0, inserted: 0, unchanged: 0, rejects: [], byKey: new Map(), days: new Set() };
      work.push(w);
      const validate = this.validator(batch.timezone);
      let storeRefs = refs.get(batch.storeId);
      if (!storeRefs) refs.set(batch.storeId, (storeRefs = { customers: new Set(), products: new Set() }));
      let rowNumber = 0;
      for (const record of batch.records) {
        rowNumber++;
        w.read++;
        const raw = JSON.stringify(record);
        bronze.push({ store_id: batch.storeId, batch_id: batch.batchId, source: 'events', row_number: rowNumber, payload: raw, received_at: receivedAt, retention_days: this.opts.retentionDays });
        const entity = liveEntity(record);
        if (entity !== 'events') {
          // Only unknown entities reach here (the caller routes orders, items and payments to runBatch).
          w.rejects.push({ rowNumber, field: 'entity', reason: 'invalid_enum', message: unknownEntityMessage(record), raw });
          continue;
        }
        const { entity: _e, ...fields } = record;
        const withId = fields['event_id'] ? fields : { ...fields, event_id: derivedEventId(fields) };
        const result: Validated<EntityRecord<'events'>> = validate(withId);
        if (!result.ok) {
          w.rejects.push({ rowNumber, field: result.problems[0]!.field, reason: result.problems[0]!.reason, message: result.problems.map((p) => p.message).join('; '), raw });
          continue;
        }
        const rec = result.value;
        if (rec.customer_id) storeRefs.customers.add(rec.customer_id);
        if (rec.product_id) storeRefs.products.add(rec.product_id);
        const row = EVENT_SPEC.row(rec);
        const hash = factHash(row);
        const key = rec.event_id!;
        const prev = w.byKey.get(key);
        if (prev) w.unchanged++; // the identical repeat, or the earlier record a later different one replaces
        if (!prev || prev.hash !== hash) w.byKey.set(key, { row, hash, time: rec.event_time });
      }
    }

    try {
      // Bronze first: every received record is kept whatever happens next.
      await this.wh.insert('raw_events', bronze);
      const facts: Record<string, unknown>[] = [];
      for (const store of new Set(batches.map((b) => b.storeId))) {
        const mine = work.filter((w) => w.batch.storeId === store);
        const keys = [...new Set(mine.flatMap((w) => [...w.byKey.keys()]))];
        const claimed = new Set<string>();
        if (keys.length > 0) {
          const rows = await this.wh.query<{ event_id: string }>(
            `SELECT DISTINCT event_id FROM fact_events WHERE store_id = {store:String} AND event_id IN {keys:Array(String)}`,
            { store, keys },
          );
          for (const r of rows) claimed.add(r.event_id);
        }
        for (const w of mine) {
          for (const [key, c] of w.byKey) {
            if (claimed.has(key)) {
              w.unchanged++; // events are immutable: the first stored version stays
              continue;
            }
            claimed.add(key);
            facts.push({ store_id: store, ...c.row, batch_id: w.batch.batchId, version: (versionBase + this.seq++).toString(), row_hash: c.hash });
            w.inserted++;
            w.days.add(new Date(c.time).toISOString().slice(0, 10));
          }
        }
      }
      await this.wh.insert('fact_events', facts);
      for (const [store, r] of refs) {
        const customers = this.members.unknown('customer', store, r.customers);
        const products = this.members.unknown('product', store, r.products);
        if (customers.length === 0 && products.length === 0) continue;
        await addInferredMembers(this.wh, store, batches.find((b) => b.storeId === store)!.batchId, { customers, products });
        this.members.remember('customer', store, customers);
        this.members.remember('product', store, products);
      }
      const now = toChTime(Date.now());
      await this.wh.insert(
        'rejected_records',
        work.flatMap((w) =>
          w.rejects.map((r) => ({
            store_id: w.batch.storeId,
            batch_id: w.batch.batchId,
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
        if (w.read !== w.inserted + w.unchanged + w.rejects.length) {
          throw new Error(`batch ${w.batch.batchId} does not reconcile: read ${w.read} ≠ inserted ${w.inserted} + unchanged ${w.unchanged} + rejected ${w.rejects.length}`);
        }
      }
      await this.writeBatchRows(work, startedAt, 'completed');
    } catch (err) {
      await this.writeBatchRows(work, startedAt, 'failed', (err as Error).message.slice(0, 2000)).catch(() => {});
      throw err;
    }
    return work.map((w) => {
      const rejectsByReason: Record<string, number> = {};
      for (const r of w.rejects) rejectsByReason[r.reason] = (rejectsByReason[r.reason] ?? 0) + 1;
      return {
        batchId: w.batch.batchId,
        read: w.read,
        inserted: w.inserted,
        unchanged: w.unchanged,
        rejected: w.rejects.length,
        affected: { days: [...w.days].sort() },
        rejectsByReason,
      };
    });
  }

  private writeBatchRows(work: BatchWork[], startedAt: number, status: 'completed' | 'failed', error = '') {
    const finished = Date.now();
    return this.wh.insert(
      'ingest_batches',
      work.map((w) => ({
        store_id: w.batch.storeId,
        batch_id: w.batch.batchId,
        source: 'events',
        entity: 'events',
        format: 'json',
        content_hash: '',
        status,
        rows_read: w.read,
        rows_inserted: status === 'completed' ? w.inserted : 0,
        rows_unchanged: status === 'completed' ? w.unchanged : 0,
        rows_rejected: status === 'completed' ? w.rejects.length : 0,
        started_at: toChTime(startedAt),
        finished_at: toChTime(finished),
        error,
        file_name: 'events',
        job_id: w.batch.jobId,
        version: finished * 1000 + 1,
      })),
    );
  }
}
