import type { Warehouse } from '../warehouse/client.js';
import { addDays, chTime, nextVersion, storeTimezone } from './current-result.js';

/**
 * The session funnel (definitions in docs/analytics.md, "Funnel").
 *
 * - A session is the events of one store with one non-empty `session_id`; events without a session
 *   are not in the funnel.
 * - Its day is the store-local day of its first event; its channel is the `channel` of its first
 *   event (falling back to `properties.channel`, then `unknown`).
 * - Steps are reached in order: product_view, then add_to_cart at or after it, then checkout at or
 *   after that, then purchase at or after that (each step's earliest qualifying event). A session
 *   that skips a step, or does a step only before the previous one, stops at the last step it
 *   reached in order, so the counts never increase along the funnel.
 * - Sessions are assumed to last less than a day: events are read from the day before `from` to the
 *   day after `to`.
 */

export interface RunFunnelOptions {
  storeId: string;
  /** First store-local day to recompute (YYYY-MM-DD). @default the store's first event day */
  from?: string;
  /** Last store-local day to recompute (YYYY-MM-DD). @default the store's last event day */
  to?: string;
  /** The flow's run id, stored with the rows. */
  runId: string;
}

interface FunnelKeyRow {
  date: string;
  channel: string;
}
interface FunnelComputed extends FunnelKeyRow {
  sessions: string;
  product_views: string;
  add_to_carts: string;
  checkouts: string;
  purchases: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Recomputes the funnel of the store-local days [from, to] from the deduplicated events and
 * replaces those days' rows: (day, channel) rows without sessions any more are tombstoned.
 * Returns the rows written (including tombstones).
 */
export async function runFunnel(wh: Warehouse, o: RunFunnelOptions): Promise<{ rows: number }> {
  for (const [name, v] of [['from', o.from], ['to', o.to]] as const) {
    if (v !== undefined && !DAY.test(v)) throw new Error(`runFunnel: ${name} must be a YYYY-MM-DD day, got ${v}`);
  }
  const timezone = await storeTimezone(wh, o.storeId);
  let { from, to } = o;
  if (from === undefined || to === undefined) {
    const span = await wh.query<{ first_day: string; last_day: string; n: string }>(
      `SELECT toString(min(toDate(event_time, {tz:String}))) AS first_day, toString(max(toDate(event_time, {tz:String}))) AS last_day, count() AS n
         FROM fact_events FINAL WHERE store_id = {store:String} AND session_id != ''`,
      { store: o.storeId, tz: timezone },
    );
    if (Number(span[0]?.n ?? 0) === 0) {
      if (from === undefined && to === undefined) return { rows: 0 };
    } else {
      // A defaulted bound never crosses the given one (e.g. from after the last event day).
      if (from === undefined) from = to !== undefined && to < span[0]!.first_day ? to : span[0]!.first_day;
      if (to === undefined) to = from < span[0]!.last_day ? span[0]!.last_day : from;
    }
    from ??= to;
    to ??= from;
  }
  if (from! > to!) throw new Error(`runFunnel: from ${from} is after to ${to}`);
  const params = {
    store: o.storeId,
    tz: timezone,
    from: from!,
    to: to!,
    // Loose UTC bounds for partition pruning: a day either side covers every zone and the sessions
    // that cross midnight.
    lo: `${addDays(from!, -2)} 00:00:00.000`,
    hi: `${addDays(to!, 3)} 00:00:00.000`,
  };
  const computed = await wh.query<FunnelComputed>(
    `SELECT toString(session_day) AS date, toString(session_channel) AS channel,
            count() AS sessions,
            countIf(t_view >= 0) AS product_views,
            countIf(t_cart >= 0) AS add_to_carts,
            countIf(t_checkout >= 0) AS checkouts,
            countIf(t_purchase >= 0) AS purchases
       FROM (
         SELECT session_day, session_channel,
                if(length(views) > 0, views[1], toInt64(-1)) AS t_view,
                if(t_view >= 0 AND arrayFirstIndex(x -> x >= t_view, carts) > 0, carts[arrayFirstIndex(x -> x >= t_view, carts)], toInt64(-1)) AS t_cart,
                if(t_cart >= 0 AND arrayFirstIndex(x -> x >= t_cart, checkouts_at) > 0, checkouts_at[arrayFirstIndex(x -> x >= t_cart, checkouts_at)], toInt64(-1)) AS t_checkout,
                if(t_checkout >= 0 AND arrayFirstIndex(x -> x >= t_checkout, purchases_at) > 0, purchases_at[arrayFirstIndex(x -> x >= t_checkout, purchases_at)], toInt64(-1)) AS t_purchase
           FROM (
             SELECT session_id,
                    toDate(min(event_time), {tz:String}) AS session_day,
                    argMin(event_channel, event_time) AS session_channel,
                    arraySort(groupArrayIf(ms, event_type = 'product_view')) AS views,
                    arraySort(groupArrayIf(ms, event_type = 'add_to_cart')) AS carts,
                    arraySort(groupArrayIf(ms, event_type = 'checkout')) AS checkouts_at,
                    arraySort(groupArrayIf(ms, event_type = 'purchase')) AS purchases_at
               FROM (
                 SELECT session_id, event_time, event_type, toUnixTimestamp64Milli(event_time) AS ms,
                        multiIf(channel != '', toString(channel),
                                JSONExtractString(properties, 'channel') != '', lower(JSONExtractString(properties, 'channel')),
                                'unknown') AS event_channel
                   FROM fact_events FINAL
                  WHERE store_id = {store:String} AND session_id != ''
                    AND event_time >= {lo:DateTime64(3, 'UTC')} AND event_time < {hi:DateTime64(3, 'UTC')}
               )
              GROUP BY session_id
           )
          WHERE session_day BETWEEN {from:Date} AND {to:Date}
       )
      GROUP BY session_day, session_channel
      ORDER BY session_day, session_channel`,
    params,
  );
  const existing = (
    await wh.query<{ day_key: string; channel_key: string }>(
      `SELECT toString(date) AS day_key, toString(channel) AS channel_key FROM funnel_daily FINAL
        WHERE store_id = {store:String} AND date BETWEEN {from:Date} AND {to:Date}`,
      params,
    )
  ).map((r): FunnelKeyRow => ({ date: r.day_key, channel: r.channel_key }));
  const version = nextVersion().toString();
  const computedAt = chTime(Date.now());
  const keyOf = (r: FunnelKeyRow) => `${r.date}|${r.channel}`;
  const fresh = new Set(computed.map(keyOf));
  const rows: Record<string, unknown>[] = computed.map((r) => ({
    store_id: o.storeId,
    date: r.date,
    channel: r.channel,
    sessions: r.sessions,
    product_views: r.product_views,
    add_to_carts: r.add_to_carts,
    checkouts: r.checkouts,
    purchases: r.purchases,
    run_id: o.runId,
    computed_at: computedAt,
    version,
    is_deleted: 0,
  }));
  for (const r of existing) {
    if (fresh.has(keyOf(r))) continue;
    rows.push({
      store_id: o.storeId, date: r.date, channel: r.channel, sessions: 0, product_views: 0, add_to_carts: 0, checkouts: 0, purchases: 0,
      run_id: o.runId, computed_at: computedAt, version, is_deleted: 1,
    });
  }
  await wh.insert('funnel_daily', rows);
  return { rows: rows.length };
}
