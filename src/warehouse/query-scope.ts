import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the warehouse queries run on behalf of one API request share: the request's AbortSignal
 * (the client went away) and its time budget. The HTTP server opens a scope per GraphQL request;
 * the Warehouse (src/warehouse/client.ts) applies it to every query made inside it, so query
 * functions need not pass options through. Queries outside a scope (workers, CLI) are unaffected.
 */
export interface QueryScope {
  /** Aborted when the work is no longer wanted: the engine query is cancelled. */
  signal?: AbortSignal;
  /** Time budget of each warehouse query, ms (the engine's max_execution_time). */
  timeoutMs?: number;
  /**
   * Set once the request has been answered: work that outlives it (a timer or loop first started
   * while serving it) must not inherit its signal or budget.
   */
  done?: boolean;
}

const storage = new AsyncLocalStorage<QueryScope>();

/** Runs `fn` with `scope` applying to the warehouse queries it makes (also in its async continuations). */
export function runInQueryScope<T>(scope: QueryScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the current async context, if any. */
export function currentQueryScope(): QueryScope | undefined {
  const scope = storage.getStore();
  return scope && !scope.done ? scope : undefined;
}

/**
 * The scope of work shared by several requests (one computation of an answer that identical
 * concurrent requests wait for, src/cache/answer-cache.ts): the current request's time budget, but
 * `signal` in place of the request's own, so the request that happened to start the work going
 * away does not cancel it for the others. Read at once when the work starts.
 */
export function sharedQueryScope(signal: AbortSignal): QueryScope {
  const scope = storage.getStore();
  return { signal, ...(scope?.timeoutMs !== undefined ? { timeoutMs: scope.timeoutMs } : {}) };
}
