import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Services } from '../app/services.js';
import { ENTITIES } from '../ingest/validate/entities.js';
import { runBatch, type BatchResult, type RecordMapper } from '../ingest/pipeline.js';
import { openRecordStream, UnsupportedFileError } from '../ingest/parsers/index.js';
import { ONLINE_RETAIL_FORMAT } from '../ingest/formats/online-retail.js';
import { onlineRetailMapper } from '../ingest/mappers.js';
import { ensureStore } from '../ingest/stores.js';
import { withLimitedHeapGrowth } from '../ingest/heap-growth.js';
import { afterBatchCommitted } from './analytics.flow.js';
import { importOnlineRetailInEngine } from '../ingest/formats/online-retail-sql.js';
import { stat } from 'node:fs/promises';

/** Imports one uploaded file (queue `ingest`). */
export const IMPORT_JOB = 'import-file';

export const IMPORT_FORMATS = ['csv', 'jsonl', 'json', 'xlsx', ONLINE_RETAIL_FORMAT] as const;

export const importPayload = z
  .object({
    storeId: z.string().min(1),
    /** Absolute path of the uploaded file under DATA_DIR/incoming. */
    path: z.string().min(1),
    fileName: z.string().min(1),
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
    entity: z.enum(ENTITIES).optional(),
    format: z.enum(IMPORT_FORMATS).optional(),
    encoding: z.enum(['utf-8', 'latin1']).optional(),
    delimiter: z.string().length(1).optional(),
    sheet: z.union([z.string(), z.number().int().positive()]).optional(),
    timezone: z.string().optional(),
    mapping: z.record(z.string(), z.string()).optional(),
  })
  .refine((p) => p.entity || p.format === ONLINE_RETAIL_FORMAT, {
    message: 'entity is required (one of ' + ENTITIES.join(', ') + ') unless format is online-retail',
    path: ['entity'],
  });
export type ImportPayload = z.infer<typeof importPayload>;

/**
 * Deterministic job id: the same content for the same store and entity is one job, so submitting
 * a file twice runs it once.
 */
export function importJobId(p: Pick<ImportPayload, 'storeId' | 'contentHash' | 'entity' | 'format'>): string {
  const what = p.format === ONLINE_RETAIL_FORMAT ? ONLINE_RETAIL_FORMAT : p.entity;
  return `import__${p.storeId}__${what}__${p.contentHash.slice(0, 32)}`;
}

export interface ImportProgress {
  read: number;
  inserted: number;
  unchanged: number;
  rejected: number;
  bytesRead: number;
  totalBytes: number;
}

/**
 * The Online Retail format executed by the engine (src/ingest/formats/online-retail-sql.ts): the same
 * stored rows, many times faster. `undefined` when the file needs the streaming reader (the engine
 * path then wrote nothing).
 */
async function importInEngine(services: Services, job: Job, p: ImportPayload, timezone: string): Promise<ImportResult | undefined> {
  const totalBytes = (await stat(p.path)).size;
  let result: Awaited<ReturnType<typeof importOnlineRetailInEngine>>;
  try {
    result = await importOnlineRetailInEngine({
      wh: services.warehouse,
      storeId: p.storeId,
      batchId: `${job.id}__${job.attemptsMade + 1}`,
      path: p.path,
      source: p.fileName,
      contentHash: p.contentHash,
      jobId: job.id,
      timezone,
      retentionDays: services.config.RAW_RETENTION_DAYS,
      encoding: p.encoding,
      maxBytes: services.config.ONLINE_RETAIL_ENGINE_MAX_BYTES,
      // The engine reads the whole file in its first step: the bytes count as read from then on.
      onProgress: (c) => job.updateProgress({ ...c, bytesRead: totalBytes, totalBytes } satisfies ImportProgress as unknown as object),
    });
  } catch (err) {
    if (err instanceof UnsupportedFileError) throw new UnrecoverableError(err.message);
    throw err;
  }
  if (!result) return undefined;
  services.log.info(
    { jobId: job.id, batchId: result.batchId, read: result.read, inserted: result.inserted, unchanged: result.unchanged, rejected: result.rejected, reader: 'engine', ms: result.timings },
    'import finished',
  );
  await afterBatchCommitted(services, p.storeId, result);
  return { ...result, reader: 'engine' };
}

/** The job's result: the batch, and which reader ran it (`engine`: the engine import of the Online Retail format). */
export type ImportResult = BatchResult & { reader: 'engine' | 'stream' };

/** Imports the job's file (V8's heap kept near its live size meanwhile, see withLimitedHeapGrowth). */
export function runImportJob(services: Services, job: Job): Promise<ImportResult> {
  return withLimitedHeapGrowth(() => importJob(services, job));
}

async function importJob(services: Services, job: Job): Promise<ImportResult> {
  const parsed = importPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid import job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const p = parsed.data;
  const { config, warehouse: wh } = services;
  const store = await ensureStore(wh, p.storeId, config.DEFAULT_TIMEZONE);
  const online = p.format === ONLINE_RETAIL_FORMAT;
  if (online && !p.mapping && p.sheet === undefined && (p.delimiter === undefined || p.delimiter === ',')) {
    const result = await importInEngine(services, job, p, p.timezone ?? store.timezone);
    if (result) return result;
  }
  let stream;
  try {
    stream = await openRecordStream(p.path, {
      format: online ? 'csv' : (p.format as 'csv' | 'jsonl' | 'json' | 'xlsx' | undefined),
      encoding: p.encoding,
      delimiter: p.delimiter,
      sheet: p.sheet,
      mapping: p.mapping,
    });
  } catch (err) {
    if (err instanceof UnsupportedFileError) throw new UnrecoverableError(err.message);
    throw err;
  }
  const timezone = p.timezone ?? store.timezone;
  const mapper: RecordMapper | undefined = online ? onlineRetailMapper({ timezone, storeId: p.storeId }) : undefined;
  let lastReport = 0;
  const run = runBatch({
    wh,
    storeId: p.storeId,
    // One batch per attempt, so a retried attempt never mixes its rejects with a failed one's.
    batchId: `${job.id}__${job.attemptsMade + 1}`,
    source: p.fileName,
    entity: online ? 'order_items' : p.entity!,
    format: online ? ONLINE_RETAIL_FORMAT : stream.format,
    contentHash: p.contentHash,
    jobId: job.id,
    timezone,
    retentionDays: config.RAW_RETENTION_DAYS,
    rows: stream,
    mapper,
    onProgress: async (c) => {
      if (Date.now() - lastReport < 200) return;
      lastReport = Date.now();
      const progress: ImportProgress = { ...c, bytesRead: stream.bytesRead(), totalBytes: stream.totalBytes ?? 0 };
      await job.updateProgress(progress as unknown as object);
    },
  });
  let result: BatchResult;
  try {
    result = await run;
  } catch (err) {
    // A file found broken mid-way (truncated gzip or XLSX) will not get better on a retry.
    if (err instanceof UnsupportedFileError) throw new UnrecoverableError(err.message);
    throw err;
  }
  await job.updateProgress({ read: result.read, inserted: result.inserted, unchanged: result.unchanged, rejected: result.rejected, bytesRead: stream.totalBytes ?? 0, totalBytes: stream.totalBytes ?? 0 });
  services.log.info({ jobId: job.id, batchId: result.batchId, read: result.read, inserted: result.inserted, unchanged: result.unchanged, rejected: result.rejected }, 'import finished');
  // The batch committed: aggregate exactly the affected days (coalesced per store; never throws).
  await afterBatchCommitted(services, p.storeId, result);
  return { ...result, reader: 'stream' };
}
