import { gql, requireQueries } from '../api/client';
import { CUSTOMER, CUSTOMER_ORDERS } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Link } from '../components/link';
import { Empty, Panel, QueryView } from '../components/states';
import { formatCount, formatMoney } from '../format';
import type { PageProps } from './page-props';

interface Order {
  id: string;
  kind: string;
  status: string;
  createdAt: string;
  channel: string;
  country: string;
  currency: string;
  gross: string;
  discount: string;
  shipping: string;
  tax: string;
  net: string;
  refunded: string;
  items: Array<{ lineNumber: number; productId: string; quantity: number; lineAmount: string; product: { name: string; category: string } | null }>;
}
interface Customer {
  id: string;
  name: string;
  country: string;
  region: string;
  city: string;
  segment: string;
  validFrom: string;
  inferred: boolean;
  orders: Order[];
}

/** One customer: who they are and their orders with lines. */
export function CustomerPage(props: PageProps & { customerId: string }) {
  const state = useQuery(
    async (signal) => {
      await requireQueries(['customer']);
      return (await gql<{ customer: Customer | null }>(CUSTOMER, { store: props.store || null, id: props.customerId }, { signal })).customer;
    },
    [props.store, props.customerId, props.apiKey],
  );
  return (
    <>
      <p class="crumbs">
        <Link path="/customers">← Customers</Link>
      </p>
      <h1 class="page-title">Customer {props.customerId}</h1>
      <QueryView state={state} what="the customer" isEmpty={(c) => c === null} empty={`This store has no customer ${props.customerId}.`}>
        {(c) => {
          const sales = c!.orders.filter((o) => o.kind === 'sale');
          return (
            <div class="grid">
              <Panel title="Profile" id="profile">
                <dl class="facts" data-testid="customer-profile">
                  <dt>Name</dt>
                  <dd>{c!.name || '—'}</dd>
                  <dt>Location</dt>
                  <dd>{[c!.city, c!.region, c!.country].filter(Boolean).join(', ') || '—'}</dd>
                  <dt>Shop segment</dt>
                  <dd>{c!.segment || '—'}</dd>
                  <dt>Orders</dt>
                  <dd>{c!.orders.length >= CUSTOMER_ORDERS ? `${formatCount(sales.length)}+` : formatCount(sales.length)}</dd>
                  <dt>Known since</dt>
                  <dd>{c!.validFrom.slice(0, 10)}</dd>
                </dl>
              </Panel>
              <Panel title={`Orders (newest ${CUSTOMER_ORDERS})`} id="orders" wide>
                {c!.orders.length === 0 ? (
                  <Empty>No orders.</Empty>
                ) : (
                  <div class="table-wrap">
                    <table data-testid="customer-orders">
                      <caption class="sr-only">Orders of customer {c!.id}, newest first</caption>
                      <thead>
                        <tr>
                          <th scope="col">Order</th>
                          <th scope="col">Placed</th>
                          <th scope="col">Status</th>
                          <th scope="col">Channel</th>
                          <th scope="col">Items</th>
                          <th scope="col" class="num">Net</th>
                          <th scope="col" class="num">Refunded</th>
                        </tr>
                      </thead>
                      <tbody>
                        {c!.orders.map((o) => (
                          <tr>
                            <td>
                              {o.id}
                              {o.kind !== 'sale' ? <span class="badge">{o.kind}</span> : null}
                            </td>
                            <td>{o.createdAt.slice(0, 16).replace('T', ' ')}</td>
                            <td>
                              <span class={`badge status-${o.status}`}>{o.status}</span>
                            </td>
                            <td>{o.channel}</td>
                            <td>{o.items.map((i) => `${i.quantity}× ${i.product?.name || i.productId}`).join(', ')}</td>
                            <td class="num">{formatMoney(o.net, o.currency)}</td>
                            <td class="num">{formatMoney(o.refunded)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </Panel>
            </div>
          );
        }}
      </QueryView>
    </>
  );
}
