import { randomBytes } from 'node:crypto';
import { DelayedError, FlowProducer, UnrecoverableError, type FlowJob, type Job, type JobsOptions, type Queue } from 'bullmq';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Services } from '../app/services.js';
import type { Warehouse } from '../warehouse/client.js';
import { QUEUE_PREFIX } from './queues.js';
import { recordRun, type RunScope } from './run-recorder.js';
import { storeTimezone } from '../ingest/stores.js';
import { localDate as localDateIn } from '../ingest/validate/values.js';

/**
 * The analytics flow: after data changes, the gold layer of the affected (store, local days) is
 * rebuilt, then the derived outputs, then the checks, and only when all of that succeeded the
 * store's data version is bumped (which invalidates the API's caches).
 *
 * BullMQ runs a flow's children before their parent, so the tree is the chain upside down: the
 * bump is the root and the aggregation the deepest leaf. The steps form one chain (not a fan-out)
 * because cohorts, segments, affinity and funnel must all follow the aggregation, a job has one
 * parent, and the analytics queue runs one job at a time on the embedded engine anyway.
 */

/** Queue of every analytics job. */
export const ANALYTICS_QUEUE = 'analytics';

/** Job names on the analytics queue. */
export const ANALYTICS_JOBS = {
  /** Coalescing trigger: takes a store's pending days and starts one flow for them. */
  trigger: 'analytics-trigger',
  aggregate: 'aggregate',
  cohorts: 'cohorts',
  segments: 'segments',
  affinity: 'affinity',
  funnel: 'funnel',
  anomalies: 'anomalies',
  quality: 'data-quality',
  bump: 'bump-data-version',
  notify: 'notify-anomalies',
  daily: 'daily-checks',
  weekly: 'weekly-reconciliation',
} as const;
export type AnalyticsJobName = (typeof ANALYTICS_JOBS)[keyof typeof ANALYTICS_JOBS];

/** Steps of a flow, first to last (the execution order). */
export type FlowStep = 'aggregate' | 'cohorts' | 'segments' | 'affinity' | 'funnel' | 'anomalies' | 'quality' | 'bump';

/** Steps of the flow after a data change (and of a rebuild). */
export const INGEST_FLOW_STEPS: readonly FlowStep[] = ['aggregate', 'cohorts', 'segments', 'affinity', 'funnel', 'anomalies', 'quality', 'bump'];
/** The fact tables a batch can change. */
export const FACT_TABLES = ['fact_orders', 'fact_order_items', 'fact_payments', 'fact_events', 'fact_inventory_snapshots'] as const;
const SALES: readonly string[] = ['fact_orders', 'fact_order_items', 'fact_payments'];

/**
 * The fact tables each step reads: after a data change a step runs only when one of them changed
 * (`bump` runs always). Live user-activity events, for example, change fact_events alone, so they
 * skip the sales rollups, cohorts, segments and affinity, whose inputs they cannot move.
 */
export const STEP_READS: Readonly<Record<FlowStep, readonly string[]>> = {
  aggregate: SALES,
  cohorts: SALES,
  segments: SALES,
  affinity: SALES,
  funnel: ['fact_events'],
  anomalies: ['fact_events', ...SALES],
  quality: FACT_TABLES,
  bump: FACT_TABLES,
};

/**
 * The steps of `steps` a change of `tables` needs, in order. No tables known (a change recorded
 * before tables were tracked, or by a caller that does not say) runs every step.
 */
export function stepsForTables(steps: readonly FlowStep[], tables: readonly string[]): FlowStep[] {
  if (tables.length === 0) return [...steps];
  return steps.filter((step) => step === 'bump' || STEP_READS[step].some((t) => tables.includes(t)));
}

/** Steps of the daily checks. */
export const CHECK_FLOW_STEPS: readonly FlowStep[] = ['anomalies', 'quality', 'bump'];

