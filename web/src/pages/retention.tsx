import { useMemo, useState } from 'preact/hooks';
import { gql, requireQueries } from '../api/client';
import { retentionDoc, type CohortGranularity } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Chart, type ChartOption } from '../components/chart';
import { Panel, QueryView, Segmented } from '../components/states';
import { formatCompact, formatCount, formatMoney, formatRate, moneyForChart } from '../format';
import type { PageProps } from './page-props';

interface CohortPeriod {
  period: number;
  customers: number;
  rate: number;
  revenue: string;
  cumulativeRevenuePerCustomer: string;
}
interface Cohort {
  cohortStart: string;
  size: number;
  periods: CohortPeriod[];
}
type Metric = 'CUSTOMERS' | 'REVENUE';

const PERIODS = 12;

function heatmapOption(cohorts: Cohort[], metric: Metric, granularity: CohortGranularity, currency: string): ChartOption {
  const periods = Array.from({ length: PERIODS + 1 }, (_, i) => i);
  const labels = cohorts.map((c) => `${c.cohortStart} (${c.size})`);
  const data: Array<[number, number, number]> = [];
  let max = 0;
  cohorts.forEach((c, y) => {
    for (const p of c.periods) {
      const v = metric === 'CUSTOMERS' ? Math.round(p.rate * 1000) / 10 : moneyForChart(p.revenue);
      if (p.period > 0 || metric === 'REVENUE') max = Math.max(max, v);
      data.push([p.period, y, v]);
    }
  });
  const unit = granularity === 'MONTH' ? 'Month' : 'Week';
  return {
    tooltip: {
      position: 'top',
      formatter: (p: { value: [number, number, number] }) => {
        const c = cohorts[p.value[1]]!;
        const cell = c.periods.find((x) => x.period === p.value[0]);
        if (!cell) return '';
        return `Cohort ${c.cohortStart} (${formatCount(c.size)} customers)<br/>${unit} ${cell.period}: ${formatCount(cell.customers)} active (${formatRate(cell.rate, 1)}), revenue ${formatMoney(cell.revenue, currency)}`;
      },
    },
    grid: { left: 8, right: 8, top: 8, bottom: 64, containLabel: true },
    xAxis: { type: 'category', data: periods.map((p) => `${unit} ${p}`), splitArea: { show: true } },
    yAxis: { type: 'category', data: labels, inverse: true, splitArea: { show: true } },
    visualMap: {
      min: 0,
      max: max || 1,
      calculable: true,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      text: [metric === 'CUSTOMERS' ? 'retained %' : 'revenue', ''],
      inRange: { color: ['#f3f7fc', '#1f5fae'] },
    },
    series: [
      {
        name: metric === 'CUSTOMERS' ? 'Retention %' : 'Revenue',
        type: 'heatmap',
        data,
        label: { show: cohorts.length <= 16 && metric === 'CUSTOMERS', formatter: (p: { value: [number, number, number] }) => `${p.value[2]}` },
      },
    ],
  };
}

function ltvOption(cohorts: Cohort[], granularity: CohortGranularity, currency: string): ChartOption {
  const shown = cohorts.slice(-12);
  const unit = granularity === 'MONTH' ? 'Month' : 'Week';
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatMoney(Number(v).toFixed(2), currency) },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: Array.from({ length: PERIODS + 1 }, (_, i) => `${unit} ${i}`), name: '' },
    yAxis: { type: 'value', axisLabel: { formatter: formatCompact } },
    series: shown.map((c) => ({
      name: c.cohortStart,
      type: 'line',
      symbolSize: 5,
      data: c.periods.map((p) => moneyForChart(p.cumulativeRevenuePerCustomer)),
    })),
  };
}

