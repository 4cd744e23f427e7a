import fs from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../config/paths.js';

/**
 * The GraphiQL playground: GET /graphql from a browser. Everything it loads comes from installed
 * npm packages (graphiql's UMD build and CSS, react and react-dom 18 UMD builds), served under
 * {@link PLAYGROUND_ASSET_PREFIX} — no CDN, so it works offline. The page has an "API key" field
 * (sent as `Authorization: Bearer …`) and one tab per example query, covering every area.
 */
export const PLAYGROUND_ASSET_PREFIX = '/playground-assets/';

const require = createRequire(import.meta.url);

/** The folder of an installed package (its package.json may not be exported, so search node_modules). */
function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return path.join(projectRoot(), 'node_modules', name);
  }
}

/** The files the page may load, by the name it asks for: a fixed list, never a path from the request. */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'react.production.min.js': { file: () => path.join(packageDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': { file: () => path.join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.min.js': { file: () => path.join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.css': { file: () => path.join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css' },
};

const DEMO_RANGE = '{ "from": "2026-10-01", "to": "2026-10-31" }';

/** One example tab of the playground. */
export interface PlaygroundExample {
  title: string;
  query: string;
  variables?: string;
}

/** The example queries preloaded in the playground: one per area of the API. */
export const PLAYGROUND_EXAMPLES: PlaygroundExample[] = [
  {
    title: 'KPIs',
    query: `# Sales KPIs of a month, with the change against the month before.
query Kpis($range: DateRangeInput!) {
  kpis(range: $range, compareToPreviousPeriod: true) {
    netRevenue grossRevenue refunds orders customers newCustomers returningCustomers
    averageOrderValue units returnRate
    change { netRevenue { previous difference ratio } orders { previous difference ratio } }
  }
}`,
    variables: `{ "range": ${DEMO_RANGE} }`,
  },
  {
    title: 'Sales series',
    query: `# Net revenue and orders per day, split by channel.
query SalesSeries($range: DateRangeInput!) {
  salesSeries(range: $range, granularity: DAY, groupBy: [CHANNEL]) {
    periodStart channel netRevenue orders units
  }
}`,
    variables: `{ "range": ${DEMO_RANGE} }`,
  },
  {
    title: 'Top products',
    query: `query TopProducts($range: DateRangeInput!) {
  topProducts(range: $range, by: REVENUE, limit: 10) { rank productId sku name category netRevenue units orders }
  categoryBreakdown(range: $range) { category netRevenue orders }
  countryBreakdown(range: $range) { country netRevenue orders }
}`,
    variables: `{ "range": ${DEMO_RANGE} }`,
  },
  {
    title: 'Retention cohorts',
    query: `# Monthly cohorts of first-time buyers and how many came back.
query Cohorts($range: DateRangeInput!) {
  retentionCohorts(range: $range, granularity: MONTH, periods: 6, metric: CUSTOMERS) {
    cohortStart size periods { period customers rate revenue }
  }
}`,
    variables: '{ "range": { "from": "2026-01-01", "to": "2026-06-30" } }',
  },
  {
    title: 'Anomalies',
    query: `query Anomalies($range: DateRangeInput!) {
  anomalies(range: $range, minSeverity: MEDIUM) {
    date metric dimension dimensionValue actual expected lower upper score direction severity
  }
}`,
    variables: '{ "range": { "from": "2026-01-01", "to": "2026-10-31" } }',
  },
  {
    title: 'Customer segments',
    query: `query CustomerSegments {
  customerSegments { segment customers share monetary avgRecencyDays avgFrequency }
}`,
  },
  {
    title: 'Bought together',
    query: `# Products bought with a product (use an id from topProducts).
query BoughtTogether($productId: ID!) {
  frequentlyBoughtTogether(productId: $productId, limit: 5) { otherProductId pairOrders support confidence lift }
}`,
    variables: '{ "productId": "P0001" }',
  },
  {
    title: 'Funnel',
    query: `query Funnel($range: DateRangeInput!) {
  funnel(range: $range, groupBy: [CHANNEL]) {
    channel sessions productViews addToCarts checkouts purchases overallConversion
  }
}`,
    variables: `{ "range": ${DEMO_RANGE} }`,
  },
  {
    title: 'Data quality',
    query: `query DataQuality {
  dataQuality { table check dimension value threshold status message checkedAt }
}`,
  },
  {
    title: 'Pipeline',
    query: `query Pipeline {
  pipeline {
    queues { queue waiting active delayed failed completed }
    recentRuns { runId jobName status rows durationMs startedAt }
    failures { runId jobName error startedAt }
  }
}`,
  },
  {
    title: 'Imports',
    query: `query Imports {
  imports(limit: 10) {
    batchId fileName status read inserted rejected
    rejectsByReason { reason count }
  }
}`,
  },
  {
    title: 'Customers + orders',
    query: `# A page of customers with their latest orders and items (batched: a constant number of queries).
query Customers($after: String) {
  customers(first: 10, after: $after) {
    nodes {
      id name country segment
      orders(first: 3) { id createdAt net items { productId quantity lineAmount product { name } } }
    }
    pageInfo { endCursor hasNextPage }
  }
}`,
  },
  {
    title: 'Ingest events',
    query: `# Needs the ingest scope.
mutation Ingest($events: [JSONObject!]!) {
  ingestEvents(events: $events) { jobId received accepted duplicate rejected { index field reason message } }
}`,
    variables: `{ "events": [
  { "event_id": "pg-1", "event_time": "2026-10-31T10:00:00Z", "session_id": "s-pg", "event_type": "page_view" }
] }`,
  },
  {
    title: 'Create API key',
    query: `# Needs the admin scope; the key is shown once.
mutation CreateKey {
  createApiKey(name: "reporting", scopes: [READ], stores: ["default"], rateLimit: 600) {
    key
    apiKey { id name scopes stores rateLimit createdAt }
  }
}`,
  },
];

/** True for a browser asking for a page: GET with `Accept: text/html` and no query in the URL. */
export function wantsPlayground(req: http.IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' || url.searchParams.has('query') || url.searchParams.has('extensions')) return false;
  return (req.headers.accept ?? '').includes('text/html');
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'";

/** The playground page. */
export function servePlayground(res: http.ServerResponse): void {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>GraphQL playground · ecommerce-analytics</title>
<link rel="stylesheet" href="${PLAYGROUND_ASSET_PREFIX}graphiql.min.css">
<style>
  html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  #keybar { display: flex; gap: .5rem; align-items: center; padding: .4rem .8rem; border-bottom: 1px solid #ddd; font-size: 14px; }
  #keybar input { flex: 1; max-width: 32rem; font-family: monospace; padding: .25rem .4rem; }
  #keybar small { color: #666; }
  #graphiql { flex: 1; min-height: 0; }
</style>
</head>
<body>
<div id="keybar">
  <label for="api-key">API key</label>
  <input id="api-key" type="password" autocomplete="off" placeholder="ea_… (sent as Authorization: Bearer …)">
  <small>Kept in this tab only. Examples: one tab each; headers you set in the Headers pane win.</small>
</div>
<div id="graphiql">Loading…</div>
<script id="examples" type="application/json">${JSON.stringify(PLAYGROUND_EXAMPLES).replace(/</g, '\\u003c')}</script>
<script src="${PLAYGROUND_ASSET_PREFIX}react.production.min.js"></script>
<script src="${PLAYGROUND_ASSET_PREFIX}react-dom.production.min.js"></script>
<script src="${PLAYGROUND_ASSET_PREFIX}graphiql.min.js"></script>
<script src="${PLAYGROUND_ASSET_PREFIX}playground.js"></script>
</body>
</html>
`;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}

/** The page's own script: the key field, the fetcher that sends it, and the example tabs. */
const PLAYGROUND_JS = `(function () {
  var keyInput = document.getElementById('api-key');
  keyInput.value = sessionStorage.getItem('ecomm-api-key') || '';
  keyInput.addEventListener('input', function () { sessionStorage.setItem('ecomm-api-key', keyInput.value.trim()); });
  var base = GraphiQL.createFetcher({ url: location.origin + '/graphql' });
  function fetcher(params, opts) {
    var headers = Object.assign({}, (opts && opts.headers) || {});
    var key = keyInput.value.trim();
    var has = Object.keys(headers).some(function (h) { var l = h.toLowerCase(); return l === 'authorization' || l === 'x-api-key'; });
    if (key && !has) headers.Authorization = 'Bearer ' + key;
    return base(params, Object.assign({}, opts, { headers: headers }));
  }
  var examples = JSON.parse(document.getElementById('examples').textContent);
  var tabs = examples.map(function (e) { return { query: e.query, variables: e.variables || '' }; });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: tabs,
    // The editors start from these, not from the first tab's definition.
    query: tabs[0].query,
    variables: tabs[0].variables,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
    storage: { getItem: function () { return null; }, setItem: function () {}, removeItem: function () {}, clear: function () {}, length: 0 }
  }));
})();
`;

/** Serves one of the playground's files (a fixed list; anything else is a 404). */
export function servePlaygroundAsset(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
  const name = pathname.slice(PLAYGROUND_ASSET_PREFIX.length);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    res.end();
    return;
  }
  let body: Buffer;
  let type: string;
  if (name === 'playground.js') {
    body = Buffer.from(PLAYGROUND_JS);
    type = 'text/javascript';
  } else {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    try {
      body = fs.readFileSync(asset.file());
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`${name} is not installed (npm ci)`);
      return;
    }
    type = asset.type;
  }
  res.writeHead(200, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': body.length,
    'cache-control': 'public, max-age=3600',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
