/**
 * The dashboard's only way to the server: GraphQL POSTs to /graphql with the key in
 * `Authorization: Bearer <key>`. Errors come back as {@link ApiError} with the server's
 * `extensions.code`, so pages can say what went wrong in words (see {@link describeError}).
 */

/** A GraphQL error as the server formats it. */
export interface GraphQLErrorItem {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; retryAfter?: number; [k: string]: unknown };
}

/** Why a request failed, by the server's `extensions.code` (or NETWORK when it did not answer). */
export type ErrorKind =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'BAD_USER_INPUT'
  | 'TIMEOUT'
  | 'NOT_AVAILABLE'
  | 'NETWORK'
  | 'INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Seconds to wait, for RATE_LIMITED. */
    readonly retryAfter?: number,
    /** The argument at fault, for BAD_USER_INPUT (e.g. "store"). */
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The field names of the Query type, when the server lets us see them (introspection). */
let queryFieldsPromise: Promise<Set<string> | null> | null = null;
let currentKey = '';

/** Sets the key every later request carries; forgets what the previous key could see. */
export function setApiKey(key: string): void {
  if (key !== currentKey) queryFieldsPromise = null;
  currentKey = key;
}

/** Observers of finished requests (the shell uses them to show a global "key rejected" state). */
type Listener = (err: ApiError | null) => void;
const listeners = new Set<Listener>();
export function onRequestOutcome(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

const VALIDATION_CODES = new Set(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

function toApiError(status: number, errors: GraphQLErrorItem[] | undefined, retryAfterHeader: string | null): ApiError {
  const first = errors?.[0];
  const code = first?.extensions?.code ?? (status === 401 ? 'UNAUTHENTICATED' : status === 429 ? 'RATE_LIMITED' : undefined);
  const message = first?.message ?? `the server answered HTTP ${status}`;
  switch (code) {
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'TIMEOUT':
      return new ApiError(code, message);
    case 'BAD_USER_INPUT': {
      const argument = first?.extensions?.argument;
      return new ApiError(code, message, undefined, typeof argument === 'string' ? argument : undefined);
    }
    case 'RATE_LIMITED': {
      const ra = Number(first?.extensions?.retryAfter ?? retryAfterHeader ?? NaN);
      return new ApiError('RATE_LIMITED', message, Number.isFinite(ra) ? ra : undefined);
    }
    default:
      // A query or field this server does not have (the API is growing): not a crash, a state.
      if (code && VALIDATION_CODES.has(code) && /Cannot query field|Unknown argument|Unknown type/.test(message)) {
        return new ApiError('NOT_AVAILABLE', message);
      }
      return new ApiError('INTERNAL', message);
  }
}

/**
 * Runs one GraphQL operation and returns its `data`. Throws {@link ApiError}; a partial answer
 * (data with errors) also throws, with the first error, so a page never shows half-true numbers.
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, opts: { signal?: AbortSignal; key?: string } = {}): Promise<T> {
  const key = opts.key ?? currentKey;
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    const e = new ApiError('NETWORK', 'the server did not answer; is it running?');
    listeners.forEach((l) => l(e));
    throw e;
  }
  let body: { data?: T; errors?: GraphQLErrorItem[] } = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's error page): reported by status below.
  }
  if (body.errors?.length || !body.data) {
    const e = toApiError(res.status, body.errors, res.headers.get('retry-after'));
    if (opts.key === undefined) listeners.forEach((l) => l(e));
    throw e;
  }
  if (opts.key === undefined) listeners.forEach((l) => l(null));
  return body.data;
}

/**
 * The names of the server's root fields, asked once per key by introspection: queries by their
 * name, mutations as `Mutation.<name>`. Null when the server does not answer introspection (then
 * pages just try their query and a validation error becomes NOT_AVAILABLE).
 */
export function queryFields(): Promise<Set<string> | null> {
  if (!queryFieldsPromise) {
    queryFieldsPromise = gql<{ __schema: { queryType: { fields: Array<{ name: string }> }; mutationType: { fields: Array<{ name: string }> } | null } }>(
      'query DashboardRootFields { __schema { queryType { fields { name } } mutationType { fields { name } } } }',
    ).then(
      (d) => new Set([...d.__schema.queryType.fields.map((f) => f.name), ...(d.__schema.mutationType?.fields ?? []).map((f) => `Mutation.${f.name}`)]),
      (err: ApiError) => {
        queryFieldsPromise = null;
        if (err.kind === 'UNAUTHENTICATED' || err.kind === 'RATE_LIMITED' || err.kind === 'NETWORK') throw err;
        return null;
      },
    );
  }
  return queryFieldsPromise;
}

/** Throws NOT_AVAILABLE when the server is known not to have every one of `fields`. */
export async function requireQueries(fields: string[]): Promise<void> {
  const known = await queryFields();
  if (!known) return;
  const missing = fields.filter((f) => !known.has(f));
  if (missing.length) throw new ApiError('NOT_AVAILABLE', `this server has no ${missing.map((m) => `\`${m.replace('Mutation.', '')}\``).join(', ')} ${missing.every((m) => m.startsWith('Mutation.')) ? 'mutation' : 'query'} yet`);
}

/** A sentence a shop owner can act on, for any error a request may end with. */
export function describeError(err: unknown): { title: string; detail: string } {
  if (!(err instanceof ApiError)) return { title: 'Something went wrong', detail: String((err as Error)?.message ?? err) };
  switch (err.kind) {
    case 'UNAUTHENTICATED':
      return { title: 'Your API key was not accepted', detail: 'The key is unknown, expired or revoked. Enter a valid key with "Change key".' };
    case 'FORBIDDEN':
      return { title: 'Your key may not see this', detail: err.message };
    case 'RATE_LIMITED':
      return {
        title: 'Too many requests',
        detail: `This key's rate limit was reached.${err.retryAfter !== undefined ? ` Try again in ${Math.ceil(err.retryAfter)} s.` : ' Try again in a moment.'}`,
      };
    case 'TIMEOUT':
      return { title: 'The query took too long', detail: 'Choose a shorter date range and try again.' };
    case 'BAD_USER_INPUT':
      if (err.argument === 'store') return { title: 'Choose a store', detail: `${err.message}. Enter the store id in the Store field above.` };
      return { title: 'The server refused the request', detail: err.message };
    case 'NOT_AVAILABLE':
      return { title: 'Not available on this server', detail: err.message };
    case 'NETWORK':
      return { title: 'No connection', detail: err.message };
    default:
      return { title: 'The server had a problem', detail: err.message };
  }
}
