import { randomUUID } from 'node:crypto';
import type { Warehouse } from '../warehouse/client.js';

/** The store-local days a run covers: explicit dates, one range, or everything. */
export interface RunScope {
  /** Store-local dates (YYYY-MM-DD), sorted. */
  dates?: string[];
  from?: string;
  to?: string;
  /** The whole history of the store. */
  full?: boolean;
}

/** What a run is: one attempt of one pipeline job. */
export interface RunInfo {
  jobName: string;
  queue: string;
  jobId: string;
  flowId?: string;
  storeId?: string;
  scope?: RunScope | Record<string, unknown>;
  /** 1-based attempt number. */
  attempt: number;
}

/** What a run reports back: rows written and, optionally, details kept with the run (JSON). */
export interface RunOutcome {
  rows: number;
  details?: unknown;
}

/** An error that carries details to keep with the failed run (e.g. a reconciliation's differences). */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Largest error text kept per run. */
const MAX_ERROR = 4000;

/**
 * Runs `fn` as one recorded run: a `running` row in pipeline_runs before, then a `completed` row
 * (with its rows and duration) or a `failed` row (with the error) under the same run id and a
 * higher version, so the final status wins. The error is rethrown unchanged: BullMQ decides
 * whether to retry it.
 */
export async function recordRun<T extends RunOutcome>(wh: Warehouse, info: RunInfo, fn: (runId: string) => Promise<T>): Promise<T> {
  const runId = randomUUID();
  const startedAt = Date.now();
  const base = {
    run_id: runId,
    job_name: info.jobName,
    queue: info.queue,
    job_id: info.jobId,
    flow_id: info.flowId ?? '',
    store_id: info.storeId ?? '',
    scope: JSON.stringify(info.scope ?? {}),
    attempt: info.attempt,
    started_at: chTime(startedAt),
  };
  // Versions: start row < end row, both from the clock of this process.
  await wh.insert('pipeline_runs', [{ ...base, status: 'running', finished_at: null, version: startedAt * 10 }]);
  try {
    const out = await fn(runId);
    const end = Date.now();
    await wh.insert('pipeline_runs', [
      {
        ...base,
        status: 'completed',
        finished_at: chTime(end),
        duration_ms: end - startedAt,
        rows: Math.max(0, Math.round(out.rows)),
        details: out.details === undefined ? '' : JSON.stringify(out.details),
        version: Math.max(end * 10 + 1, startedAt * 10 + 1),
      },
    ]);
    return out;
  } catch (err) {
    const end = Date.now();
    const e = err as Error;
    await wh
      .insert('pipeline_runs', [
        {
          ...base,
          status: 'failed',
          finished_at: chTime(end),
          duration_ms: end - startedAt,
          rows: 0,
          error: `${e?.name && e.name !== 'Error' ? e.name + ': ' : ''}${e?.message ?? String(err)}`.slice(0, MAX_ERROR),
          details: err instanceof RunFailure ? JSON.stringify(err.details) : '',
          version: Math.max(end * 10 + 1, startedAt * 10 + 1),
        },
      ])
      .catch(() => {
        /* the warehouse itself may be what failed; the job's own failure is what matters */
      });
    throw err;
  }
}
