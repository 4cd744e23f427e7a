import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Services } from '../app/services.js';
import { runBatch, type BatchResult, type RecordMapper } from '../ingest/pipeline.js';
import { ensureStore } from '../ingest/stores.js';
import type { SourceRow } from '../ingest/parsers/source-row.js';

/** Loads one batch of live records (queue `events`). */
export const EVENTS_JOB = 'ingest-events';

/** Entities a live batch may carry in a record's `entity` field (default: events). */
export const LIVE_ENTITIES = ['events', 'orders', 'order_items', 'payments'] as const;

export const eventsPayload = z.object({
  storeId: z.string().min(1),
  receivedAt: z.number().int(),
  records: z.array(z.record(z.string(), z.unknown())).min(1),
});
export type EventsPayload = z.infer<typeof eventsPayload>;

/** Same body for the same store → same job: a re-sent batch is enqueued once. */
export function eventsJobId(storeId: string, body: string): string {
  return `events__${storeId}__${createHash('sha256').update(body).digest('hex').slice(0, 32)}`;
}

/** A live record's entity (its `entity` field, default events). */
export function liveEntity(record: Record<string, unknown>): (typeof LIVE_ENTITIES)[number] | undefined {
  const e = record['entity'] ?? 'events';
  return (LIVE_ENTITIES as readonly unknown[]).includes(e) ? (e as (typeof LIVE_ENTITIES)[number]) : undefined;
}

const liveMapper: RecordMapper = async function* (rows) {
  for await (const r of rows) {
    const { entity: _e, ...fields } = r.fields;
    const entity = liveEntity(r.fields);
    if (!entity) {
      yield { reject: { rowNumber: r.rowNumber, field: 'entity', reason: 'invalid_enum', message: `entity "${String(r.fields['entity'])}" is not one of ${LIVE_ENTITIES.join(', ')}`, raw: r.raw } };
    } else {
      yield { entity, rowNumber: r.rowNumber, fields, raw: r.raw, primary: true };
    }
  }
};

export async function runEventsJob(services: Services, job: Job): Promise<BatchResult> {
  const parsed = eventsPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid events job: ${parsed.error.message}`);
  const p = parsed.data;
  const store = await ensureStore(services.warehouse, p.storeId, services.config.DEFAULT_TIMEZONE);
  async function* rows(): AsyncIterable<SourceRow> {
    let n = 0;
    for (const fields of p.records) yield { rowNumber: ++n, fields, raw: JSON.stringify(fields) };
  }
  return runBatch({
    wh: services.warehouse,
    storeId: p.storeId,
    batchId: `${job.id}__${job.attemptsMade + 1}`,
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
