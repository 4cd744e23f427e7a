import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { HealthResolver } from '../resolvers/health.resolver.js';
import { ApiKeyResolver } from '../resolvers/api-key.resolver.js';
import { IngestResolver } from '../resolvers/ingest.resolver.js';
import { DATA_RESOLVERS } from '../resolvers/data-resolvers.js';
import { authChecker } from '../auth/auth-checker.js';

/** Builds the GraphQL schema from the type-graphql resolvers. */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      HealthResolver,
      ApiKeyResolver,
      IngestResolver,
      ...DATA_RESOLVERS,
    ],
    authChecker,
    authMode: 'error',
    validate: false,
  });
  // type-graphql has no option for the root types' descriptions.
  const query = schema.getQueryType();
  if (query) query.description = 'Reads. Everything but health needs an API key (`Authorization: Bearer <key>` or `x-api-key`).';
  const mutation = schema.getMutationType();
  if (mutation) mutation.description = 'Writes: sending data and starting imports (ingest scope); managing API keys, retrying failed jobs and rebuilding aggregates (admin scope).';
  return schema;
}

/**
 * The schema as SDL, types sorted by name: what `schema.graphql` at the repository root holds.
 * Regenerate it with `node dist/src/cli/main.js schema > schema.graphql`.
 */
export async function printAppSchema(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildAppSchema())) + '\n';
}
