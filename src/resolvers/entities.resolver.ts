import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { Customer, CustomerConnection, CustomerRfm, Order, OrderConnection, OrderItem, Product, Payment } from '../schema/entities.type.js';
import { CustomerFilterInput, OrderFilterInput } from '../schema/entities.input.js';
import { assertPageSize } from '../schema/cost-limits.js';
import { badUserInput } from '../http/errors.js';
import { customersPage, ordersPage, type CustomerRecord, type OrderItemRecord, type OrderRecord, type ProductRecord } from '../warehouse/entities.queries.js';
import { loadersOf } from './loaders.js';
import { checkedRange, resolveReadStore } from './store-scope.js';

const STORE_ARG = { nullable: true, description: 'Store to read; optional when the API key sees one store only.' } as const;
/** Default page size of the paginated lists. */
const DEFAULT_PAGE = 50;
/** Default number of a customer's orders in Customer.orders (keeps a page of 100 customers with orders and items within the complexity budget). */
const DEFAULT_NESTED_ORDERS = 20;
/** Most values one filter list may hold. */
const MAX_FILTER_VALUES = 1000;

/** Opaque cursor: base64url JSON of a tagged position, so a cursor of one list is refused by another. */
function encodeCursor(kind: 'order' | 'customer', position: string[]): string {
  return Buffer.from(JSON.stringify([kind, ...position]), 'utf8').toString('base64url');
}

function decodeCursor(kind: 'order' | 'customer', cursor: string, parts: number): string[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === parts + 1 && v[0] === kind && v.slice(1).every((x) => typeof x === 'string')) return v.slice(1) as string[];
  } catch {
    // falls through to the error below
  }
  throw badUserInput('after', `not a cursor of this list: pass an endCursor or edge cursor the ${kind === 'order' ? 'orders' : 'customers'} query returned`);
}

function filterList(argument: string, values: string[] | undefined): string[] | undefined {
  if (values && values.length > MAX_FILTER_VALUES) throw badUserInput(argument, `at most ${MAX_FILTER_VALUES} values`);
  return values && values.length > 0 ? values : undefined;
}

function pageSize(ctx: RequestContext, first: number): number {
  assertPageSize('first', first, ctx.services.config.MAX_PAGE_SIZE);
  return first;
}

