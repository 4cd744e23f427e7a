import { createHash } from 'node:crypto';
import { LOOKUP_SETTINGS, type Warehouse } from '../warehouse/client.js';
import { IN_KEYS, queryByKeys } from '../warehouse/key-lookup.js';
import { TextBytes, tsvField } from '../warehouse/text-bytes.js';
import { rowHash, toChTime, type EntityRecord, type IncomingRecordLike } from './validate/entities.js';

interface Valid<E extends 'customers' | 'products'> {
  rec: EntityRecord<E>;
  incoming: IncomingRecordLike;
}

/** Start of time: the first version of a customer is valid from here, so every order finds one. */
export const BEGINNING_OF_TIME = '1970-01-01 00:00:00.000';
const END_OF_TIME = '2299-12-31 00:00:00.000';

/** Products are type 1: a changed product overwrites the old attributes (newer version wins). */
export async function upsertProducts(
  wh: Warehouse,
  storeId: string,
  batchId: string,
  valid: Valid<'products'>[],
  nextVersion: () => bigint,
): Promise<{ inserted: Set<unknown> }> {
  const inserted = new Set<unknown>();
  if (valid.length === 0) return { inserted };
  const ids = [...new Set(valid.map((v) => v.rec.product_id))];
  const existing = new Map(
    (
      await queryByKeys<{ product_id: string; h: string }>(
        wh,
        `SELECT product_id, toString(row_hash) AS h FROM dim_product FINAL WHERE store_id = {store:String} AND product_id ${IN_KEYS} ${LOOKUP_SETTINGS}`,
        ids,
        { store: storeId },
      )
    ).map((r) => [r.product_id, r.h]),
  );
  const rows: Record<string, unknown>[] = [];
  for (const v of valid) {
    const r = v.rec;
    const attrs = {
      sku: r.sku ?? r.product_id,
      name: r.name ?? '',
      category: r.category || 'uncategorized',
      brand: r.brand ?? '',
      list_price: r.list_price ?? '0',
      cost: r.cost ?? '0',
    };
    const hash = rowHash(Object.entries(attrs));
    if (existing.get(r.product_id) === hash) continue;
    existing.set(r.product_id, hash);
    rows.push({
      store_id: storeId,
      product_id: r.product_id,
      ...attrs,
      is_inferred: 0,
      updated_at: toChTime(r.updated_at ?? Date.now()),
      batch_id: batchId,
      version: nextVersion().toString(),
      row_hash: hash,
    });
    inserted.add(v);
  }
  await wh.insert('dim_product', rows);
  return { inserted };
}

interface CustomerVersion {
  customer_id: string;
  valid_from: string;
  name: string;
  email_hash: string;
  country: string;
  region: string;
  city: string;
  segment: string;
  is_inferred: number;
  h: string;
}

/**
 * Customers are SCD type 2: a change of country, region or segment closes the current version
 * (valid_to = the change's time, is_current = 0) and opens a new one; other attributes are
 * corrected in place. A customer's first version is valid from the beginning of time, so an
 * inferred member (created when an order names an unknown customer) is completed in place by the
 * first real record. A change dated at or before the current version's start is stale: unchanged.
 */
