import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Services } from '../app/services.js';
import { runBatch, type BatchResult, type RecordMapper } from '../ingest/pipeline.js';
import { ensureStore, type StoreInfo } from '../ingest/stores.js';
import type { SourceRow } from '../ingest/parsers/source-row.js';
import { afterBatchCommitted } from './analytics.flow.js';
import { isEventsOnly, liveEntity, LiveEventsLoader, LIVE_ENTITIES, preparedBatches, unknownEntityMessage, type PreparedBatch } from '../ingest/live-events.js';

export { LIVE_ENTITIES, liveEntity };

/** Loads one batch of live records (queue `events`). */
export const EVENTS_JOB = 'ingest-events';

/**
 * Jobs the events worker holds at once. They wait in {@link EventsBatcher}, which loads them
 * together; this bounds how many records one load takes (× the batch size).
 */
export const EVENTS_WORKER_CONCURRENCY = 64;

/**
 * An events job's data. The API sends the records as the JSON text of their array (`recordsJson`,
 * with their `count`): BullMQ stores a job's data as JSON, so records as objects would be
 * serialised into it by the API and parsed back whole by the worker for every job, though the
 * worker of the API's own process takes the rows the API prepared and never looks at them. As one
 * string they cost one copy each way, and are parsed only when needed. Jobs with `records` (from
 * earlier versions, or enqueued by hand) are taken too.
 */
export const eventsPayload = z.union([
  z.object({
    storeId: z.string().min(1),
    receivedAt: z.number().int(),
    count: z.number().int().min(1),
    recordsJson: z.string().min(2),
  }),
  z.object({
    storeId: z.string().min(1),
    receivedAt: z.number().int(),
    records: z.array(z.record(z.string(), z.unknown())).min(1),
  }),
]);
export type EventsPayload = z.infer<typeof eventsPayload>;

/** A job's batch: its store, how many records, and the records themselves, parsed on first use. */
export interface JobBatch {
  storeId: string;
  count: number;
  records(): Record<string, unknown>[];
  /**
   * Drops the records from the job's data once the rows are prepared: they would otherwise live,
   * and be copied by every young-generation collection, until the job's group is committed.
   */
  release(): void;
}

/** Same body for the same store → same job: a re-sent batch is enqueued once. */
export function eventsJobId(storeId: string, body: string): string {
  return `events__${storeId}__${createHash('sha256').update(body).digest('hex').slice(0, 32)}`;
}

/** Live records → entity records: each names its entity (default events); an unknown one is rejected. */
export const liveMapper: RecordMapper = async function* (rows) {
  for await (const r of rows) {
    const { entity: _e, ...fields } = r.fields;
    const entity = liveEntity(r.fields);
    if (!entity) {
      yield { reject: { rowNumber: r.rowNumber, field: 'entity', reason: 'invalid_enum', message: unknownEntityMessage(r.fields), raw: r.raw } };
    } else {
      yield { entity, rowNumber: r.rowNumber, fields, raw: r.raw, primary: true };
    }
  }
};

const isPlainObject = (r: unknown) => r !== null && typeof r === 'object' && !Array.isArray(r);

/** True for a well-formed payload's top level (the hot path: no zod). */
function isPayloadShape(d: unknown): boolean {
  if (!isPlainObject(d)) return false;
  const { storeId, receivedAt, count, recordsJson, records } = d as Record<string, unknown>;
  if (typeof storeId !== 'string' || storeId.length === 0 || !Number.isInteger(receivedAt)) return false;
  if (typeof recordsJson === 'string') return Number.isInteger(count) && (count as number) > 0;
  if (!Array.isArray(records) || records.length === 0) return false;
  for (const r of records) if (!isPlainObject(r)) return false;
  return true;
}

/**
 * The job's batch. A well-formed payload (every job the API enqueues) is taken as it is; anything
 * else gets zod's verdict, so a bad job fails at once with the schema's own message. Records sent
 * as text that are not an array of `count` objects fail the job the same way when first read.
 */
