import type { Logger } from 'pino';
import type { EncodedLines, QueryOptions, Warehouse } from '../warehouse/client.js';
import { newQueryId } from '../warehouse/client.js';
import { currentQueryScope } from '../warehouse/query-scope.js';
import { warehouseDuration } from './metrics.js';

/**
 * A warehouse query that ran over its time budget and was given up by the app (the engine's own
 * limit, max_execution_time, normally stops it first). Carries ClickHouse's TIMEOUT_EXCEEDED code
 * so it is reported like the engine's own timeout (extensions.code TIMEOUT).
 */
export class QueryTimeoutError extends Error {
  readonly code = '159';
  readonly type = 'TIMEOUT_EXCEEDED';
  constructor(readonly queryId: string, budgetMs: number) {
    super(`warehouse query ${queryId} ran over its time budget of ${budgetMs} ms`);
    this.name = 'QueryTimeoutError';
  }
}

/** How much longer than the engine's own limit the app waits before giving a query up itself, ms. */
const DEADLINE_GRACE_MS = 1000;

function isTimeout(err: unknown): boolean {
  for (let e = err, d = 0; e && typeof e === 'object' && d < 5; e = (e as { cause?: unknown }).cause, d++) {
    const x = e as { code?: unknown; type?: unknown; name?: unknown };
    if (x.code === '159' || x.type === 'TIMEOUT_EXCEEDED' || x.name === 'ChdbTimeoutError') return true;
  }
  return false;
}

/**
 * Wraps a Warehouse so that every statement
 * - takes the current request's AbortSignal and time budget when it runs inside a query scope
 *   (src/warehouse/query-scope.ts) and its caller did not set its own;
 * - is cancelled on the engine when that signal aborts or the budget (plus a grace second) is
 *   over: the server engine gets `KILL QUERY` for its query id (besides the HTTP request being
 *   closed); the embedded engine (chdb) has no way to interrupt a running statement, so there
 *   the caller is released at once and the engine stops the statement at its max_execution_time;
 * - is timed into ecomm_warehouse_query_duration_seconds and, when slower than `slowQueryMs`,
 *   logged with its query id and duration (the SQL's first characters, never parameter values).
 */
export function instrumentWarehouse(wh: Warehouse, opts: { slowQueryMs: number; log: () => Logger }): Warehouse {
  const kill = (queryId: string) => {
    if (wh.engine !== 'server') return;
    wh.client
      .command({ query: 'KILL QUERY WHERE query_id = {id:String} ASYNC', query_params: { id: queryId }, clickhouse_settings: { max_execution_time: 10 } })
      .catch((err: Error) => opts.log().warn({ queryId, err: err.message }, 'KILL QUERY failed'));
  };

  async function run<T>(kind: 'query' | 'command' | 'insert', what: string, o: QueryOptions | undefined, exec: (o: QueryOptions) => Promise<T>): Promise<T> {
    const scope = currentQueryScope();
    const queryId = o?.queryId ?? newQueryId(kind === 'query' ? 'q' : kind === 'command' ? 'cmd' : 'ins');
    const budgetMs = o?.maxExecutionTime !== undefined ? o.maxExecutionTime * 1000 : scope?.timeoutMs;
    const callerSignal = o?.abortSignal ?? scope?.signal;
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (scope?.timeoutMs !== undefined && budgetMs !== undefined) {
      timer = setTimeout(() => deadline.abort(new QueryTimeoutError(queryId, budgetMs)), budgetMs + DEADLINE_GRACE_MS);
      timer.unref();
    }
    const signal = callerSignal ? AbortSignal.any([callerSignal, deadline.signal]) : deadline.signal;
    const onAbort = () => kill(queryId);
    signal.addEventListener('abort', onAbort, { once: true });
    const full: QueryOptions = {
      ...o,
      queryId,
      abortSignal: signal,
      ...(o?.maxExecutionTime === undefined && scope?.timeoutMs !== undefined ? { maxExecutionTime: scope.timeoutMs / 1000 } : {}),
    };
    const t0 = performance.now();
    let outcome = 'ok';
    try {
      return await exec(full);
    } catch (err) {
      if (deadline.signal.aborted) {
        outcome = 'timeout';
        throw deadline.signal.reason as Error;
      }
      outcome = isTimeout(err) ? 'timeout' : signal.aborted ? 'aborted' : 'error';
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      const ms = performance.now() - t0;
      warehouseDuration.observe({ kind, outcome }, ms / 1000);
      if (ms >= opts.slowQueryMs) {
        opts.log().warn({ queryId, kind, ms: Math.round(ms), outcome, sql: what.replace(/\s+/g, ' ').trim().slice(0, 300) }, 'slow warehouse query');
      }
    }
  }

  // Spread: whatever else a Warehouse carries stays as it is.
  return {
    ...wh,
    query<T>(sql: string, params?: Record<string, unknown>, o?: QueryOptions) {
      return run('query', sql, o, (full) => wh.query<T>(sql, params, full));
    },
    command(sql: string, params?: Record<string, unknown>, o?: QueryOptions) {
      return run('command', sql, o, (full) => wh.command(sql, params, full));
    },
    insert(table: string, rows: readonly Record<string, unknown>[], o?: QueryOptions) {
      return run('insert', `INSERT INTO ${table}`, o, (full) => wh.insert(table, rows, full));
    },
    insertLines(table: string, data: EncodedLines, o?: QueryOptions) {
      return run('insert', `INSERT INTO ${table}`, o, (full) => wh.insertLines(table, data, full));
    },
  };
}
