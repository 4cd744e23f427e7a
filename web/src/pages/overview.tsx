import { useMemo, useState } from 'preact/hooks';
import { gql, requireQueries } from '../api/client';
import { ANOMALIES, BREAKDOWNS, KPIS, salesSeriesDoc, TOP_PRODUCTS, type Granularity } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Chart, type ChartOption } from '../components/chart';
import { ErrorBox, Panel, QueryView, Segmented } from '../components/states';
import { formatChange, formatCompact, formatCount, formatMoney, formatPointChange, formatRate, moneyForChart } from '../format';
import type { PageProps } from './page-props';

interface Kpis {
  netRevenue: string;
  grossRevenue: string;
  refunds: string;
  orders: number;
  customers: number;
  newCustomers: number;
  returningCustomers: number;
  averageOrderValue: string | null;
  units: number;
  returnRate: number | null;
}
interface KpisAnswer {
  kpis: Kpis & {
    store: string;
    range: { from: string; to: string };
    previousPeriod: (Kpis & { range: { from: string; to: string } }) | null;
    change: {
      netRevenue: { ratio: number | null };
      orders: { ratio: number | null };
      customers: { ratio: number | null };
      averageOrderValue: { ratio: number | null };
      returnRate: { difference: number | null };
    } | null;
  };
}
interface SeriesPoint {
  periodStart: string;
  netRevenue: string;
  orders: number;
}
interface Anomaly {
  date: string;
  metric: string;
  dimension: string;
  dimensionValue: string;
  actual: string;
  expected: string;
  lower: string;
  upper: string;
  score: number;
  direction: 'UP' | 'DOWN';
  severity: string;
}

/** Revenue anomalies of the whole store (the metric is an enum, NET_REVENUE, in the API). */
const isStoreRevenue = (a: Anomaly) => a.metric.toUpperCase() === 'NET_REVENUE' && a.dimension === 'STORE';

/** The tiles: what is shown, how it is formatted, and whether "up" is good. */
const TILES: Array<{ key: keyof Kpis & ('netRevenue' | 'orders' | 'averageOrderValue' | 'customers' | 'returnRate'); label: string; kind: 'money' | 'count' | 'rate'; upIsGood: boolean }> = [
  { key: 'netRevenue', label: 'Net revenue', kind: 'money', upIsGood: true },
  { key: 'orders', label: 'Orders', kind: 'count', upIsGood: true },
  { key: 'averageOrderValue', label: 'Average order value', kind: 'money', upIsGood: true },
  { key: 'customers', label: 'Customers', kind: 'count', upIsGood: true },
  { key: 'returnRate', label: 'Return rate', kind: 'rate', upIsGood: false },
];

function formatKpi(kind: 'money' | 'count' | 'rate', v: unknown, currency: string): string {
  if (kind === 'money') return formatMoney(v as string | null, currency);
  if (kind === 'count') return formatCount(v as number | null);
  return formatRate(v as number | null);
}

function KpiTiles(props: PageProps) {
  const { range, store } = props;
  const state = useQuery(
    async (signal) => {
      await requireQueries(['kpis']);
      return (await gql<KpisAnswer>(KPIS, { store: store || null, from: range.from, to: range.to }, { signal })).kpis;
    },
    [range.from, range.to, store, props.apiKey],
  );
  return (
    <section class="kpis" aria-label="Key figures" data-testid="kpi-tiles">
      <QueryView state={state} what="key figures">
        {(k) => (
          <ul class="tiles">
            {TILES.map((t) => {
              // Rates change in percentage points; the others relative to the previous period.
              const change = k.change ? (t.key === 'returnRate' ? k.change.returnRate.difference : k.change[t.key].ratio) : null;
              const good = change === null || change === 0 ? 'flat' : change > 0 === t.upIsGood ? 'good' : 'bad';
              const previous = k.previousPeriod;
              return (
                <li class="tile" data-testid={`kpi-${t.key}`}>
                  <span class="tile-label">{t.label}</span>
                  <span class="tile-value" data-testid={`kpi-${t.key}-value`}>
                    {formatKpi(t.kind, k[t.key], props.currency)}
                  </span>
                  <span
                    class={`tile-change ${good}`}
                    data-testid={`kpi-${t.key}-change`}
                    title={previous ? `Previous period ${previous.range.from} – ${previous.range.to}: ${formatKpi(t.kind, previous[t.key], props.currency)}` : undefined}
                  >
                    {t.key === 'returnRate' ? formatPointChange(change) : formatChange(change)}
                    <span class="vs"> vs previous period</span>
                  </span>
                </li>
              );
            })}
          </ul>
        )}
      </QueryView>
    </section>
  );
}

