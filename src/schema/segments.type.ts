import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { MoneyScalar } from './scalars.js';

@ObjectType({ description: 'One RFM segment of the store\'s current segmentation (docs/analytics.md).' })
export class CustomerSegmentSummary {
  @Field(() => String, { description: 'Segment name (e.g. champions, loyal, at_risk, lost).' })
  segment!: string;

  @Field(() => Int, { description: 'Customers in the segment.' })
  customers!: number;

  @Field(() => Float, { description: 'customers / all segmented customers of the store (0–1).' })
  share!: number;

  @Field(() => MoneyScalar, { description: 'Sum of the segment\'s customers\' monetary value (sales minus refunds).' })
  monetary!: string;

  @Field(() => Float, { description: 'Average days since the customers\' last order.' })
  avgRecencyDays!: number;

  @Field(() => Float, { description: 'Average number of orders per customer.' })
  avgFrequency!: number;
}

@ObjectType({ description: 'A product often bought together with another one (from the store\'s latest affinity run).' })
export class ProductAffinity {
  @Field(() => ID, { description: 'The product asked about.' })
  productId!: string;

  @Field(() => ID, { description: 'The product bought with it.' })
  otherProductId!: string;

  @Field(() => Int, { description: 'Orders containing both.' })
  pairOrders!: number;

  @Field(() => Float, { description: 'pairOrders / all orders of the window.' })
  support!: number;

  @Field(() => Float, { description: 'pairOrders / orders containing productId.' })
  confidence!: number;

  @Field(() => Float, { description: 'confidence / share of orders containing otherProductId (> 1: bought together more than by chance).' })
  lift!: number;
}
