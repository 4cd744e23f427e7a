import { pino, type Logger } from 'pino';

/** Paths redacted in every log line: secrets never reach the logs. */
const REDACT = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  'config.CLICKHOUSE_PASSWORD',
  'config.ADMIN_API_KEY',
  'config.REDIS_URL',
  'config.CLICKHOUSE_URL',
];

let root: Logger | undefined;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'ecommerce-analytics' } });
}

/** The process-wide logger. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

export function setLogger(l: Logger): void {
  root = l;
}
