import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { ImportBatch, Pipeline } from '../schema/pipeline.type.js';
import { requireKey } from '../auth/auth-checker.js';
import { assertPageSize } from '../schema/cost-limits.js';
import { importBatch, importBatches, queueCounts, recentRuns } from '../warehouse/pipeline.queries.js';
import { failedJobs } from '../jobs/failed-jobs.js';
import { resolveReadStore } from './store-scope.js';

/** Most runs / batches one list returns. */
const MAX_LIST = 200;

/**
 * The store a pipeline listing is limited to: the named one (checked against the key), the key's
 * only store, or none (every store) for a key that sees every store.
 */
async function listingStore(ctx: RequestContext, store: string | null): Promise<string | undefined> {
  const key = requireKey(ctx);
  if ((store === null || store === undefined) && key.stores.length === 0) return undefined;
  return resolveReadStore(ctx, store);
}

// Not cached: queue counts and batches change without a data version bump.
@Resolver()
export class PipelineResolver {
  @Authorized('read')
  @Query(() => Pipeline, { description: 'Health of the ingestion and analytics pipeline: queue counts, recent runs, recent failures with their reasons. Read scope.' })
  async pipeline(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Only runs of this store; omitted: every store the key sees (a key limited to several stores must name one).' }) store: string | null,
    @Arg('limit', () => Int, { defaultValue: 20, description: 'Most runs (and failures) to list, 1 to 200.' }) limit: number,
  ): Promise<Pipeline> {
    assertPageSize('limit', limit, MAX_LIST);
    const storeId = await listingStore(ctx, store);
    const key = requireKey(ctx);
    const wh = ctx.services.warehouse;
    const [queues, runs, failures, jobs] = await Promise.all([
      // Queue counts cover every store: only for keys that see every store.
      key.stores.length === 0 ? queueCounts(ctx.services.queues) : Promise.resolve(null),
      recentRuns(wh, { storeId, limit }),
      recentRuns(wh, { storeId, limit, status: 'failed' }),
      failedJobs(ctx.services.queues, { storeIds: storeId ? [storeId] : undefined, limit }),
    ]);
    const failedJobViews = jobs.map((j) => ({ ...j, failedAt: j.failedAt ? new Date(j.failedAt).toISOString() : null }));
    return { queues, recentRuns: runs, failures, failedJobs: failedJobViews };
  }

  @Authorized('read')
  @Query(() => [ImportBatch], { description: 'The most recent import and event batches, newest first, with their counts. Read scope.' })
  async imports(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Only batches of this store; omitted: every store the key sees (a key limited to several stores must name one).' }) store: string | null,
    @Arg('limit', () => Int, { defaultValue: 20, description: 'Most batches to list, 1 to 200.' }) limit: number,
  ): Promise<ImportBatch[]> {
    assertPageSize('limit', limit, MAX_LIST);
    const storeId = await listingStore(ctx, store);
    const rows = await importBatches(ctx.services.warehouse, { storeId, limit });
    return rows.map((b) => ({ ...b, rejectsByReason: null, sampleRejects: null }));
  }

  @Authorized('read')
  @Query(() => ImportBatch, { nullable: true, description: 'One import or event batch with its rejects by reason and a sample of rejected rows; null when unknown or of a store the key may not see. Read scope.' })
  async importBatch(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The batch id (ImportBatch.batchId).' }) id: string,
  ): Promise<ImportBatch | null> {
    const key = requireKey(ctx);
    const batch = await importBatch(ctx.services.warehouse, { batchId: id });
    if (!batch || (key.stores.length > 0 && !key.stores.includes(batch.storeId))) return null;
    return batch;
  }
}
