/**
 * The resolvers of the analytics, entity and admin parts of the schema, in one list so that
 * src/schema/build-schema.ts names them once.
 */
import { CustomerFieldsResolver, EntityQueryResolver, OrderFieldsResolver, OrderItemFieldsResolver } from './entities.resolver.js';
import { AnomaliesResolver } from './anomalies.resolver.js';
import { SegmentsResolver } from './segments.resolver.js';
import { FunnelResolver } from './funnel.resolver.js';
import { PipelineResolver } from './pipeline.resolver.js';
import { SalesResolver } from './sales.resolver.js';
import { AffinityResolver } from './affinity.resolver.js';
import { CohortsResolver } from './cohorts.resolver.js';
import { QualityResolver } from './quality.resolver.js';
import { AdminResolver } from './admin.resolver.js';
import { StoreResolver } from './store.resolver.js';

export const DATA_RESOLVERS = [
  EntityQueryResolver,
  OrderFieldsResolver,
  OrderItemFieldsResolver,
  CustomerFieldsResolver,
  AnomaliesResolver,
  SegmentsResolver,
  FunnelResolver,
  PipelineResolver,
  SalesResolver,
  AffinityResolver,
  CohortsResolver,
  QualityResolver,
  AdminResolver,
  StoreResolver,
] as const;
