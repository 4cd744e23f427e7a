import { gql, requireQueries } from '../api/client';
import { FUNNEL } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Chart } from '../components/chart';
import { Panel, QueryView } from '../components/states';
import { formatCount, formatRate } from '../format';
import type { PageProps } from './page-props';

interface FunnelRow {
  date?: string | null;
  sessions: number;
  productViews: number;
  addToCarts: number;
  checkouts: number;
  purchases: number;
  viewRate: number | null;
  cartRate: number | null;
  checkoutRate: number | null;
  purchaseRate: number | null;
  overallConversion: number | null;
}
interface FunnelAnswer {
  funnel: FunnelRow[];
  byDay: Array<Pick<FunnelRow, 'date' | 'sessions' | 'purchases' | 'overallConversion'>>;
}

/** Funnel: sessions → product views → carts → checkouts → purchases, from the events. */
export function FunnelPage(props: PageProps) {
  const { range, store } = props;
  const state = useQuery(
    async (signal) => {
      await requireQueries(['funnel']);
      return gql<FunnelAnswer>(FUNNEL, { store: store || null, from: range.from, to: range.to }, { signal });
    },
    [range.from, range.to, store, props.apiKey],
  );
  return (
    <>
      <h1 class="page-title">Funnel</h1>
      <div class="grid">
        <QueryView state={state} what="the funnel" isEmpty={(d) => !d.funnel[0] || d.funnel[0].sessions === 0} empty="No sessions in this range.">
          {(d) => {
            const f = d.funnel[0]!;
            const steps = [
              { label: 'Sessions', value: f.sessions, rate: null as number | null },
              { label: 'Product views', value: f.productViews, rate: f.viewRate },
              { label: 'Add to cart', value: f.addToCarts, rate: f.cartRate },
              { label: 'Checkout', value: f.checkouts, rate: f.checkoutRate },
              { label: 'Purchase', value: f.purchases, rate: f.purchaseRate },
            ];
            return (
              <>
                <Panel title="Conversion steps" id="funnel-steps" wide>
                  <Chart
                    label={`Funnel: ${steps.map((s) => `${s.label} ${s.value}`).join(', ')}`}
                    testId="funnel-chart"
                    height={260}
                    option={{
                      tooltip: { trigger: 'axis' },
                      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
                      xAxis: { type: 'value' },
                      yAxis: { type: 'category', inverse: true, data: steps.map((s) => s.label) },
                      series: [
                        {
                          name: 'Sessions reaching the step',
                          type: 'bar',
                          data: steps.map((s) => s.value),
                          itemStyle: { color: '#1f5fae' },
                          label: { show: true, position: 'right', formatter: (p: { dataIndex: number }) => (steps[p.dataIndex]!.rate === null ? '' : formatRate(steps[p.dataIndex]!.rate, 1)) },
                        },
                      ],
                    }}
                  />
                  <div class="table-wrap">
                    <table data-testid="funnel-table">
                      <caption class="sr-only">Funnel steps with the share of the previous step</caption>
                      <thead>
                        <tr>
                          <th scope="col">Step</th>
                          <th scope="col" class="num">Sessions</th>
                          <th scope="col" class="num">Of previous step</th>
                        </tr>
                      </thead>
                      <tbody>
                        {steps.map((s) => (
                          <tr>
                            <th scope="row">{s.label}</th>
                            <td class="num">{formatCount(s.value)}</td>
                            <td class="num">{s.rate === null ? '' : formatRate(s.rate, 1)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  <p class="note">Overall conversion (purchases / sessions): {formatRate(f.overallConversion)}</p>
                </Panel>
                <Panel title="Conversion per day" id="funnel-daily" wide>
                  <Chart
                    label="Sessions and overall conversion per day"
                    testId="funnel-daily-chart"
                    option={{
                      tooltip: { trigger: 'axis' },
                      legend: { top: 0 },
                      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
                      xAxis: { type: 'category', data: d.byDay.map((r) => r.date ?? '') },
                      yAxis: [
                        { type: 'value' },
                        { type: 'value', axisLabel: { formatter: '{value}%' }, splitLine: { show: false } },
                      ],
                      series: [
                        { name: 'Sessions', type: 'bar', data: d.byDay.map((r) => r.sessions), itemStyle: { color: '#c9d6ea' } },
                        { name: 'Conversion %', type: 'line', yAxisIndex: 1, showSymbol: false, data: d.byDay.map((r) => (r.overallConversion === null ? null : Math.round(r.overallConversion * 10000) / 100)) },
                      ],
                    }}
                  />
                </Panel>
              </>
            );
          }}
        </QueryView>
      </div>
    </>
  );
}
