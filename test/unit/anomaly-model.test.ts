import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreSeries, median, type DailySeries } from '../../src/analytics/anomalies.js';
import { mulberry32 as rng } from '../support/random.js';

// The detector's statistics on many synthetic daily series (weekly seasonality, Gaussian noise of
// 5–15 %, two spikes and two drops each at known days). The end-to-end checks over the warehouse
// are in test/integration/anomalies.test.ts.

test('median of odd and even lists', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([-1]), -1);
});

test('model: seasonal median/MAD finds injected spikes and drops; false alarms on clean series are rare', () => {
  const r = rng(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const weekly = [1, 0.9, 0.95, 1, 1.15, 1.4, 1.3];
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let cleanAlarms = 0;
  let cleanPoints = 0;
  for (let s = 0; s < 200; s++) {
    const level = 200 + r() * 5000;
    const cv = 0.05 + r() * 0.1;
    const base = Array.from({ length: 210 }, (_, t) => level * weekly[t % 7]! * (1 + cv * gauss()));
    // Two spikes and two drops per series at known days after the 28-day warm-up; magnitudes of at
    // least 6·cv, far beyond the noise (a detector should find them all).
    const truth = new Map<number, 'UP' | 'DOWN'>();
    while (truth.size < 4) {
      const t = 60 + Math.floor(r() * 150);
      if ([...truth.keys()].some((u) => Math.abs(u - t) < 3)) continue;
      truth.set(t, truth.size % 2 ? 'DOWN' : 'UP');
    }
    const injected = base.slice();
    for (const [t, dir] of truth) injected[t] = base[t]! * (dir === 'UP' ? 1 + 6 * cv + r() * 0.5 : Math.max(0.05, 1 - 6 * cv - r() * 0.3));
    const mk = (values: number[]): DailySeries => ({ metric: 'net_revenue', dimension: 'STORE', dimensionValue: 's', start: '2024-01-01', values });
    const found = scoreSeries(mk(injected)).filter((p) => p.severity);
    const foundIdx = new Map(found.map((p) => [Math.round((Date.parse(p.date) - Date.parse('2024-01-01')) / 86_400_000), p.direction]));
    for (const [t, dir] of truth) {
      if (foundIdx.get(t) === dir) tp++;
      else fn++;
    }
    for (const t of foundIdx.keys()) if (!truth.has(t)) fp++;
    const cleanScored = scoreSeries(mk(base));
    cleanPoints += cleanScored.length;
    cleanAlarms += cleanScored.filter((p) => p.severity).length;
  }
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  const falseAlarmRate = cleanAlarms / cleanPoints;
  console.log(`model on 200 synthetic series: precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (tp ${tp}, fp ${fp}, fn ${fn}); ` +
    `false alarms on clean series ${cleanAlarms}/${cleanPoints} = ${(100 * falseAlarmRate).toFixed(2)} % of scored days`);
  assert.ok(recall >= 0.95, `recall ${recall}`);
  assert.ok(precision >= 0.9, `precision ${precision}`);
  assert.ok(falseAlarmRate <= 0.01, `false alarm rate ${falseAlarmRate}`);
});