const localDate = /^\d{4}-\d{2}-\d{2}$/;
export const runScopeSchema = z
  .object({
    dates: z.array(z.string().regex(localDate)).optional(),
    from: z.string().regex(localDate).optional(),
    to: z.string().regex(localDate).optional(),
    full: z.boolean().optional(),
  })
  .refine((s) => s.full || (s.dates && s.dates.length > 0) || (s.from && s.to), { message: 'scope needs dates, from and to, or full' })
  .refine((s) => !(s.from && s.to) || s.from <= s.to, { message: 'scope from is after to' });

/** Payload of every flow step. */
export const stepPayload = z.object({
  storeId: z.string().min(1),
  flowId: z.string().min(1),
  scope: runScopeSchema,
  /** Why the flow runs. */
  reason: z.enum(['ingest', 'rebuild', 'daily', 'weekly']),
  /** Weekly: the aggregation step compares the incremental rollups with a full rebuild. */
  reconcile: z.boolean().optional(),
  /**
   * When the trigger started this flow (epoch ms; the store's `last-start`): the bump records the
   * flow's duration from it. Absent on flows no trigger started (rebuilds, scheduled checks).
   */
  startedAt: z.number().int().nonnegative().optional(),
});
export type StepPayload = z.infer<typeof stepPayload>;

export const triggerPayload = z.object({ storeId: z.string().min(1) });

/** Attempts and backoff of flow steps. */
export const STEP_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 2000 },
  // Failed steps stay, so they can be inspected and retried (retryFailedJobs).
  removeOnFail: false,
};

/** How long a store's changes are collected before one flow starts for all of them. */
export const DEFAULT_DEBOUNCE_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Dates

/** The store-local date of an instant, YYYY-MM-DD. */
export function localDateOf(ms: number, timezone: string): string {
  return localDateIn(ms, timezone);
}

/**
 * The store-local dates a set of UTC days touches: a UTC day maps to the local dates of its first
 * and last instant (one date, or two when the zone is not UTC). Local date is monotonic in time,
 * so no date in between is missed.
 */
export function localDatesOfUtcDays(days: readonly string[], timezone: string): string[] {
  const out = new Set<string>();
  for (const day of days) {
    const start = Date.parse(`${day}T00:00:00Z`);
    if (Number.isNaN(start)) throw new Error(`not a UTC day: ${day}`);
    out.add(localDateOf(start, timezone));
    out.add(localDateOf(start + 86_400_000 - 1, timezone));
  }
  return [...out].sort();
}

/** Sorted distinct dates grouped into inclusive ranges of consecutive days. */
export function dateRanges(dates: readonly string[]): Array<{ from: string; to: string }> {
  const sorted = [...new Set(dates)].sort();
  const out: Array<{ from: string; to: string }> = [];
  for (const d of sorted) {
    const last = out[out.length - 1];
    if (last && Date.parse(`${d}T00:00:00Z`) - Date.parse(`${last.to}T00:00:00Z`) === 86_400_000) last.to = d;
    else out.push({ from: d, to: d });
  }
  return out;
}


/** Every known store: registered ones and any with facts. */
export async function allStores(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ store_id: string }>(
    `SELECT store_id FROM (SELECT store_id FROM dim_store FINAL UNION DISTINCT SELECT DISTINCT store_id FROM fact_orders) ORDER BY store_id`,
  );
  return rows.map((r) => r.store_id);
}

// ---------------------------------------------------------------------------------------------
// Flows

/** A fresh flow id: time-ordered, no `:` (BullMQ job ids must not contain one). */
export function newFlowId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Job id of one step of one flow. */
export function stepJobId(step: FlowStep, storeId: string, flowId: string): string {
  return `${step}__${storeId}__${flowId}`;
}

const flowProducers = new WeakMap<Queue, FlowProducer>();

/** A FlowProducer sharing the analytics queue's Redis connection (closed with the queues). */
function flowProducerFor(queue: Queue): FlowProducer {
  let fp = flowProducers.get(queue);
  if (!fp) {
    fp = new FlowProducer({ connection: queue.opts.connection, prefix: QUEUE_PREFIX });
    fp.on('error', () => {});
    flowProducers.set(queue, fp);
  }
  return fp;
}

