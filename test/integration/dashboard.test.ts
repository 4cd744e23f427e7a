// The dashboard end to end: the BUILT app (dist/web, from `npm run build`) served by the app
// started the way users start it (demo data), driven in headless Chromium (Debian's `chromium`
// through playwright-core). Numbers on screen are compared with the API's own answers for the same
// range, asked directly here. Screenshots of every page go to test-output/ (gitignored).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { projectRoot } from '../../src/config/paths.js';
import { DEFAULT_DEMO_END } from '../../src/demo/generator.js';
import { graphql, startAppProcess, type AppProcess } from '../support/app-process.js';
import { tempDir } from '../support/temp.js';

// Functions passed to page.evaluate run in the browser; the project's tsconfig has no DOM types.
declare const window: { localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void }; innerWidth: number };
declare const document: { querySelectorAll(s: string): { length: number }; documentElement: { scrollWidth: number } };

const CHROMIUM = '/usr/bin/chromium';
const WEB_ROOT = path.join(projectRoot(), 'dist', 'web');
const SHOTS = path.join(projectRoot(), 'test-output');
const KEY_STORAGE = 'ecomm-analytics.apiKey';
const noBrowser = fs.existsSync(CHROMIUM) ? false : `headless Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;

/** `YYYY-MM-DD` plus n days. */
function addDays(day: string, n: number): string {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// The last 92 days of the demo shop (it ends the day before DEFAULT_DEMO_END).
const TO = addDays(DEFAULT_DEMO_END, -1);
const FROM = addDays(TO, -91);
const qs = (from = FROM, to = TO) => `?from=${from}&to=${to}`;

/** What each page needs from the API: a page whose queries the server lacks must say "not available". */
const PAGES: Array<{ name: string; path: string; heading: RegExp; queries: string[] }> = [
  { name: 'overview', path: '/', heading: /Overview/, queries: ['kpis', 'salesSeries', 'anomalies', 'categoryBreakdown', 'countryBreakdown', 'topProducts'] },
  { name: 'retention', path: '/retention', heading: /Retention/, queries: ['retentionCohorts'] },
  { name: 'customers', path: '/customers', heading: /Customers/, queries: ['customerSegments', 'customers'] },
  { name: 'funnel', path: '/funnel', heading: /Funnel/, queries: ['funnel'] },
  { name: 'data', path: '/data', heading: /Data/, queries: ['imports', 'dataQuality', 'pipeline'] },
];

let app: AppProcess;
let tmp: ReturnType<typeof tempDir>;
let adminKey: string;
let queryFields: Set<string>;
let browser: Browser | undefined;

const api = async (query: string, variables?: Record<string, unknown>) => {
  const r = await graphql(app.url, query, variables, { authorization: `Bearer ${adminKey}` });
  assert.equal(r.body.errors, undefined, `API answered with errors: ${JSON.stringify(r.body.errors)}`);
  return r.body.data;
};

/** Polls until `check` returns a value (not undefined), at most `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Makes sure the demo shop's sales are visible through the API: the gold rollups are built by the
 * analytics flow; when start-up has not run it, ask for it as a user would (POST /v1/rebuild).
 */
