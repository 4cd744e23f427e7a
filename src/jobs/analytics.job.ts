import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Services } from '../app/services.js';
import type { Warehouse } from '../warehouse/client.js';
import { bumpDataVersion } from '../cache/data-version.js';
import { runAnomalies } from '../analytics/anomalies.js';
import { runSegments } from '../analytics/segments.js';
import { rebuildRollups } from '../analytics/rollups.js';
import { runAffinity } from '../analytics/affinity.js';
import { runFunnel } from '../analytics/funnel.js';
import { rebuildCohorts } from '../analytics/cohorts.js';
import { runDataQuality } from '../analytics/quality.js';
import { runAggregateStep, runReconcileStep, snapshotRollups } from './aggregate.job.js';
import { atLeast, markNotified, newDetections, postWebhook, SEVERITIES, type AnomalyNotice, type Severity } from '../analytics/notify.js';
import { recordRun, type RunOutcome } from './run-recorder.js';
import {
  ANALYTICS_JOBS,
  ANALYTICS_QUEUE,
  analyticsQueue,
  CHECK_FLOW_STEPS,
  dateRanges,
  finishFlow,
  INGEST_FLOW_STEPS,
  releaseInflight,
  runTriggerJob,
  stepPayload,
  type FlowStep,
  type StepPayload,
} from './analytics.flow.js';
import { runDailyChecksJob, runWeeklyReconciliationJob } from './schedules.js';

/** Runs one step of a flow; returns the rows it wrote. */
type StepRunner = (services: Services, p: StepPayload, runId: string) => Promise<RunOutcome>;

/**
 * The steps this build can run. A step whose implementation is missing is left out of every flow
 * (see flowSteps) rather than faked.
 */
export const STEP_RUNNERS: Partial<Record<FlowStep, StepRunner>> = {
  aggregate: (services, p) =>
    p.reconcile ? runReconcileStep(services.warehouse, p, rebuildRollups, snapshotRollups) : runAggregateStep(services.warehouse, p, rebuildRollups),
  cohorts: (services, p) => rebuildCohorts(services.warehouse, { storeId: p.storeId }),
  segments: (services, p, runId) => runSegments(services.warehouse, { storeId: p.storeId, runId }),
  affinity: (services, p, runId) => runAffinity(services.warehouse, { storeId: p.storeId, runId }),
  funnel: async (services, p, runId) => {
    const wh = services.warehouse;
    if (p.scope.full) return runFunnel(wh, { storeId: p.storeId, runId });
    let rows = 0;
    for (const r of p.scope.dates ? dateRanges(p.scope.dates) : [{ from: p.scope.from!, to: p.scope.to! }]) {
      rows += (await runFunnel(wh, { storeId: p.storeId, from: r.from, to: r.to, runId })).rows;
    }
    return { rows };
  },
  anomalies: async (services, p, runId) => {
    const out = await runAnomalies(services.warehouse, { storeId: p.storeId, runId });
    const queued = await queueAnomalyNotification(services, p, runId);
    return { rows: out.rows, details: { series: out.series, points: out.points, notified: queued } };
  },
  quality: (services, p, runId) => runDataQuality(services.warehouse, { storeId: p.storeId, runId }),
  bump: async (services, p) => {
    const version = await bumpDataVersion(services.redis, p.storeId);
    // The flow is done: its duration stretches the store's interval to the next flow (see
    // scheduleAnalytics), and the next flow may start.
    const durationMs = await finishFlow(services.redis, p.storeId, p.flowId, p.startedAt);
    return { rows: 0, details: durationMs === null ? { dataVersion: version } : { dataVersion: version, flowDurationMs: durationMs } };
  },
};

/** The steps of `wanted` this build implements, in order. */
export function flowSteps(wanted: readonly FlowStep[] = INGEST_FLOW_STEPS): FlowStep[] {
  return wanted.filter((s) => STEP_RUNNERS[s]);
}

const STEP_BY_JOB = new Map<string, FlowStep>(
  (Object.keys(ANALYTICS_JOBS) as Array<keyof typeof ANALYTICS_JOBS>)
    .filter((k): k is FlowStep => (INGEST_FLOW_STEPS as readonly string[]).includes(k))
    .map((k) => [ANALYTICS_JOBS[k], k]),
);

/** Redis key serialising the steps of one store. */
const storeLockKey = (storeId: string) => `ecomm:analytics:lock:${storeId}`;
/** A crashed worker's store lock expires after this (longer than any step is expected to take). */
const STORE_LOCK_MS = 30 * 60_000;

/** True when this attempt is the job's last: an error now leaves it failed. */
function isFinalAttempt(job: Job, err: unknown): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Processes one job of the analytics queue: flow steps (recorded in pipeline_runs), the coalescing
 * trigger, the anomaly webhook and the scheduled daily and weekly runs.
 */
