import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';

/**
 * The process's Prometheus metrics (served at GET /metrics). One registry per process: every
 * series is defined once here, and the code that observes imports the metric it needs.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'ecomm_' });

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** HTTP requests by route (fixed set), method and status. */
export const httpRequests = new Counter({
  name: 'ecomm_http_requests_total',
  help: 'HTTP requests by route, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

/** GraphQL requests by operation and outcome (ok | error). */
export const graphqlRequests = new Counter({
  name: 'ecomm_graphql_requests_total',
  help: 'GraphQL requests by operation (its root fields) and outcome.',
  labelNames: ['operation', 'outcome'] as const,
  registers: [registry],
});

export const graphqlDuration = new Histogram({
  name: 'ecomm_graphql_request_duration_seconds',
  help: 'GraphQL request latency by operation, from the request arriving to the answer being sent.',
  labelNames: ['operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const resolverDuration = new Histogram({
  name: 'ecomm_graphql_resolver_duration_seconds',
  help: 'Time of the root-field resolvers (Query.kpis, Mutation.createApiKey, …).',
  labelNames: ['field'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const warehouseDuration = new Histogram({
  name: 'ecomm_warehouse_query_duration_seconds',
  help: 'Warehouse statement time by kind (query | command | insert) and outcome (ok | error | timeout | aborted).',
  labelNames: ['kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const answerCacheRequests = new Counter({
  name: 'ecomm_answer_cache_requests_total',
  help: 'Answer cache lookups by operation and result: hit, miss, shared (joined an identical computation in flight), bypass (Redis unusable).',
  labelNames: ['op', 'result'] as const,
  registers: [registry],
});

export const answerCacheComputes = new Counter({
  name: 'ecomm_answer_cache_computes_total',
  help: 'Answers computed by the warehouse on a cache miss, by operation.',
  labelNames: ['op'] as const,
  registers: [registry],
});

export const persistedQueries = new Counter({
  name: 'ecomm_persisted_queries_total',
  help: 'Automatic persisted query lookups by result (hit | miss | error).',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'ecomm_job_duration_seconds',
  help: 'BullMQ job processing time by queue, job name and outcome (completed | failed).',
  labelNames: ['queue', 'job', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
  registers: [registry],
});

export const ingestRows = new Counter({
  name: 'ecomm_ingest_rows_total',
  help: 'Rows handled by ingest jobs, by queue and what happened to them (read | inserted | unchanged | rejected).',
  labelNames: ['queue', 'kind'] as const,
  registers: [registry],
});

const queueSources = new Set<Record<string, Queue>>();

/** Makes the queue depths of `queues` part of every scrape; returns the function that stops it. */
export function watchQueues(queues: Record<string, Queue | unknown>): () => void {
  const only = Object.fromEntries(Object.entries(queues).filter(([, q]) => q && typeof (q as Queue).getJobCounts === 'function')) as Record<string, Queue>;
  queueSources.add(only);
  return () => void queueSources.delete(only);
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

new Gauge({
  name: 'ecomm_queue_jobs',
  help: 'BullMQ jobs per queue and state, read when scraped.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const source of queueSources) {
      for (const [name, q] of Object.entries(source)) {
        try {
          // Bounded: a scrape must not hang on an unreachable Redis.
          const counts = await Promise.race([
            q.getJobCounts(...JOB_STATES),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 500).unref()),
          ]);
          for (const s of JOB_STATES) this.set({ queue: name, state: s }, counts[s] ?? 0);
        } catch {
          // Redis unreachable: the series are absent from this scrape.
        }
      }
    }
  },
});

/** Queues whose jobs return ingest row counts (BatchResult: read, inserted, unchanged, rejected). */
const INGEST_QUEUES = new Set(['ingest', 'events']);

/** Records a finished BullMQ job: its duration, and the row counts an ingest job returns. */
export function observeJob(queue: string, job: { name: string; processedOn?: number; finishedOn?: number; returnvalue?: unknown } | undefined, outcome: 'completed' | 'failed'): void {
  if (!job) return;
  if (job.processedOn && job.finishedOn) jobDuration.observe({ queue, job: job.name, outcome }, (job.finishedOn - job.processedOn) / 1000);
  const rv = job.returnvalue as Record<string, unknown> | null | undefined;
  if (outcome !== 'completed' || !rv || typeof rv !== 'object' || !INGEST_QUEUES.has(queue)) return;
  for (const kind of ['read', 'inserted', 'unchanged', 'rejected'] as const) {
    const n = rv[kind];
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) ingestRows.inc({ queue, kind }, n);
  }
}

/**
 * A bounded label for a GraphQL operation: its root fields, sorted (`kpis,salesSeries`). Client
 * operation names are not used — any client could mint new series with them.
 */
export function operationLabel(rootFields: string[]): string {
  const fields = [...new Set(rootFields)].sort().join(',');
  return fields ? fields.slice(0, 100) : 'unknown';
}
