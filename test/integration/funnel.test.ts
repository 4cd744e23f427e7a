import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runFunnel } from '../../src/analytics/funnel.js';
import { funnel, type FunnelRow } from '../../src/warehouse/funnel.queries.js';
import { chTs, close, localDay, rng } from '../support/analytics-fixtures.js';
import { tempWarehouse } from '../support/warehouse.js';

let wh: Warehouse;
tempWarehouse((w) => (wh = w));

const STORE = 'fun1';
const TZ = 'Asia/Tokyo';
const MIN = 60_000;
const T0 = Date.parse('2024-05-01T00:00:00Z');

interface Ev {
  event_id: string;
  session_id: string;
  event_type: string;
  time: number;
  channel: string;
  properties?: string;
}

const evRow = (e: Ev, version = 1) => ({
  store_id: STORE,
  event_id: e.event_id,
  event_time: chTs(e.time),
  session_id: e.session_id,
  event_type: e.event_type,
  channel: e.channel,
  properties: e.properties ?? '{}',
  received_at: chTs(e.time),
  batch_id: 'fixture',
  version,
});

type Counts = { sessions: number; productViews: number; addToCarts: number; checkouts: number; purchases: number };

/** The documented funnel, by a plain walk over each session's events in time order. */
function expectedFunnel(events: Ev[], tz: string): Map<string, Counts> {
  const sessions = new Map<string, Ev[]>();
  for (const e of events) {
    if (e.session_id === '') continue;
    sessions.set(e.session_id, [...(sessions.get(e.session_id) ?? []), e]);
  }
  const out = new Map<string, Counts>();
  const steps = ['product_view', 'add_to_cart', 'checkout', 'purchase'];
  for (const evs of sessions.values()) {
    const first = evs.reduce((a, b) => (b.time < a.time ? b : a));
    let channel = first.channel;
    if (channel === '') channel = ((JSON.parse(first.properties ?? '{}') as { channel?: string }).channel ?? '').toLowerCase();
    if (channel === '') channel = 'unknown';
    // Greedy: the earliest event of the next step at or after the previous step's time.
    let reached = 0;
    let at = -Infinity;
    for (const step of steps) {
      const next = evs.filter((e) => e.event_type === step && e.time >= at).sort((a, b) => a.time - b.time)[0];
      if (!next) break;
      reached++;
      at = next.time;
    }
    const key = `${localDay(first.time, tz)}|${channel}`;
    const c = out.get(key) ?? { sessions: 0, productViews: 0, addToCarts: 0, checkouts: 0, purchases: 0 };
    c.sessions++;
    if (reached >= 1) c.productViews++;
    if (reached >= 2) c.addToCarts++;
    if (reached >= 3) c.checkouts++;
    if (reached >= 4) c.purchases++;
    out.set(key, c);
  }
  return out;
}

