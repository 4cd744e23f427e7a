import { useState } from 'preact/hooks';
import { gql, requireQueries } from '../api/client';
import { CUSTOMER_LIST, SEGMENTS } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Chart } from '../components/chart';
import { Link } from '../components/link';
import { Panel, QueryView } from '../components/states';
import { formatCount, formatMoney, formatRate } from '../format';
import { navigate } from '../state';
import type { PageProps } from './page-props';

interface Segment {
  segment: string;
  customers: number;
  share: number;
  monetary: string;
  avgRecencyDays: number;
  avgFrequency: number;
}
interface CustomerRow {
  id: string;
  name: string;
  country: string;
  city: string;
  segment: string;
}
interface CustomerPage {
  nodes: CustomerRow[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

function Segments(props: PageProps) {
  const state = useQuery(
    async (signal) => {
      await requireQueries(['customerSegments']);
      return (await gql<{ customerSegments: Segment[] }>(SEGMENTS, { store: props.store || null }, { signal })).customerSegments;
    },
    [props.store, props.apiKey],
  );
  return (
    <Panel title="RFM segments" id="segments" wide>
      <p class="note">Recency, frequency and monetary value of every customer as of the latest segmentation run (not limited by the date range).</p>
      <QueryView state={state} what="segments" isEmpty={(d) => d.every((s) => s.customers === 0)} empty="Segments have not been computed for this store yet.">
        {(d) => (
          <div class="split">
            <Chart
              label="Customers per RFM segment"
              testId="segments-chart"
              height={Math.max(200, d.length * 30)}
              option={{
                tooltip: {
                  trigger: 'axis',
                  formatter: (ps: Array<{ dataIndex: number }>) => {
                    const x = d[ps[0]!.dataIndex]!;
                    return `${x.segment}<br/>${formatCount(x.customers)} customers (${formatRate(x.share, 1)})<br/>value ${formatMoney(x.monetary, props.currency)}`;
                  },
                },
                grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
                xAxis: { type: 'value', name: '' },
                yAxis: { type: 'category', data: d.map((s) => s.segment), inverse: true },
                series: [{ name: 'Customers', type: 'bar', data: d.map((s) => s.customers), itemStyle: { color: '#1f5fae' } }],
              }}
            />
            <div class="table-wrap">
              <table data-testid="segments-table">
                <caption class="sr-only">RFM segments</caption>
                <thead>
                  <tr>
                    <th scope="col">Segment</th>
                    <th scope="col" class="num">Customers</th>
                    <th scope="col" class="num">Share</th>
                    <th scope="col" class="num">Value</th>
                    <th scope="col" class="num">Avg recency (days)</th>
                    <th scope="col" class="num">Avg orders</th>
                  </tr>
                </thead>
                <tbody>
                  {d.map((s) => (
                    <tr>
                      <th scope="row">{s.segment}</th>
                      <td class="num">{formatCount(s.customers)}</td>
                      <td class="num">{formatRate(s.share, 1)}</td>
                      <td class="num">{formatMoney(s.monetary, props.currency)}</td>
                      <td class="num">{s.avgRecencyDays.toFixed(0)}</td>
                      <td class="num">{s.avgFrequency.toFixed(1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </QueryView>
    </Panel>
  );
}

function CustomerList(props: PageProps) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [lookup, setLookup] = useState('');
  const after = cursors[cursors.length - 1] ?? null;
  const state = useQuery(
    async (signal) => {
      await requireQueries(['customers']);
      return (await gql<{ customers: CustomerPage }>(CUSTOMER_LIST, { store: props.store || null, first: 25, after }, { signal })).customers;
    },
    [props.store, after, props.apiKey],
  );
  return (
    <Panel title="Customers" id="customer-list" wide>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (lookup.trim()) navigate({ path: `/customers/${encodeURIComponent(lookup.trim())}` });
        }}
      >
        <label for="customer-id">Open customer by id</label>
        <input id="customer-id" type="text" value={lookup} onInput={(e) => setLookup((e.target as HTMLInputElement).value)} />
        <button type="submit">Open</button>
      </form>
      <QueryView state={state} what="customers" isEmpty={(d) => d.nodes.length === 0} empty="No customers in this store.">
        {(d) => (
          <>
            <div class="table-wrap">
              <table data-testid="customer-table">
                <caption class="sr-only">Customers</caption>
                <thead>
                  <tr>
                    <th scope="col">Customer</th>
                    <th scope="col">Name</th>
                    <th scope="col">Country</th>
                    <th scope="col">City</th>
                    <th scope="col">Shop segment</th>
                  </tr>
                </thead>
                <tbody>
                  {d.nodes.map((c) => (
                    <tr>
                      <td>
                        <Link path={`/customers/${encodeURIComponent(c.id)}`}>{c.id}</Link>
                      </td>
                      <td>{c.name}</td>
                      <td>{c.country}</td>
                      <td>{c.city}</td>
                      <td>{c.segment}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div class="pager">
              <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous
              </button>
              <button type="button" disabled={!d.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, d.pageInfo.endCursor])}>
                Next
              </button>
            </div>
          </>
        )}
      </QueryView>
    </Panel>
  );
}

/** Customers: RFM segments with counts and value, and a list leading to each customer's page. */
export function CustomersPage(props: PageProps) {
  return (
    <>
      <h1 class="page-title">Customers</h1>
      <div class="grid">
        <Segments {...props} />
        <CustomerList {...props} />
      </div>
    </>
  );
}
