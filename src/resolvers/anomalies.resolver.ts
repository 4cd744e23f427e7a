import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { DateRangeInput } from '../schema/date-range.input.js';
import { Anomaly, AnomalyDimension, AnomalyMetric, Severity } from '../schema/anomalies.type.js';
import { listAnomalies } from '../warehouse/anomalies.queries.js';
import { answer } from './answer.js';
import { checkedRange, resolveReadStore } from './store-scope.js';

@Resolver(() => Anomaly)
export class AnomaliesResolver {
  @Authorized('read')
  @Query(() => [Anomaly], { description: 'Days on which a metric left its expected band, from the store\'s latest anomaly run: newest day first, strongest first. Read scope.' })
  async anomalies(
    @Ctx() ctx: RequestContext,
    @Arg('range', () => DateRangeInput, { description: 'Days to list anomalies of (store time zone, inclusive).' }) range: DateRangeInput,
    @Arg('store', () => ID, { nullable: true, description: 'Store to read; optional when the API key sees one store only.' }) store: string | null,
    @Arg('metric', () => AnomalyMetric, { nullable: true, description: 'Only this metric; omitted: all.' }) metric: AnomalyMetric | null,
    @Arg('dimension', () => AnomalyDimension, { nullable: true, description: 'Only this dimension; omitted: all.' }) dimension: AnomalyDimension | null,
    @Arg('minSeverity', () => Severity, { nullable: true, description: 'Only anomalies at least this severe; omitted: all.' }) minSeverity: Severity | null,
  ): Promise<Anomaly[]> {
    const r = checkedRange(ctx, range);
    const storeId = await resolveReadStore(ctx, store);
    const args = { storeId, range: r, metric: metric ?? undefined, dimension: dimension ?? undefined, minSeverity: minSeverity ?? undefined };
    return answer(ctx, { op: 'anomalies', args, storeIds: [storeId] }, () => listAnomalies(ctx.services.warehouse, args));
  }
}
