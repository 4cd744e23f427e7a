/**
 * Entity lookups for the API: orders, their items and payments, customers (current SCD2
 * version), products, and cursor pages of orders and customers. Every function reads one store
 * and takes its ids in batches (the API's DataLoaders call them once per request tick).
 * Facts are read with FINAL and without tombstones (is_deleted = 1). Money is returned as the
 * warehouse's exact decimal strings (4 decimals).
 */
import type { Warehouse } from './client.js';

export interface OrderRecord {
  storeId: string;
  orderId: string;
  kind: string;
  /** '' for a guest order. */
  customerId: string;
  status: string;
  /** Warehouse DateTime64 text, UTC (`2024-05-01 10:00:00.000`). */
  createdAt: string;
  shippedAt: string | null;
  deliveredAt: string | null;
  returnedAt: string | null;
  channel: string;
  country: string;
  currency: string;
  gross: string;
  discount: string;
  shipping: string;
  tax: string;
  net: string;
  refunded: string;
}

export interface OrderItemRecord {
  storeId: string;
  orderId: string;
  lineNumber: number;
  productId: string;
  quantity: number;
  unitPrice: string;
  discount: string;
  lineAmount: string;
}

export interface PaymentRecord {
  storeId: string;
  paymentId: string;
  orderId: string;
  method: string;
  amount: string;
  currency: string;
  status: string;
  installments: number;
  paidAt: string;
}

export interface CustomerRecord {
  storeId: string;
  customerId: string;
  name: string;
  country: string;
  region: string;
  city: string;
  segment: string;
  /** When the current version of the customer took effect (UTC DateTime64 text). */
  validFrom: string;
  /** True when the customer is known only from an order (no customer record received yet). */
  inferred: boolean;
}

export interface ProductRecord {
  storeId: string;
  productId: string;
  sku: string;
  name: string;
  category: string;
  brand: string;
  listPrice: string;
  cost: string;
  inferred: boolean;
}

export interface OrderFilter {
  /** Store-local days, inclusive. */
  from?: string;
  to?: string;
  statuses?: string[];
  channels?: string[];
  countries?: string[];
  customerIds?: string[];
}

export interface CustomerFilter {
  countries?: string[];
  segments?: string[];
}

/** Every known store id, sorted. */
export async function listStoreIds(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ store_id: string }>('SELECT DISTINCT store_id FROM dim_store FINAL ORDER BY store_id');
  return rows.map((r) => r.store_id);
}

export { storeTimezone } from './store-timezone.js';

const ORDER_COLUMNS = `order_id, order_kind, customer_id, status, toString(created_at) AS created_at_text,
  if(isNull(shipped_at), NULL, toString(shipped_at)) AS shipped_at_text,
  if(isNull(delivered_at), NULL, toString(delivered_at)) AS delivered_at_text,
  if(isNull(returned_at), NULL, toString(returned_at)) AS returned_at_text,
  channel, country, currency, toString(gross) AS gross_text, toString(discount) AS discount_text,
  toString(shipping) AS shipping_text, toString(tax) AS tax_text, toString(net) AS net_text, toString(refunded) AS refunded_text`;

interface OrderRow {
  order_id: string;
  order_kind: string;
  customer_id: string;
  status: string;
  created_at_text: string;
  shipped_at_text: string | null;
  delivered_at_text: string | null;
  returned_at_text: string | null;
  channel: string;
  country: string;
  currency: string;
  gross_text: string;
  discount_text: string;
  shipping_text: string;
  tax_text: string;
  net_text: string;
  refunded_text: string;
}

function toOrder(storeId: string, r: OrderRow): OrderRecord {
  return {
    storeId,
    orderId: r.order_id,
    kind: r.order_kind,
    customerId: r.customer_id,
    status: r.status,
    createdAt: r.created_at_text,
    shippedAt: r.shipped_at_text,
    deliveredAt: r.delivered_at_text,
    returnedAt: r.returned_at_text,
    channel: r.channel,
    country: r.country,
    currency: r.currency,
    gross: r.gross_text,
    discount: r.discount_text,
    shipping: r.shipping_text,
    tax: r.tax_text,
    net: r.net_text,
    refunded: r.refunded_text,
  };
}