/** Retention: cohort heatmap (customers or revenue, monthly or weekly) and LTV curves. */
export function RetentionPage(props: PageProps) {
  const { range, store } = props;
  const [granularity, setGranularity] = useState<CohortGranularity>('MONTH');
  const [metric, setMetric] = useState<Metric>('CUSTOMERS');
  const state = useQuery(
    async (signal) => {
      await requireQueries(['retentionCohorts']);
      return (await gql<{ retentionCohorts: Cohort[] }>(retentionDoc(granularity), { store: store || null, from: range.from, to: range.to, periods: PERIODS }, { signal }))
        .retentionCohorts;
    },
    [range.from, range.to, store, granularity, props.apiKey],
  );
  const cohorts = state.status === 'ok' ? state.data : null;
  const heatmap = useMemo(() => (cohorts ? heatmapOption(cohorts, metric, granularity, props.currency) : null), [cohorts, metric, granularity, props.currency]);
  const ltv = useMemo(() => (cohorts ? ltvOption(cohorts, granularity, props.currency) : null), [cohorts, granularity, props.currency]);
  return (
    <>
      <h1 class="page-title">Retention</h1>
      <div class="toolbar">
        <Segmented
          label="Cohort size"
          value={granularity}
          onChange={setGranularity}
          options={[
            { value: 'MONTH', label: 'Monthly' },
            { value: 'WEEK', label: 'Weekly' },
          ]}
        />
        <Segmented
          label="Heatmap metric"
          value={metric}
          onChange={setMetric}
          options={[
            { value: 'CUSTOMERS', label: 'Customers' },
            { value: 'REVENUE', label: 'Revenue' },
          ]}
        />
      </div>
      <div class="grid">
        <Panel title="Cohorts" id="cohorts" wide>
          <QueryView state={state} what="cohorts" isEmpty={(d) => d.length === 0} empty="No customer had a first order in this range.">
            {(d) => (
              <>
                <Chart
                  option={heatmap!}
                  label={`Cohort heatmap: ${d.length} ${granularity === 'MONTH' ? 'monthly' : 'weekly'} cohorts, ${metric === 'CUSTOMERS' ? 'share of customers active' : 'revenue'} per period`}
                  testId="cohort-heatmap"
                  height={Math.max(220, d.length * 26 + 90)}
                  data={{ cohorts: d.length }}
                />
                <details class="table-details">
                  <summary>Cohorts as a table</summary>
                  <div class="table-wrap">
                    <table data-testid="cohort-table">
                      <caption class="sr-only">Cohorts with their size and retention per period</caption>
                      <thead>
                        <tr>
                          <th scope="col">Cohort</th>
                          <th scope="col" class="num">
                            Customers
                          </th>
                          {Array.from({ length: Math.min(PERIODS, 6) }, (_, i) => (
                            <th scope="col" class="num">
                              {granularity === 'MONTH' ? 'M' : 'W'}
                              {i + 1}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {d.map((c) => (
                          <tr>
                            <th scope="row">{c.cohortStart}</th>
                            <td class="num">{formatCount(c.size)}</td>
                            {Array.from({ length: Math.min(PERIODS, 6) }, (_, i) => {
                              const p = c.periods.find((x) => x.period === i + 1);
                              return <td class="num">{p ? (metric === 'CUSTOMERS' ? formatRate(p.rate, 1) : formatMoney(p.revenue)) : ''}</td>;
                            })}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                </details>
              </>
            )}
          </QueryView>
        </Panel>
        <Panel title="Lifetime value per customer" id="ltv" wide>
          <QueryView state={state} what="lifetime value" isEmpty={(d) => d.length === 0} empty="No cohorts in this range.">
            {() => (
              <>
                <p class="note">Cumulative revenue per customer of each cohort, by {granularity === 'MONTH' ? 'months' : 'weeks'} since the first order (latest 12 cohorts).</p>
                <Chart option={ltv!} label="Cumulative revenue per customer by cohort, latest 12 cohorts" testId="ltv-chart" />
              </>
            )}
          </QueryView>
        </Panel>
      </div>
    </>
  );
}
