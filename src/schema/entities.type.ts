import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, MoneyScalar } from './scalars.js';

// Object types over the records of src/warehouse/entities.queries.ts: resolvers return the
// records as they are, and `name` maps a record property to its GraphQL field name.

@ObjectType({ description: 'One line of an order.' })
export class OrderItem {
  @Field(() => ID, { name: 'orderId', description: 'Id of the order the line belongs to.' })
  orderId!: string;

  @Field(() => Int, { description: 'Position of the line in its order, from 1.' })
  lineNumber!: number;

  @Field(() => ID, { description: 'Id of the product sold on this line.' })
  productId!: string;

  @Field(() => Int, { description: 'Units sold (negative on a refund or cancellation line).' })
  quantity!: number;

  @Field(() => MoneyScalar, { description: 'Price of one unit before the line discount.' })
  unitPrice!: string;

  @Field(() => MoneyScalar, { description: 'Discount on the whole line.' })
  discount!: string;

  @Field(() => MoneyScalar, { description: 'quantity × unitPrice − discount.' })
  lineAmount!: string;
}

@ObjectType({ description: 'A payment (or refund, decline, void) of an order.' })
export class Payment {
  @Field(() => ID, { name: 'id', description: 'The payment\'s id in the shop.' })
  paymentId!: string;

  @Field(() => ID, { description: 'Id of the order paid.' })
  orderId!: string;

  @Field(() => String, { description: 'Payment method, e.g. card, paypal, bank_transfer, gift_card, cod.' })
  method!: string;

  @Field(() => MoneyScalar, { description: 'Amount moved, in `currency`.' })
  amount!: string;

  @Field(() => String, { description: 'ISO 4217 currency code of the amount.' })
  currency!: string;

  @Field(() => String, { description: 'captured, pending, failed, voided or refunded.' })
  status!: string;

  @Field(() => Int, { description: 'Number of instalments (1 = paid at once).' })
  installments!: number;

  @Field(() => DateTimeScalar, { description: 'When the money moved (for pending: when it was initiated).' })
  paidAt!: string;
}

@ObjectType({ description: 'An order (a sale, or a refund document such as a cancellation invoice). Amounts are in `currency`.' })
export class Order {
  @Field(() => ID, { name: 'id', description: 'The order\'s id in the shop.' })
  orderId!: string;

  @Field(() => ID, { name: 'store', description: 'Store the order belongs to.' })
  storeId!: string;

  @Field(() => String, { description: '"sale", or "refund" for a refund document (e.g. a cancellation invoice).' })
  kind!: string;

  @Field(() => String, { description: 'pending, paid, shipped, delivered, returned or cancelled.' })
  status!: string;

  @Field(() => DateTimeScalar, { description: 'When the order was placed.' })
  createdAt!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was shipped; null until then.' })
  shippedAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was delivered; null until then.' })
  deliveredAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was returned; null unless returned.' })
  returnedAt!: string | null;

  @Field(() => String, { description: 'Sales channel, e.g. web, mobile, marketplace ("" when unknown).' })
  channel!: string;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country of the order ("" when unknown).' })
  country!: string;

  @Field(() => String, { description: 'ISO 4217 currency of the amounts.' })
  currency!: string;

  @Field(() => MoneyScalar, { description: 'Sum of the line amounts (after line discounts).' })
  gross!: string;

  @Field(() => MoneyScalar, { description: 'Order-level discount (coupon).' })
  discount!: string;

  @Field(() => MoneyScalar, { description: 'Shipping fee charged.' })
  shipping!: string;

  @Field(() => MoneyScalar, { description: 'Tax charged.' })
  tax!: string;

  @Field(() => MoneyScalar, { description: 'What the customer pays: gross − discount + shipping + tax.' })
  net!: string;

  @Field(() => MoneyScalar, { description: 'Money returned to the customer so far.' })
  refunded!: string;
}

@ObjectType({ description: 'A customer\'s RFM segment and scores from the store\'s current segmentation (docs/analytics.md).' })
export class CustomerRfm {
  @Field(() => String, { description: 'Segment name (Champions, Loyal, Potential Loyalist, New, At Risk, Can\'t Lose, Hibernating, Lost).' })
  segment!: string;

