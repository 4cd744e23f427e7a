import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { TextBytes } from './text-bytes.js';
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
  /**
   * Inserts rows already encoded as lines of `format` for these columns, in order, as one buffer
   * of bytes: for writers that build each row's text anyway (the live-events loader).
   */
  insertLines(table: string, data: EncodedLines, opts?: QueryOptions): Promise<void>;
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

/** Rows as text lines of a line-per-row format: JSONCompactEachRow (a JSON array of the values) or TabSeparated. */
export interface EncodedLines {
  format: 'JSONCompactEachRow' | 'TabSeparated';
  columns: readonly string[];
  /** The lines as UTF-8 bytes, each ended by LF (see TextBytes). */
  bytes: Buffer;
}

/**
 * SETTINGS clause of the import's key lookups (existing facts, known customers and products): one
 * reading thread. Each lookup reads a whole key column of a store; more threads add read buffers
 * and engine memory for little gain on a process that is importing anyway.
 */
export const LOOKUP_SETTINGS = 'SETTINGS max_threads = 1';

/** Makes a query id: readable prefix + random part, unique per query. */
export function newQueryId(prefix = 'q'): string {
  return `${prefix}-${randomUUID()}`;
}

let embeddedPath: string | undefined;

/**
 * Allocator settings of the embedded engine (jemalloc inside libchdb, read once when the library
 * loads; an operator's own JE_MALLOC_CONF wins). The built-in dirty_decay_ms is 5000: pages freed
 * by the engine (every insert's parse and part buffers) stay resident for 5 s, ≈ 70 MB during an
 * import. 200 ms returns them almost at once, for a few % of insert time.
 */
const EMBEDDED_MALLOC_CONF = 'dirty_decay_ms:200,muzzy_decay_ms:0';

/**
 * Server settings of the embedded engine, which can only be given when it starts. Its defaults
 * size the caches for a server with the machine to itself (mark and primary-index caches up to
 * 5 GB each); here the engine shares one process with the API and the workers.
 */
const EMBEDDED_ENGINE_ARGS = [
  '--mark_cache_size=134217728',
  '--index_mark_cache_size=33554432',
  '--primary_index_cache_size=134217728',
  '--query_condition_cache_size=16777216',
  '--compiled_expression_cache_size=33554432',
  // Threads: removing the parts a merge replaced ran on up to 128 threads, and the global pool
  // kept up to 1000 idle threads, each holding its touched stack (≈ 130 extra threads, ≈ 80 MB
  // RSS, a few minutes into an import).
  '--max_parts_cleaning_thread_pool_size=2',
  '--parts_killer_pool_size=2',
  '--max_outdated_parts_loading_thread_pool_size=2',
  '--max_thread_pool_free_size=16',
  // Two background merges at a time instead of four (the pool has 2 threads): each merge holds
  // its parts' read and write buffers; on a 1,000,000-row import the peak RSS fell from 525 to
  // 504 MB at the same rows/s, and the merges kept up (43 parts of fact_orders at the end, not 32).
  '--background_merges_mutations_concurrency_ratio=1',
];

/**
 * MergeTree settings of the embedded engine. They are not query settings, so they can only reach
 * it in a config file (`--config-file`, written next to its data at start). Vertical merges for
 * every merge whose result is a wide part, not only from 131,072 rows and 11 non-key columns on:
 * a horizontal merge writes all columns at once, each through compression and file buffers of
 * its own (`system.merges` showed ≈ 95 MB for one merge of ≈ 2 MB of compressed orders during an
 * import, ≈ 200 MB for two), while a vertical one writes the key columns and then one column at a
 * time (the engine's tracked memory stayed ≤ 90 MB in the same 1,480,000-row import, same CPU).
 */
const EMBEDDED_ENGINE_CONFIG = `<clickhouse>
  <merge_tree>
    <vertical_merge_algorithm_min_rows_to_activate>1</vertical_merge_algorithm_min_rows_to_activate>
    <vertical_merge_algorithm_min_columns_to_activate>1</vertical_merge_algorithm_min_columns_to_activate>
  </merge_tree>
</clickhouse>
`;

/** A buffer for `lines` lines of text, sized from the first line (see {@link TextBytes}). */
class LineBuffer {
  private out: TextBytes | undefined;
  constructor(private readonly expectedLines: number) {}
  push(line: string): void {
    // Sized so an insert's rows rarely need a second, larger buffer.
    this.out ??= new TextBytes(Math.max(16 * 1024, this.expectedLines * (line.length + 1) * 1.25));
    this.out.line(line);
  }
  bytes(): Buffer {
    return this.out ? this.out.bytes() : Buffer.alloc(0);
  }
}