@Resolver()
export class EntityQueryResolver {
  @Authorized('read')
  @Query(() => Order, { nullable: true, description: 'An order by id; null when the store has no such order. Read scope.' })
  async order(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The order\'s id.' }) id: string,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
  ): Promise<OrderRecord | null> {
    const storeId = await resolveReadStore(ctx, store);
    return loadersOf(ctx).order.load({ storeId, id });
  }

  @Authorized('read')
  @Query(() => Customer, { nullable: true, description: 'A customer by id (current version); null when the store has no such customer. Read scope.' })
  async customer(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The customer\'s id.' }) id: string,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
  ): Promise<CustomerRecord | null> {
    const storeId = await resolveReadStore(ctx, store);
    return loadersOf(ctx).customer.load({ storeId, id });
  }

  @Authorized('read')
  @Query(() => Product, { nullable: true, description: 'A product by id; null when the store has no such product. Read scope.' })
  async product(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The product\'s id.' }) id: string,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
  ): Promise<ProductRecord | null> {
    const storeId = await resolveReadStore(ctx, store);
    return loadersOf(ctx).product.load({ storeId, id });
  }

  @Authorized('read')
  @Query(() => OrderConnection, { description: 'Orders of a store, newest first, a page at a time (cursor pagination). Read scope.' })
  async orders(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => OrderFilterInput, { nullable: true, description: 'Which orders to list; omitted: all.' }) filter: OrderFilterInput | null,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: 'Page size, 1 to MAX_PAGE_SIZE.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after (pageInfo.endCursor of the previous page).' }) after: string | null,
  ): Promise<OrderConnection> {
    const size = pageSize(ctx, first);
    const position = after ? decodeCursor('order', after, 2) : undefined;
    const range = filter?.range ? checkedRange(ctx, filter.range, 'filter.range') : undefined;
    const storeId = await resolveReadStore(ctx, store);
    const timezone = await loadersOf(ctx).timezone.load(storeId);
    const rows = await ordersPage(ctx.services.warehouse, {
      storeId,
      timezone,
      first: size,
      after: position ? { createdAt: position[0]!, orderId: position[1]! } : undefined,
      filter: {
        from: range?.from,
        to: range?.to,
        statuses: filterList('filter.statuses', filter?.statuses),
        channels: filterList('filter.channels', filter?.channels),
        countries: filterList('filter.countries', filter?.countries),
        customerIds: filterList('filter.customerIds', filter?.customerIds),
      },
    });
    const page = rows.slice(0, size);
    const loaders = loadersOf(ctx);
    for (const o of page) loaders.order.prime({ storeId, id: o.orderId }, o);
    const edges = page.map((o) => ({ cursor: encodeCursor('order', [o.createdAt, o.orderId]), node: o as unknown as Order }));
    return { edges, nodes: edges.map((e) => e.node), pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Authorized('read')
  @Query(() => CustomerConnection, { description: 'Customers of a store (current versions) by id, a page at a time (cursor pagination). Read scope.' })
  async customers(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, STORE_ARG) store: string | null,
    @Arg('filter', () => CustomerFilterInput, { nullable: true, description: 'Which customers to list; omitted: all.' }) filter: CustomerFilterInput | null,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: 'Page size, 1 to MAX_PAGE_SIZE.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'Cursor to continue after (pageInfo.endCursor of the previous page).' }) after: string | null,
  ): Promise<CustomerConnection> {
    const size = pageSize(ctx, first);
    const position = after ? decodeCursor('customer', after, 1) : undefined;
    const storeId = await resolveReadStore(ctx, store);
    const rows = await customersPage(ctx.services.warehouse, {
      storeId,
      first: size,
      after: position?.[0],
      filter: { countries: filterList('filter.countries', filter?.countries), segments: filterList('filter.segments', filter?.segments) },
    });
    const page = rows.slice(0, size);
    const loaders = loadersOf(ctx);
    for (const c of page) loaders.customer.prime({ storeId, id: c.customerId }, c);
    const edges = page.map((c) => ({ cursor: encodeCursor('customer', [c.customerId]), node: c as unknown as Customer }));
    return { edges, nodes: edges.map((e) => e.node), pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}

// Nested fields load through the request's DataLoaders, keyed by the parent's store: they can
// only reach rows of a store the root field already checked against the key.

@Resolver(() => Order)
export class OrderFieldsResolver {
  @FieldResolver(() => ID, { nullable: true, description: 'Id of the customer; null for a guest order.' })
  customerId(@Root() order: OrderRecord): string | null {
    return order.customerId || null;
  }

  @FieldResolver(() => Customer, { nullable: true, description: 'The customer who placed the order; null for a guest order.' })
  async customer(@Root() order: OrderRecord, @Ctx() ctx: RequestContext): Promise<CustomerRecord | null> {
    if (!order.customerId) return null;
    return loadersOf(ctx).customer.load({ storeId: order.storeId, id: order.customerId });
  }

  @FieldResolver(() => [OrderItem], { description: 'The order\'s lines, by line number.' })
  async items(@Root() order: OrderRecord, @Ctx() ctx: RequestContext): Promise<OrderItemRecord[]> {
    return loadersOf(ctx).itemsOfOrder.load({ storeId: order.storeId, id: order.orderId });
  }

  @FieldResolver(() => [Payment], { description: 'The order\'s payments, oldest first.' })
  async payments(@Root() order: OrderRecord, @Ctx() ctx: RequestContext) {
    return loadersOf(ctx).paymentsOfOrder.load({ storeId: order.storeId, id: order.orderId });
  }
}

@Resolver(() => OrderItem)
export class OrderItemFieldsResolver {
  @FieldResolver(() => Product, { nullable: true, description: 'The product sold; null when the catalogue does not know it.' })
  async product(@Root() item: OrderItemRecord, @Ctx() ctx: RequestContext): Promise<ProductRecord | null> {
    return loadersOf(ctx).product.load({ storeId: item.storeId, id: item.productId });
  }
}

@Resolver(() => Customer)
export class CustomerFieldsResolver {
  @FieldResolver(() => [Order], { description: 'The customer\'s newest orders, newest first (at most `first`; the `orders` query with filter.customerIds pages through all).' })
  async orders(
    @Root() customer: CustomerRecord,
    @Ctx() ctx: RequestContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_NESTED_ORDERS, description: 'Most orders to return, 1 to MAX_PAGE_SIZE.' }) first: number,
  ): Promise<OrderRecord[]> {
    pageSize(ctx, first);
    return loadersOf(ctx).ordersOfCustomer(first).load({ storeId: customer.storeId, id: customer.customerId });
  }

  @FieldResolver(() => CustomerRfm, { nullable: true, description: 'The customer\'s RFM segment and scores; null when segments were not computed or the customer has no counted order.' })
  async rfm(@Root() customer: CustomerRecord, @Ctx() ctx: RequestContext) {
    return loadersOf(ctx).rfm.load({ storeId: customer.storeId, id: customer.customerId });
  }
}
