/**
 * Test support for file imports through the real path (openRecordStream + runBatch), as the
 * import job runs them: exact decimal parsing of SQL results, an RSS sampler, small SQL helpers.
 */
import type { Warehouse } from '../../src/warehouse/client.js';
import { openRecordStream, type ReadOptions } from '../../src/ingest/parsers/index.js';
import { runBatch, type BatchResult, type RecordMapper } from '../../src/ingest/pipeline.js';
import type { Entity } from '../../src/ingest/validate/entities.js';

/**
 * A decimal string ("12.34", "-0.165", "7") → an exact BigInt in units of 10^-scale. Throws when the
 * value has more significant decimals than `scale` (so a sub-cent amount cannot hide in a cents sum).
 */
export function scaledUnits(s: string, scale: number): bigint {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(String(s).trim());
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) throw new Error(`${s} has more than ${scale} decimals`);
  const v = BigInt(m[2]! + frac.padEnd(scale, '0'));
  return m[1] === '-' ? -v : v;
}

/** Ten-thousandths (the warehouse's Decimal(18,4) scale). */
export const tenThousandths = (s: string): bigint => scaledUnits(s, 4);
/** Cents (the demo generator's money). */
export const cents = (s: string): bigint => scaledUnits(s, 2);

/** Samples process.memoryUsage().rss every `everyMs` until stopped; `peak` is the largest sample. */
export class RssSampler {
  peak = process.memoryUsage().rss;
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): number {
    const rss = process.memoryUsage().rss;
    if (rss > this.peak) this.peak = rss;
    return rss;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export const mib = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MiB`;

export interface ImportFileOptions {
  wh: Warehouse;
  storeId: string;
  batchId: string;
  file: string;
  entity: Entity;
  /** The batch's format label (ingest_batches.format); default: the format the reader detected. */
  format?: string;
  read?: ReadOptions;
  mapper?: RecordMapper;
  timezone?: string;
  source?: string;
}

/** One file through the real import path: openRecordStream, then runBatch (what runImportJob does). */
export async function importFile(o: ImportFileOptions): Promise<BatchResult & { ms: number }> {
  const started = performance.now();
  const stream = await openRecordStream(o.file, o.read ?? {});
  const result = await runBatch({
    wh: o.wh,
    storeId: o.storeId,
    batchId: o.batchId,
    source: o.source ?? o.file.split('/').pop()!,
    entity: o.entity,
    format: o.format ?? stream.format,
    timezone: o.timezone ?? 'UTC',
    retentionDays: 30,
    rows: stream,
    mapper: o.mapper,
  });
  return { ...result, ms: performance.now() - started };
}

/** The first row of a query (asserting there is one). */
export async function one<T = Record<string, string>>(wh: Warehouse, sql: string, params: Record<string, unknown> = {}): Promise<T> {
  const rows = await wh.query<T>(sql, params);
  if (rows.length === 0) throw new Error(`no row from: ${sql}`);
  return rows[0]!;
}

/** The ingest_batches row of a batch (FINAL: the last status written). */
export async function batchRow(wh: Warehouse, batchId: string): Promise<{ status: string; read: number; inserted: number; unchanged: number; rejected: number }> {
  const r = await one<Record<string, string>>(
    wh,
    `SELECT status, toString(rows_read) AS read, toString(rows_inserted) AS inserted, toString(rows_unchanged) AS unchanged, toString(rows_rejected) AS rejected
       FROM ingest_batches FINAL WHERE batch_id = {b:String}`,
    { b: batchId },
  );
  return { status: r.status!, read: Number(r.read), inserted: Number(r.inserted), unchanged: Number(r.unchanged), rejected: Number(r.rejected) };
}
