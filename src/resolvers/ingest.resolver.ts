import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { IngestEventsResult } from '../schema/ingest-events.type.js';
import { storeArgument } from '../auth/store-access.js';
import { acceptEvents } from '../http/ingest.routes.js';
import { HttpError } from '../http/respond.js';
import { badUserInput } from '../http/errors.js';

@Resolver(() => IngestEventsResult)
export class IngestResolver {
  @Authorized('ingest')
  @Mutation(() => IngestEventsResult, {
    description:
      'Sends live records (events by default; a record\'s "entity" field may name orders, payments, … as in POST /v1/events). ' +
      'Validated now, queued durably, stored by a worker. Ingest scope.',
  })
  async ingestEvents(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Store the records belong to; omitted: the key\'s only store, or DEFAULT_STORE.' }) store: string | null,
    @Arg('events', () => [GraphQLJSONObject], { description: 'The records, one JSON object each, at most EVENTS_MAX_BATCH.' }) events: Record<string, unknown>[],
  ): Promise<IngestEventsResult> {
    const storeId = storeArgument(ctx, store);
    if (events.length === 0) throw badUserInput('events', 'send at least one record');
    const body = JSON.stringify(events);
    const maxBytes = ctx.services.config.EVENTS_MAX_BODY_BYTES;
    if (Buffer.byteLength(body) > maxBytes) throw badUserInput('events', `the batch is over the limit of ${maxBytes} bytes`, { limit: maxBytes });
    try {
      return await acceptEvents(ctx.services, storeId, events, body, body);
    } catch (err) {
      if (err instanceof HttpError && err.status === 413) throw badUserInput('events', err.message, { ...err.details });
      throw err;
    }
  }
}