export function jobBatch(job: Job): JobBatch {
  let data = job.data as EventsPayload;
  if (!isPayloadShape(data)) {
    const parsed = eventsPayload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid events job: ${parsed.error.message}`);
    data = parsed.data;
  }
  if ('records' in data) {
    const old = data;
    const count = old.records.length;
    return { storeId: old.storeId, count, records: () => old.records, release: () => void (old.records = []) };
  }
  const json = data;
  const { recordsJson, count } = json;
  let records: Record<string, unknown>[] | undefined;
  return {
    storeId: json.storeId,
    count,
    release() {
      json.recordsJson = '';
      records = undefined;
    },
    records() {
      if (records) return records;
      let parsed: unknown;
      try {
        parsed = JSON.parse(recordsJson);
      } catch {
        throw new UnrecoverableError('invalid events job: recordsJson is not valid JSON');
      }
      if (!Array.isArray(parsed) || parsed.length !== count || !parsed.every(isPlainObject)) {
        throw new UnrecoverableError(`invalid events job: recordsJson must be an array of ${count} JSON objects`);
      }
      return (records = parsed as Record<string, unknown>[]);
    },
  };
}

/** The batch id of a job's attempt: a retried attempt never mixes its rejects with a failed one's. */
const batchIdOf = (job: Job) => `${job.id}__${job.attemptsMade + 1}`;

/** Loads one live batch through the general pipeline (any live entity: events, orders, items, payments). */
export async function runEventsJob(services: Services, job: Job, store?: StoreInfo, p: JobBatch = jobBatch(job)): Promise<BatchResult> {
  const records = p.records();
  store ??= await ensureStore(services.warehouse, p.storeId, services.config.DEFAULT_TIMEZONE);
  async function* rows(): AsyncIterable<SourceRow> {
    let n = 0;
    for (const fields of records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
  }
  return runBatch({
    wh: services.warehouse,
    storeId: p.storeId,
    batchId: batchIdOf(job),
    source: 'events',
    entity: 'events',
    format: 'json',
    jobId: job.id,
    timezone: store.timezone,
    retentionDays: services.config.RAW_RETENTION_DAYS,
    rows: rows(),
    mapper: liveMapper,
    chunkSize: 10_000,
  });
}

interface Waiting {
  job: Job;
  payload: JobBatch;
  store: StoreInfo;
  /** Records of the batch. */
  size: number;
  /** The batch validated, with its rows (events-only batches, once taken for a load); undefined: goes through runBatch. */
  prepared?: PreparedBatch;
  /** Why preparing the batch failed (the job fails with it). */
  failed?: unknown;
  resolve(r: BatchResult): void;
  reject(e: unknown): void;
}

/** How long the store settings are trusted (a changed time zone applies within this delay). */
const STORE_TTL_MS = 30_000;

/**
 * Micro-batches the events queue: the worker hands each job to `process` (with a high worker
 * concurrency), jobs collect for up to `maxWaitMs` or `maxRecords`, and one load stores all of them
 * (events-only batches through {@link LiveEventsLoader}, others one by one through `runBatch`).
 * Loads run one at a time, so reads-then-writes (existing ids, inferred members) never race. Each
 * job completes with its own batch result once the load holding it is committed.
 */
export class EventsBatcher {
  private readonly loader: LiveEventsLoader;
  private readonly stores = new Map<string, { info: Promise<StoreInfo>; at: number }>();
  private waiting: Waiting[] = [];
  private waitingRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly services: Services,
    private readonly opts: { maxRecords?: number; maxWaitMs?: number } = {},
  ) {
    this.loader = new LiveEventsLoader(services.warehouse, { retentionDays: services.config.RAW_RETENTION_DAYS });
    preparedBatches.addConsumer();
  }

  /** Loads the job's batch (together with others) and resolves with its result. */
  async process(job: Job): Promise<BatchResult> {
    const payload = jobBatch(job);
    // Also registers a store seen for the first time.
    const store = await this.store(payload.storeId);
    const size = payload.count;
    const prepared = this.takePrepared(job, payload, store);
    if (prepared) payload.release();
    return new Promise<BatchResult>((resolve, reject) => {
      this.waiting.push({ job, payload, store, size, prepared, resolve, reject });
      this.waitingRecords += size;
      if (this.waitingRecords >= (this.opts.maxRecords ?? 25_000)) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.opts.maxWaitMs ?? 40);
    });
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.waiting.length > 0) this.kick();
    });
  }

  /** Loads the waiting jobs group after group, one load at a time. */
  private async drain(): Promise<void> {
    for (let group = this.takeGroup(); group; group = this.takeGroup()) {
      this.prepareGroup(group);
      await this.loadGroup(group);
    }
  }

  /** The next group of waiting jobs: up to `maxRecords` records (at least one job). */
  private takeGroup(): Waiting[] | undefined {
    if (this.waiting.length === 0) return undefined;
    const max = this.opts.maxRecords ?? 25_000;
    let n = 0;
    let take = 0;
    while (take < this.waiting.length && (take === 0 || n + this.waiting[take]!.size <= max)) {
      n += this.waiting[take]!.size;
      take++;
    }
    this.waitingRecords -= n;
    return this.waiting.splice(0, take);
  }

  /** The rows the API of this process prepared for the job when it received the batch (same records, same zone), if any. */
  private takePrepared(job: Job, payload: JobBatch, store: StoreInfo): PreparedBatch | undefined {
    // The API prepares only events-only batches, under the id of the job it enqueues for them (a
    // hash of the store and the body), so a batch found under this job's id is this job's records.
    if (!preparedBatches.wanted) return undefined;
    const ready = preparedBatches.take(job.id!, store.timezone);
    if (!ready || ready.read !== payload.count || ready.batch.storeId !== payload.storeId) return undefined;
    return { ...ready, batch: { batchId: batchIdOf(job), jobId: job.id!, storeId: payload.storeId } };
  }

  /** Validates the events-only batches of a group not prepared yet and builds their rows (the others go through runBatch). */
  private prepareGroup(group: Waiting[]): void {
    for (const w of group) {
      if (w.prepared) continue;
      const batch = { batchId: batchIdOf(w.job), jobId: w.job.id!, storeId: w.payload.storeId };
      try {
        const records = w.payload.records();
        if (!isEventsOnly(records)) continue;
        w.prepared = this.loader.prepare({ ...batch, timezone: w.store.timezone, records });
        w.payload.release();
      } catch (err) {
        w.failed = err;
      }
    }
  }

  /** The store's settings, looked up once per STORE_TTL_MS (concurrent jobs of a new store share one lookup). */
  private store(storeId: string): Promise<StoreInfo> {
    const hit = this.stores.get(storeId);
    if (hit && Date.now() - hit.at < STORE_TTL_MS) return hit.info;
    const info = ensureStore(this.services.warehouse, storeId, this.services.config.DEFAULT_TIMEZONE);
    this.stores.set(storeId, { info, at: Date.now() });
    info.catch(() => {
      if (this.stores.get(storeId)?.info === info) this.stores.delete(storeId);
    });
    return info;
  }

  /**
   * Loads a group; each job completes once its batch committed and the analytics of its affected
   * days are scheduled (once per store for the whole group: same days and tables as one call per
   * batch, a fraction of the Redis round trips).
   */
  private async loadGroup(group: Waiting[]): Promise<void> {
    const done: { w: Waiting; result: BatchResult }[] = [];
    await this.commitGroup(group, (w, result) => done.push({ w, result }));
    const byStore = new Map<string, { days: Set<string>; tables: Set<string>; batchIds: string[] }>();
    for (const { w, result } of done) {
      let s = byStore.get(w.payload.storeId);
      if (!s) byStore.set(w.payload.storeId, (s = { days: new Set(), tables: new Set(), batchIds: [] }));
      for (const d of result.affected.days) s.days.add(d);
      for (const t of result.affected.tables) s.tables.add(t);
      s.batchIds.push(result.batchId);
    }
    // Never throws (a failure is logged): the batches are committed whatever happens here.
    await Promise.all(
      [...byStore].map(([storeId, s]) =>
        afterBatchCommitted(this.services, storeId, { batchId: s.batchIds.join(','), affected: { days: [...s.days].sort(), tables: [...s.tables].sort() } }),
      ),
    );
    for (const { w, result } of done) w.resolve(result);
  }

  /** Commits a group: `committed` for each batch stored, `reject` of each failed job at once. */
  private async commitGroup(group: Waiting[], committed: (w: Waiting, r: BatchResult) => void): Promise<void> {
    const fast: { w: Waiting; p: PreparedBatch }[] = [];
    for (const w of group) {
      if (w.failed !== undefined) {
        w.reject(w.failed);
        continue;
      }
      if (w.prepared) {
        fast.push({ w, p: w.prepared });
        continue;
      }
      try {
        committed(w, await runEventsJob(this.services, w.job, w.store, w.payload));
      } catch (err) {
        w.reject(err);
      }
    }
    if (fast.length === 0) return;
    try {
      const results = await this.loader.commit(fast.map((f) => f.p));
      fast.forEach((f, i) => committed(f.w, results[i]!));
    } catch (err) {
      if (fast.length === 1) {
        fast[0]!.w.reject(err);
        return;
      }
      // One bad batch must not fail the others: load each alone (a batch found already stored is
      // counted unchanged, so this is safe after a partial write).
      for (const f of fast) {
        try {
          const [result] = await this.loader.commit([{ ...f.p, batch: { ...f.p.batch, batchId: `${f.p.batch.batchId}__alone` } }]);
          committed(f.w, result!);
        } catch (e) {
          f.w.reject(e);
        }
      }
    }
  }
}