  @Field(() => Int, { description: 'Recency score, 1 (longest ago) to 5 (most recent).' })
  r!: number;

  @Field(() => Int, { description: 'Frequency score, 1 (fewest orders) to 5 (most).' })
  f!: number;

  @Field(() => Int, { description: 'Monetary score, 1 (least value) to 5 (most).' })
  m!: number;
}

@ObjectType({ description: 'A customer as currently known (the current version of its history).' })
export class Customer {
  @Field(() => ID, { name: 'id', description: 'The customer\'s id in the shop.' })
  customerId!: string;

  @Field(() => ID, { name: 'store', description: 'Store the customer belongs to.' })
  storeId!: string;

  @Field(() => String, { description: 'Name ("" when not given).' })
  name!: string;

  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country ("" when unknown).' })
  country!: string;

  @Field(() => String, { description: 'Region or state ("" when unknown).' })
  region!: string;

  @Field(() => String, { description: 'City ("" when unknown).' })
  city!: string;

  @Field(() => String, { description: 'The segment the shop gave the customer (e.g. standard, vip, business; "" when none).' })
  segment!: string;

  @Field(() => DateTimeScalar, { description: 'When the current version of the customer (country, region, segment) took effect.' })
  validFrom!: string;

  @Field(() => Boolean, { description: 'True when the customer is known only from its orders (no customer record received yet).' })
  inferred!: boolean;
}

@ObjectType({ description: 'A product of the catalogue.' })
export class Product {
  @Field(() => ID, { name: 'id', description: 'The product\'s id in the shop.' })
  productId!: string;

  @Field(() => ID, { name: 'store', description: 'Store the product belongs to.' })
  storeId!: string;

  @Field(() => String, { description: 'Stock keeping unit ("" when unknown).' })
  sku!: string;

  @Field(() => String, { description: 'Name ("" when unknown).' })
  name!: string;

  @Field(() => String, { description: 'Category ("uncategorized" when none).' })
  category!: string;

  @Field(() => String, { description: 'Brand ("" when none).' })
  brand!: string;

  @Field(() => MoneyScalar, { description: 'List price of one unit.' })
  listPrice!: string;

  @Field(() => MoneyScalar, { description: 'Cost of one unit to the shop.' })
  cost!: string;

  @Field(() => Boolean, { description: 'True when the product is known only from order lines (no product record received yet).' })
  inferred!: boolean;
}

@ObjectType({ description: 'Where a page ends and whether more follow.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'True when another page follows: pass `endCursor` as `after` to get it.' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Opaque cursor of the last item of this page; null on an empty page.' })
  endCursor!: string | null;
}

@ObjectType({ description: 'An order with its cursor.' })
export class OrderEdge {
  @Field(() => String, { description: 'Opaque cursor of this order, for `after`.' })
  cursor!: string;

  @Field(() => Order, { description: 'The order.' })
  node!: Order;
}

@ObjectType({ description: 'A page of orders, newest first.' })
export class OrderConnection {
  @Field(() => [OrderEdge], { description: 'The orders of the page with their cursors.' })
  edges!: OrderEdge[];

  @Field(() => [Order], { description: 'The orders of the page (the edges\' nodes).' })
  nodes!: Order[];

  @Field(() => PageInfo, { description: 'Where the page ends.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A customer with its cursor.' })
export class CustomerEdge {
  @Field(() => String, { description: 'Opaque cursor of this customer, for `after`.' })
  cursor!: string;

  @Field(() => Customer, { description: 'The customer.' })
  node!: Customer;
}

@ObjectType({ description: 'A page of customers, by id.' })
export class CustomerConnection {
  @Field(() => [CustomerEdge], { description: 'The customers of the page with their cursors.' })
  edges!: CustomerEdge[];

  @Field(() => [Customer], { description: 'The customers of the page (the edges\' nodes).' })
  nodes!: Customer[];

  @Field(() => PageInfo, { description: 'Where the page ends.' })
  pageInfo!: PageInfo;
}
