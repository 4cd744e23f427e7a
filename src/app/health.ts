import type { Services } from './services.js';

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error('timeout')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pings the warehouse and Redis (each bounded to 2 s). */
export async function checkHealth(s: Services) {
  const [warehouse, redis] = await Promise.all([
    within(2000, s.warehouse.query('SELECT 1 AS ok', {}, { maxExecutionTime: 2 })).then(() => true, () => false),
    within(2000, s.redis.ping()).then((r) => r === 'PONG', () => false),
  ]);
  return {
    status: warehouse && redis ? 'ok' : 'degraded',
    version: s.version,
    engine: s.warehouse.engine,
    warehouse,
    redis,
    uptimeSeconds: (Date.now() - s.startedAt) / 1000,
  };
}
