import type { Job, Queue } from 'bullmq';
import type { Services } from '../app/services.js';
import { recordRun } from './run-recorder.js';
import { allStores, ANALYTICS_JOBS, ANALYTICS_QUEUE, startFlow, type FlowStep, type StartedFlow } from './analytics.flow.js';

/**
 * The repeatable schedules of the analytics queue (BullMQ job schedulers). Times are UTC: one run
 * covers every store, whatever its time zone, so a store's "yesterday" is complete by then for
 * zones up to UTC−2 (the daily run) — the checks read whatever data exists and are idempotent.
 */
export const ANALYTICS_SCHEDULES = [
  /** Every day at 02:15 UTC: anomaly detection and data-quality checks for every store. */
  { id: 'analytics-daily-checks', pattern: '15 2 * * *', name: ANALYTICS_JOBS.daily },
  /** Sundays at 04:30 UTC: full rebuild of the gold layer of every store, compared with the incremental one. */
  { id: 'analytics-weekly-reconciliation', pattern: '30 4 * * 0', name: ANALYTICS_JOBS.weekly },
] as const;

/**
 * Registers (or updates) the schedules. Idempotent: upsertJobScheduler keys them by id, so every
 * start of the app leaves exactly one scheduler of each.
 */
export async function registerSchedules(queue: Queue): Promise<void> {
  for (const s of ANALYTICS_SCHEDULES) {
    await queue.upsertJobScheduler(s.id, { pattern: s.pattern, tz: 'UTC' }, { name: s.name, data: {}, opts: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnFail: false } });
  }
}

async function flowPerStore(services: Services, job: Job, make: (storeId: string) => Promise<StartedFlow>) {
  return recordRun(
    services.warehouse,
    { jobName: job.name, queue: ANALYTICS_QUEUE, jobId: job.id!, scope: { full: true }, attempt: job.attemptsMade + 1 },
    async () => {
      const stores = await allStores(services.warehouse);
      const flows: StartedFlow[] = [];
      for (const storeId of stores) flows.push(await make(storeId));
      return { rows: flows.length, details: { flows: flows.map((f) => ({ storeId: f.storeId, flowId: f.flowId })) }, flows };
    },
  );
}

/** The daily run: one checks flow (anomalies → data quality → data version) per store. */
export async function runDailyChecksJob(services: Services, job: Job, steps: FlowStep[]) {
  const queue = (services.queues as unknown as Record<string, Queue>)[ANALYTICS_QUEUE]!;
  return flowPerStore(services, job, (storeId) => startFlow(queue, { storeId, scope: { full: true }, reason: 'daily', steps }));
}

/**
 * The weekly run: per store, the whole flow over all of its history, whose aggregation step
 * compares the incrementally built rollups with a full rebuild (a difference fails that run).
 */
export async function runWeeklyReconciliationJob(services: Services, job: Job, steps: FlowStep[]) {
  const queue = (services.queues as unknown as Record<string, Queue>)[ANALYTICS_QUEUE]!;
  return flowPerStore(services, job, (storeId) => startFlow(queue, { storeId, scope: { full: true }, reason: 'weekly', steps, reconcile: true }));
}

/**
 * Starts a full flow (whole history: rollups, every output, checks, data version) for every
 * store: used after data was loaded without the ingest jobs (the demo shop at start-up).
 */
export async function rebuildEveryStore(services: Services, steps: readonly FlowStep[]): Promise<StartedFlow[]> {
  const queue = (services.queues as unknown as Record<string, Queue>)[ANALYTICS_QUEUE]!;
  const flows: StartedFlow[] = [];
  for (const storeId of await allStores(services.warehouse)) flows.push(await startFlow(queue, { storeId, scope: { full: true }, reason: 'rebuild', steps }));
  return flows;
}
