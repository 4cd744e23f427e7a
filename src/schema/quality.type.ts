import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

export enum QualityDimension {
  COMPLETENESS = 'COMPLETENESS',
  UNIQUENESS = 'UNIQUENESS',
  VALIDITY = 'VALIDITY',
  CONSISTENCY = 'CONSISTENCY',
  FRESHNESS = 'FRESHNESS',
}
registerEnumType(QualityDimension, {
  name: 'QualityDimension',
  description: 'What aspect of data quality a check measures.',
  valuesConfig: {
    COMPLETENESS: { description: 'Required values are present.' },
    UNIQUENESS: { description: 'Keys are not duplicated.' },
    VALIDITY: { description: 'Values are in their allowed ranges and formats.' },
    CONSISTENCY: { description: 'Related rows agree (e.g. order totals and their lines).' },
    FRESHNESS: { description: 'Data arrived recently enough.' },
  },
});

export enum QualityStatus {
  PASS = 'PASS',
  WARN = 'WARN',
  FAIL = 'FAIL',
}
registerEnumType(QualityStatus, {
  name: 'QualityStatus',
  description: 'Outcome of a data quality check.',
  valuesConfig: {
    PASS: { description: 'Within the threshold.' },
    WARN: { description: 'Near or slightly over the threshold.' },
    FAIL: { description: 'Over the threshold.' },
  },
});

@ObjectType({ description: 'One data quality check of the store\'s latest quality run.' })
export class QualityCheck {
  @Field(() => String, { description: 'Table checked.' })
  table!: string;

  @Field(() => String, { description: 'Name of the check.' })
  check!: string;

  @Field(() => QualityDimension, { description: 'Aspect of quality measured.' })
  dimension!: string;

  @Field(() => Float, { description: 'Measured badness: a share of rows 0–1, or hours for FRESHNESS.' })
  value!: number;

  @Field(() => Float, { description: 'Threshold the value is compared with.' })
  threshold!: number;

  @Field(() => Float, { description: 'Up to this value the check passes; above it, up to threshold, it warns.' })
  warnThreshold!: number;

  @Field(() => QualityStatus, { description: 'Outcome.' })
  status!: string;

  @Field(() => Float, { description: 'Rows (or keys) that broke the check.' })
  offending!: number;

  @Field(() => Float, { description: 'Rows (or keys) checked.' })
  checked!: number;

  @Field(() => [String], { description: 'Ids of up to 10 offending rows (order ids, order_id|line, customer or product ids, or batch_id#row_number).' })
  sampleIds!: string[];

  @Field(() => DateTimeScalar, { description: 'When the check ran.' })
  checkedAt!: string;

  @Field(() => String, { description: 'What was found, for people.' })
  message!: string;

  @Field(() => ID, { description: 'The quality run.' })
  runId!: string;
}
