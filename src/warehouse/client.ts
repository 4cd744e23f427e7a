import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { instrumentWarehouse } from '../metrics/warehouse-instrument.js';
import { logger } from '../logging/logger.js';

/** Which engine a warehouse talks to. */
export type EngineKind = 'server' | 'embedded';

/** Settings every query runs with: exact decimals and 64-bit integers as JSON strings. */
const BASE_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_decimals: 1,
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
};

/** A warehouse connection: the @clickhouse/client plus what it talks to. */
export interface Warehouse {
  readonly client: ClickHouseClient;
  readonly engine: EngineKind;
  readonly database: string;
  readonly cluster?: string;
  /** Runs a SELECT with bound parameters and returns its rows. */
  query<T = Record<string, unknown>>(
    sql: string,
    params?: Record<string, unknown>,
    opts?: QueryOptions,
  ): Promise<T[]>;
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  command(sql: string, params?: Record<string, unknown>, opts?: QueryOptions): Promise<void>;
  /** Inserts rows as JSONEachRow. */
  insert(table: string, rows: readonly Record<string, unknown>[], opts?: QueryOptions): Promise<void>;
  close(): Promise<void>;
}

export interface QueryOptions {
  /** Tag for system.query_log and cancellation; default: a random one with the given prefix. */
  queryId?: string;
  /** Seconds; default CLICKHOUSE_MAX_EXECUTION_TIME. */
  maxExecutionTime?: number;
  abortSignal?: AbortSignal;
  /**
   * Extra settings for this query. Note: the embedded connection applies settings with SET, so they
   * persist for later queries of the process; pass only settings every query may share.
   */
  settings?: ClickHouseSettings;
}

/** Makes a query id: readable prefix + random part, unique per query. */
export function newQueryId(prefix = 'q'): string {
  return `${prefix}-${randomUUID()}`;
}

let embeddedPath: string | undefined;

/**
 * Creates the process's warehouse: HTTP to a ClickHouse server when CLICKHOUSE_URL is set,
 * otherwise the embedded engine (chdb) with its data under DATA_DIR/clickhouse. The database is
 * created when missing. Only one embedded engine (one data path) can live in a process.
 */
export async function createWarehouse(config: Config): Promise<Warehouse> {
  const database = config.CLICKHOUSE_DATABASE;
  const maxExecutionTime = config.CLICKHOUSE_MAX_EXECUTION_TIME;
  let client: ClickHouseClient;
  let engine: EngineKind;
  if (config.CLICKHOUSE_URL) {
    engine = 'server';
    const admin = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      request_timeout: 30_000,
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      // ON CLUSTER takes no query parameter; the cluster name is an identifier checked by the config schema.
      await admin.command({
        query: config.CLICKHOUSE_CLUSTER
          ? `CREATE DATABASE IF NOT EXISTS {db:Identifier} ON CLUSTER ${config.CLICKHOUSE_CLUSTER}`
          : 'CREATE DATABASE IF NOT EXISTS {db:Identifier}',
        query_params: { db: database },
      });
    } catch (err) {
      // Keep the ClickHouseError (its code) but say where and as whom it failed.
      if (err instanceof Error) {
        err.message =
          `Cannot prepare database ${database} on the ClickHouse server ${new URL(config.CLICKHOUSE_URL).host} ` +
          `as user ${config.CLICKHOUSE_USER}: ${err.message}`;
      }
      throw err;
    } finally {
      await admin.close();
    }
    client = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      database,
      // The engine enforces max_execution_time; the socket waits a little longer than the largest allowed.
      request_timeout: (Math.max(maxExecutionTime, 3600) + 30) * 1000,
      clickhouse_settings: BASE_SETTINGS,
      // Failed queries surface as errors to the caller, which logs them with context; no raw stderr dumps.
      log: { level: ClickHouseLogLevel.OFF },
    });
  } else {
    engine = 'embedded';
    const dir = path.join(config.dataDir, 'clickhouse');
    if (embeddedPath && embeddedPath !== dir) {
      throw new Error(
        `The embedded engine is already open at ${embeddedPath}; one process can hold one engine. ` +
          'Run the API and workers in one process, or set CLICKHOUSE_URL to use a server.',
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    const { createChdbConnection } = await import('chdb/connection');
    client = createClient({
      connection: createChdbConnection({ path: dir }),
      clickhouse_settings: BASE_SETTINGS,
      log: { level: ClickHouseLogLevel.OFF },
    } as Parameters<typeof createClient>[0]);
    embeddedPath = dir;
    // The embedded connection ignores the `database` option; USE persists for the engine session.
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: database } });
    await client.command({ query: 'USE {db:Identifier}', query_params: { db: database } });
  }

  const settingsFor = (opts?: QueryOptions): ClickHouseSettings => ({
    max_execution_time: opts?.maxExecutionTime ?? maxExecutionTime,
    ...opts?.settings,
  });

  const base: Warehouse = {
    client,
    engine,
    database,
    cluster: config.CLICKHOUSE_CLUSTER,
    async query<T>(sql: string, params: Record<string, unknown> = {}, opts?: QueryOptions) {
      const rs = await client.query({
        query: sql,
        query_params: params,
        format: 'JSONEachRow',
        query_id: opts?.queryId ?? newQueryId(),
        clickhouse_settings: settingsFor(opts),
        abort_signal: opts?.abortSignal,
      });
      return (await rs.json()) as T[];
    },
    async command(sql: string, params: Record<string, unknown> = {}, opts?: QueryOptions) {
      await client.command({
        query: sql,
        query_params: params,
        query_id: opts?.queryId ?? newQueryId('cmd'),
        clickhouse_settings: settingsFor(opts),
        abort_signal: opts?.abortSignal,
      });
    },
    async insert(table: string, rows: readonly Record<string, unknown>[], opts?: QueryOptions) {
      if (rows.length === 0) return;
      await client.insert({
        table,
        values: rows as Record<string, unknown>[],
        format: 'JSONEachRow',
        query_id: opts?.queryId ?? newQueryId('ins'),
        clickhouse_settings: settingsFor(opts),
        abort_signal: opts?.abortSignal,
      });
    },
    async close() {
      await client.close();
      if (engine === 'embedded') embeddedPath = undefined;
    },
  };
  // Metrics, slow-query log, and the API request's abort signal and time budget on every statement.
  return instrumentWarehouse(base, { slowQueryMs: config.SLOW_QUERY_MS ?? 1000, log: logger });
}
