import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { projectRoot } from '../config/paths.js';
import { createWarehouse, type Warehouse } from '../warehouse/client.js';
import { migrate } from '../warehouse/migrations.js';
import { ensureRedis, type RedisHandle } from '../redis/redis-server.js';
import { ensureAdminKey, type AdminKey } from '../auth/api-keys.js';
import { Authenticator } from '../auth/authenticate.js';
import { buildAppSchema } from '../schema/build-schema.js';
import { startHttpServer, type HttpServerHandle } from '../http/server.js';
import { openQueues, type Queues } from '../jobs/queues.js';
import { startWorkers, type Workers } from '../jobs/workers.js';
import { CALENDAR_JOB, calendarJobId } from '../jobs/calendar.job.js';
import { rebuildEveryStore, registerSchedules } from '../jobs/schedules.js';
import { flowSteps } from '../jobs/analytics.job.js';
import { generateDemoShop, loadDemoShop } from '../demo/index.js';
import type { Services } from './services.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  /** Serve the HTTP API. */
  api: boolean;
  /** Run the BullMQ workers. */
  worker: boolean;
  /** Load the demo shop into an empty warehouse (when DEMO_DATA is not false). */
  demo: boolean;
}

export interface RunningApp {
  services: Services;
  url?: string;
  adminKey: AdminKey;
  demoLoaded: boolean;
  stop(): Promise<void>;
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** True when no orders are in the warehouse yet. */
async function warehouseIsEmpty(wh: Warehouse): Promise<boolean> {
  const [row] = await wh.query<{ n: string }>('SELECT count() AS n FROM fact_orders');
  return Number(row?.n ?? 0) === 0;
}

/**
 * Starts the app: engine → migrations → Redis → demo data → HTTP server and/or workers.
 * Everything started is stopped, in reverse order, by stop().
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const { config, log } = opts;
  const stack: { name: string; stop: () => Promise<void> }[] = [];
  const onStop = (name: string, stop: () => Promise<void>) => stack.push({ name, stop });
  const stopAll = async () => {
    while (stack.length) {
      const { name, stop } = stack.pop()!;
      try {
        log.debug({ component: name }, 'stopping');
        await stop();
      } catch (err) {
        log.warn({ component: name, err: (err as Error).message }, 'error while stopping');
      }
    }
  };
  try {
    const warehouse = await createWarehouse(config);
    onStop('warehouse', () => warehouse.close());
    log.info({ engine: warehouse.engine, database: warehouse.database }, 'warehouse connected');

    const migrated = await migrate(warehouse, { log: (m) => log.info(m) });
    log.info({ applied: migrated.applied.length, alreadyApplied: migrated.skipped.length }, 'migrations done');

    const redisHandle: RedisHandle = await ensureRedis({ redisUrl: config.REDIS_URL, dataDir: config.dataDir, log: (m) => log.info(m) });
    onStop('redis-server', () => redisHandle.stop());
    const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: 1, lazyConnect: false });
    redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
    onStop('redis-client', async () => void redis.disconnect());

    const queues: Queues = openQueues(redisHandle.url);
    onStop('queues', () => queues.close());

    const services: Services = {
      config,
      warehouse,
      redis,
      redisUrl: redisHandle.url,
      queues,
      auth: new Authenticator(warehouse),
      log,
      startedAt: Date.now(),
      version: packageVersion(),
    };

    const adminKey = await ensureAdminKey(warehouse, { adminApiKey: config.ADMIN_API_KEY, dataDir: config.dataDir });

    let demoLoaded = false;
    if (opts.demo && config.DEMO_DATA && (await warehouseIsEmpty(warehouse))) {
      const t0 = Date.now();
      log.info({ seed: config.DEMO_SEED }, 'empty warehouse: generating and loading the demo shop');
      const shop = generateDemoShop({ seed: config.DEMO_SEED });
      const counts = await loadDemoShop(warehouse, shop);
      demoLoaded = true;
      log.info({ counts, ms: Date.now() - t0 }, 'demo shop loaded');
    }

    if (opts.worker) {
      const workers: Workers = startWorkers(services);
      onStop('workers', () => workers.close());
      // The calendar (holidays per store country) is refreshed daily and once at start-up.
      await queues.maintenance.upsertJobScheduler('calendar-daily', { pattern: '0 3 * * *' }, { name: CALENDAR_JOB, data: {} });
      await queues.maintenance.add(CALENDAR_JOB, {}, { jobId: calendarJobId() });
      // Daily checks and weekly reconciliation of the analytics (idempotent: one scheduler each).
      await registerSchedules(queues.analytics);
      // The demo shop was written straight into the facts: build its gold layer once.
      if (demoLoaded) await rebuildEveryStore(services, flowSteps());
      log.info('workers running');
    }

    let url: string | undefined;
    if (opts.api) {
      const schema = await buildAppSchema();
      const http: HttpServerHandle = await startHttpServer({ services, schema, port: config.PORT, host: config.HOST });
      onStop('http', () => http.close());
      url = http.url;
      log.info({ url }, 'API listening');
    }

    return { services, url, adminKey, demoLoaded, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
