import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { DateScalar } from './scalars.js';

export enum AnomalyMetric {
  NET_REVENUE = 'net_revenue',
  ORDERS = 'orders',
  AVERAGE_ORDER_VALUE = 'average_order_value',
  CONVERSION_RATE = 'conversion_rate',
  RETURN_RATE = 'return_rate',
}
registerEnumType(AnomalyMetric, {
  name: 'AnomalyMetric',
  description: 'A daily metric watched for anomalies.',
  valuesConfig: {
    NET_REVENUE: { description: 'Net revenue of the day (money, 4 decimals).' },
    ORDERS: { description: 'Orders of the day (the expected value can be fractional).' },
    AVERAGE_ORDER_VALUE: { description: 'Average order value of the day (money, 4 decimals).' },
    CONVERSION_RATE: { description: 'Purchases / sessions of the day (fraction 0–1, 6 decimals).' },
    RETURN_RATE: { description: 'Refunds / gross revenue of the day (fraction 0–1, 6 decimals).' },
  },
});

export enum AnomalyDimension {
  STORE = 'STORE',
  COUNTRY = 'COUNTRY',
  CATEGORY = 'CATEGORY',
}
registerEnumType(AnomalyDimension, {
  name: 'AnomalyDimension',
  description: 'What slice of the store a metric is watched on.',
  valuesConfig: {
    STORE: { description: 'The whole store.' },
    COUNTRY: { description: 'One country.' },
    CATEGORY: { description: 'One product category.' },
  },
});

export enum Severity {
  LOW = 'LOW',
  MEDIUM = 'MEDIUM',
  HIGH = 'HIGH',
  CRITICAL = 'CRITICAL',
}
registerEnumType(Severity, {
  name: 'Severity',
  description: 'How far outside its expected band a value is (docs/analytics.md).',
  valuesConfig: {
    LOW: { description: 'Just outside the band.' },
    MEDIUM: { description: 'Clearly outside.' },
    HIGH: { description: 'Far outside.' },
    CRITICAL: { description: 'Extremely far outside.' },
  },
});

export enum Direction {
  UP = 'UP',
  DOWN = 'DOWN',
}
registerEnumType(Direction, {
  name: 'Direction',
  description: 'Whether a value was above or below its expected band.',
  valuesConfig: { UP: { description: 'Above the band.' }, DOWN: { description: 'Below the band.' } },
});

@ObjectType({ description: 'A day on which a metric left its expected band (from the store\'s latest anomaly run).' })
export class Anomaly {
  @Field(() => DateScalar, { description: 'The store-local day.' })
  date!: string;

  @Field(() => AnomalyMetric, { description: 'The metric.' })
  metric!: string;

  @Field(() => AnomalyDimension, { description: 'The slice the metric is watched on.' })
  dimension!: string;

  @Field(() => String, { description: 'The slice\'s value: the country or category; "" for STORE.' })
  dimensionValue!: string;

  @Field(() => String, { description: 'Observed value, a decimal string (scale depends on the metric, see AnomalyMetric).' })
  actual!: string;

  @Field(() => String, { description: 'Expected value, a decimal string.' })
  expected!: string;

  @Field(() => String, { description: 'Lower end of the expected band, a decimal string.' })
  lower!: string;

  @Field(() => String, { description: 'Upper end of the expected band, a decimal string.' })
  upper!: string;

  @Field(() => Float, { description: 'Signed distance from the expected value in robust standard deviations.' })
  score!: number;

  @Field(() => Direction, { description: 'Above or below the band.' })
  direction!: string;

  @Field(() => Severity, { description: 'How far outside the band.' })
  severity!: string;

  @Field(() => ID, { description: 'The anomaly run that found it.' })
  runId!: string;
}