/** The flow tree for a chain of steps (last step = root). */
export function buildFlowTree(payload: StepPayload, steps: readonly FlowStep[], jobOptions: JobsOptions = STEP_JOB_OPTIONS): FlowJob {
  if (steps.length === 0) throw new Error('a flow needs at least one step');
  let node: FlowJob | undefined;
  for (const step of steps) {
    const job: FlowJob = {
      name: ANALYTICS_JOBS[step],
      queueName: ANALYTICS_QUEUE,
      data: payload,
      opts: { ...jobOptions, jobId: stepJobId(step, payload.storeId, payload.flowId) },
      children: node ? [node] : undefined,
    };
    node = job;
  }
  return node!;
}

export interface StartedFlow {
  flowId: string;
  storeId: string;
  /** Job id of the root (the last step): the flow is done when it is. */
  rootJobId: string;
  steps: FlowStep[];
}

/** Adds one flow (atomically: all its jobs or none). */
export async function startFlow(
  queue: Queue,
  o: { storeId: string; scope: RunScope; reason: StepPayload['reason']; steps?: readonly FlowStep[]; reconcile?: boolean; flowId?: string; startedAt?: number },
): Promise<StartedFlow> {
  const steps = [...(o.steps ?? INGEST_FLOW_STEPS)];
  const payload = stepPayload.parse({ storeId: o.storeId, flowId: o.flowId ?? newFlowId(), scope: o.scope, reason: o.reason, reconcile: o.reconcile, startedAt: o.startedAt });
  const node = await flowProducerFor(queue).add(buildFlowTree(payload, steps));
  return { flowId: payload.flowId, storeId: o.storeId, rootJobId: node.job.id!, steps };
}

// ---------------------------------------------------------------------------------------------
// Coalescing

const pendingKey = (storeId: string) => `ecomm:analytics:pending:${storeId}`;
const pendingTablesKey = (storeId: string) => `ecomm:analytics:pending-tables:${storeId}`;
const lastStartKey = (storeId: string) => `ecomm:analytics:last-start:${storeId}`;
const generationKey = (storeId: string) => `ecomm:analytics:generation:${storeId}`;
const inflightKey = (storeId: string) => `ecomm:analytics:inflight:${storeId}`;
const lastDurationKey = (storeId: string) => `ecomm:analytics:last-duration:${storeId}`;
/**
 * An in-flight marker outlives a crashed worker by at most this; a store's last start and last
 * duration are kept as long, so no interval between two flow starts is longer.
 */
const INFLIGHT_TTL_SECONDS = 3600;
/** Longest interval between two flow starts of a store (a last start is forgotten after it). */
export const MAX_FLOW_INTERVAL_MS = INFLIGHT_TTL_SECONDS * 1000;
/** Default largest share of wall time a store's flows take under a steady stream. */
export const DEFAULT_MAX_DUTY_CYCLE = 0.2;

/** Stands for "every table" in a store's pending tables (a change that did not say which). */
const ALL_TABLES = '*';

/**
 * Asks for the analytics of a store's changed UTC days (a committed batch's `affected.days`) and
 * fact tables (`affected.tables`; absent: every step runs).
 *
 * Coalescing: the days, converted to the store's local dates, are added to a Redis set of pending
 * dates per store (and the tables to a set of pending tables), and a delayed trigger job is added
 * whose id is deterministic per store and generation (`analytics-trigger__<store>__<generation>`).
 * While that trigger waits (the debounce window) every further batch adds its dates to the same
 * set and its `add` is a no-op (same job id). When the trigger runs it first bumps the generation
 * (so later batches schedule a new trigger), then takes and clears the sets atomically and starts
 * ONE flow for all of it, with the steps that read the changed tables. While a store's flow is
 * still running, or its last flow started less than the store's interval ago, its trigger waits
 * (moves itself back to delayed) and keeps collecting, so a store has at most one flow in flight
 * plus one pending trigger, however many batches arrive, and under a steady stream of batches its
 * flows start at most once per interval.
 *
 * The interval (flowIntervalMs) is `ANALYTICS_MIN_INTERVAL_MS`, stretched to the duration of the
 * store's last flow divided by `ANALYTICS_MAX_DUTY_CYCLE` when that is longer: a flow's cost grows
 * with the store's data, and a fixed interval would let the flows take an ever larger share of the
 * engine from the ingest. The trigger stores the flow's start in `last-start` and in the steps'
 * payload (`startedAt`); the last step (`bump`) records now − start in `last-duration` and clears
 * the in-flight marker in one step, and only while the marker is still its flow's. The duration is
 * wall time, so it includes the time the flow's steps queued behind other stores' jobs. Only the
 * interval since the last start counts: a single batch after a quiet period still gets its flow
 * after the debounce. Both keys expire after an hour (MAX_FLOW_INTERVAL_MS), which bounds the
 * interval; a store without a recorded duration waits the minimum interval only.
 */
