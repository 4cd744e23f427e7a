import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type Queues } from './queues.js';

/** A job that failed all its attempts and waits in its queue's failed set (retryFailedJobs retries it). */
export interface FailedJobView {
  queue: string;
  jobId: string;
  name: string;
  /** The job's store (`data.storeId`), '' when it has none. */
  storeId: string;
  failedReason: string;
  attemptsMade: number;
  /** When it failed, ms since epoch (0 when unknown). */
  failedAt: number;
}

/** Failed jobs scanned per queue at most: the newest ones. */
const SCAN = 500;

/**
 * The newest failed jobs of every queue, newest first; with `storeIds`, only jobs of those
 * stores (jobs without a store are left out then).
 */
export async function failedJobs(queues: Queues, o: { storeIds?: string[]; limit: number }): Promise<FailedJobView[]> {
  const out: FailedJobView[] = [];
  for (const name of Object.values(QUEUE_NAMES)) {
    const queue = (queues as unknown as Record<string, Queue | undefined>)[name];
    if (!queue) continue;
    for (const job of await queue.getFailed(0, SCAN - 1)) {
      if (!job) continue;
      const storeId = typeof (job.data as { storeId?: unknown } | undefined)?.storeId === 'string' ? (job.data as { storeId: string }).storeId : '';
      if (o.storeIds && !o.storeIds.includes(storeId)) continue;
      out.push({ queue: name, jobId: job.id ?? '', name: job.name, storeId, failedReason: job.failedReason ?? '', attemptsMade: job.attemptsMade, failedAt: job.finishedOn ?? 0 });
    }
  }
  return out.sort((a, b) => b.failedAt - a.failedAt || a.jobId.localeCompare(b.jobId)).slice(0, o.limit);
}