async function demoDataVisible(): Promise<void> {
  const orders = async () => (await api(`query($f: Date!, $t: Date!) { kpis(range: { from: $f, to: $t }) { orders } }`, { f: FROM, t: TO })).kpis.orders as number;
  if ((await orders()) > 0) return;
  const started = Date.now();
  // A flow may already be running from start-up: give it a moment before asking for another.
  while (Date.now() - started < 5_000) {
    if ((await orders()) > 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const res = await fetch(`${app.url}/v1/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status < 300, true, `POST /v1/rebuild answered ${res.status}: ${await res.text()}`);
  await until('the demo sales to reach kpis', 120_000, async () => ((await orders()) > 0 ? true : undefined));
}

/**
 * Waits for the whole analytics flow (its last step bumps the store's data version), so every
 * output — cohorts, segments, anomalies, quality — is there and no cached answer predates it.
 */
async function flowFinished(): Promise<void> {
  if (!queryFields.has('pipeline')) return;
  await until('the analytics flow to finish', 120_000, async () => {
    const runs = (await api('{ pipeline(limit: 50) { recentRuns { jobName status } } }')).pipeline.recentRuns as Array<{ jobName: string; status: string }>;
    return runs.some((r) => r.jobName === 'bump-data-version' && r.status === 'completed') ? true : undefined;
  });
}

/** The app's error log lines (level ≥ 50), for failure messages. */
function serverErrors(): string {
  return app
    .output()
    .split('\n')
    .filter((l) => /"level":(5|6)0/.test(l))
    .slice(-5)
    .join('\n');
}

/** A browser page with the key already saved (as after the first visit), recording console errors. */
async function openContext(opts: { key?: string; width?: number; height?: number } = {}): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 } });
  if (opts.key !== undefined) await ctx.addInitScript(([k, v]) => window.localStorage.setItem(k!, v!), [KEY_STORAGE, opts.key]);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return { ctx, page, errors };
}

/**
 * Waits until no panel is loading any more. Every test does this before closing its page: a
 * request whose client goes away has its warehouse queries cancelled, and an identical request of
 * the next test that joined the same single-flight computation would get that cancellation.
 */
async function settled(page: Page): Promise<void> {
  await page.waitForSelector('main#main');
  await page.waitForFunction(() => document.querySelectorAll('[data-state="loading"]').length === 0, undefined, { timeout: 30_000 });
}

const digits = (s: string) => s.replace(/−/g, '-').replace(/[^0-9.-]/g, '');

/** A decimal string rounded half-up to 2 places, as text (independent of the app's formatter). */
function cents(value: string): string {
  const negative = value.startsWith('-');
  const [int, frac = ''] = value.replace(/^-/, '').split('.');
  const n = BigInt(int! + (frac + '00').slice(0, 2)) + ((frac[2] ?? '0') >= '5' ? 1n : 0n);
  const s = n.toString().padStart(3, '0');
  return `${negative && n !== 0n ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

before(async () => {
  assert.ok(
    fs.existsSync(path.join(WEB_ROOT, 'index.html')),
    `the dashboard is not built (${WEB_ROOT}/index.html missing): run \`npm run build\` first (npm test does)`,
  );
  tmp = tempDir('ecomm-dashboard-');
  app = await startAppProcess({ env: { DATA_DIR: tmp.dir }, timeoutMs: 180_000 });
  const m = /Admin API key:\s+(\S+)/.exec(app.output());
  assert.ok(m, `no admin key in the start-up output:\n${app.output()}`);
  adminKey = m[1]!;
  const schema = await api('{ __schema { queryType { fields { name } } } }');
  queryFields = new Set(schema.__schema.queryType.fields.map((f: { name: string }) => f.name));
  if (queryFields.has('kpis')) await demoDataVisible();
  await flowFinished();
  if (!noBrowser) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await app?.interrupt();
  tmp?.cleanup();
});

describe('dashboard files served by the API server', () => {
  it('serves index.html at / and at app routes (no cache), hashed assets for a year, and leaves the API paths alone', async () => {
    for (const p of ['/', '/retention', '/customers/CUST-000001', '/data']) {
      const res = await fetch(app.url + p);
      assert.equal(res.status, 200, p);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, p);
      assert.equal(res.headers.get('cache-control'), 'no-cache', p);
      assert.match(await res.text(), /<div id="app">/, p);
    }
    const html = await (await fetch(app.url + '/')).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), `index.html names its bundle: ${assets}`);
    for (const a of assets) {
      const res = await fetch(app.url + a);
      assert.equal(res.status, 200, a);
      assert.match(res.headers.get('content-type') ?? '', a.endsWith('.js') ? /^text\/javascript/ : /^text\/css/, a);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', a);
      const etag = res.headers.get('etag')!;
      await res.arrayBuffer();
      assert.equal((await fetch(app.url + a, { headers: { 'if-none-match': etag } })).status, 304, `${a} revalidates`);
    }
    // No bundle references a CDN: everything is served from here.
    for (const a of assets) assert.doesNotMatch(await (await fetch(app.url + a)).text(), /https:\/\/(cdn|unpkg|fonts\.googleapis)/, a);

    assert.equal((await fetch(app.url + '/assets/no-such-file-12345678.js')).status, 404, 'a missing asset is a 404, not the app');
    assert.equal((await fetch(app.url + '/%2e%2e/package.json')).status, 404, 'no way out of dist/web');
    const health = await fetch(app.url + '/healthz');
    assert.match(health.headers.get('content-type') ?? '', /json/);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const gql = await fetch(app.url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ health { status } }"}' });
    assert.equal(((await gql.json()) as { data: { health: { status: string } } }).data.health.status, 'ok');
    const v1 = await fetch(app.url + '/v1/no-such-route');
    assert.equal(v1.status, 404);
    assert.match(v1.headers.get('content-type') ?? '', /json/, '/v1/* is never answered with the app');
    assert.equal((await fetch(app.url + '/', { method: 'POST', body: 'x' })).status, 404, 'only GET and HEAD reach the files');
  });
});

describe('dashboard in headless Chromium', { skip: noBrowser }, () => {
  it('asks for a key on the first visit, shows a readable error for an invalid key, and keeps a valid one', async () => {
    const { ctx, page } = await openContext();
    try {
      await page.goto(app.url + '/' + qs());
      await page.getByLabel('API key').fill('ea_this-key-does-not-exist-000000000');
      await page.getByRole('button', { name: 'Use this key' }).click();
      const error = page.locator('[data-state="error"][data-error-kind="UNAUTHENTICATED"]');
      await error.waitFor();
      assert.match(await error.innerText(), /not accepted/i);
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-invalid-key.png') });
      assert.equal(await page.evaluate((k) => window.localStorage.getItem(k), KEY_STORAGE), null, 'a refused key is not saved');

      await page.getByLabel('API key').fill(adminKey);
      await page.getByRole('button', { name: 'Use this key' }).click();
      await page.getByRole('navigation', { name: 'Pages' }).waitFor();
      assert.equal(await page.evaluate((k) => window.localStorage.getItem(k), KEY_STORAGE), adminKey);
      // A reload keeps the key: no prompt.
      await page.reload();
      await page.getByRole('navigation', { name: 'Pages' }).waitFor();
      assert.equal(await page.locator('#api-key').count(), 0);
      // Closing the page with requests in flight would cancel them on the server (see settled()).
      await settled(page);
    } finally {
      await ctx.close();
    }
  });

  it('a saved key that the server no longer accepts brings the prompt back with the reason', async () => {
    const { ctx, page } = await openContext({ key: 'ea_revoked-or-expired-key-00000000000' });
    try {
      await page.goto(app.url + '/' + qs());
      const reason = page.locator('.key-reason');
      await reason.waitFor();
      assert.match(await reason.innerText(), /not accepted/i);
      await page.locator('#api-key').waitFor();
    } finally {
      await ctx.close();
    }
  });

  it('a key over its rate limit gets a readable "too many requests" with the wait', async () => {
    // 3 requests a minute: the key check, the page's first requests, then 429s.
    const slowKey = (await api('mutation { createApiKey(name: "dashboard-e2e-slow", scopes: [READ], rateLimit: 3) { key } }')).createApiKey.key as string;
    const { ctx, page } = await openContext({ key: slowKey });
    try {
      await page.goto(app.url + '/' + qs());
      const limited = page.locator('[data-error-kind="RATE_LIMITED"]').first();
      await limited.waitFor({ timeout: 30_000 });
      const text = await limited.innerText();
      assert.match(text, /Too many requests/);
      assert.match(text, /Try again in \d+ s/);
      await settled(page);
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-rate-limited.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
  });

  it('every page loads without console errors; a page whose query the API lacks says "not available"', async () => {
    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      for (const p of PAGES) {
        await page.goto(app.url + p.path + qs());
        await settled(page);
        assert.match(await page.locator('h1.page-title').innerText(), p.heading, p.name);
        const missing = p.queries.filter((q) => !queryFields.has(q));
        const notAvailable = await page.locator('[data-state="not-available"]').count();
        const failed = await page.locator('[data-state="error"]').allInnerTexts();
        assert.deepEqual(failed, [], `${p.name}: no panel ends in an error; server errors:\n${serverErrors()}`);
        if (missing.length === 0) assert.equal(notAvailable, 0, `${p.name}: every query exists, nothing may say "not available"`);
        else {
          const texts = (await page.locator('[data-state="not-available"]').allInnerTexts()).join(' ');
          for (const q of missing) assert.match(texts, new RegExp(`\`${q}\``), `${p.name}: says that ${q} is not available`);
        }
        await page.screenshot({ path: path.join(SHOTS, `dashboard-${p.name}.png`), fullPage: true });
      }
      // The customer page, reached from the list.
      if (queryFields.has('customers') && queryFields.has('customer')) {
        await page.goto(app.url + '/customers' + qs());
        await settled(page);
        const first = page.locator('[data-testid="customer-table"] tbody tr a').first();
        const id = await first.innerText();
        await first.click();
        await page.waitForURL(new RegExp(`/customers/${id}`));
        await settled(page);
        assert.match(await page.locator('h1.page-title').innerText(), new RegExp(id));
        const expected = await api(`query($id: ID!) { customer(id: $id) { name orders(first: 25) { id } } }`, { id });
        assert.match(await page.locator('[data-testid="customer-profile"]').innerText(), new RegExp(expected.customer.name));
        const rows = expected.customer.orders.length === 0 ? 0 : await page.locator('[data-testid="customer-orders"] tbody tr').count();
        assert.equal(rows, expected.customer.orders.length, 'one row per order the API returns');
        await page.screenshot({ path: path.join(SHOTS, 'dashboard-customer.png'), fullPage: true });
      }
      assert.deepEqual(errors, [], 'no console errors on any page');
    } finally {
      await ctx.close();
    }
  });

  it('the KPI tiles show the numbers the API gives for the same range', async (t) => {
    if (!queryFields.has('kpis')) return t.skip('the API has no kpis query yet');
    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      await page.goto(app.url + '/' + qs());
      await settled(page);
      const k = (
        await api(
          `query($f: Date!, $t: Date!) { kpis(range: { from: $f, to: $t }, compareToPreviousPeriod: true) {
             netRevenue orders averageOrderValue customers returnRate change { netRevenue { ratio } orders { ratio } returnRate { difference } } } }`,
          { f: FROM, t: TO },
        )
      ).kpis;
      assert.ok(k.orders > 0, 'the demo shop has orders in the range');
      const tile = async (name: string) => page.getByTestId(`kpi-${name}-value`).innerText();
      assert.equal(digits(await tile('netRevenue')), cents(k.netRevenue));
      assert.equal(digits(await tile('averageOrderValue')), cents(k.averageOrderValue));
      assert.equal(digits(await tile('orders')), String(k.orders));
      assert.equal(digits(await tile('customers')), String(k.customers));
      assert.equal(await tile('returnRate'), k.returnRate === null ? '—' : `${(k.returnRate * 100).toFixed(2)}%`);
      const change = async (name: string) => (await page.getByTestId(`kpi-${name}-change`).innerText()).replace(/\s+vs previous period$/, '').trim();
      const pct = (r: number | null) => (r === null ? 'n/a' : `${r > 0 ? '+' : r < 0 ? '−' : '±'}${Math.abs(r * 100).toFixed(1)}%`);
      assert.equal(await change('netRevenue'), pct(k.change.netRevenue.ratio));
      assert.equal(await change('orders'), pct(k.change.orders.ratio));
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-kpis.png') });
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  it('switching the range refetches, and the tiles follow the new range', async (t) => {
    if (!queryFields.has('kpis')) return t.skip('the API has no kpis query yet');
    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      const sent: Array<{ operationName?: string; query: string; variables: Record<string, unknown> }> = [];
      page.on('request', (r) => {
        if (r.url().endsWith('/graphql') && r.method() === 'POST') {
          const body = JSON.parse(r.postData() ?? '{}');
          sent.push({ operationName: /query (\w+)/.exec(body.query)?.[1], query: body.query, variables: body.variables ?? {} });
        }
      });
      await page.goto(app.url + '/' + qs());
      await settled(page);
      const newFrom = addDays(TO, -29);
      const before = sent.length;
      await page.locator('input[name="from"]').fill(newFrom);
      await until('a kpis request for the new range', 10_000, async () =>
        sent.slice(before).some((s) => s.operationName === 'DashboardKpis' && s.variables.from === newFrom && s.variables.to === TO) ? true : undefined,
      );
      assert.ok(sent.slice(before).some((s) => s.operationName === 'DashboardSalesSeries' && s.variables.from === newFrom), 'the series is refetched too');
      assert.match(page.url(), new RegExp(`from=${newFrom}`), 'the range is in the URL');
      await settled(page);
      const k = (await api(`query($f: Date!, $t: Date!) { kpis(range: { from: $f, to: $t }) { orders netRevenue } }`, { f: newFrom, t: TO })).kpis;
      assert.equal(digits(await page.getByTestId('kpi-orders-value').innerText()), String(k.orders));
      assert.equal(digits(await page.getByTestId('kpi-netRevenue-value').innerText()), cents(k.netRevenue));

      // The granularity switch asks for weekly points.
      const beforeWeek = sent.length;
      await page.getByRole('radio', { name: 'Week' }).click();
      await until('a weekly series request', 10_000, async () => (sent.slice(beforeWeek).some((s) => s.operationName === 'DashboardSalesSeries' && /granularity: WEEK/.test(s.query)) ? true : undefined));
      await settled(page);
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  it('the cohort heatmap has as many cohorts as the API returns', async (t) => {
    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      await page.goto(app.url + '/retention' + qs());
      await settled(page);
      if (!queryFields.has('retentionCohorts')) {
        await page.locator('[data-state="not-available"]').first().waitFor();
        return t.skip('the API has no retentionCohorts query yet: the page shows "not available"');
      }
      const monthly = (
        await api(`query($f: Date!, $t: Date!) { retentionCohorts(range: { from: $f, to: $t }, granularity: MONTH, periods: 12) { cohortStart size } }`, { f: FROM, t: TO })
      ).retentionCohorts as Array<{ cohortStart: string; size: number }>;
      assert.ok(monthly.length > 0, 'the demo shop has cohorts in the range');
      assert.equal(await page.getByTestId('cohort-heatmap').getAttribute('data-cohorts'), String(monthly.length));
      await page.getByText('Cohorts as a table').click();
      const rows = page.locator('[data-testid="cohort-table"] tbody tr');
      assert.equal(await rows.count(), monthly.length);
      assert.deepEqual(await page.locator('[data-testid="cohort-table"] tbody th').allInnerTexts(), monthly.map((c) => c.cohortStart));
      assert.deepEqual(
        (await page.locator('[data-testid="cohort-table"] tbody tr td:first-of-type').allInnerTexts()).map(digits),
        monthly.map((c) => String(c.size)),
      );

      await page.getByRole('radio', { name: 'Weekly' }).click();
      await settled(page);
      const weekly = (await api(`query($f: Date!, $t: Date!) { retentionCohorts(range: { from: $f, to: $t }, granularity: WEEK, periods: 12) { cohortStart } }`, { f: FROM, t: TO }))
        .retentionCohorts as unknown[];
      assert.equal(await page.getByTestId('cohort-heatmap').getAttribute('data-cohorts'), String(weekly.length));
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-retention-weekly.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  it('the Data page shows an upload with the API counts, its rejects by reason and sample rows, and the quality checks', async (t) => {
    if (!queryFields.has('imports') || !queryFields.has('importBatch')) return t.skip('the API has no imports/importBatch query yet');
    // An upload the way a shop sends one: two good customers, one with a bad e-mail, one without an id.
    const csv = 'customer_id,name,email,country\nE2E-1,Ada,ada@example.com,DE\nE2E-2,Bob,not-an-email,FR\n,Nobody,n@example.com,DE\nE2E-3,Cy,cy@example.com,NL\n';
    const fileName = 'dashboard-e2e-customers.csv';
    const up = await fetch(`${app.url}/v1/imports?entity=customers&format=csv&store=demo&filename=${fileName}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'text/csv' },
      body: csv,
    });
    assert.ok(up.status < 300, `upload answered ${up.status}: ${await up.text()}`);
    type Batch = { batchId: string; fileName: string; status: string; read: number; inserted: number; unchanged: number; rejected: number };
    const batch = await until('the upload to finish', 60_000, async () => {
      const list = (await api('{ imports(limit: 50) { batchId fileName status read inserted unchanged rejected } }')).imports as Batch[];
      const b = list.find((x) => x.fileName === fileName);
      return b && b.status !== 'running' && b.status !== 'queued' ? b : undefined;
    });
    const detail = (
      await api('query($id: ID!) { importBatch(id: $id) { rejectsByReason { reason count } sampleRejects { rowNumber field reason message } } }', { id: batch.batchId })
    ).importBatch as { rejectsByReason: Array<{ reason: string; count: number }>; sampleRejects: Array<{ rowNumber: number; field: string; reason: string; message: string }> };
    assert.equal(batch.read, 4);
    assert.equal(batch.rejected, 2);

    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      await page.goto(app.url + '/data' + qs());
      await settled(page);
      const row = page.locator('[data-testid="imports-table"] tbody tr', { hasText: fileName });
      const cells = (await row.locator('td.num').allInnerTexts()).map(digits);
      assert.deepEqual(cells, [batch.read, batch.inserted, batch.unchanged, batch.rejected].map(String), 'read, inserted, unchanged, rejected as the API says');
      await row.getByRole('button', { name: /Rejects/ }).click();
      const shown = page.getByTestId('import-detail');
      await shown.waitFor();
      await settled(page);
      const text = await shown.innerText();
      for (const r of detail.rejectsByReason) assert.match(text, new RegExp(`${r.reason}\\s+${r.count}`), `reason ${r.reason} with its count`);
      assert.equal(await shown.locator('tbody tr').count(), detail.sampleRejects.length, 'one line per sample rejected row');
      for (const r of detail.sampleRejects) assert.ok(text.includes(r.message), `sample row ${r.rowNumber} shows its message`);
      if (queryFields.has('dataQuality')) {
        const checks = (await api('{ dataQuality { status } }')).dataQuality as Array<{ status: string }>;
        const panel = await page.locator('[data-panel="quality"]').innerText();
        assert.ok(checks.length > 0, 'the demo shop has data-quality results');
        assert.equal(await page.locator('[data-testid="quality-table"] tbody tr').count(), checks.length, `one line per data-quality check; the panel says: ${panel.slice(0, 300)}`);
        const fails = checks.filter((c) => c.status === 'FAIL').length;
        assert.match(panel, new RegExp(`${fails} fail`));
      }
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-data-import.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  it('failed jobs can be retried from the Data page with an admin key, and not with a read key', async (t) => {
    if (!queryFields.has('pipeline')) return t.skip('the API has no pipeline query yet');
    const mutations = (await api('{ __schema { mutationType { fields { name } } } }')).__schema.mutationType.fields.map((f: { name: string }) => f.name);
    if (!mutations.includes('retryFailedJobs')) return t.skip('the API has no retryFailedJobs mutation yet');
    // A file that can never be read fails its import job.
    const up = await fetch(`${app.url}/v1/imports?entity=orders&format=xlsx&store=demo&filename=dashboard-e2e-broken.xlsx`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}` },
      body: 'this is not a spreadsheet',
    });
    assert.ok(up.status < 300, `upload answered ${up.status}`);
    type Queue = { queue: string; failed: number };
    await until('the broken import to fail', 60_000, async () => {
      const queues = (await api('{ pipeline { queues { queue failed } } }')).pipeline.queues as Queue[] | null;
      return queues?.some((q) => q.queue === 'ingest' && q.failed > 0) ? true : undefined;
    });

    const { ctx, page, errors } = await openContext({ key: adminKey });
    try {
      await page.goto(app.url + '/data' + qs());
      await settled(page);
      const answer = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('DashboardRetryFailed'));
      await page.getByRole('button', { name: 'Retry the failed jobs of the ingest queue' }).click();
      const body = (await (await answer).json()) as { data: { retryFailedJobs: Array<{ queue: string; retried: number }> } };
      const retried = body.data.retryFailedJobs.reduce((s, r) => s + r.retried, 0);
      assert.ok(retried >= 1, 'the server retried the failed import');
      assert.match(await page.getByTestId('retry-result').innerText(), new RegExp(`^${retried} failed jobs? sent back to the ingest queue`));
      await settled(page);
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-data-retry.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }

    await until('the retried import to fail again', 60_000, async () => {
      const queues = (await api('{ pipeline { queues { queue failed } } }')).pipeline.queues as Queue[] | null;
      return queues?.some((q) => q.queue === 'ingest' && q.failed > 0) ? true : undefined;
    });
    const readKey = (await api('mutation { createApiKey(name: "dashboard-e2e-read", scopes: [READ]) { key } }')).createApiKey.key as string;
    const reader = await openContext({ key: readKey });
    try {
      await reader.page.goto(app.url + '/data' + qs());
      await settled(reader.page);
      assert.equal(await reader.page.getByRole('button', { name: /Retry/ }).count(), 0, 'no retry button for a read key');
      assert.match(await reader.page.locator('[data-panel="failures"]').innerText(), /needs an admin key/);
      assert.deepEqual(reader.errors, []);
    } finally {
      await reader.ctx.close();
    }
  });

  it('a page whose query the server lacks says "not available" instead of failing (introspection or validation error)', async () => {
    // A server without retentionCohorts and funnel, as the API looked while it was being built:
    // its introspection answer is the real one minus those fields.
    const { ctx, page } = await openContext({ key: adminKey });
    try {
      await page.route('**/graphql', async (route) => {
        const body = route.request().postData() ?? '';
        if (!body.includes('DashboardRootFields')) return route.continue();
        const res = await route.fetch();
        const json = await res.json();
        json.data.__schema.queryType.fields = json.data.__schema.queryType.fields.filter((f: { name: string }) => f.name !== 'retentionCohorts' && f.name !== 'funnel');
        await route.fulfill({ response: res, json });
      });
      for (const [p, field] of [['/retention', 'retentionCohorts'], ['/funnel', 'funnel']] as const) {
        await page.goto(app.url + p + qs());
        await settled(page);
        const na = page.locator('[data-state="not-available"]').first();
        assert.match(await na.innerText(), new RegExp(`Not available on this server.*\`${field}\``, 's'));
        assert.equal(await page.locator('[data-state="error"]').count(), 0);
      }
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-not-available.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
    // A server that refuses introspection: the query itself is sent, and graphql's validation error
    // ("Cannot query field … on type Query") becomes the same state.
    const second = await openContext({ key: adminKey });
    try {
      let funnelAsked = false;
      await second.page.route('**/graphql', async (route) => {
        const body = route.request().postData() ?? '';
        if (body.includes('DashboardRootFields')) {
          return route.fulfill({ status: 400, json: { errors: [{ message: 'GraphQL introspection is not allowed', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] } });
        }
        if (body.includes('DashboardFunnel')) {
          funnelAsked = true;
          return route.fulfill({ status: 400, json: { errors: [{ message: 'Cannot query field "funnel" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] } });
        }
        return route.continue();
      });
      await second.page.goto(app.url + '/funnel' + qs());
      await settled(second.page);
      assert.ok(funnelAsked, 'without introspection the page tries its query');
      assert.match(await second.page.locator('[data-state="not-available"]').first().innerText(), /Not available on this server.*Cannot query field "funnel"/s);
    } finally {
      await second.ctx.close();
    }
  });

  it('fits a phone screen: no sideways scrolling, every page reachable from the navigation', async () => {
    const { ctx, page, errors } = await openContext({ key: adminKey, width: 390, height: 844 });
    try {
      await page.goto(app.url + '/' + qs());
      await settled(page);
      for (const p of PAGES) {
        await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: new RegExp(`^${p.heading.source}$`) }).click();
        await settled(page);
        assert.match(await page.locator('h1.page-title').innerText(), p.heading);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 1, `${p.name}: the page is ${overflow}px wider than the phone screen`);
        await page.screenshot({ path: path.join(SHOTS, `dashboard-phone-${p.name}.png`), fullPage: true });
      }
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });
});