/** Orders by id (any order of the ids; unknown ids are absent). */
export async function ordersByIds(wh: Warehouse, o: { storeId: string; orderIds: readonly string[] }): Promise<OrderRecord[]> {
  if (o.orderIds.length === 0) return [];
  const rows = await wh.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS}
       FROM fact_orders FINAL
      WHERE store_id = {store:String} AND order_id IN {ids:Array(String)} AND is_deleted = 0`,
    { store: o.storeId, ids: o.orderIds },
  );
  return rows.map((r) => toOrder(o.storeId, r));
}

/** Each customer's newest orders (at most `limit` per customer), newest first. */
export async function ordersOfCustomers(wh: Warehouse, o: { storeId: string; customerIds: readonly string[]; limit: number }): Promise<OrderRecord[]> {
  const ids = o.customerIds.filter((c) => c !== '');
  if (ids.length === 0) return [];
  const rows = await wh.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS}
       FROM fact_orders FINAL
      WHERE store_id = {store:String} AND customer_id IN {ids:Array(String)} AND is_deleted = 0
      ORDER BY customer_id, created_at DESC, order_id DESC
      LIMIT {limit:UInt32} BY customer_id`,
    { store: o.storeId, ids, limit: o.limit },
  );
  return rows.map((r) => toOrder(o.storeId, r));
}

/**
 * One page of a store's orders, newest first (created_at, then order_id, descending), after the
 * cursor position when given (the plain `created_at <=` bound lets the engine skip the newer
 * days by the sort key; the tuple comparison alone would not). Returns up to `first + 1` rows so the caller can tell whether
 * there is a next page.
 */
