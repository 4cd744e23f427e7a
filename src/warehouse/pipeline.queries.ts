import type { Queue } from 'bullmq';
import type { Warehouse } from './client.js';
import { QUEUE_NAMES, type Queues } from '../jobs/queues.js';

/** One recorded run of a pipeline job (latest status of the run). */
export interface PipelineRun {
  runId: string;
  jobName: string;
  queue: string;
  jobId: string;
  flowId: string;
  storeId: string;
  /** JSON of the run's scope: {"dates":[…]}, {"from","to"} or {"full":true}. */
  scope: string;
  status: 'running' | 'completed' | 'failed';
  attempt: number;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
  rows: number;
  error: string;
  /** JSON details (e.g. the differences a reconciliation found); '' when none. */
  details: string;
}

/** One import or event batch, with its reconciled counts. */
export interface ImportBatch {
  batchId: string;
  storeId: string;
  source: string;
  fileName: string;
  jobId: string;
  entity: string;
  format: string;
  status: string;
  read: number;
  inserted: number;
  unchanged: number;
  rejected: number;
  startedAt: string;
  finishedAt: string | null;
  error: string;
  /** Only from importBatch: rejects counted by reason code, most frequent first. */
  rejectsByReason?: Array<{ reason: string; count: number }>;
  /** Only from importBatch: the first rejected rows (by row number). */
  sampleRejects?: Array<{ rowNumber: number; entity: string; field: string; reason: string; message: string; raw: string }>;
}

export interface QueueCounts {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** Rejected rows importBatch returns as its sample. */
export const REJECT_SAMPLE_SIZE = 20;

const iso = (s: string | null | undefined): string | null => (s ? new Date(s.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? '' : 'Z')).toISOString() : null);

interface RunRow {
  run_id: string;
  job_name: string;
  queue: string;
  job_id: string;
  flow_id: string;
  store_id: string;
  scope: string;
  status: PipelineRun['status'];
  attempt: number;
  started_at: string;
  finished_at: string | null;
  duration_ms: string;
  rows: string;
  error: string;
  details: string;
}

/**
 * The most recent pipeline runs (newest first), optionally of one store and/or one status.
 * A run's latest row wins (running → completed/failed).
 */
export async function recentRuns(wh: Warehouse, o: { storeId?: string; limit: number; status?: string }): Promise<PipelineRun[]> {
  const rows = await wh.query<RunRow>(
    `SELECT run_id, job_name, queue, job_id, flow_id, store_id, scope, status, attempt,
            toString(started_at) AS started_at, if(isNull(finished_at), NULL, toString(finished_at)) AS finished_at,
            duration_ms, rows, error, details
       FROM pipeline_runs FINAL
      WHERE ({store:Nullable(String)} IS NULL OR store_id = {store:Nullable(String)})
        AND ({status:Nullable(String)} IS NULL OR status = {status:Nullable(String)})
      ORDER BY started_at DESC, run_id
      LIMIT {limit:UInt32}`,
    { store: o.storeId ?? null, status: o.status ?? null, limit: Math.max(0, Math.floor(o.limit)) },
  );
  return rows.map((r) => ({
    runId: r.run_id,
    jobName: r.job_name,
    queue: r.queue,
    jobId: r.job_id,
    flowId: r.flow_id,
    storeId: r.store_id,
    scope: r.scope,
    status: r.status,
    attempt: Number(r.attempt),
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
    durationMs: Number(r.duration_ms),
    rows: Number(r.rows),
    error: r.error,
    details: r.details,
  }));
}

interface BatchRow {
  batch_id: string;
  store_id: string;
  source: string;
  file_name: string;
  job_id: string;
  entity: string;
  format: string;
  status: string;
  rows_read: string;
  rows_inserted: string;
  rows_unchanged: string;
  rows_rejected: string;
  started_at: string;
  finished_at: string | null;
  error: string;
}

const BATCH_COLUMNS = `batch_id, store_id, source, file_name, job_id, entity, format, status,
  rows_read, rows_inserted, rows_unchanged, rows_rejected,
  toString(started_at) AS started_at, if(isNull(finished_at), NULL, toString(finished_at)) AS finished_at, error`;

function toBatch(r: BatchRow): ImportBatch {
  return {
    batchId: r.batch_id,
    storeId: r.store_id,
    source: r.source,
    fileName: r.file_name,
    jobId: r.job_id,
    entity: r.entity,
    format: r.format,
    status: r.status,
    read: Number(r.rows_read),
    inserted: Number(r.rows_inserted),
    unchanged: Number(r.rows_unchanged),
    rejected: Number(r.rows_rejected),
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
    error: r.error,
  };
}

/** The most recent import and event batches (newest first), optionally of one store. */
export async function importBatches(wh: Warehouse, o: { storeId?: string; limit: number }): Promise<ImportBatch[]> {
  const rows = await wh.query<BatchRow>(
    `SELECT ${BATCH_COLUMNS} FROM ingest_batches FINAL
      WHERE ({store:Nullable(String)} IS NULL OR store_id = {store:Nullable(String)})
      ORDER BY started_at DESC, batch_id
      LIMIT {limit:UInt32}`,
    { store: o.storeId ?? null, limit: Math.max(0, Math.floor(o.limit)) },
  );
  return rows.map(toBatch);
}

/** One batch with its rejects counted by reason and a sample of rejected rows; null when unknown. */
export async function importBatch(wh: Warehouse, o: { batchId: string }): Promise<ImportBatch | null> {
  const [row] = await wh.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM ingest_batches FINAL WHERE batch_id = {batch:String} LIMIT 1`, { batch: o.batchId });
  if (!row) return null;
  const batch = toBatch(row);
  const reasons = await wh.query<{ reason: string; n: string }>(
    `SELECT reason_code AS reason, count() AS n FROM rejected_records
      WHERE store_id = {store:String} AND batch_id = {batch:String}
      GROUP BY reason_code ORDER BY n DESC, reason`,
    { store: batch.storeId, batch: o.batchId },
  );
  const sample = await wh.query<{ row_number: string; entity: string; field: string; reason_code: string; message: string; raw_payload: string }>(
    `SELECT row_number, entity, field, reason_code, message, raw_payload FROM rejected_records
      WHERE store_id = {store:String} AND batch_id = {batch:String}
      ORDER BY row_number, entity, field LIMIT {n:UInt32}`,
    { store: batch.storeId, batch: o.batchId, n: REJECT_SAMPLE_SIZE },
  );
  batch.rejectsByReason = reasons.map((r) => ({ reason: r.reason, count: Number(r.n) }));
  batch.sampleRejects = sample.map((r) => ({
    rowNumber: Number(r.row_number),
    entity: r.entity,
    field: r.field,
    reason: r.reason_code,
    message: r.message,
    raw: r.raw_payload,
  }));
  return batch;
}

/** Job counts of every queue, in QUEUE_NAMES order. */
export async function queueCounts(queues: Queues): Promise<QueueCounts[]> {
  const out: QueueCounts[] = [];
  for (const name of Object.values(QUEUE_NAMES)) {
    const q = (queues as unknown as Record<string, Queue>)[name]!;
    const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children');
    out.push({
      queue: name,
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      completed: c.completed ?? 0,
    });
  }
  return out;
}