function revenueOption(points: SeriesPoint[], anomalies: Anomaly[] | null, currency: string): ChartOption {
  const x = points.map((p) => p.periodStart.slice(0, 10));
  const index = new Map(x.map((d, i) => [d, i]));
  const marked = (anomalies ?? []).filter((a) => isStoreRevenue(a) && index.has(a.date));
  // The expected band of each anomaly as a floating bar: an invisible base at `lower`, then upper − lower.
  const base: Array<number | null> = x.map(() => null);
  const band: Array<number | null> = x.map(() => null);
  for (const a of marked) {
    const i = index.get(a.date)!;
    base[i] = Number(a.lower);
    band[i] = Number(a.upper) - Number(a.lower);
  }
  const byDate = new Map(marked.map((a) => [a.date, a]));
  return {
    tooltip: {
      trigger: 'axis',
      formatter: (params: Array<{ axisValue: string; seriesName: string; value: unknown; marker: string }>) => {
        const day = params[0]?.axisValue ?? '';
        const point = points[index.get(day) ?? -1];
        if (!point) return day;
        const lines = [
          `<strong>${day}</strong>`,
          `Net revenue: ${formatMoney(point.netRevenue, currency)}`,
          `Orders: ${formatCount(point.orders)}`,
        ];
        const a = byDate.get(day);
        if (a) {
          lines.push(
            `<span style="color:#d1242f">Anomaly (${a.severity.toLowerCase()}, ${a.direction === 'UP' ? 'above' : 'below'} expected)</span>`,
            `Expected ${formatMoney(a.expected, currency)}, band ${formatMoney(a.lower, currency)} – ${formatMoney(a.upper, currency)}`,
          );
        }
        return lines.join('<br/>');
      },
    },
    legend: { top: 0, type: 'scroll', data: ['Net revenue', 'Orders', ...(marked.length ? ['Expected band', 'Anomaly'] : [])] },
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: x },
    // The legend names the axes: revenue on the left, orders on the right.
    yAxis: [
      { type: 'value', axisLabel: { formatter: formatCompact } },
      { type: 'value', splitLine: { show: false } },
    ],
    series: [
      { name: 'Orders', type: 'bar', yAxisIndex: 1, data: points.map((p) => p.orders), itemStyle: { color: '#c9d6ea' }, barMaxWidth: 18 },
      { name: 'Net revenue', type: 'line', data: points.map((p) => moneyForChart(p.netRevenue)), showSymbol: points.length < 60, itemStyle: { color: '#1f5fae' } },
      ...(marked.length
        ? [
            { name: 'band-base', type: 'bar', stack: 'band', data: base, itemStyle: { color: 'transparent' }, tooltip: { show: false }, barWidth: 10, silent: true },
            { name: 'Expected band', type: 'bar', stack: 'band', data: band, itemStyle: { color: 'rgba(46,160,67,0.35)' }, barWidth: 10, tooltip: { show: false } },
            {
              name: 'Anomaly',
              type: 'scatter',
              symbolSize: 12,
              itemStyle: { color: '#d1242f' },
              data: marked.map((a) => ({ value: [a.date, Number(a.actual)], name: `${a.severity} ${a.direction}` })),
            },
          ]
        : []),
    ],
  };
}

function RevenueChart(props: PageProps) {
  const { range, store } = props;
  const [granularity, setGranularity] = useState<Granularity>('DAY');
  const series = useQuery(
    async (signal) => {
      await requireQueries(['salesSeries']);
      return (await gql<{ salesSeries: SeriesPoint[] }>(salesSeriesDoc(granularity), { store: store || null, from: range.from, to: range.to }, { signal })).salesSeries;
    },
    [range.from, range.to, store, granularity, props.apiKey],
  );
  const anomalies = useQuery(
    async (signal) => {
      await requireQueries(['anomalies']);
      return (await gql<{ anomalies: Anomaly[] }>(ANOMALIES, { store: store || null, from: range.from, to: range.to }, { signal })).anomalies;
    },
    [range.from, range.to, store, props.apiKey],
  );
  const anomalyList = anomalies.status === 'ok' ? anomalies.data : null;
  const option = useMemo(
    () => (series.status === 'ok' ? revenueOption(series.data, granularity === 'DAY' ? anomalyList : null, props.currency) : null),
    [series, anomalyList, granularity, props.currency],
  );
  const storeAnomalies = (anomalyList ?? []).filter((a) => isStoreRevenue(a));
  return (
    <Panel
      title="Revenue and orders"
      id="revenue"
      wide
      actions={
        <Segmented
          label="Granularity"
          value={granularity}
          onChange={setGranularity}
          options={[
            { value: 'DAY', label: 'Day' },
            { value: 'WEEK', label: 'Week' },
            { value: 'MONTH', label: 'Month' },
          ]}
        />
      }
    >
      <QueryView state={series} what="the sales series" isEmpty={(d) => d.length === 0} empty="No sales in this range.">
        {(d) => <Chart option={option!} label={`Net revenue and orders per ${granularity.toLowerCase()}, ${d.length} periods`} testId="revenue-chart" data={{ points: d.length }} />}
      </QueryView>
      <div class="note" data-testid="anomaly-note">
        {anomalies.status === 'error' ? (
          <ErrorBox error={anomalies.error} />
        ) : anomalies.status === 'loading' ? (
          'Loading anomalies…'
        ) : storeAnomalies.length === 0 ? (
          'No revenue anomalies in this range.'
        ) : granularity !== 'DAY' ? (
          `${storeAnomalies.length} revenue anomalies in this range; switch to Day to see them on the chart.`
        ) : (
          `${storeAnomalies.length} revenue anomalies marked in red, with their expected band in green.`
        )}
      </div>
    </Panel>
  );
}

