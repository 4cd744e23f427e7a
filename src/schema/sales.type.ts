import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateRange } from './date-range.input.js';
import { MoneyScalar } from './scalars.js';

export enum Granularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
  QUARTER = 'QUARTER',
  YEAR = 'YEAR',
}
registerEnumType(Granularity, {
  name: 'Granularity',
  description: 'Length of the periods of a series, in the store\'s time zone.',
  valuesConfig: {
    HOUR: { description: 'Clock hours.' },
    DAY: { description: 'Calendar days.' },
    WEEK: { description: 'ISO weeks, Monday to Sunday.' },
    MONTH: { description: 'Calendar months.' },
    QUARTER: { description: 'Calendar quarters.' },
    YEAR: { description: 'Calendar years.' },
  },
});

export enum SalesGroupBy {
  COUNTRY = 'COUNTRY',
  CATEGORY = 'CATEGORY',
  CHANNEL = 'CHANNEL',
  PAYMENT_METHOD = 'PAYMENT_METHOD',
  PRODUCT = 'PRODUCT',
}
registerEnumType(SalesGroupBy, {
  name: 'SalesGroupBy',
  description: 'A dimension to split sales by (docs/metrics.md says how revenue is attributed to each).',
  valuesConfig: {
    COUNTRY: { description: 'Country of the order.' },
    CATEGORY: { description: 'Product category (by order line).' },
    CHANNEL: { description: 'Sales channel of the order.' },
    PAYMENT_METHOD: { description: 'Payment method of the order.' },
    PRODUCT: { description: 'Product (by order line).' },
  },
});

export enum TopProductsBy {
  REVENUE = 'REVENUE',
  UNITS = 'UNITS',
}
registerEnumType(TopProductsBy, {
  name: 'TopProductsBy',
  description: 'What to rank products by.',
  valuesConfig: {
    REVENUE: { description: 'The product\'s net revenue: its sales minus its refunds.' },
    UNITS: { description: 'Units sold (net of returned units).' },
  },
});

@InputType({ description: 'Restricts sales to matching orders / lines; every given list must match, an empty or omitted list means no condition.' })
export class SalesFilterInput {
  @Field(() => [String], { nullable: true, description: 'ISO 3166-1 alpha-2 countries of the orders.' })
  countries?: string[];

  @Field(() => [String], { nullable: true, description: 'Product categories.' })
  categories?: string[];

  @Field(() => [String], { nullable: true, description: 'Sales channels (e.g. web, mobile, marketplace).' })
  channels?: string[];

  @Field(() => [ID], { nullable: true, description: 'Products.' })
  productIds?: string[];
}

/**
 * The KPI fields shared by kpis, salesSeries points and the breakdowns (definitions in
 * docs/metrics.md). Not an object type itself: the subclasses inherit its fields.
 */
@ObjectType({ description: 'Sales KPIs of a period (the fields every KPI answer shares).' })
export abstract class KpiFields {
  @Field(() => MoneyScalar, { description: 'Net revenue: gross revenue minus refunds (docs/metrics.md).' })
  netRevenue!: string;

  @Field(() => MoneyScalar, { description: 'Gross revenue of the period\'s orders (docs/metrics.md).' })
  grossRevenue!: string;

  @Field(() => MoneyScalar, { description: 'Money refunded (docs/metrics.md).' })
  refunds!: string;

  @Field(() => MoneyScalar, { description: 'Discounts given.' })
  discounts!: string;

  @Field(() => Int, { description: 'Orders placed.' })
  orders!: number;

  @Field(() => Int, { description: 'Distinct customers who ordered.' })
  customers!: number;

  @Field(() => Int, { description: 'Customers whose first order is in the period.' })
  newCustomers!: number;

  @Field(() => Int, { description: 'Customers who ordered in the period and had ordered before it.' })
  returningCustomers!: number;

  @Field(() => MoneyScalar, { nullable: true, description: 'Gross revenue / orders; null without orders.' })
  averageOrderValue!: string | null;

  @Field(() => Int, { description: 'Units sold.' })
  units!: number;

  @Field(() => Int, { description: 'Order lines sold.' })
  items!: number;

  @Field(() => Float, { nullable: true, description: 'Refunds / gross revenue (0–1); null when gross revenue is 0.' })
  returnRate!: number | null;

  @Field(() => Int, { description: 'Orders cancelled.' })
  cancelledOrders!: number;

  @Field(() => MoneyScalar, { description: 'Value of the cancelled orders.' })
  cancelledValue!: string;

  @Field(() => Int, { description: 'Orders returned.' })
  returnedOrders!: number;

  @Field(() => MoneyScalar, { description: 'Value of the returned orders.' })
  returnedValue!: string;
}

@ObjectType({ description: 'The KPIs of a period.' })
export class KpiPeriod extends KpiFields {
  @Field(() => DateRange, { description: 'The period (store-local days, inclusive).' })
  range!: DateRange;
}

@ObjectType({ description: 'How a money KPI changed against the previous period.' })
export class MoneyChange {
  @Field(() => MoneyScalar, { nullable: true, description: 'Value in the previous period (null when undefined there, e.g. no orders).' })
  previous!: string | null;

  @Field(() => MoneyScalar, { nullable: true, description: 'Current minus previous, exact; null when either is null.' })
  difference!: string | null;

  @Field(() => Float, { nullable: true, description: 'difference / previous (0.25 = +25 %); null when previous is 0 or null.' })
  ratio!: number | null;
}

@ObjectType({ description: 'How a count KPI changed against the previous period.' })
export class CountChange {
  @Field(() => Int, { description: 'Value in the previous period.' })
  previous!: number;

