import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql, onRequestOutcome, queryFields } from './api/client';
import { STORES, VIEWER } from './api/documents';
import { useQuery } from './api/use-query';
import { RangePicker, StorePicker, type StoreOption } from './components/filters';
import { KeyDialog } from './components/key-dialog';
import { Link } from './components/link';
import { ErrorBox, Loading } from './components/states';
import { CustomerPage } from './pages/customer';
import { CustomersPage } from './pages/customers';
import { DataPage } from './pages/data';
import { FunnelPage } from './pages/funnel';
import { OverviewPage } from './pages/overview';
import type { PageProps } from './pages/page-props';
import { RetentionPage } from './pages/retention';
import { saveApiKey, useApiKey, useLocation } from './state';

interface Viewer {
  id: string;
  name: string;
  scopes: string[];
  stores: string[];
}
interface StoreInfo {
  id: string;
  name: string;
  currency: string;
  timezone: string;
}

const NAV = [
  { path: '/', label: 'Overview' },
  { path: '/retention', label: 'Retention' },
  { path: '/customers', label: 'Customers' },
  { path: '/funnel', label: 'Funnel' },
  { path: '/data', label: 'Data' },
];

function Page(props: PageProps & { path: string }) {
  const customer = /^\/customers\/(.+)$/.exec(props.path);
  if (customer) return <CustomerPage {...props} customerId={decodeURIComponent(customer[1]!)} />;
  switch (props.path) {
    case '/':
      return <OverviewPage {...props} />;
    case '/retention':
      return <RetentionPage {...props} />;
    case '/customers':
      return <CustomersPage {...props} />;
    case '/funnel':
      return <FunnelPage {...props} />;
    case '/data':
      return <DataPage {...props} />;
    default:
      return (
        <div class="state empty">
          <h1 class="page-title">Page not found</h1>
          <Link path="/">Go to the overview</Link>
        </div>
      );
  }
}

/** The shell: key prompt, header with navigation, range and store pickers, then the page. */
export function App() {
  const apiKey = useApiKey();
  const location = useLocation();
  const [changingKey, setChangingKey] = useState(false);
  const [keyRejected, setKeyRejected] = useState(false);

  useEffect(
    () =>
      onRequestOutcome((err) => {
        if (err instanceof ApiError && err.kind === 'UNAUTHENTICATED') setKeyRejected(true);
      }),
    [],
  );

  const viewer = useQuery(async (signal) => (apiKey ? (await gql<{ viewer: Viewer }>(VIEWER, {}, { signal })).viewer : null), [apiKey]);
  const stores = useQuery(
    async (signal): Promise<StoreInfo[]> => {
      if (!apiKey) return [];
      const fields = await queryFields();
      if (!fields?.has('stores')) return [];
      return (await gql<{ stores: StoreInfo[] }>(STORES, {}, { signal })).stores;
    },
    [apiKey],
  );

  if (!apiKey || changingKey || (keyRejected && viewer.status !== 'loading')) {
    return (
      <KeyDialog
        initial={changingKey ? '' : undefined}
        reason={keyRejected && !changingKey ? 'The saved API key was not accepted (unknown, expired or revoked). Enter a valid key.' : undefined}
        onSave={(k) => {
          setKeyRejected(false);
          setChangingKey(false);
          saveApiKey(k);
        }}
        onCancel={apiKey && !keyRejected ? () => setChangingKey(false) : undefined}
      />
    );
  }
  if (viewer.status === 'loading') return <Loading what="your key" />;
  if (viewer.status === 'error') {
    return (
      <main class="content">
        <ErrorBox error={viewer.error} onRetry={viewer.reload} />
        <button type="button" onClick={() => setChangingKey(true)}>
          Change key
        </button>
      </main>
    );
  }

  const v = viewer.data!;
  const known: StoreOption[] = stores.status === 'ok' ? stores.data.map((s) => ({ id: s.id, name: s.name })) : [];
  for (const id of v.stores) if (!known.some((s) => s.id === id)) known.push({ id });
  const currency = (stores.status === 'ok' ? stores.data.find((s) => s.id === location.store) ?? (stores.data.length === 1 ? stores.data[0] : undefined) : undefined)?.currency ?? '';
  const props: PageProps = { range: location.range, store: location.store, currency, apiKey, isAdmin: v.scopes.includes('ADMIN') && v.stores.length === 0 };
  const section = location.path.startsWith('/customers') ? '/customers' : location.path;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ▮▮
          </span>{' '}
          Shop analytics
        </div>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((n) => (
              <li>
                <Link path={n.path} current={section === n.path}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted" title={`Scopes: ${v.scopes.join(', ')}`}>
            {v.name}
          </span>
          <button type="button" onClick={() => setChangingKey(true)}>
            Change key
          </button>
        </div>
      </header>
      <div class="filters" role="search" aria-label="Date range and store">
        <RangePicker range={location.range} />
        <StorePicker store={location.store} stores={known} />
      </div>
      <main id="main" class="content" tabIndex={-1}>
        <Page {...props} path={location.path} />
      </main>
    </>
  );
}