interface Breakdowns {
  categoryBreakdown: Array<{ category: string; netRevenue: string; orders: number; units: number }>;
  countryBreakdown: Array<{ country: string; netRevenue: string; orders: number; customers: number }>;
}

function barOption(labels: string[], values: number[], currency: string): ChartOption {
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatMoney(Number(v).toFixed(2), currency) },
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: formatCompact } },
    yAxis: { type: 'category', data: labels, inverse: true },
    series: [{ name: 'Net revenue', type: 'bar', data: values, itemStyle: { color: '#1f5fae' } }],
  };
}

function BreakdownPanels(props: PageProps) {
  const { range, store } = props;
  const state = useQuery(
    async (signal) => {
      await requireQueries(['categoryBreakdown', 'countryBreakdown']);
      return gql<Breakdowns>(BREAKDOWNS, { store: store || null, from: range.from, to: range.to }, { signal });
    },
    [range.from, range.to, store, props.apiKey],
  );
  return (
    <>
      <Panel title="By category" id="categories">
        <QueryView state={state} what="categories" isEmpty={(d) => d.categoryBreakdown.length === 0}>
          {(d) => {
            const rows = [...d.categoryBreakdown].sort((a, b) => Number(b.netRevenue) - Number(a.netRevenue)).slice(0, 12);
            return (
              <Chart
                label="Net revenue by category"
                testId="category-chart"
                height={Math.max(160, rows.length * 28)}
                option={barOption(
                  rows.map((r) => r.category),
                  rows.map((r) => moneyForChart(r.netRevenue)),
                  props.currency,
                )}
              />
            );
          }}
        </QueryView>
      </Panel>
      <Panel title="By country" id="countries">
        <QueryView state={state} what="countries" isEmpty={(d) => d.countryBreakdown.length === 0}>
          {(d) => {
            const rows = [...d.countryBreakdown].sort((a, b) => Number(b.netRevenue) - Number(a.netRevenue)).slice(0, 12);
            return (
              <Chart
                label="Net revenue by country"
                testId="country-chart"
                height={Math.max(160, rows.length * 28)}
                option={barOption(
                  rows.map((r) => r.country || 'unknown'),
                  rows.map((r) => moneyForChart(r.netRevenue)),
                  props.currency,
                )}
              />
            );
          }}
        </QueryView>
      </Panel>
    </>
  );
}

interface ProductRank {
  productId: string;
  sku: string;
  name: string;
  category: string;
  netRevenue: string;
  units: number;
  orders: number;
}

function TopProducts(props: PageProps) {
  const { range, store } = props;
  const state = useQuery(
    async (signal) => {
      await requireQueries(['topProducts']);
      return (await gql<{ topProducts: ProductRank[] }>(TOP_PRODUCTS, { store: store || null, from: range.from, to: range.to, limit: 10 }, { signal })).topProducts;
    },
    [range.from, range.to, store, props.apiKey],
  );
  return (
    <Panel title="Top products by net revenue" id="top-products" wide>
      <QueryView state={state} what="top products" isEmpty={(d) => d.length === 0}>
        {(rows) => (
          <div class="table-wrap">
            <table data-testid="top-products">
              <caption class="sr-only">Top products by net revenue</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Product</th>
                  <th scope="col">Category</th>
                  <th scope="col" class="num">
                    Net revenue
                  </th>
                  <th scope="col" class="num">
                    Units
                  </th>
                  <th scope="col" class="num">
                    Orders
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p, i) => (
                  <tr>
                    <td>{i + 1}</td>
                    <td>
                      {p.name || p.productId} <span class="muted">{p.sku}</span>
                    </td>
                    <td>{p.category}</td>
                    <td class="num">{formatMoney(p.netRevenue)}</td>
                    <td class="num">{formatCount(p.units)}</td>
                    <td class="num">{formatCount(p.orders)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Panel>
  );
}

/** Overview: KPI tiles, revenue/orders over time with anomalies, breakdowns, top products. */
export function OverviewPage(props: PageProps) {
  return (
    <>
      <h1 class="page-title">Overview</h1>
      <KpiTiles {...props} />
      <div class="grid">
        <RevenueChart {...props} />
        <BreakdownPanels {...props} />
        <TopProducts {...props} />
      </div>
    </>
  );
}
