import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Warehouse } from '../../src/warehouse/client.js';
import { runAnomalies, historyNeeded, addDays as addDaysRef, DEFAULT_ANOMALY_PARAMS } from '../../src/analytics/anomalies.js';
import { anomaliesOfRun, listAnomalies } from '../../src/warehouse/anomalies.queries.js';
import { tempWarehouse } from '../support/warehouse.js';
import {
  FIXTURE_DAYS, FIXTURE_TZ, INJECTIONS, dayOf, fixtureRows, formatCents, generateFixture, type Fixture, type FixtureOrder,
} from '../support/anomaly-fixture.js';

let wh: Warehouse;
let dirty: Fixture;
let clean: Fixture;

tempWarehouse(async (w) => {
  wh = w;
  dirty = generateFixture({ seed: 42, inject: true, prefix: 'd' });
  clean = generateFixture({ seed: 42, inject: false, prefix: 'c' });
  for (const [store, f] of [['anom', dirty], ['clean', clean]] as const) {
    await wh.insert('dim_store', [{ store_id: store, name: store, timezone: FIXTURE_TZ, country: 'DE', currency: 'EUR', version: 1 }]);
    const rows = fixtureRows(store, f);
    await wh.insert('dim_product', rows.products);
    await wh.insert('fact_orders', rows.orders);
    await wh.insert('fact_order_items', rows.items);
    await wh.insert('fact_events', rows.events);
  }
  // Rows the detector must ignore: a huge order later moved to another day (tombstone under its
  // old sort key, as the ingest writes it), and a huge cancelled order.
  const moved = { store_id: 'anom', order_id: 'moved-1', order_kind: 'sale', status: 'paid', channel: 'web', country: 'DE', currency: 'EUR', discount: '0', shipping: '0', tax: '0', refunded: '0', batch_id: 'x' };
  await wh.insert('fact_orders', [
    { ...moved, created_at: `${dayOf(50)} 06:00:00`, updated_at: `${dayOf(50)} 06:00:00`, gross: '100000', net: '100000', version: 1, is_deleted: 0 },
    { ...moved, created_at: `${dayOf(50)} 06:00:00`, updated_at: `${dayOf(51)} 06:00:00`, gross: '100000', net: '100000', version: 2, is_deleted: 1 },
    { ...moved, created_at: `${dayOf(51)} 06:00:00`, updated_at: `${dayOf(51)} 06:00:00`, gross: '10', net: '10', version: 2, is_deleted: 0 },
    { ...moved, order_id: 'cancelled-1', status: 'cancelled', created_at: `${dayOf(52)} 06:00:00`, updated_at: `${dayOf(52)} 06:00:00`, gross: '50000', net: '50000', version: 1, is_deleted: 0 },
  ]);
  dirty.orders.push({ order_id: 'moved-1', country: 'DE', utcMs: Date.parse(`${dayOf(51)}T06:00:00Z`), localDay: dayOf(51), status: 'paid', gross_cents: 1000, refunded_cents: 0, items: [] });
});

// --- independent reference: a JS reduce over the fixture and a plain median/MAD -----------------