export async function ordersPage(
  wh: Warehouse,
  o: { storeId: string; timezone: string; filter: OrderFilter; first: number; after?: { createdAt: string; orderId: string } },
): Promise<OrderRecord[]> {
  const f = o.filter;
  const rows = await wh.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS}
       FROM fact_orders FINAL
      WHERE store_id = {store:String} AND is_deleted = 0
        AND ({hasFrom:Bool} = false OR created_at >= toDateTime({from:Date}, {tz:String}))
        AND ({hasTo:Bool} = false OR created_at < toDateTime({to:Date} + 1, {tz:String}))
        AND (length({statuses:Array(String)}) = 0 OR status IN {statuses:Array(String)})
        AND (length({channels:Array(String)}) = 0 OR channel IN {channels:Array(String)})
        AND (length({countries:Array(String)}) = 0 OR country IN {countries:Array(String)})
        AND (length({customers:Array(String)}) = 0 OR customer_id IN {customers:Array(String)})
        AND ({hasAfter:Bool} = false OR created_at <= toDateTime64({afterTime:String}, 3, 'UTC'))
        AND ({hasAfter:Bool} = false OR (created_at, order_id) < (toDateTime64({afterTime:String}, 3, 'UTC'), {afterId:String}))
      ORDER BY created_at DESC, order_id DESC
      LIMIT {limit:UInt32}`,
    {
      store: o.storeId,
      tz: o.timezone,
      hasFrom: f.from !== undefined,
      from: f.from ?? '1970-01-01',
      hasTo: f.to !== undefined,
      to: f.to ?? '1970-01-01',
      statuses: f.statuses ?? [],
      channels: f.channels ?? [],
      countries: f.countries ?? [],
      customers: f.customerIds ?? [],
      hasAfter: o.after !== undefined,
      afterTime: o.after?.createdAt ?? '1970-01-01 00:00:00.000',
      afterId: o.after?.orderId ?? '',
      limit: o.first + 1,
    },
  );
  return rows.map((r) => toOrder(o.storeId, r));
}

interface ItemRow {
  order_id: string;
  line_number: number | string;
  product_id: string;
  quantity: number | string;
  unit_price_text: string;
  discount_text: string;
  line_amount_text: string;
}

/** The items of the orders, by order then line number. */
export async function itemsOfOrders(wh: Warehouse, o: { storeId: string; orderIds: readonly string[] }): Promise<OrderItemRecord[]> {
  if (o.orderIds.length === 0) return [];
  const rows = await wh.query<ItemRow>(
    `SELECT order_id, line_number, product_id, quantity, toString(unit_price) AS unit_price_text,
            toString(discount) AS discount_text, toString(line_amount) AS line_amount_text
       FROM fact_order_items FINAL
      WHERE store_id = {store:String} AND order_id IN {ids:Array(String)} AND is_deleted = 0
      ORDER BY order_id, line_number`,
    { store: o.storeId, ids: o.orderIds },
  );
  return rows.map((r) => ({
    storeId: o.storeId,
    orderId: r.order_id,
    lineNumber: Number(r.line_number),
    productId: r.product_id,
    quantity: Number(r.quantity),
    unitPrice: r.unit_price_text,
    discount: r.discount_text,
    lineAmount: r.line_amount_text,
  }));
}

interface PaymentRow {
  payment_id: string;
  order_id: string;
  method: string;
  amount_text: string;
  currency: string;
  status: string;
  installments: number | string;
  paid_at_text: string;
}

/** The payments of the orders, oldest first. */
export async function paymentsOfOrders(wh: Warehouse, o: { storeId: string; orderIds: readonly string[] }): Promise<PaymentRecord[]> {
  if (o.orderIds.length === 0) return [];
  const rows = await wh.query<PaymentRow>(
    `SELECT payment_id, order_id, method, toString(amount) AS amount_text, currency, status, installments, toString(paid_at) AS paid_at_text
       FROM fact_payments FINAL
      WHERE store_id = {store:String} AND order_id IN {ids:Array(String)} AND is_deleted = 0
      ORDER BY order_id, paid_at, payment_id`,
    { store: o.storeId, ids: o.orderIds },
  );
  return rows.map((r) => ({
    storeId: o.storeId,
    paymentId: r.payment_id,
    orderId: r.order_id,
    method: r.method,
    amount: r.amount_text,
    currency: r.currency,
    status: r.status,
    installments: Number(r.installments),
    paidAt: r.paid_at_text,
  }));
}

interface CustomerRow {
  customer_id: string;
  name: string;
  country: string;
  region: string;
  city: string;
  segment: string;
  valid_from_text: string;
  is_inferred: number | string;
}

const CURRENT_CUSTOMERS = `SELECT customer_id, name, country, region, city, segment, toString(valid_from) AS valid_from_text, is_inferred
       FROM dim_customer FINAL
      WHERE store_id = {store:String} AND is_current = 1`;

function toCustomer(storeId: string, r: CustomerRow): CustomerRecord {
  return {
    storeId,
    customerId: r.customer_id,
    name: r.name,
    country: r.country,
    region: r.region,
    city: r.city,
    segment: r.segment,
    validFrom: r.valid_from_text,
    inferred: Number(r.is_inferred) === 1,
  };
}

/** The current version of each customer (unknown ids are absent). */
export async function customersByIds(wh: Warehouse, o: { storeId: string; customerIds: readonly string[] }): Promise<CustomerRecord[]> {
  const ids = o.customerIds.filter((c) => c !== '');
  if (ids.length === 0) return [];
  const rows = await wh.query<CustomerRow>(
    `${CURRENT_CUSTOMERS} AND customer_id IN {ids:Array(String)}
      ORDER BY customer_id, valid_from DESC
      LIMIT 1 BY customer_id`,
    { store: o.storeId, ids },
  );
  return rows.map((r) => toCustomer(o.storeId, r));
}

/** One page of a store's customers by id, after `after` when given; up to `first + 1` rows. */
export async function customersPage(
  wh: Warehouse,
  o: { storeId: string; filter: CustomerFilter; first: number; after?: string },
): Promise<CustomerRecord[]> {
  const rows = await wh.query<CustomerRow>(
    `${CURRENT_CUSTOMERS}
        AND (length({countries:Array(String)}) = 0 OR country IN {countries:Array(String)})
        AND (length({segments:Array(String)}) = 0 OR segment IN {segments:Array(String)})
        AND ({hasAfter:Bool} = false OR customer_id > {after:String})
      ORDER BY customer_id, valid_from DESC
      LIMIT 1 BY customer_id
      LIMIT {limit:UInt32}`,
    {
      store: o.storeId,
      countries: o.filter.countries ?? [],
      segments: o.filter.segments ?? [],
      hasAfter: o.after !== undefined,
      after: o.after ?? '',
      limit: o.first + 1,
    },
  );
  return rows.map((r) => toCustomer(o.storeId, r));
}

interface ProductRow {
  product_id: string;
  sku: string;
  name: string;
  category: string;
  brand: string;
  list_price_text: string;
  cost_text: string;
  is_inferred: number | string;
}

/** Products by id (unknown ids are absent). */
export async function productsByIds(wh: Warehouse, o: { storeId: string; productIds: readonly string[] }): Promise<ProductRecord[]> {
  if (o.productIds.length === 0) return [];
  const rows = await wh.query<ProductRow>(
    `SELECT product_id, sku, name, category, brand, toString(list_price) AS list_price_text, toString(cost) AS cost_text, is_inferred
       FROM dim_product FINAL
      WHERE store_id = {store:String} AND product_id IN {ids:Array(String)}`,
    { store: o.storeId, ids: o.productIds },
  );
  return rows.map((r) => ({
    storeId: o.storeId,
    productId: r.product_id,
    sku: r.sku,
    name: r.name,
    category: r.category,
    brand: r.brand,
    listPrice: r.list_price_text,
    cost: r.cost_text,
    inferred: Number(r.is_inferred) === 1,
  }));
}

export interface StoreRow {
  id: string;
  name: string;
  timezone: string;
  country: string;
  currency: string;
}

/** The stores (dim_store, latest version), sorted by id; only `ids` when given. */
export async function listStores(wh: Warehouse, ids: string[] | null): Promise<StoreRow[]> {
  return wh.query<StoreRow>(
    `SELECT store_id AS id, name, timezone, country, currency FROM dim_store FINAL
      WHERE {all:UInt8} = 1 OR store_id IN {ids:Array(String)} ORDER BY store_id`,
    { all: ids === null ? 1 : 0, ids: ids ?? [] },
  );
}
