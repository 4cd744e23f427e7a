import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AuthError } from '../auth/authenticate.js';
import type { RequestContext } from '../schema/context.js';
import { HttpError } from './respond.js';

/** The codes clients see in `extensions.code` for errors the app raises itself. */
export const ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'RATE_LIMITED', 'TIMEOUT', 'INTERNAL'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An error with a stable code, safe to show to clients as it is: its message and extensions must
 * hold no SQL, stack or secret. `extensions` adds fields such as `argument` (BAD_USER_INPUT) or
 * `retryAfter` (RATE_LIMITED).
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** BAD_USER_INPUT naming the argument at fault (`extensions.argument`). */
export function badUserInput(argument: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('BAD_USER_INPUT', `${argument}: ${message}`, { argument, ...extra });
}

/** RATE_LIMITED, with the whole seconds after which a retry can succeed (`extensions.retryAfter`). */
export function rateLimited(retryAfter: number, limitPerMinute: number): AppError {
  return new AppError('RATE_LIMITED', `rate limit of ${limitPerMinute} requests per minute exceeded; retry after ${retryAfter} s`, {
    retryAfter,
    limitPerMinute,
  });
}

/** Codes Apollo and graphql-js set for problems with the request itself; their messages name no internals. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  ...ERROR_CODES.filter((c) => c !== 'INTERNAL'),
]);

const INTERNAL_MESSAGE = 'internal error; the request id identifies it in the server log';

/** True for a warehouse query that ran over its time limit (ClickHouse TIMEOUT_EXCEEDED, code 159) or a timed-out request to it. */
export function isTimeoutError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const x = e as { code?: unknown; type?: unknown; clickhouseCode?: unknown; name?: unknown; message?: unknown };
    if (x.code === '159' || x.type === 'TIMEOUT_EXCEEDED' || x.clickhouseCode === 159 || x.name === 'ChdbTimeoutError') return true;
    // @clickhouse/client's own socket timeout.
    if (x.message === 'Timeout error.') return true;
  }
  return false;
}

/** What a client may see of an error: a code, a message and extra extensions; `internal` when the details were withheld. */
export interface ClassifiedError {
  code: string;
  message: string;
  extensions: Record<string, unknown>;
  internal: boolean;
}

/**
 * Decides what a client sees of an error. Known errors keep their code and message; everything
 * else becomes INTERNAL with a generic message (the caller logs the original). Follows the
 * `originalError` chain graphql-js and Apollo wrap resolver and context errors in.
 */
export function classifyError(err: unknown): ClassifiedError {
  let e: unknown = err;
  for (let depth = 0; depth < 6; depth++) {
    if (e instanceof AuthError) return { code: e.code, message: e.message, extensions: {}, internal: false };
    if (e instanceof AppError) return { code: e.code, message: e.message, extensions: { ...e.extensions }, internal: false };
    if (e instanceof HttpError) {
      const code = e.status === 401 ? 'UNAUTHENTICATED' : e.status === 403 ? 'FORBIDDEN' : e.status === 429 ? 'RATE_LIMITED' : e.status < 500 ? 'BAD_USER_INPUT' : undefined;
      if (code) return { code, message: e.message, extensions: { ...e.details }, internal: false };
      break;
    }
    if (isTimeoutError(e)) {
      return { code: 'TIMEOUT', message: 'the query ran over its time limit; narrow the range or ask for less', extensions: {}, internal: false };
    }
    if (!(e instanceof GraphQLError)) break;
    // Apollo answers an APQ hash that does not match its query with a code-less 400.
    if (e.message === 'provided sha does not match query' && !e.extensions?.['code']) {
      return { code: 'BAD_USER_INPUT', message: 'extensions.persistedQuery.sha256Hash does not match the query', extensions: {}, internal: false };
    }
    const code = e.extensions?.['code'];
    const inner = e.originalError && e.originalError !== e ? e.originalError : undefined;
    // A coded GraphQLError about the request (validation, coercion, parse, or raised on purpose) — unless it wraps a non-GraphQL error, which decides instead.
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code) && (!inner || inner instanceof GraphQLError)) {
      const { http: _http, code: _code, stacktrace: _stack, ...rest } = e.extensions;
      return { code, message: e.message, extensions: rest, internal: false };
    }
    if (!inner) break;
    e = inner;
  }
  return { code: 'INTERNAL', message: INTERNAL_MESSAGE, extensions: {}, internal: true };
}

/**
 * Apollo `formatError`: maps AuthError/AppError/HttpError/timeouts to `extensions.code`; anything
 * unknown becomes INTERNAL with a generic message. Only `message`, `locations`, `path` and the
 * chosen extensions reach the client — never a stack, SQL or the original message of an unknown error.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const c = classifyError(error);
  const out: { message: string; locations?: GraphQLFormattedError['locations']; path?: GraphQLFormattedError['path']; extensions: Record<string, unknown> } = {
    message: c.message,
    extensions: { ...c.extensions, code: c.code },
  };
  if (formatted.locations) out.locations = formatted.locations;
  if (formatted.path) out.path = formatted.path;
  return out;
}

/** Logs each error a client will see as INTERNAL, with the request id, so the generic message can be traced. */
export function logInternalError(log: Logger, err: unknown, where: Record<string, unknown> = {}): void {
  const original = unwrapResolverError(err);
  log.error({ err: original, ...where }, 'internal error (shown to the client as INTERNAL)');
}

/** Apollo plugin: logs the originals of INTERNAL errors through the request's logger (which carries the request id). */
export function internalErrorLogger(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors(rc) {
          for (const err of rc.errors) {
            if (classifyError(err).internal) logInternalError(rc.contextValue.log, err, { path: err.path?.join('.') });
          }
        },
      };
    },
  };
}

/** A GraphQL-shaped body for a request refused before GraphQL execution (rate limit, failed key lookup). */
export function graphqlErrorBody(c: Pick<ClassifiedError, 'code' | 'message' | 'extensions'>): { errors: GraphQLFormattedError[] } {
  return { errors: [{ message: c.message, extensions: { ...c.extensions, code: c.code } }] };
}