function med(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function refBaseline(daily: Map<string, number>, day: string): { expected: number; mad: number } {
  const hist: number[] = [];
  for (let k = 1; k <= 8; k++) {
    const d = new Date(Date.parse(day + 'T00:00:00Z') - 7 * k * 86_400_000).toISOString().slice(0, 10);
    if (daily.has(d)) hist.push(daily.get(d)!);
  }
  const m = med(hist);
  return { expected: m, mad: med(hist.map((h) => Math.abs(h - m))) };
}
/** Daily values of a KPI over the fixture's orders (cancelled excluded), in cents or counts. */
function refDaily(orders: FixtureOrder[], f: (os: FixtureOrder[]) => number, filter: (o: FixtureOrder) => boolean = () => true): Map<string, number> {
  const by = new Map<string, FixtureOrder[]>();
  for (let d = 0; d < FIXTURE_DAYS; d++) by.set(dayOf(d), []);
  for (const o of orders) if (o.status !== 'cancelled' && filter(o)) by.get(o.localDay)?.push(o);
  return new Map([...by].map(([d, os]) => [d, f(os)]));
}

type Key = string;
const key = (date: string, metric: string, dimension: string, value: string): Key => `${date}|${metric}|${dimension}|${value}`;

interface DetRow { date: string; metric: string; dimension: string; dimension_value: string; expected: string; mad: string; actual: string; score: string; severity: string }
async function detections(store: string): Promise<DetRow[]> {
  return wh.query<DetRow>(
    `SELECT toString(date) AS date, metric, dimension, dimension_value, toString(expected) AS expected, toString(mad) AS mad,
            toString(actual) AS actual, score, severity
       FROM anomaly_detections
      WHERE store_id = {s:String}
        AND (run_id, attempt) IN (SELECT run_id, attempt FROM analytics_runs FINAL WHERE store_id = {s:String} AND kind = 'anomalies'
                                  ORDER BY finished_at DESC LIMIT 1)`,
    { s: store },
  );
}

test('end to end: injected anomalies in the shop are found; the clean twin has few false alarms', async () => {
  const t0 = performance.now();
  const result = await runAnomalies(wh, { storeId: 'anom', runId: 'run-1' });
  const ms = performance.now() - t0;
  const cleanResult = await runAnomalies(wh, { storeId: 'clean', runId: 'run-1' });
  console.log(`runAnomalies: ${result.series} series, ${result.points} points scored, ${result.rows} detections in ${ms.toFixed(0)} ms`);

  const found = await detections('anom');
  assert.equal(found.length, result.rows);
  const series = new Set(found.map((d) => `${d.dimension}|${d.dimension_value}`));
  assert.ok(!series.has('COUNTRY|LU'), 'LU (≈2 orders a day) is below the volume rule and not scored');

  // Truth: the series each injection must move (and the ones it may move as a side effect).
  const dims = [['STORE', ''], ['COUNTRY', 'DE'], ['COUNTRY', 'FR'], ['CATEGORY', 'toys'], ['CATEGORY', 'books'], ['CATEGORY', 'garden']] as const;
  const must = new Set<Key>();
  const allowed = new Set<Key>();
  for (const inj of INJECTIONS) {
    const date = dayOf(inj.day);
    const metrics = { volume: ['orders', 'net_revenue'], value: ['average_order_value', 'net_revenue'], returns: ['return_rate'], traffic: ['conversion_rate'] }[inj.kind];
    // Side effects: a volume change moves conversion, and its ratio metrics rest on far fewer (or
    // more) orders that day; a wave of returns lowers net revenue.
    const side = { volume: ['conversion_rate', 'average_order_value', 'return_rate'], value: [], returns: ['net_revenue'], traffic: [] }[inj.kind];
    for (const [dim, value] of dims) {
      if (inj.kind === 'traffic' && dim !== 'STORE') continue;
      const direct = !inj.country || (dim === 'COUNTRY' && value === inj.country);
      const touched = direct || dim === 'STORE' || dim === 'CATEGORY';
      if (!touched) continue;
      for (const m of metrics) (direct ? must : allowed).add(key(date, m, dim, value));
      for (const m of side) allowed.add(key(date, m, dim, value));
    }
  }
  const foundKeys = new Set(found.map((d) => key(d.date, d.metric, d.dimension, d.dimension_value)));
  const tp = [...foundKeys].filter((k) => must.has(k) || allowed.has(k)).length;
  const hits = [...must].filter((k) => foundKeys.has(k));
  const precision = tp / foundKeys.size;
  const recall = hits.length / must.size;
  const missed = [...must].filter((k) => !foundKeys.has(k));
  const falseOnes = [...foundKeys].filter((k) => !must.has(k) && !allowed.has(k));
  console.log(`shop with ${INJECTIONS.length} injected anomalies: precision ${precision.toFixed(3)} (${tp}/${foundKeys.size}), recall ${recall.toFixed(3)} (${hits.length}/${must.size})` +
    (missed.length ? `; missed ${missed.join(', ')}` : '') + (falseOnes.length ? `; unexpected ${falseOnes.join(', ')}` : ''));
  assert.ok(recall >= 0.9, `recall ${recall}`);
  assert.ok(precision >= 0.8, `precision ${precision}`);
  // Directions follow the injections.
  const dir = (k: Key) => found.find((d) => key(d.date, d.metric, d.dimension, d.dimension_value) === k);
  assert.ok(Number(dir(key(dayOf(63), 'orders', 'STORE', ''))?.score ?? 0) > 0);
  assert.ok(Number(dir(key(dayOf(77), 'orders', 'STORE', ''))?.score ?? 0) < 0);
  assert.ok(Number(dir(key(dayOf(105), 'conversion_rate', 'STORE', ''))?.score ?? 0) < 0);
  // The moved and the cancelled huge orders leave no trace.
  assert.ok(!found.some((d) => d.metric === 'net_revenue' && [dayOf(50), dayOf(52)].includes(d.date)));

  const cleanAlarms = cleanResult.rows / cleanResult.points;
  console.log(`clean twin: ${cleanResult.rows} detections over ${cleanResult.points} scored points = ${(100 * cleanAlarms).toFixed(2)} %`);
  assert.ok(cleanAlarms <= 0.01, `false alarm rate on clean data ${cleanAlarms}`);
});

test('expected, MAD and actual equal an independent computation over the fixture', async () => {
  const found = await detections('anom');
  const net = refDaily(dirty.orders, (os) => os.reduce((s, o) => s + o.gross_cents - o.refunded_cents, 0));
  const frOrders = refDaily(dirty.orders, (os) => os.length, (o) => o.country === 'FR');
  const catSales = (cat: string) => (os: FixtureOrder[]) => os.reduce((s, o) => s + o.items.filter((i) => i.category === cat).reduce((a, i) => a + i.amount_cents, 0), 0);
  const catOrders = (cat: string) => (os: FixtureOrder[]) => os.filter((o) => o.items.some((i) => i.category === cat)).length;
  const booksSales = refDaily(dirty.orders, catSales('books'));
  const booksOrders = refDaily(dirty.orders, catOrders('books'));
  const booksAov = new Map([...booksSales].filter(([d]) => booksOrders.get(d)! >= 5).map(([d, s]) => [d, s / booksOrders.get(d)!]));

  // A category's refunds: each order's refund spread over its lines by line amount / gross.
  const catRefunds = (cat: string) => (os: FixtureOrder[]) =>
    os.reduce((s, o) => s + o.items.filter((i) => i.category === cat).reduce((a, i) => a + (i.amount_cents * o.refunded_cents) / o.gross_cents, 0), 0);
  const toysSales = refDaily(dirty.orders, catSales('toys'));
  const toysRefunds = refDaily(dirty.orders, catRefunds('toys'));
  const toysOrders = refDaily(dirty.orders, catOrders('toys'));
  // Ratios are not scored on days with fewer than 5 orders (minOrdersForRatio): leave those out.
  const toysReturnRate = new Map([...toysSales].filter(([d]) => toysOrders.get(d)! >= 5).map(([d, s]) => [d, toysRefunds.get(d)! / s]));

  const checks: Array<[string, string, string, string, Map<string, number>, number]> = [
    [dayOf(98), 'return_rate', 'CATEGORY', 'toys', toysReturnRate, 1],
    [dayOf(63), 'net_revenue', 'STORE', '', net, 100],
    [dayOf(77), 'net_revenue', 'STORE', '', net, 100],
    [dayOf(112), 'orders', 'COUNTRY', 'FR', frOrders, 1],
    [dayOf(91), 'average_order_value', 'CATEGORY', 'books', booksAov, 100],
  ];
  for (const [date, metric, dim, value, daily, unit] of checks) {
    const row = found.find((d) => d.date === date && d.metric === metric && d.dimension === dim && d.dimension_value === value);
    assert.ok(row, `detection ${date} ${metric} ${dim} ${value}`);
    const ref = refBaseline(daily, date);
    assert.ok(Math.abs(Number(row.expected) - ref.expected / unit) < 1e-6, `${metric} ${date} expected ${row.expected} vs ${ref.expected / unit}`);
    assert.ok(Math.abs(Number(row.mad) - ref.mad / unit) < 1e-6, `${metric} ${date} MAD ${row.mad} vs ${ref.mad / unit}`);
    assert.ok(Math.abs(Number(row.actual) - daily.get(date)! / unit) < 1e-6, `${metric} ${date} actual`);
  }
  // Money actuals are exact decimals: the store's net revenue of day 63 to the cent.
  const d63 = found.find((d) => d.date === dayOf(63) && d.metric === 'net_revenue' && d.dimension === 'STORE')!;
  const [list] = [await listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(63), to: dayOf(63) }, metric: 'net_revenue', dimension: 'STORE' })];
  assert.equal(list.length, 1);
  assert.equal(list[0]!.actual, formatCents(net.get(dayOf(63))!) + '00');
  assert.equal(Number(list[0]!.expected), Number(Number(d63.expected).toFixed(4)));
});

