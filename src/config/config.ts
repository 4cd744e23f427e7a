import { z } from 'zod';
import path from 'node:path';

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone (e.g. UTC, Europe/London)' },
);

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${protocols.map((p) => p + '//').join(' or ')}` },
  );

/** The environment the app reads, all of it, with its defaults. */
export const configSchema = z.object({
  /** ClickHouse server HTTP(S) URL. Unset: the embedded engine (chdb) under DATA_DIR/clickhouse. */
  CLICKHOUSE_URL: url(['http:', 'https:']).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** @default ecommerce */
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only, not starting with a digit')
    .default('ecommerce'),
  /** Cluster name: DDL runs ON CLUSTER with Replicated* engines. */
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
    .optional(),
  /** Upper bound on every warehouse query, in seconds. @default 30 */
  CLICKHOUSE_MAX_EXECUTION_TIME: z.coerce.number().int().positive().max(3600).default(30),
  /** @default ./.data */
  DATA_DIR: z.string().min(1).default('./.data'),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  /** @default 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  /** @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Admin API key; unset: one is generated on first start and written to DATA_DIR/admin-key. */
  ADMIN_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Load the generated demo shop into an empty warehouse at start-up. @default true */
  DEMO_DATA: booleanish.default(true),
  /** Seed of the demo generator. @default 42 */
  DEMO_SEED: z.coerce.number().int().default(42),
  /** @default UTC */
  DEFAULT_TIMEZONE: timezone.default('UTC'),
  /** Days raw (bronze) records are kept. @default 90 */
  RAW_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(90),
  /**
   * Largest Online Retail file (uncompressed bytes) the engine import takes; its working tables are
   * kept in the engine's memory (≈ 10–15× the file at peak), so larger files take the streaming path.
   * @default 64 MiB
   */
  ONLINE_RETAIL_ENGINE_MAX_BYTES: z.coerce.number().int().min(0).default(64 * 1024 ** 2),
  /** Largest file POST /v1/imports accepts, bytes. @default 10 GiB */
  UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  /** Most records one POST /v1/events batch may carry. @default 5000 */
  EVENTS_MAX_BATCH: z.coerce.number().int().positive().max(100_000).default(5000),
  /** Largest POST /v1/events body, bytes. @default 5 MiB */
  EVENTS_MAX_BODY_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
  /** Store used when a request names none and its key is not limited to one store. @default default */
  DEFAULT_STORE: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (max 64)').default('default'),
  /** Requests per minute for API keys whose own rate limit is 0. @default 600 */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().max(1_000_000).default(600),
  /** Time budget of each warehouse query an API request makes, ms; over it the engine stops the query and the client gets TIMEOUT. @default 15000 */
  QUERY_TIMEOUT_MS: z.coerce.number().int().min(10).max(3_600_000).default(15_000),
  /** Warehouse statements slower than this are logged (query id, duration; never parameter values), ms. @default 1000 */
  SLOW_QUERY_MS: z.coerce.number().int().min(0).default(1000),
  /** Safety TTL of cached API answers, seconds (new data makes cached answers unreachable at once anyway). @default 86400 */
  ANSWER_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(86_400),
  /** Longest date range (inclusive, in days) an analytics query may cover. @default 3660 */
  MAX_RANGE_DAYS: z.coerce.number().int().positive().max(36_600).default(3660),
  /** Largest page the cursor-paginated entity lists (orders, customers) return. @default 500 */
  MAX_PAGE_SIZE: z.coerce.number().int().positive().max(10_000).default(500),
  /** Complexity budget of one GraphQL operation: the fields its answer can hold, lists counted by their first/limit (src/schema/cost-limits.ts). @default 1000000 */
  MAX_QUERY_COMPLEXITY: z.coerce.number().int().positive().default(1_000_000),
  /** Where new anomaly detections are POSTed as JSON after each anomaly run; unset: no webhook. */
  ANOMALY_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  /** Lowest severity the anomaly webhook is sent for. @default HIGH */
  ANOMALY_WEBHOOK_MIN_SEVERITY: z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']).default('HIGH'),
  /** How long a store's ingest batches are collected before one analytics flow runs for all of them, ms. @default 2000 */
  ANALYTICS_DEBOUNCE_MS: z.coerce.number().int().min(0).max(3_600_000).default(2000),
  /**
   * Shortest time between the starts of two analytics flows of one store, ms: under a steady
   * stream of batches the gold layer is refreshed at most this often, leaving the engine to the
   * ingest in between. A single batch still starts its flow after the debounce. @default 10000
   */
  ANALYTICS_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /**
   * Largest share of wall time a store's analytics flows may take under a steady stream of
   * batches: after a flow that took D ms, the store's next flow starts no sooner than D / this
   * after the previous one started (and never sooner than ANALYTICS_MIN_INTERVAL_MS), so the
   * interval stretches as the store's data, and with it every flow, grows. `1` turns the
   * stretching off. @default 0.2
   */
  ANALYTICS_MAX_DUTY_CYCLE: z.coerce.number().gt(0, 'must be more than 0').max(1, 'must be at most 1').default(0.2),
});

export type Config = Readonly<z.infer<typeof configSchema> & { dataDir: string }>;

/** Names of variables never to print. */
export const SECRET_VARIABLES = ['CLICKHOUSE_PASSWORD', 'ADMIN_API_KEY', 'REDIS_URL', 'CLICKHOUSE_URL', 'ANOMALY_WEBHOOK_URL'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n') +
        '\nFix these environment variables and start again.',
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once. Empty strings count as unset. Throws a ConfigError naming every
 * bad variable; the message never contains a variable's value.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => ({
      variable: String(i.path[0] ?? '(environment)'),
      message: i.message,
    }));
    throw new ConfigError(problems);
  }
  return Object.freeze({ ...result.data, dataDir: path.resolve(result.data.DATA_DIR) });
}

let cached: Config | undefined;

/** The process-wide configuration, parsed on first use. */
export function getConfig(): Config {
  cached ??= parseConfig();
  return cached;
}
