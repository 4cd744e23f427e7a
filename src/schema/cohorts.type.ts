import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateScalar, MoneyScalar } from './scalars.js';

export enum CohortGranularity {
  MONTH = 'MONTH',
  WEEK = 'WEEK',
}
registerEnumType(CohortGranularity, {
  name: 'CohortGranularity',
  description: 'How customers are grouped into cohorts (by the period of their first order) and how the later periods are counted.',
  valuesConfig: {
    MONTH: { description: 'Calendar months (store time zone).' },
    WEEK: { description: 'ISO weeks, Monday to Sunday (store time zone).' },
  },
});

export enum CohortMetric {
  CUSTOMERS = 'CUSTOMERS',
  REVENUE = 'REVENUE',
}
registerEnumType(CohortMetric, {
  name: 'CohortMetric',
  description: 'What CohortPeriod.value holds.',
  valuesConfig: {
    CUSTOMERS: { description: 'Retention: the share of the cohort that ordered in the period (= rate).' },
    REVENUE: { description: 'Cumulative net revenue per cohort customer up to and including the period.' },
  },
});

@ObjectType({ description: 'A cohort\'s activity in one period after its start.' })
export class CohortPeriod {
  @Field(() => Int, { description: 'Periods since the cohort\'s start (0 = the start period).' })
  period!: number;

  @Field(() => Int, { description: 'Cohort customers who ordered in this period.' })
  customers!: number;

  @Field(() => Float, { description: 'customers / cohort size (0–1).' })
  rate!: number;

  @Field(() => MoneyScalar, { description: 'Net revenue of the cohort\'s customers in this period.' })
  revenue!: string;

  @Field(() => MoneyScalar, { description: 'Net revenue of the cohort up to and including this period, per cohort customer.' })
  cumulativeRevenuePerCustomer!: string;

  @Field(() => String, { description: 'The chosen metric as a decimal string: the rate for CUSTOMERS, cumulativeRevenuePerCustomer for REVENUE.' })
  value!: string;
}

@ObjectType({ description: 'Customers whose first order fell in the same period, and what they did afterwards.' })
export class Cohort {
  @Field(() => DateScalar, { description: 'First day of the cohort\'s period.' })
  cohortStart!: string;

  @Field(() => Int, { description: 'Customers in the cohort.' })
  size!: number;

  @Field(() => [CohortPeriod], { description: 'Period 0, 1, … up to the requested number of periods (or today).' })
  periods!: CohortPeriod[];
}