export async function scheduleAnalytics(
  services: Pick<Services, 'warehouse' | 'redis' | 'config' | 'queues'>,
  storeId: string,
  utcDays: readonly string[],
  opts: { debounceMs?: number; tables?: readonly string[] } = {},
): Promise<{ dates: string[]; triggerJobId?: string }> {
  if (utcDays.length === 0) return { dates: [] };
  // Cached for 30 s (src/ingest/stores.ts): this hook runs for every live batch.
  const timezone = await storeTimezone(services.warehouse, storeId, services.config.DEFAULT_TIMEZONE);
  const dates = localDatesOfUtcDays(utcDays, timezone);
  const tables = opts.tables && opts.tables.length > 0 ? opts.tables : [ALL_TABLES];
  const redis = services.redis;
  // Order matters (see above): add the dates first, then read the generation.
  const replies = await redis.multi().sadd(pendingKey(storeId), ...dates).sadd(pendingTablesKey(storeId), ...tables).get(generationKey(storeId)).exec();
  const failed = replies?.find(([err]) => err)?.[0];
  if (!replies || failed) throw failed ?? new Error('Redis discarded the analytics schedule');
  const generation = Number((replies[2]![1] as string | null) ?? 0);
  // Triggers are removed when done, failed too: a kept one would turn later adds of its id into
  // no-ops. A failed trigger leaves its dates in the set (and a run in pipeline_runs).
  const triggerJobId = `analytics-trigger__${storeId}__${generation}`;
  await analyticsQueue(services).add(
    ANALYTICS_JOBS.trigger,
    { storeId },
    { jobId: triggerJobId, delay: opts.debounceMs ?? services.config.ANALYTICS_DEBOUNCE_MS ?? DEFAULT_DEBOUNCE_MS, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
  );
  return { dates, triggerJobId };
}

/** The analytics queue among the app's queues. */
export function analyticsQueue(services: Pick<Services, 'queues'>): Queue {
  const q = (services.queues as unknown as Record<string, Queue | undefined>)[ANALYTICS_QUEUE];
  if (!q) throw new Error('the analytics queue is not open (QUEUE_NAMES.analytics missing)');
  return q;
}

/**
 * Shortest time between the starts of two flows of a store: `minIntervalMs`, or the last flow's
 * duration over `maxDutyCycle` when that is longer (a duty cycle of 1 or more, or no recorded
 * duration: `minIntervalMs` alone), at most MAX_FLOW_INTERVAL_MS.
 */
export function flowIntervalMs(o: { minIntervalMs: number; maxDutyCycle: number; lastDurationMs?: number | null }): number {
  const d = o.lastDurationMs;
  const stretched = o.maxDutyCycle < 1 && o.maxDutyCycle > 0 && d != null && Number.isFinite(d) && d > 0 ? d / o.maxDutyCycle : 0;
  return Math.min(MAX_FLOW_INTERVAL_MS, Math.max(o.minIntervalMs, Math.ceil(stretched)));
}

/** What a store's trigger waits for before it starts a flow. */
export interface TriggerWait {
  /** How long to wait, ms; 0: start now. */
  waitMs: number;
  /** Why it waits: a flow in flight, the minimum interval, or the duty cycle stretching the interval. */
  cause?: 'inflight' | 'min-interval' | 'duty-cycle';
  /** The store's interval between two flow starts (flowIntervalMs). */
  intervalMs: number;
}

/**
 * The wait of a store's trigger at `now`: while a flow is in flight, one debounce window (at least
 * 250 ms) at a time; otherwise until the last start plus the store's interval. No last start (a
 * first flow, or one more than an hour ago): no wait.
 */
export function triggerWait(o: {
  now: number;
  inflight: boolean;
  lastStart?: number | null;
  lastDurationMs?: number | null;
  debounceMs: number;
  minIntervalMs: number;
  maxDutyCycle: number;
}): TriggerWait {
  const intervalMs = flowIntervalMs(o);
  if (o.inflight) return { waitMs: Math.max(250, o.debounceMs), cause: 'inflight', intervalMs };
  const waitMs = o.lastStart != null && Number.isFinite(o.lastStart) ? o.lastStart + intervalMs - o.now : 0;
  if (waitMs <= 0) return { waitMs: 0, intervalMs };
  return { waitMs, cause: intervalMs > o.minIntervalMs ? 'duty-cycle' : 'min-interval', intervalMs };
}

/** A Redis value as a number; absent or not a number: null. */
const numberOrNull = (v: string | null): number | null => (v === null || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));

