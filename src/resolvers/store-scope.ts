import type { RequestContext } from '../schema/context.js';
import type { DateRangeInput } from '../schema/date-range.input.js';
import { requireKey } from '../auth/auth-checker.js';
import { assertStoreVisible } from '../auth/store-access.js';
import { isValidStoreId } from '../ingest/stores.js';
import { badUserInput } from '../http/errors.js';
import { listStoreIds } from '../warehouse/entities.queries.js';
import type { Warehouse } from '../warehouse/client.js';

/** How long the list of stores is trusted when a query names none (a new store is rare; the lookup is on the hot path). */
const STORES_TTL_MS = 5000;
const storesCache = new WeakMap<Warehouse, { at: number; ids: Promise<string[]> }>();

/** Every known store id, from the warehouse at most every STORES_TTL_MS per process. */
async function knownStores(wh: Warehouse): Promise<string[]> {
  const hit = storesCache.get(wh);
  if (hit && Date.now() - hit.at < STORES_TTL_MS) return hit.ids;
  const ids = listStoreIds(wh);
  storesCache.set(wh, { at: Date.now(), ids });
  // A failed lookup is not remembered.
  ids.catch(() => storesCache.delete(wh));
  return ids;
}

/**
 * The one store an analytics or entity query reads, from its `store` argument: a store the key
 * may not see is FORBIDDEN; without the argument, the only store the key sees (its single store,
 * or — for a key that sees every store — the warehouse's only store); otherwise BAD_USER_INPUT
 * naming `store`.
 */
export async function resolveReadStore(ctx: RequestContext, requested: string | null | undefined, argument = 'store'): Promise<string> {
  const key = requireKey(ctx);
  if (requested !== undefined && requested !== null) {
    if (!isValidStoreId(requested)) {
      throw badUserInput(argument, `"${requested.slice(0, 80)}" is not a valid store id (letters, digits, _ . -, at most 64, starting with a letter or digit)`);
    }
    assertStoreVisible(key, requested);
    return requested;
  }
  if (key.stores.length === 1) return key.stores[0]!;
  if (key.stores.length > 1) throw badUserInput(argument, `this API key sees ${key.stores.length} stores (${key.stores.join(', ')}); name one`);
  const stores = await knownStores(ctx.services.warehouse);
  if (stores.length === 1) return stores[0]!;
  throw badUserInput(argument, stores.length === 0 ? 'there are no stores yet; name one' : `the warehouse has ${stores.length} stores; name one`);
}

/** Days from `from` to `to`, both included (UTC arithmetic on calendar days). */
export function daysInRange(r: { from: string; to: string }): number {
  return Math.round((Date.parse(r.to + 'T00:00:00Z') - Date.parse(r.from + 'T00:00:00Z')) / 86_400_000) + 1;
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(day + 'T00:00:00Z') + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Checks a date range argument: `from` not after `to`, at most MAX_RANGE_DAYS days (inclusive).
 * BAD_USER_INPUT names `range.from` / `range.to`.
 */
export function checkedRange(ctx: RequestContext, range: DateRangeInput, argument = 'range'): { from: string; to: string } {
  const max = ctx.services.config.MAX_RANGE_DAYS;
  if (range.to < range.from) throw badUserInput(`${argument}.to`, `${range.to} is before ${argument}.from ${range.from}`);
  const days = daysInRange(range);
  if (days > max) throw badUserInput(`${argument}.to`, `the range covers ${days} days; the maximum range is ${max} days (MAX_RANGE_DAYS)`, { limit: 'maxRangeDays', max });
  return { from: range.from, to: range.to };
}

/** The period of equal length just before `r`: n days ending the day before `r.from`. */
export function previousPeriod(r: { from: string; to: string }): { from: string; to: string } {
  const n = daysInRange(r);
  return { from: addDays(r.from, -n), to: addDays(r.from, -1) };
}