  @Field(() => Int, { description: 'Current minus previous.' })
  difference!: number;

  @Field(() => Float, { nullable: true, description: 'difference / previous (0.25 = +25 %); null when previous is 0.' })
  ratio!: number | null;
}

@ObjectType({ description: 'How a rate KPI changed against the previous period.' })
export class RateChange {
  @Field(() => Float, { nullable: true, description: 'Value in the previous period (null when undefined there).' })
  previous!: number | null;

  @Field(() => Float, { nullable: true, description: 'Current minus previous (in rate points: 0.01 = one percentage point); null when either is null.' })
  difference!: number | null;

  @Field(() => Float, { nullable: true, description: 'difference / previous; null when previous is 0 or null.' })
  ratio!: number | null;
}

@ObjectType({ description: 'Each KPI\'s change against the previous period of equal length.' })
export class KpiChange {
  @Field(() => MoneyChange, { description: 'Change of netRevenue.' })
  netRevenue!: MoneyChange;

  @Field(() => MoneyChange, { description: 'Change of grossRevenue.' })
  grossRevenue!: MoneyChange;

  @Field(() => MoneyChange, { description: 'Change of refunds.' })
  refunds!: MoneyChange;

  @Field(() => MoneyChange, { description: 'Change of discounts.' })
  discounts!: MoneyChange;

  @Field(() => CountChange, { description: 'Change of orders.' })
  orders!: CountChange;

  @Field(() => CountChange, { description: 'Change of customers.' })
  customers!: CountChange;

  @Field(() => CountChange, { description: 'Change of newCustomers.' })
  newCustomers!: CountChange;

  @Field(() => CountChange, { description: 'Change of returningCustomers.' })
  returningCustomers!: CountChange;

  @Field(() => MoneyChange, { description: 'Change of averageOrderValue.' })
  averageOrderValue!: MoneyChange;

  @Field(() => CountChange, { description: 'Change of units.' })
  units!: CountChange;

  @Field(() => CountChange, { description: 'Change of items.' })
  items!: CountChange;

  @Field(() => RateChange, { description: 'Change of returnRate.' })
  returnRate!: RateChange;

  @Field(() => CountChange, { description: 'Change of cancelledOrders.' })
  cancelledOrders!: CountChange;

  @Field(() => MoneyChange, { description: 'Change of cancelledValue.' })
  cancelledValue!: MoneyChange;

  @Field(() => CountChange, { description: 'Change of returnedOrders.' })
  returnedOrders!: CountChange;

  @Field(() => MoneyChange, { description: 'Change of returnedValue.' })
  returnedValue!: MoneyChange;
}

@ObjectType({ description: 'The KPIs of a date range, with the previous period of equal length when asked.' })
export class Kpis extends KpiFields {
  @Field(() => ID, { description: 'Store the KPIs are of.' })
  store!: string;

  @Field(() => DateRange, { description: 'The range (store-local days, inclusive).' })
  range!: DateRange;

  @Field(() => KpiPeriod, { nullable: true, description: 'The KPIs of the previous period of equal length (the same number of days just before range.from); null unless compareToPreviousPeriod.' })
  previousPeriod!: KpiPeriod | null;

  @Field(() => KpiChange, { nullable: true, description: 'Each KPI\'s change against previousPeriod; null unless compareToPreviousPeriod.' })
  change!: KpiChange | null;
}

@ObjectType({ description: 'One period of a sales series, for one combination of the group keys.' })
export class SalesPoint extends KpiFields {
  @Field(() => String, { description: 'Start of the period: its first store-local day (YYYY-MM-DD; weeks start on Monday), or for HOUR the UTC instant the store-local hour starts (ISO 8601, e.g. 2024-05-01T22:00:00Z).' })
  periodStart!: string;

  @Field(() => String, { nullable: true, description: 'Country (when grouped by COUNTRY).' })
  country?: string | null;

  @Field(() => String, { nullable: true, description: 'Category (when grouped by CATEGORY).' })
  category?: string | null;

  @Field(() => String, { nullable: true, description: 'Channel (when grouped by CHANNEL).' })
  channel?: string | null;

  @Field(() => String, { nullable: true, description: 'Payment method (when grouped by PAYMENT_METHOD).' })
  paymentMethod?: string | null;

  @Field(() => ID, { nullable: true, description: 'Product id (when grouped by PRODUCT).' })
  productId?: string | null;
}

@ObjectType({ description: 'A product\'s sales in a range, for ranking.' })
export class ProductRank {
  @Field(() => Int, { description: 'Position in the ranking, from 1.' })
  rank!: number;

  @Field(() => ID, { description: 'Product id.' })
  productId!: string;

  @Field(() => String, { description: 'Stock keeping unit.' })
  sku!: string;

  @Field(() => String, { description: 'Product name.' })
  name!: string;

  @Field(() => String, { description: 'Product category.' })
  category!: string;

  @Field(() => MoneyScalar, { description: 'The product\'s net revenue: its sales minus its refunds.' })
  netRevenue!: string;

  @Field(() => Int, { description: 'Units sold.' })
  units!: number;

  @Field(() => Int, { description: 'Orders containing the product.' })
  orders!: number;
}

@ObjectType({ description: 'The KPIs of one product category.' })
export class CategorySales extends KpiFields {
  @Field(() => String, { description: 'The category.' })
  category!: string;
}

@ObjectType({ description: 'The KPIs of one country.' })
export class CountrySales extends KpiFields {
  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country ("" when unknown).' })
  country!: string;
}
