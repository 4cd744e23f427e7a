import { Worker, type Job } from 'bullmq';
import type { Services } from '../app/services.js';
import { QUEUE_NAMES, QUEUE_PREFIX, bullConnection } from './queues.js';
import { CALENDAR_JOB, runCalendarJob, type CalendarPayload } from './calendar.job.js';
import { IMPORT_JOB, runImportJob } from './import.job.js';
import { EVENTS_JOB, EVENTS_WORKER_CONCURRENCY, EventsBatcher } from './events.job.js';
import { processAnalyticsJob } from './analytics.job.js';
import { observeJob } from '../metrics/metrics.js';

export interface Workers {
  workers: Worker[];
  /** Stops taking jobs and waits for the active ones to finish. */
  close(): Promise<void>;
}

/** Starts the BullMQ workers of every queue in this process. */
export function startWorkers(services: Services): Workers {
  const { log } = services;
  const connections: ReturnType<typeof bullConnection>[] = [];
  const connection = () => {
    const c = bullConnection(services.redisUrl);
    connections.push(c);
    return c;
  };
  const maintenance = new Worker(
    QUEUE_NAMES.maintenance,
    async (job: Job) => {
      switch (job.name) {
        case CALENDAR_JOB:
          return runCalendarJob(services.warehouse, job.data as CalendarPayload);
        default:
          throw new Error(`unknown maintenance job ${job.name}`);
      }
    },
    { connection: connection(), prefix: QUEUE_PREFIX, concurrency: 1 },
  );
  // One import and one event batch at a time: SCD2 customer versions are read-modify-write.
  const ingest = new Worker(
    QUEUE_NAMES.ingest,
    async (job: Job) => {
      if (job.name !== IMPORT_JOB) throw new Error(`unknown ingest job ${job.name}`);
      return runImportJob(services, job);
    },
    { connection: connection(), prefix: QUEUE_PREFIX, concurrency: 1, lockDuration: 120_000 },
  );
  // Live batches: many jobs held at once and loaded together, one load at a time (EventsBatcher).
  const eventsBatcher = new EventsBatcher(services);
  const events = new Worker(
    QUEUE_NAMES.events,
    async (job: Job) => {
      if (job.name !== EVENTS_JOB) throw new Error(`unknown events job ${job.name}`);
      return eventsBatcher.process(job);
    },
    { connection: connection(), prefix: QUEUE_PREFIX, concurrency: EVENTS_WORKER_CONCURRENCY },
  );
  // Analytics: one job at a time — the embedded engine is one per process, and the steps of a
  // flow rewrite whole days of the gold layer; long rebuilds keep their lock for 5 minutes.
  const analytics = new Worker(QUEUE_NAMES.analytics, (job: Job, token?: string) => processAnalyticsJob(services, job, token), {
    connection: connection(),
    prefix: QUEUE_PREFIX,
    concurrency: 1,
    lockDuration: 300_000,
  });
  const workers = [maintenance, ingest, events, analytics];
  for (const w of workers) {
    w.on('completed', (job) => log.info({ queue: w.name, jobId: job.id, job: job.name, ms: (job.finishedOn ?? 0) - (job.processedOn ?? 0) }, 'job completed'));
    // Job durations and ingest row counts for /metrics.
    w.on('completed', (job) => observeJob(w.name, job, 'completed'));
    w.on('failed', (job) => observeJob(w.name, job, 'failed'));
    w.on('failed', (job, err) =>
      log.warn({ queue: w.name, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      // Connections we passed in are ours to close.
      for (const c of connections) c.disconnect();
    },
  };
}
