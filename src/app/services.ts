import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Warehouse } from '../warehouse/client.js';
import type { Queues } from '../jobs/queues.js';
import type { Authenticator } from '../auth/authenticate.js';

/** The long-lived things a running process shares: built once in startApp. */
export interface Services {
  config: Config;
  warehouse: Warehouse;
  /** General-purpose Redis connection (not the BullMQ ones). */
  redis: Redis;
  redisUrl: string;
  log: Logger;
  queues: Queues;
  auth: Authenticator;
  startedAt: number;
  version: string;
}
