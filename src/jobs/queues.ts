import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';

/** Every BullMQ queue the app uses, by name. */
export const QUEUE_NAMES = {
  /** Housekeeping: calendar refresh and other scheduled upkeep. */
  maintenance: 'maintenance',
  /** File imports: one job per uploaded file. */
  ingest: 'ingest',
  /** Live event batches from POST /v1/events and the ingestEvents mutation. */
  events: 'events',
  /** Analytics flows (aggregation → … → data version), their triggers and schedules (src/jobs/analytics.flow.ts). */
  analytics: 'analytics',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Key prefix of all BullMQ data in Redis. */
export const QUEUE_PREFIX = 'ecomm';

/** A Redis connection suited to BullMQ (blocking commands need maxRetriesPerRequest: null). */
export function bullConnection(redisUrl: string): Redis {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false });
  // Connection errors are reported by the queue/worker 'error' events; without a listener ioredis prints them raw.
  connection.on('error', () => {});
  return connection;
}

export type Queues = Record<QueueName, Queue> & { close(): Promise<void> };

/** Opens every queue on one shared connection. */
export function openQueues(redisUrl: string): Queues {
  const connection: ConnectionOptions = bullConnection(redisUrl);
  const queues = Object.fromEntries(
    Object.values(QUEUE_NAMES).map((name) => [
      name,
      new Queue(name, {
        connection,
        prefix: QUEUE_PREFIX,
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
          removeOnFail: false,
        },
      }),
    ]),
  ) as Record<QueueName, Queue>;
  // Without a listener, a lost Redis connection makes every queue print raw ECONNREFUSED errors;
  // the HTTP layer reports enqueue failures to clients and /readyz reports Redis itself.
  for (const q of Object.values(queues)) q.on('error', () => {});
  return Object.assign(queues, {
    async close() {
      await Promise.all(Object.values(QUEUE_NAMES).map((n) => queues[n].close()));
      (connection as Redis).disconnect();
    },
  });
}
