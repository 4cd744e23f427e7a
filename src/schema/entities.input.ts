import { Field, ID, InputType } from 'type-graphql';
import { DateRangeInput } from './date-range.input.js';

@InputType({ description: 'Which orders to list; every given condition must hold, an empty list means no condition.' })
export class OrderFilterInput {
  @Field(() => DateRangeInput, { nullable: true, description: 'Days (store time zone, inclusive) the orders were placed on.' })
  range?: DateRangeInput;

  @Field(() => [String], { nullable: true, description: 'Order statuses (pending, paid, shipped, delivered, returned, cancelled).' })
  statuses?: string[];

  @Field(() => [String], { nullable: true, description: 'Sales channels (e.g. web, mobile, marketplace).' })
  channels?: string[];

  @Field(() => [String], { nullable: true, description: 'ISO 3166-1 alpha-2 countries of the orders.' })
  countries?: string[];

  @Field(() => [ID], { nullable: true, description: 'Customers whose orders to list.' })
  customerIds?: string[];
}

@InputType({ description: 'Which customers to list; every given condition must hold, an empty list means no condition.' })
export class CustomerFilterInput {
  @Field(() => [String], { nullable: true, description: 'ISO 3166-1 alpha-2 countries of the customers (current version).' })
  countries?: string[];

  @Field(() => [String], { nullable: true, description: 'Segments the shop gave the customers (e.g. standard, vip, business).' })
  segments?: string[];
}