/**
 * The trigger job: starts one flow for everything pending for the store, or waits while the
 * store's previous flow is still in flight or started less than the store's interval ago
 * (triggerWait).
 */
export async function runTriggerJob(
  services: Services,
  job: Job,
  token: string | undefined,
  opts: { steps: readonly FlowStep[]; debounceMs?: number; minIntervalMs?: number; maxDutyCycle?: number },
) {
  const parsed = triggerPayload.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid analytics trigger: ${parsed.error.message}`);
  const { storeId } = parsed.data;
  const redis = services.redis;
  const [inflight, lastStart, lastDuration] = await redis.mget(inflightKey(storeId), lastStartKey(storeId), lastDurationKey(storeId));
  const debounceMs = opts.debounceMs ?? services.config.ANALYTICS_DEBOUNCE_MS ?? DEFAULT_DEBOUNCE_MS;
  const minIntervalMs = opts.minIntervalMs ?? services.config.ANALYTICS_MIN_INTERVAL_MS ?? 0;
  const maxDutyCycle = opts.maxDutyCycle ?? services.config.ANALYTICS_MAX_DUTY_CYCLE ?? DEFAULT_MAX_DUTY_CYCLE;
  const now = Date.now();
  const lastDurationMs = numberOrNull(lastDuration);
  const wait = triggerWait({ now, inflight: inflight !== null, lastStart: numberOrNull(lastStart), lastDurationMs, debounceMs, minIntervalMs, maxDutyCycle });
  if (wait.waitMs > 0) {
    // A trigger runs once per debounce window and store, not per batch, and waits for the duty
    // cycle once: after that wait the interval is over.
    if (wait.cause === 'duty-cycle') {
      services.log.info(
        { store: storeId, lastDurationMs, maxDutyCycle, intervalMs: wait.intervalMs, waitMs: wait.waitMs },
        'analytics flow held back by the duty cycle',
      );
    }
    await job.moveToDelayed(now + wait.waitMs, token);
    throw new DelayedError();
  }
  await redis.incr(generationKey(storeId));
  const taken = await redis.multi().smembers(pendingKey(storeId)).del(pendingKey(storeId)).smembers(pendingTablesKey(storeId)).del(pendingTablesKey(storeId)).exec();
  const dates = ((taken?.[0]?.[1] as string[] | undefined) ?? []).sort();
  const tables = ((taken?.[2]?.[1] as string[] | undefined) ?? []).sort();
  const giveBack = async () => {
    if (dates.length > 0) await redis.sadd(pendingKey(storeId), ...dates);
    if (tables.length > 0) await redis.sadd(pendingTablesKey(storeId), ...tables);
  };
  if (dates.length === 0) {
    // Tables without dates cannot happen from scheduleAnalytics (it adds dates first); keep none.
    return { flowId: null, dates: [] };
  }
  const steps = stepsForTables(opts.steps, tables.includes(ALL_TABLES) ? [] : tables);
  const flowId = newFlowId();
  try {
    return await recordRun(
      services.warehouse,
      { jobName: job.name, queue: ANALYTICS_QUEUE, jobId: job.id!, flowId, storeId, scope: { dates }, attempt: job.attemptsMade + 1 },
      async () => {
        const startedAt = Date.now();
        await redis.multi().set(inflightKey(storeId), flowId, 'EX', INFLIGHT_TTL_SECONDS).set(lastStartKey(storeId), String(startedAt), 'EX', INFLIGHT_TTL_SECONDS).exec();
        const flow = await startFlow(analyticsQueue(services), { storeId, scope: { dates }, reason: 'ingest', flowId, steps, startedAt });
        return { rows: dates.length, flowId: flow.flowId, rootJobId: flow.rootJobId, dates, tables, steps: flow.steps };
      },
    );
  } catch (err) {
    // Give the dates back: this job's retry, or the next batch's trigger, takes them again. (If
    // the flow was added before the failure, they run twice: harmless, every step is idempotent.)
    await giveBack().catch(() => {});
    await releaseInflight(redis, storeId, flowId).catch(() => {});
    throw err;
  }
}

/** Clears the store's in-flight marker if it is still this flow's. */
export async function releaseInflight(redis: Redis, storeId: string, flowId: string): Promise<void> {
  await redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`, 1, inflightKey(storeId), flowId);
}

