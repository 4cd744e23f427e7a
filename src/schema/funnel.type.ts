import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateScalar } from './scalars.js';

export enum FunnelGroupBy {
  DAY = 'DAY',
  CHANNEL = 'CHANNEL',
}
registerEnumType(FunnelGroupBy, {
  name: 'FunnelGroupBy',
  description: 'A dimension to split the funnel by.',
  valuesConfig: {
    DAY: { description: 'Store-local day of the session\'s first event.' },
    CHANNEL: { description: 'Channel of the session.' },
  },
});

@ObjectType({ description: 'Sessions reaching each step of the shopping funnel, and the step rates (null when the denominator is 0).' })
export class FunnelStep {
  @Field(() => DateScalar, { nullable: true, description: 'The day (when grouped by DAY).' })
  date?: string | null;

  @Field(() => String, { nullable: true, description: 'The channel (when grouped by CHANNEL).' })
  channel?: string | null;

  @Field(() => Int, { description: 'Sessions.' })
  sessions!: number;

  @Field(() => Int, { description: 'Sessions that viewed a product.' })
  productViews!: number;

  @Field(() => Int, { description: 'Sessions that added to the cart.' })
  addToCarts!: number;

  @Field(() => Int, { description: 'Sessions that started a checkout.' })
  checkouts!: number;

  @Field(() => Int, { description: 'Sessions that purchased.' })
  purchases!: number;

  @Field(() => Float, { nullable: true, description: 'productViews / sessions.' })
  viewRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'addToCarts / productViews.' })
  cartRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'checkouts / addToCarts.' })
  checkoutRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'purchases / checkouts.' })
  purchaseRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'purchases / sessions.' })
  overallConversion!: number | null;
}
