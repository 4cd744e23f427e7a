import DataLoader from 'dataloader';
import type { RequestContext } from '../schema/context.js';
import type { Warehouse } from '../warehouse/client.js';
import { segmentsOfCustomers, type CustomerSegment } from '../warehouse/segments.queries.js';
import {
  customersByIds,
  itemsOfOrders,
  ordersByIds,
  ordersOfCustomers,
  paymentsOfOrders,
  productsByIds,
  storeTimezone,
  type CustomerRecord,
  type OrderItemRecord,
  type OrderRecord,
  type PaymentRecord,
  type ProductRecord,
} from '../warehouse/entities.queries.js';

/**
 * A loader key: one entity of one store. The store is part of the key, so a nested field can
 * only ever load rows of its parent's store — which the resolver checked against the API key.
 */
export interface StoreKey {
  storeId: string;
  id: string;
}

const cacheKey = (k: StoreKey) => `${k.storeId}\u0000${k.id}`;

/**
 * Builds a batch function from a per-store fetch: keys are grouped by store, each store costs one
 * warehouse query per batch, and the answers come back in key order (`pick` chooses a key's
 * value from its store's rows).
 */
function perStore<R, V>(
  fetch: (storeId: string, ids: string[]) => Promise<R[]>,
  group: (rows: R[]) => Map<string, V>,
  missing: () => V,
): DataLoader.BatchLoadFn<StoreKey, V> {
  return async (keys) => {
    const byStore = new Map<string, string[]>();
    for (const k of keys) {
      const ids = byStore.get(k.storeId) ?? [];
      ids.push(k.id);
      byStore.set(k.storeId, ids);
    }
    const found = new Map<string, V>();
    await Promise.all(
      [...byStore].map(async ([storeId, ids]) => {
        for (const [id, v] of group(await fetch(storeId, [...new Set(ids)]))) found.set(cacheKey({ storeId, id }), v);
      }),
    );
    return keys.map((k) => found.get(cacheKey(k)) ?? missing());
  };
}

function one<R>(id: (r: R) => string): (rows: R[]) => Map<string, R | null> {
  return (rows) => new Map(rows.map((r) => [id(r), r] as [string, R | null]));
}

function many<R>(id: (r: R) => string): (rows: R[]) => Map<string, R[]> {
  return (rows) => {
    const m = new Map<string, R[]>();
    for (const r of rows) {
      const list = m.get(id(r));
      if (list) list.push(r);
      else m.set(id(r), [r]);
    }
    return m;
  };
}

/** The DataLoaders of one request; see {@link loadersOf}. */
export interface EntityLoaders {
  order: DataLoader<StoreKey, OrderRecord | null, string>;
  customer: DataLoader<StoreKey, CustomerRecord | null, string>;
  product: DataLoader<StoreKey, ProductRecord | null, string>;
  itemsOfOrder: DataLoader<StoreKey, OrderItemRecord[], string>;
  paymentsOfOrder: DataLoader<StoreKey, PaymentRecord[], string>;
  /** Orders of a customer, newest first, at most `limit` each (one loader per limit). */
  ordersOfCustomer(limit: number): DataLoader<StoreKey, OrderRecord[], string>;
  /** A customer's current RFM segment and scores (null when not segmented). */
  rfm: DataLoader<StoreKey, CustomerSegment | null, string>;
  /** A store's time zone. */
  timezone: DataLoader<string, string>;
}

/** A fresh set of loaders over the warehouse; per request, so nothing leaks between keys. */
export function createEntityLoaders(wh: Warehouse, defaultTimezone: string): EntityLoaders {
  const opts = { cacheKeyFn: cacheKey };
  const ordersByLimit = new Map<number, DataLoader<StoreKey, OrderRecord[], string>>();
  return {
    order: new DataLoader(perStore((storeId, ids) => ordersByIds(wh, { storeId, orderIds: ids }), one((r) => r.orderId), () => null), opts),
    customer: new DataLoader(perStore((storeId, ids) => customersByIds(wh, { storeId, customerIds: ids }), one((r) => r.customerId), () => null), opts),
    product: new DataLoader(perStore((storeId, ids) => productsByIds(wh, { storeId, productIds: ids }), one((r) => r.productId), () => null), opts),
    itemsOfOrder: new DataLoader(perStore((storeId, ids) => itemsOfOrders(wh, { storeId, orderIds: ids }), many((r) => r.orderId), () => []), opts),
    paymentsOfOrder: new DataLoader(perStore((storeId, ids) => paymentsOfOrders(wh, { storeId, orderIds: ids }), many((r) => r.orderId), () => []), opts),
    ordersOfCustomer(limit) {
      let l = ordersByLimit.get(limit);
      if (!l) {
        l = new DataLoader(perStore((storeId, ids) => ordersOfCustomers(wh, { storeId, customerIds: ids, limit }), many((r) => r.customerId), () => []), opts);
        ordersByLimit.set(limit, l);
      }
      return l;
    },
    rfm: new DataLoader(
      perStore(
        async (storeId, ids) => [...(await segmentsOfCustomers(wh, { storeId, customerIds: ids }))],
        (rows) => new Map(rows),
        () => null,
      ),
      opts,
    ),
    timezone: new DataLoader(async (stores) => Promise.all(stores.map((s) => storeTimezone(wh, s, defaultTimezone)))),
  };
}

/** The request's loaders, created on first use and kept on the context. */
export function loadersOf(ctx: RequestContext): EntityLoaders {
  ctx.loaders ??= createEntityLoaders(ctx.services.warehouse, ctx.services.config.DEFAULT_TIMEZONE);
  return ctx.loaders;
}
