import { registerEnumType } from 'type-graphql';
import type { Scope } from '../auth/api-keys.js';

/** GraphQL names of the API key scopes, mapped to the stored values. */
export const ScopeEnum = {
  READ: 'read',
  INGEST: 'ingest',
  ADMIN: 'admin',
} as const satisfies Record<string, Scope>;

registerEnumType(ScopeEnum, {
  name: 'Scope',
  description: 'What an API key may do. ADMIN implies every other scope.',
  valuesConfig: {
    READ: { description: 'Run analytics queries on the stores the key may see.' },
    INGEST: { description: 'Send data: the ingestEvents mutation, POST /v1/events and POST /v1/imports.' },
    ADMIN: { description: 'Manage API keys (createApiKey, revokeApiKey, apiKeys); implies READ and INGEST.' },
  },
});