/**
 * The end of a store's flow (its last step): when the in-flight marker is still this flow's,
 * records the flow's duration (now − `startedAt`, or − the store's last start when the payload
 * has none) as the store's last duration and clears the marker, in one step. Returns the duration
 * recorded, or null (the marker was another flow's, or gone).
 */
export async function finishFlow(redis: Redis, storeId: string, flowId: string, startedAt?: number): Promise<number | null> {
  const recorded = await redis.eval(
    `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
     local start = tonumber(ARGV[2]) or tonumber(redis.call('GET', KEYS[2]) or '')
     local d = -1
     if start then
       d = math.max(0, tonumber(ARGV[3]) - start)
       redis.call('SET', KEYS[3], tostring(d), 'EX', ARGV[4])
     end
     redis.call('DEL', KEYS[1])
     return d`,
    3,
    inflightKey(storeId),
    lastStartKey(storeId),
    lastDurationKey(storeId),
    flowId,
    startedAt === undefined ? '' : String(startedAt),
    String(Date.now()),
    INFLIGHT_TTL_SECONDS,
  );
  return typeof recorded === 'number' && recorded >= 0 ? recorded : null;
}

/** The duration of a store's last completed flow, ms, if recorded (for tests and the API). */
export async function lastFlowDuration(redis: Redis, storeId: string): Promise<number | null> {
  return numberOrNull(await redis.get(lastDurationKey(storeId)));
}

/** The flow currently in flight for a store, if any (for tests and the API). */
export async function inflightFlow(redis: Redis, storeId: string): Promise<string | null> {
  return redis.get(inflightKey(storeId));
}

/** Dates waiting for a store's next flow. */
export async function pendingDates(redis: Redis, storeId: string): Promise<string[]> {
  return (await redis.smembers(pendingKey(storeId))).sort();
}

/**
 * The hook the ingest jobs call after a batch committed: schedules the analytics of exactly the
 * store's affected days. It never fails the ingest job: a retried ingest would find its rows
 * unchanged (no affected days), so failing here could only lose the scheduling; a failure is
 * logged and the weekly reconciliation (or `ecomm rebuild`) repairs the rollups.
 */
export async function afterBatchCommitted(
  services: Pick<Services, 'warehouse' | 'redis' | 'config' | 'queues' | 'log'>,
  storeId: string,
  result: { batchId: string; affected: { days: string[]; tables?: string[] } },
): Promise<void> {
  try {
    await scheduleAnalytics(services, storeId, result.affected.days, { tables: result.affected.tables });
  } catch (err) {
    services.log.error({ store: storeId, batchId: result.batchId, days: result.affected.days.length, err: (err as Error).message }, 'could not schedule the analytics of a batch');
  }
}