/** Rows as JSONEachRow bytes (the text @clickhouse/client would send), in one Buffer. */
export function jsonEachRow(rows: readonly Record<string, unknown>[]): Buffer {
  const out = new LineBuffer(rows.length);
  for (const row of rows) out.push(JSON.stringify(row));
  return out.bytes();
}

/**
 * Rows as JSONCompactEachRow bytes (one JSON array of values per line) with their column list,
 * when every row has the same keys in the same order and no undefined value — the rows of one
 * insert almost always do. The engine parses this faster than JSONEachRow (no key per value) and
 * it is shorter to build. `undefined` otherwise (then JSONEachRow, where a missing key means the
 * column's default).
 */
export function jsonCompactEachRow(rows: readonly Record<string, unknown>[]): { columns: string[]; bytes: Buffer } | undefined {
  if (rows.length === 0) return undefined;
  const columns = Object.keys(rows[0]!);
  const width = columns.length;
  const out = new LineBuffer(rows.length);
  for (const row of rows) {
    let line = '[';
    let i = 0;
    for (const key in row) {
      const v = row[key];
      if (i >= width || key !== columns[i] || v === undefined) return undefined;
      line += (i === 0 ? '' : ',') + JSON.stringify(v);
      i++;
    }
    if (i !== width) return undefined;
    out.push(line + ']');
  }
  return { columns, bytes: out.bytes() };
}

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
  /** Embedded: a session of its own for inserts, which takes the rows as bytes (no SQL text copy). */
  let rawSession: import('chdb').Session | undefined;
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
    if (!embeddedPath) process.env.JE_MALLOC_CONF ??= EMBEDDED_MALLOC_CONF;
    // The first connection starts the engine (with its server settings); it also takes the inserts.
    const { Session } = await import('chdb');
    const configFile = path.join(config.dataDir, 'embedded-engine.xml');
    fs.writeFileSync(configFile, EMBEDDED_ENGINE_CONFIG);
    rawSession = new Session(dir, { connectionArgs: [...EMBEDDED_ENGINE_ARGS, `--config-file=${configFile}`] });
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
      if (rawSession) {
        // Settings go with the statement (SETTINGS …), not SET: this connection keeps none.
        const settings = Object.fromEntries(Object.entries({ ...BASE_SETTINGS, ...settingsFor(opts) }).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;
        const compact = jsonCompactEachRow(rows);
        await rawSession.insert(
          compact
            ? { table: `${database}.${table}`, values: compact.bytes, format: 'JSONCompactEachRow', columns: compact.columns, settings, signal: opts?.abortSignal }
            : { table: `${database}.${table}`, values: jsonEachRow(rows), format: 'JSONEachRow', settings, signal: opts?.abortSignal },
        );
        return;
      }
      await client.insert({
        table,
        values: rows as Record<string, unknown>[],
        format: 'JSONEachRow',
        query_id: opts?.queryId ?? newQueryId('ins'),
        clickhouse_settings: settingsFor(opts),
        abort_signal: opts?.abortSignal,
      });
    },
    async insertLines(table: string, data: EncodedLines, opts?: QueryOptions) {
      const { bytes } = data;
      if (bytes.length === 0) return;
      if (rawSession) {
        const settings = Object.fromEntries(Object.entries({ ...BASE_SETTINGS, ...settingsFor(opts) }).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;
        await rawSession.insert({ table: `${database}.${table}`, values: bytes, format: data.format, columns: [...data.columns], settings, signal: opts?.abortSignal });
        return;
      }
      // The bytes go as the request body of the INSERT as they are (@clickhouse/client's insert()
      // takes JSON formats only as objects); table and columns are the caller's names, not input.
      const name = (id: string) => '`' + id.replace(/`/g, '``') + '`';
      const res = await client.exec({
        query: `INSERT INTO ${name(table)} (${data.columns.map(name).join(', ')}) FORMAT ${data.format}`,
        values: Readable.from([bytes], { objectMode: false }),
        query_id: opts?.queryId ?? newQueryId('ins'),
        clickhouse_settings: settingsFor(opts),
        abort_signal: opts?.abortSignal,
      });
      for await (const _ of res.stream) {
        // an INSERT answers with an empty body
      }
    },
    async close() {
      await client.close();
      rawSession?.close();
      if (engine === 'embedded') embeddedPath = undefined;
    },
  };
  // Metrics, slow-query log, and the API request's abort signal and time budget on every statement.
  return instrumentWarehouse(base, { slowQueryMs: config.SLOW_QUERY_MS ?? 1000, log: logger });
}