test('listAnomalies filters by range, metric, dimension and severity; retries and reruns are exact', async () => {
  const all = await listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(0), to: dayOf(FIXTURE_DAYS) } });
  const table = await detections('anom');
  assert.equal(all.length, table.length);
  assert.ok(all.every((a) => a.runId === 'run-1'));
  const week = await listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(90), to: dayOf(96) }, metric: 'AVERAGE_ORDER_VALUE' });
  assert.deepEqual(week.map((a) => a.date + a.dimensionValue).sort(), table.filter((d) => d.metric === 'average_order_value' && d.date >= dayOf(90) && d.date <= dayOf(96)).map((d) => d.date + d.dimension_value).sort());
  const high = await listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(0), to: dayOf(FIXTURE_DAYS) }, minSeverity: 'HIGH', dimension: 'COUNTRY' });
  assert.deepEqual(high.length, table.filter((d) => d.dimension === 'COUNTRY' && (d.severity === 'HIGH' || d.severity === 'CRITICAL')).length);
  assert.ok(high.every((a) => Math.abs(a.score) >= DEFAULT_ANOMALY_PARAMS.severity.high));
  await assert.rejects(listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(0), to: dayOf(1) }, metric: 'revenue' }), /unknown anomaly metric/);
  // A store without data: a run with nothing in it, twice (the second one incremental).
  assert.deepEqual(await listAnomalies(wh, { storeId: 'nobody', range: { from: dayOf(0), to: dayOf(9) } }), []);
  assert.deepEqual(await runAnomalies(wh, { storeId: 'nobody', runId: 'n1' }), { rows: 0, series: 0, points: 0 });
  assert.deepEqual(await runAnomalies(wh, { storeId: 'nobody', runId: 'n2' }), { rows: 0, series: 0, points: 0 });

  // A retried run (same runId) replaces its earlier attempt rather than doubling it.
  const again = await runAnomalies(wh, { storeId: 'anom', runId: 'run-1' });
  assert.equal((await listAnomalies(wh, { storeId: 'anom', range: { from: dayOf(0), to: dayOf(FIXTURE_DAYS) } })).length, again.rows);
  assert.equal((await anomaliesOfRun(wh, { runId: 'run-1', storeId: 'anom' })).length, again.rows);

  // A new run on unchanged data reports nothing new; a new spike is the only new detection.
  await runAnomalies(wh, { storeId: 'anom', runId: 'run-2' });
  assert.equal((await anomaliesOfRun(wh, { runId: 'run-2', storeId: 'anom', newOnly: true })).length, 0);
  assert.equal((await anomaliesOfRun(wh, { runId: 'run-2', storeId: 'anom' })).length, again.rows);
  const spikeDay = dayOf(120);
  await wh.insert('fact_orders', Array.from({ length: 400 }, (_, i) => ({
    store_id: 'anom', order_id: `spike-${i}`, order_kind: 'sale', status: 'paid', created_at: `${spikeDay} 08:00:00`, updated_at: `${spikeDay} 08:00:00`,
    channel: 'web', country: 'DE', currency: 'EUR', gross: '25', net: '25', refunded: '0', version: 1, is_deleted: 0,
  })));
  await runAnomalies(wh, { storeId: 'anom', runId: 'run-3' });
  const fresh = await anomaliesOfRun(wh, { runId: 'run-3', storeId: 'anom', newOnly: true });
  assert.ok(fresh.length > 0);
  assert.ok(fresh.every((a) => a.date === spikeDay && a.storeId === 'anom' && a.runId === 'run-3'), JSON.stringify(fresh.map((a) => [a.date, a.metric, a.dimensionValue])));
  assert.ok(fresh.some((a) => a.metric === 'orders' && a.dimension === 'STORE' && a.direction === 'UP'));
  const latest = await listAnomalies(wh, { storeId: 'anom', range: { from: spikeDay, to: spikeDay }, metric: 'orders', dimension: 'COUNTRY' });
  assert.deepEqual(latest.map((a) => [a.dimensionValue, a.runId, a.direction]), [['DE', 'run-3', 'UP']]);

  // An incremental run (recent days re-scored from a truncated load, older detections carried)
  // equals a full re-score. Shorter windows so the load really is truncated in this fixture.
  const params = { weeks: 4, residualWindowDays: 28, volumeWindowDays: 28 };
  await runAnomalies(wh, { storeId: 'anom', runId: 'run-4', full: true, params });
  const full = await anomaliesOfRun(wh, { runId: 'run-4', storeId: 'anom' });
  await runAnomalies(wh, { storeId: 'anom', runId: 'run-5', params, rescoreDays: 20 });
  const incremental = await anomaliesOfRun(wh, { runId: 'run-5', storeId: 'anom' });
  const [run5] = await wh.query<{ params: string }>("SELECT params FROM analytics_runs FINAL WHERE store_id = 'anom' AND run_id = 'run-5'");
  const scoredFrom = JSON.parse(run5!.params).scoredFrom as string;
  assert.ok(scoredFrom > dayOf(100) && addDaysRef(scoredFrom, -historyNeeded({ ...DEFAULT_ANOMALY_PARAMS, ...params })) > dayOf(0), `truncated load, scored from ${scoredFrom}`);
  const strip = (xs: typeof full) => xs.map(({ runId: _r, ...a }) => a);
  assert.ok(full.length > 30 && full.some((a) => a.date >= scoredFrom) && full.some((a) => a.date < scoredFrom));
  assert.deepEqual(strip(incremental), strip(full));
});

