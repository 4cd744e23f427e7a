import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import type { RequestContext } from '../schema/context.js';
import { answerCacheHeaders } from '../cache/answer-cache.js';
import { graphqlDuration, graphqlRequests, operationLabel, resolverDuration } from './metrics.js';

/** The names of an operation's top-level fields (fragments at the top level are not followed). */
export function rootFieldsOf(op: OperationDefinitionNode | undefined): string[] {
  if (!op) return [];
  const out: string[] = [];
  for (const s of op.selectionSet.selections) if (s.kind === Kind.FIELD) out.push(s.name.value);
  return out;
}

/**
 * Apollo plugin: per-operation request counts and latency, root-field resolver times, and the
 * answer cache's response headers (`Cache-Control`, `Age`, `x-answer-cache`; see answerCacheHeaders).
 */
export function observabilityPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const t0 = performance.now();
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (info.path.prev !== undefined) return;
              const start = performance.now();
              const field = `${info.parentType.name}.${info.fieldName}`;
              return () => resolverDuration.observe({ field }, (performance.now() - start) / 1000);
            },
          };
        },
        async willSendResponse(rc) {
          const rootFields = rootFieldsOf(rc.operation);
          const body = rc.response.body;
          const hadErrors = body.kind === 'single' ? (body.singleResult.errors?.length ?? 0) > 0 : true;
          const label = operationLabel(rootFields);
          graphqlRequests.inc({ operation: label, outcome: hadErrors ? 'error' : 'ok' });
          graphqlDuration.observe({ operation: label }, (performance.now() - t0) / 1000);
          if (rc.contextValue?.answerUsage) rc.contextValue.answerUsage.label = label;
          const headers = answerCacheHeaders(rc.contextValue?.answerUsage, { rootFields, isQuery: rc.operation?.operation === 'query', hadErrors });
          for (const [k, v] of Object.entries(headers)) rc.response.http.headers.set(k, v);
        },
      };
    },
  };
}