export async function processAnalyticsJob(services: Services, job: Job, token?: string): Promise<unknown> {
  switch (job.name) {
    case ANALYTICS_JOBS.trigger:
      return runTriggerJob(services, job, token, { steps: flowSteps(INGEST_FLOW_STEPS) });
    case ANALYTICS_JOBS.notify:
      return runNotifyJob(services, job);
    case ANALYTICS_JOBS.daily:
      return runDailyChecksJob(services, job, flowSteps(CHECK_FLOW_STEPS));
    case ANALYTICS_JOBS.weekly:
      return runWeeklyReconciliationJob(services, job, flowSteps(INGEST_FLOW_STEPS));
  }
  const step = STEP_BY_JOB.get(job.name);
  if (!step) throw new UnrecoverableError(`unknown analytics job ${job.name}`);
  const parsed = stepPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${job.name} job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const p = parsed.data;
  const runner = STEP_RUNNERS[step];
  if (!runner) throw new UnrecoverableError(`the ${step} step is not available in this build`);
  // One step of a store at a time across worker processes (the rollup rebuilds of a store must not
  // overlap); a step finding the store busy waits a second without spending an attempt.
  const lock = storeLockKey(p.storeId);
  const acquired = await services.redis.eval(
    // Re-entrant: the same job (retried after a crash) takes its own lock back.
    `local v = redis.call('GET', KEYS[1]) if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0`,
    1,
    lock,
    job.id!,
    STORE_LOCK_MS,
  );
  if (acquired !== 1) {
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  try {
    return await recordRun(
      services.warehouse,
      { jobName: job.name, queue: ANALYTICS_QUEUE, jobId: job.id!, flowId: p.flowId, storeId: p.storeId, scope: p.scope, attempt: job.attemptsMade + 1 },
      (runId) => runner(services, p, runId),
    );
  } catch (err) {
    // The flow is over when a step fails for good: let the store's next changes start a new one
    // (this one stays failed and retriable).
    if (isFinalAttempt(job, err)) await releaseInflight(services.redis, p.storeId, p.flowId).catch(() => {});
    throw err;
  } finally {
    await services.redis
      .eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`, 1, lock, job.id!)
      .catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Anomaly webhook

/** Most detections one notification carries (the most severe first). */
const MAX_NOTICES = 100;

/** A notification job carries the body only: the URL (a secret) is read from the config when it runs. */
export const notifyPayload = z.object({
  body: z.object({
    type: z.literal('anomalies.detected'),
    storeId: z.string(),
    runId: z.string(),
    minSeverity: z.enum(SEVERITIES),
    sentAt: z.string(),
    anomalies: z.array(z.record(z.string(), z.unknown())),
  }),
});

/** The detections a run wrote, at or above `min`. */
export async function detectionsOfRun(wh: Warehouse, storeId: string, runId: string, min: Severity): Promise<AnomalyNotice[]> {
  const rows = await wh.query<Omit<AnomalyNotice, 'score' | 'runId'> & { score: number }>(
    `SELECT toString(date) AS date, metric, dimension, dimension_value AS dimensionValue,
            toString(actual) AS actual, toString(expected) AS expected, toString(lower) AS lower, toString(upper) AS upper,
            score, direction, severity
       FROM anomaly_detections
      WHERE store_id = {store:String} AND run_id = {run:String} AND severity IN {severities:Array(String)}
        AND attempt = (SELECT argMax(attempt, version) FROM analytics_runs
                        WHERE store_id = {store:String} AND kind = 'anomalies' AND run_id = {run:String})
      ORDER BY abs(score) DESC, date, metric, dimension, dimension_value`,
    { store: storeId, run: runId, severities: SEVERITIES.filter((s) => atLeast(s, min)) },
  );
  return rows.map((r) => ({ ...r, score: Number(r.score), runId }));
}

/**
 * After an anomaly run: when ANOMALY_WEBHOOK_URL is set, queues one notification with the run's
 * new detections (not notified before) at or above ANOMALY_WEBHOOK_MIN_SEVERITY. The POST is a job
 * of its own, retried with backoff, so a failing webhook never holds up or fails the flow. For an
 * ingest flow only detections on the days that changed are considered.
 */
async function queueAnomalyNotification(services: Services, p: StepPayload, runId: string): Promise<number> {
  const url = services.config.ANOMALY_WEBHOOK_URL;
  if (!url) return 0;
  const min: Severity = services.config.ANOMALY_WEBHOOK_MIN_SEVERITY;
  let found = await detectionsOfRun(services.warehouse, p.storeId, runId, min);
  if (p.reason === 'ingest' && p.scope.dates) {
    const days = new Set(p.scope.dates);
    found = found.filter((a) => days.has(a.date));
  }
  const fresh = (await newDetections(services.redis, p.storeId, found)).slice(0, MAX_NOTICES);
  if (fresh.length === 0) return 0;
  try {
    await analyticsQueue(services).add(
      ANALYTICS_JOBS.notify,
      { body: { type: 'anomalies.detected', storeId: p.storeId, runId, minSeverity: min, sentAt: new Date().toISOString(), anomalies: fresh } },
      { jobId: `notify__${p.storeId}__${runId}`, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 1000 }, removeOnFail: false },
    );
  } catch (err) {
    services.log.warn({ store: p.storeId, err: (err as Error).message }, 'could not queue the anomaly webhook');
    return 0;
  }
  return fresh.length;
}

async function runNotifyJob(services: Services, job: Job) {
  const parsed = notifyPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid notification job: ${parsed.error.message}`);
  const { body } = parsed.data;
  const url = services.config.ANOMALY_WEBHOOK_URL;
  const anomalies = body.anomalies as unknown as AnomalyNotice[];
  return recordRun(
    services.warehouse,
    { jobName: job.name, queue: ANALYTICS_QUEUE, jobId: job.id!, storeId: body.storeId, scope: { runId: body.runId }, attempt: job.attemptsMade + 1 },
    async () => {
      if (!url) return { rows: 0, details: { skipped: 'ANOMALY_WEBHOOK_URL is no longer set' } };
      const status = await postWebhook(url, { ...body, anomalies });
      await markNotified(services.redis, body.storeId, anomalies);
      return { rows: anomalies.length, details: { status } };
    },
  );
}
