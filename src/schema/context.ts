import type { Logger } from 'pino';
import type { Services } from '../app/services.js';
import type { ApiKeyRecord } from '../auth/api-keys.js';
import type { EntityLoaders } from '../resolvers/loaders.js';
import type { AnswerCache, AnswerUsage } from '../cache/answer-cache.js';

/** Per-request GraphQL context. */
export interface RequestContext {
  requestId: string;
  services: Services;
  /** Logger carrying the request id. */
  log: Logger;
  /** The API key the request presented, resolved and active; absent when none was sent (only public fields then). */
  apiKey?: ApiKeyRecord;
  /** Per-request DataLoaders of the entity fields, created on first use (src/resolvers/loaders.ts `loadersOf`). */
  loaders?: EntityLoaders;
  /**
   * Aborted when the client goes away. Warehouse queries made while resolving this request get
   * it (and the QUERY_TIMEOUT_MS budget) automatically (src/warehouse/query-scope.ts); pass it
   * explicitly only to other cancellable work.
   */
  signal?: AbortSignal;
  /** The Redis answer cache; use it through `cachedAnswer` (src/cache/answer-cache.ts). */
  answerCache?: AnswerCache;
  /** What the answer cache did for this request (for the Cache-Control/Age headers). */
  answerUsage?: AnswerUsage;
}
