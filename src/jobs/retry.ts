import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type Queues } from './queues.js';

export interface RetryResult {
  queue: string;
  /** Failed jobs moved back to waiting. */
  retried: number;
  /** Ids of those jobs. */
  jobIds: string[];
}

export class UnknownQueueError extends Error {
  constructor(name: string) {
    super(`no queue "${name}" (one of ${Object.values(QUEUE_NAMES).join(', ')})`);
    this.name = 'UnknownQueueError';
  }
}

/**
 * Retries every failed job of one queue or of all of them, with a fresh count of attempts (and
 * backoff). A failed step of an analytics flow resumes its flow: its parent is still waiting for
 * it, so once it succeeds the later steps run and the data version is bumped.
 * @param opts.queue a queue name; @default all queues
 */
export async function retryFailedJobs(queues: Queues, opts: { queue?: string } = {}): Promise<RetryResult[]> {
  const names = opts.queue ? [opts.queue] : Object.values(QUEUE_NAMES);
  const out: RetryResult[] = [];
  for (const name of names) {
    const queue = (queues as unknown as Record<string, Queue | undefined>)[name];
    if (!queue || typeof queue.getFailed !== 'function') throw new UnknownQueueError(name);
    const jobIds: string[] = [];
    // In pages: retrying removes a job from the failed set, so always read the first page.
    for (;;) {
      const failed = (await queue.getFailed(0, 99)).filter((j) => j && !jobIds.includes(j.id!));
      if (failed.length === 0) break;
      for (const job of failed) {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        jobIds.push(job.id!);
      }
    }
    out.push({ queue: name, retried: jobIds.length, jobIds });
  }
  return out;
}
