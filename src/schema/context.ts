import type { Logger } from 'pino';
import type { Services } from '../app/services.js';
import type { ApiKeyRecord } from '../auth/api-keys.js';

/** Per-request GraphQL context. */
export interface RequestContext {
  requestId: string;
  services: Services;
  /** Logger carrying the request id. */
  log: Logger;
  /** The API key the request presented, resolved and active; absent when none was sent (only public fields then). */
  apiKey?: ApiKeyRecord;
}