function expectedRows(exp: Map<string, Counts>, range: { from: string; to: string }, groupBy: ('DAY' | 'CHANNEL')[]) {
  const agg = new Map<string, Counts & { date?: string; channel?: string }>();
  for (const [key, c] of exp) {
    const [date, channel] = key.split('|') as [string, string];
    if (date < range.from || date > range.to) continue;
    const gk = `${groupBy.includes('DAY') ? date : ''}|${groupBy.includes('CHANNEL') ? channel : ''}`;
    const a = agg.get(gk) ?? {
      ...(groupBy.includes('DAY') ? { date } : {}),
      ...(groupBy.includes('CHANNEL') ? { channel } : {}),
      sessions: 0, productViews: 0, addToCarts: 0, checkouts: 0, purchases: 0,
    };
    a.sessions += c.sessions;
    a.productViews += c.productViews;
    a.addToCarts += c.addToCarts;
    a.checkouts += c.checkouts;
    a.purchases += c.purchases;
    agg.set(gk, a);
  }
  if (groupBy.length === 0 && agg.size === 0) agg.set('|', { sessions: 0, productViews: 0, addToCarts: 0, checkouts: 0, purchases: 0 });
  return [...agg.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

function assertRows(got: FunnelRow[], want: ReturnType<typeof expectedRows>, label: string) {
  assert.equal(got.length, want.length, `${label}: row count`);
  want.forEach((w, i) => {
    const g = got[i]!;
    assert.deepEqual(
      { date: g.date, channel: g.channel, sessions: g.sessions, productViews: g.productViews, addToCarts: g.addToCarts, checkouts: g.checkouts, purchases: g.purchases },
      { date: w.date, channel: w.channel, sessions: w.sessions, productViews: w.productViews, addToCarts: w.addToCarts, checkouts: w.checkouts, purchases: w.purchases },
      `${label}: row ${i}`,
    );
    const r = (n: number, d: number) => (d === 0 ? null : n / d);
    assert.ok(close(g.viewRate, r(w.productViews, w.sessions)), `${label}: viewRate`);
    assert.ok(close(g.cartRate, r(w.addToCarts, w.productViews)), `${label}: cartRate`);
    assert.ok(close(g.checkoutRate, r(w.checkouts, w.addToCarts)), `${label}: checkoutRate`);
    assert.ok(close(g.purchaseRate, r(w.purchases, w.checkouts)), `${label}: purchaseRate`);
    assert.ok(close(g.overallConversion, r(w.purchases, w.sessions)), `${label}: overallConversion`);
  });
}

let seq = 0;
const session = (sid: string, channel: string, start: number, steps: [string, number][], properties?: string): Ev[] =>
  steps.map(([type, offsetMin]) => ({ event_id: `e${++seq}`, session_id: sid, event_type: type, time: start + offsetMin * MIN, channel, properties }));

/** Hand-built edge cases plus random sessions over ten days. */
function fixture(): Ev[] {
  const evs: Ev[] = [
    ...session('full', 'web', T0 + 60 * MIN, [['page_view', 0], ['product_view', 1], ['add_to_cart', 2], ['checkout', 3], ['purchase', 4]]),
    // Skips add_to_cart: reaches product_view only, even though it checks out and purchases.
    ...session('skip-cart', 'web', T0 + 70 * MIN, [['product_view', 0], ['checkout', 1], ['purchase', 2]]),
    // Cart before the first product view: the cart does not count.
    ...session('cart-first', 'mobile', T0 + 80 * MIN, [['add_to_cart', 0], ['product_view', 1]]),
    // Purchase with nothing before it: a session that reaches no step.
    ...session('purchase-only', 'mobile', T0 + 90 * MIN, [['purchase', 0]]),
    // Same-instant steps count (≥).
    ...session('same-instant', 'web', T0 + 100 * MIN, [['product_view', 0], ['add_to_cart', 0], ['checkout', 0]]),
    // Revisits: a second view after a cart still lets the first chain continue.
    ...session('revisit', 'web', T0 + 110 * MIN, [['product_view', 0], ['product_view', 5], ['add_to_cart', 6], ['product_view', 7], ['checkout', 8]]),
    // Crosses the store's midnight (15:00 UTC = 00:00 Tokyo): counted on its first event's day.
    ...session('midnight', 'web', Date.parse('2024-05-01T14:50:00Z'), [['product_view', 0], ['add_to_cart', 20], ['purchase', 25]]),
    // Channel from properties, then unknown.
    ...session('prop-channel', '', T0 + 120 * MIN, [['product_view', 0]], '{"channel":"Email"}'),
    ...session('no-channel', '', T0 + 130 * MIN, [['page_view', 0], ['product_view', 1]]),
    // Without a session id: not in the funnel.
    ...session('', 'web', T0 + 140 * MIN, [['product_view', 0], ['purchase', 1]]),
  ];
  const g = rng(7);
  const types = ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase', 'search', 'remove_from_cart'];
  for (let s = 0; s < 250; s++) {
    const start = T0 + g.int(0, 9) * 86_400_000 + g.int(0, 86_000) * 1000;
    const channel = g.pick(['web', 'mobile', 'marketplace']);
    const n = g.int(1, 8);
    const steps: [string, number][] = [['page_view', 0]];
    for (let k = 1; k < n; k++) steps.push([g.chance(0.6) ? types[Math.min(4, k)]! : g.pick(types), g.int(0, 30)]);
    evs.push(...session(`s${s}`, channel, start, steps));
  }
  return evs;
}

const events = fixture();

test('funnel counts and rates equal a JS walk over the sessions (skipped steps, order, ties, midnight, channels)', async () => {
  await wh.insert('dim_store', [{ store_id: STORE, name: STORE, timezone: TZ, version: 1 }]);
  await wh.insert('fact_events', events.map((e) => evRow(e)));
  // A re-sent copy of some events (same key): counted once.
  await wh.insert('fact_events', events.slice(0, 30).map((e) => evRow(e, 2)));

  const exp = expectedFunnel(events, TZ);
  const hand = (day: string, channel: string) => exp.get(`${day}|${channel}`)!;
  assert.ok(hand('2024-05-01', 'email').sessions >= 1 && hand('2024-05-01', 'unknown').sessions >= 1);
  const r = await runFunnel(wh, { storeId: STORE, runId: 'f1' });
  assert.equal(r.rows, exp.size);

  const all = { from: '2024-04-30', to: '2024-05-12' };
  assertRows(await funnel(wh, { storeId: STORE, range: all }), expectedRows(exp, all, []), 'total');
  for (const groupBy of [['DAY'], ['CHANNEL'], ['DAY', 'CHANNEL'], ['CHANNEL', 'DAY']] as ('DAY' | 'CHANNEL')[][]) {
    const range = { from: '2024-05-02', to: '2024-05-07' };
    const want = expectedRows(exp, range, groupBy.includes('DAY') && groupBy.includes('CHANNEL') ? ['DAY', 'CHANNEL'] : groupBy);
    assertRows(await funnel(wh, { storeId: STORE, range, groupBy }), want, groupBy.join('+'));
  }
  const empty = await funnel(wh, { storeId: STORE, range: { from: '2023-01-01', to: '2023-01-31' } });
  assert.deepEqual(empty, [{ sessions: 0, productViews: 0, addToCarts: 0, checkouts: 0, purchases: 0, viewRate: null, cartRate: null, checkoutRate: null, purchaseRate: null, overallConversion: null }]);
});

test('a rerun of a day range replaces exactly those days; vanished (day, channel) rows are removed', async () => {
  const before = expectedFunnel(events, TZ);
  // 2024-05-03: every marketplace session is corrected to web (newer version of the same events),
  // and a new session arrives. 2024-05-09 also gets a new session, but is outside the rerun range.
  const day3 = events.filter((e) => e.session_id !== '' && localDay(e.time, TZ) === '2024-05-03');
  const moved = day3.filter((e) => e.channel === 'marketplace');
  assert.ok(moved.length > 0, 'fixture has marketplace sessions that day');
  const corrected = moved.map((e) => ({ ...e, channel: 'web' }));
  const added = [
    ...session('new3', 'mobile', Date.parse('2024-05-03T03:00:00Z'), [['product_view', 0], ['add_to_cart', 1], ['checkout', 2], ['purchase', 3]]),
    ...session('new9', 'mobile', Date.parse('2024-05-09T03:00:00Z'), [['product_view', 0], ['add_to_cart', 1]]),
  ];
  await wh.insert('fact_events', [...corrected.map((e) => evRow(e, 5)), ...added.map((e) => evRow(e))]);
  const movedIds = new Set(moved.map((e) => e.event_id));
  const now = [...events.filter((e) => !movedIds.has(e.event_id)), ...corrected, ...added];
  const after = expectedFunnel(now, TZ);

  await runFunnel(wh, { storeId: STORE, from: '2024-05-02', to: '2024-05-04', runId: 'f2' });
  const rows = await funnel(wh, { storeId: STORE, range: { from: '2024-05-01', to: '2024-05-12' }, groupBy: ['DAY', 'CHANNEL'] });
  const keys = rows.map((r) => `${r.date}|${r.channel}`);
  assert.ok(!keys.includes('2024-05-03|marketplace'), 'the emptied (day, channel) row is gone');
  for (const r of rows) {
    const key = `${r.date}|${r.channel}`;
    const source = r.date! >= '2024-05-02' && r.date! <= '2024-05-04' ? after : before;
    const want = source.get(key)!;
    assert.deepEqual(
      { sessions: r.sessions, productViews: r.productViews, addToCarts: r.addToCarts, checkouts: r.checkouts, purchases: r.purchases },
      want,
      `${key} (${source === after ? 'recomputed' : 'untouched'})`,
    );
  }
  assert.equal(rows.length, [...after.keys()].filter((k) => !k.startsWith('2024-05-09')).length + [...before.keys()].filter((k) => k.startsWith('2024-05-09')).length);

  // A full rerun brings in the day outside the first range; rerunning again changes nothing.
  await runFunnel(wh, { storeId: STORE, runId: 'f3' });
  await runFunnel(wh, { storeId: STORE, runId: 'f4' });
  const all = { from: '2024-04-30', to: '2024-05-12' };
  assertRows(await funnel(wh, { storeId: STORE, range: all, groupBy: ['DAY', 'CHANNEL'] }), expectedRows(after, all, ['DAY', 'CHANNEL']), 'after full rerun');
});