export async function upsertCustomers(
  wh: Warehouse,
  storeId: string,
  batchId: string,
  valid: Valid<'customers'>[],
  nextVersion: () => bigint,
): Promise<{ inserted: Set<unknown> }> {
  const inserted = new Set<unknown>();
  if (valid.length === 0) return { inserted };
  const ids = [...new Set(valid.map((v) => v.rec.customer_id))];
  const current = new Map<string, CustomerVersion>(
    (
      await queryByKeys<CustomerVersion>(
        wh,
        `SELECT customer_id, toString(valid_from) AS valid_from, name, email_hash, country, region, city, segment, is_inferred, toString(row_hash) AS h
           FROM dim_customer FINAL
          WHERE store_id = {store:String} AND customer_id ${IN_KEYS} AND is_current = 1`,
        ids,
        { store: storeId },
      )
    ).map((r) => [r.customer_id, r]),
  );
  const effective = (v: Valid<'customers'>) => v.rec.valid_from ?? v.rec.updated_at ?? v.rec.created_at ?? 0;
  const ordered = [...valid].sort((a, b) => (a.rec.customer_id < b.rec.customer_id ? -1 : a.rec.customer_id > b.rec.customer_id ? 1 : effective(a) - effective(b)));
  const rows: Record<string, unknown>[] = [];
  for (const v of ordered) {
    const r = v.rec;
    const attrs = {
      name: r.name ?? '',
      email_hash: r.email ? createHash('sha256').update(r.email).digest('hex') : (r.email_hash ?? ''),
      country: r.country ?? '',
      region: r.region ?? '',
      city: r.city ?? '',
      segment: r.segment ?? '',
    };
    const hash = rowHash(Object.entries(attrs));
    const cur = current.get(r.customer_id);
    const eff = effective(v);
    const base = { store_id: storeId, customer_id: r.customer_id, is_inferred: 0, updated_at: toChTime(r.updated_at ?? Date.now()), batch_id: batchId };
    let validFrom: string;
    if (!cur || cur.is_inferred === 1 || Number(cur.is_inferred) === 1) {
      validFrom = cur?.valid_from ?? BEGINNING_OF_TIME;
    } else if (cur.h === hash) {
      continue; // identical: unchanged
    } else if (cur.country === attrs.country && cur.region === attrs.region && cur.segment === attrs.segment) {
      validFrom = cur.valid_from; // type-1 correction of untracked attributes
    } else {
      const curStart = Date.parse(cur.valid_from.replace(' ', 'T') + 'Z');
      if (eff <= curStart) continue; // stale change
      validFrom = toChTime(eff);
      rows.push({
        ...base,
        valid_from: cur.valid_from,
        valid_to: validFrom,
        is_current: 0,
        name: cur.name,
        email_hash: cur.email_hash,
        country: cur.country,
        region: cur.region,
        city: cur.city,
        segment: cur.segment,
        version: nextVersion().toString(),
        row_hash: cur.h,
      });
    }
    rows.push({ ...base, valid_from: validFrom, valid_to: END_OF_TIME, is_current: 1, ...attrs, version: nextVersion().toString(), row_hash: hash });
    current.set(r.customer_id, { customer_id: r.customer_id, valid_from: validFrom, ...attrs, is_inferred: 0, h: hash });
    inserted.add(v);
  }
  await wh.insert('dim_customer', rows);
  return { inserted };
}

/** Columns of an inferred member's line (the others take their defaults). */
const INFERRED_CUSTOMER_COLUMNS = ['store_id', 'customer_id', 'valid_from', 'is_current', 'is_inferred', 'updated_at', 'batch_id', 'version'];
const INFERRED_PRODUCT_COLUMNS = ['store_id', 'product_id', 'sku', 'is_inferred', 'updated_at', 'batch_id', 'version'];

/**
 * Customers and products named by facts but unknown to the dimensions are added as inferred
 * members (is_inferred = 1, version 1), which a later real record completes.
 */
export async function addInferredMembers(
  wh: Warehouse,
  storeId: string,
  batchId: string,
  refs: { customers: (string | undefined)[]; products: (string | undefined)[] },
): Promise<void> {
  const now = toChTime(Date.now());
  const customers = [...new Set(refs.customers.filter((c): c is string => !!c))];
  if (customers.length > 0) {
    const known = new Set(
      (
        await queryByKeys<{ customer_id: string }>(
          wh,
          `SELECT DISTINCT customer_id FROM dim_customer WHERE store_id = {store:String} AND customer_id ${IN_KEYS} ${LOOKUP_SETTINGS}`,
          customers,
          { store: storeId },
        )
      ).map((r) => r.customer_id),
    );
    // As TabSeparated lines: a file of new customers makes one per order.
    const head = tsvField(storeId) + '\t';
    const tail = '\t' + BEGINNING_OF_TIME + '\t1\t1\t' + now + '\t' + tsvField(batchId) + '\t1';
    const lines = new TextBytes(customers.length * 96);
    for (const c of customers) {
      if (known.has(c)) continue;
      lines.text(head);
      lines.text(tsvField(c));
      lines.line(tail);
    }
    await wh.insertLines('dim_customer', { format: 'TabSeparated', columns: INFERRED_CUSTOMER_COLUMNS, bytes: lines.bytes() });
  }
  const products = [...new Set(refs.products.filter((p): p is string => !!p))];
  if (products.length > 0) {
    const known = new Set(
      (
        await queryByKeys<{ product_id: string }>(
          wh,
          `SELECT DISTINCT product_id FROM dim_product WHERE store_id = {store:String} AND product_id ${IN_KEYS} ${LOOKUP_SETTINGS}`,
          products,
          { store: storeId },
        )
      ).map((r) => r.product_id),
    );
    const head = tsvField(storeId) + '\t';
    const tail = '\t1\t' + now + '\t' + tsvField(batchId) + '\t1';
    const lines = new TextBytes(products.length * 96);
    for (const p of products) {
      if (known.has(p)) continue;
      const id = tsvField(p);
      lines.text(head);
      lines.text(id);
      lines.text('\t');
      lines.text(id);
      lines.line(tail);
    }
    await wh.insertLines('dim_product', { format: 'TabSeparated', columns: INFERRED_PRODUCT_COLUMNS, bytes: lines.bytes() });
  }
}
