// The GraphiQL playground at /graphql: served from installed packages only (no CDN), every example
// valid against the app's schema, and — in headless Chromium (Debian `chromium`) — it loads
// without console errors, sends the key from its "API key" field and shows the answer. A
// screenshot goes to test-output/playground.png.
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse, validate } from 'graphql';
import { parseConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startApp, type RunningApp } from '../../src/app/app.js';
import { projectRoot } from '../../src/config/paths.js';
import { buildAppSchema } from '../../src/schema/build-schema.js';
import { PLAYGROUND_EXAMPLES } from '../../src/http/playground.js';
import { generateApiKey, storeApiKey } from '../../src/auth/api-keys.js';
import { ensureStore } from '../../src/ingest/stores.js';
import { tempDir } from '../support/temp.js';

const CHROMIUM = '/usr/bin/chromium';
const tmp = tempDir();
let app: RunningApp;

before(async () => {
  const config = parseConfig({ DATA_DIR: tmp.dir, PORT: '0', HOST: '127.0.0.1', DEMO_DATA: 'false' });
  app = await startApp({ config, log: createLogger('silent'), api: true, worker: false, demo: false });
});
after(async () => {
  await app?.stop();
  tmp.cleanup();
});

test('the playground page and its assets come from this server only (no CDN)', async () => {
  const res = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await res.text();
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(urls.length >= 5, urls.join(' '));
  for (const u of urls) {
    if (u.startsWith('data:')) continue;
    assert.ok(u.startsWith('/'), `${u} is not served by the app`);
    const asset = await fetch(`${app.url}${u}`);
    assert.equal(asset.status, 200, u);
    assert.ok((await asset.arrayBuffer()).byteLength > 100, u);
  }
  assert.equal((await fetch(`${app.url}/playground-assets/..%2Fpackage.json`)).status, 404);
  // Non-browser GETs are still GraphQL.
  const api = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
  assert.equal(((await api.json()) as { data: { health: { status: string } } }).data.health.status, 'ok');
});

test('every example query is valid against the schema, and every area has one', async () => {
  const schema = await buildAppSchema();
  const roots = new Set<string>();
  for (const ex of PLAYGROUND_EXAMPLES) {
    const doc = parse(ex.query);
    const errors = validate(schema, doc);
    assert.deepEqual(errors.map((e) => e.message), [], `example "${ex.title}"`);
    if (ex.variables) JSON.parse(ex.variables);
    for (const def of doc.definitions) {
      if (def.kind === 'OperationDefinition') for (const s of def.selectionSet.selections) if (s.kind === 'Field') roots.add(s.name.value);
    }
  }
  for (const area of ['kpis', 'salesSeries', 'topProducts', 'retentionCohorts', 'anomalies', 'customerSegments', 'frequentlyBoughtTogether', 'funnel', 'dataQuality', 'pipeline', 'imports', 'customers', 'ingestEvents', 'createApiKey']) {
    assert.ok(roots.has(area), `no example for ${area}`);
  }
});

test('in headless Chromium: loads without console errors, runs a query with the key from the API key field, screenshot', { timeout: 90_000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (Debian package "chromium"; .ci/run installs it)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const key = generateApiKey();
  await ensureStore(app.services.warehouse, 'pg-shop', 'UTC');
  await storeApiKey(app.services.warehouse, { key, name: 'playground-browser', scopes: ['read'], stores: ['pg-shop'] });
  const me = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: '{ viewer { stores } }' }) });
  assert.deepEqual(await me.json(), { data: { viewer: { stores: ['pg-shop'] } } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(app.url!) && !r.url().startsWith('data:')) external.push(r.url());
    });

    await page.goto(`${app.url}/graphql`, { waitUntil: 'networkidle' });
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    // One tab per example.
    const tabs = await page.locator('.graphiql-tab').count();
    assert.equal(tabs, PLAYGROUND_EXAMPLES.length);

    await page.fill('#api-key', key);
    // The first tab is the KPIs example: run it as it is.
    const kpis = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('kpis'));
    await page.click('.graphiql-execute-button');
    const kpisRes = await kpis;
    assert.equal(kpisRes.status(), 200, await kpisRes.text());
    const pane = page.locator('.graphiql-response .CodeMirror');
    await page.waitForFunction(() => /netRevenue|errors/.test((globalThis as any).document.querySelector('.graphiql-response .CodeMirror')?.textContent ?? ''), null, { timeout: 15_000 });
    const kpisShown = await pane.innerText();
    assert.match(kpisShown, /"netRevenue": "/, kpisShown);
    assert.doesNotMatch(kpisShown, /"errors"/, kpisShown);
    fs.mkdirSync(path.join(projectRoot(), 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(projectRoot(), 'test-output', 'playground-kpis.png') });

    // Replace the active tab's query with one whose answer names the key.
    // Through CodeMirror's own API (typing would race its autocompletion popups).
    await page.evaluate((text) => {
      const el = (globalThis as any).document.querySelector('.graphiql-query-editor .CodeMirror');
      el.CodeMirror.setValue(text);
    }, 'query Viewer { viewer { name scopes } health { status } }');
    // GraphiQL re-reads the operation name after an edit; run only once it has (the tab is renamed).
    await page.locator('.graphiql-tab-active', { hasText: 'Viewer' }).waitFor({ timeout: 10_000 });
    const answered = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('viewer'));
    await page.click('.graphiql-execute-button');
    const res = await answered;
    assert.equal(res.request().headers()['authorization'], `Bearer ${key}`);
    const result = page.locator('.graphiql-response .CodeMirror');
    try {
      await result.getByText('playground-browser').waitFor({ timeout: 10_000 });
    } finally {
      fs.mkdirSync(path.join(projectRoot(), 'test-output'), { recursive: true });
      await page.screenshot({ path: path.join(projectRoot(), 'test-output', 'playground-last.png') });
    }
    const shown = await result.innerText();
    assert.match(shown, /"viewer"/);
    assert.match(shown, /"READ"/);
    assert.match(shown, /"status": "ok"/);

    fs.mkdirSync(path.join(projectRoot(), 'test-output'), { recursive: true });
    const shot = path.join(projectRoot(), 'test-output', 'playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10_000, 'screenshot written');
    assert.deepEqual(problems, []);
    assert.deepEqual(external, [], 'nothing loaded from outside the app');
  } finally {
    await browser.close();
  }
});
