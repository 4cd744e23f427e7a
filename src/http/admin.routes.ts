import type http from 'node:http';
import type { Services } from '../app/services.js';
import { requireScope, resolveStore } from '../auth/authenticate.js';
import { isValidStoreId } from '../ingest/stores.js';
import { allStores, analyticsQueue, startFlow, stepJobId, type FlowStep, type StartedFlow } from '../jobs/analytics.flow.js';
import { flowSteps } from '../jobs/analytics.job.js';
import { HttpError, readBody, sendJson } from './respond.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(d: string): boolean {
  return DATE.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);
}

/** What a client sees of a flow: its state (the root's) and each step's. */
export async function describeFlow(services: Services, storeId: string, flowId: string, steps: readonly FlowStep[]) {
  const queue = analyticsQueue(services);
  const views = [];
  for (const step of steps) {
    const job = await queue.getJob(stepJobId(step, storeId, flowId));
    const state = job ? await job.getState() : 'unknown';
    const rv = job?.returnvalue as { rows?: number } | null | undefined;
    views.push({
      step,
      jobId: stepJobId(step, storeId, flowId),
      state,
      attemptsMade: job?.attemptsMade ?? 0,
      failedReason: job?.failedReason || null,
      rows: typeof rv?.rows === 'number' ? rv.rows : null,
      durationMs: job?.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null,
    });
  }
  // Steps a flow does not have (the daily checks run only the last ones) are not shown.
  while (views.length > 1 && views[0]!.state === 'unknown') views.shift();
  const root = views[views.length - 1];
  const failed = views.find((v) => v.state === 'failed');
  const state = failed ? 'failed' : root?.state === 'completed' ? 'completed' : views.some((v) => v.state === 'active' || v.state === 'completed') ? 'running' : 'waiting';
  return { storeId, flowId, state, steps: views };
}

/**
 * POST /v1/rebuild — body (JSON, all optional) `{ "store": "S", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }`.
 * Admin scope. Starts, per store (the one named, else every store the key may see), the analytics
 * flow over the store-local days from..to (both or neither; neither = the whole history): rollups,
 * then every derived output and check, then the data version. Answers 202 with the flows.
 */
export async function handleRebuild(services: Services, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const key = await services.auth.require(req.headers);
  requireScope(key, 'admin');
  const text = (await readBody(req, 64 * 1024)).toString('utf8').trim();
  let body: Record<string, unknown> = {};
  if (text) {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'BAD_USER_INPUT', 'the body is not valid JSON', { argument: 'body' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BAD_USER_INPUT', 'the body must be a JSON object', { argument: 'body' });
  }
  const arg = (name: string): string | undefined => {
    const v = body[name] ?? url.searchParams.get(name) ?? undefined;
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new HttpError(400, 'BAD_USER_INPUT', `${name} must be a string`, { argument: name });
    return v;
  };
  const store = arg('store');
  const from = arg('from');
  const to = arg('to');
  for (const [name, v] of [['from', from], ['to', to]] as const) {
    if (v !== undefined && !validDate(v)) throw new HttpError(400, 'BAD_USER_INPUT', `${name}: "${v}" is not a YYYY-MM-DD date`, { argument: name });
  }
  if ((from === undefined) !== (to === undefined)) throw new HttpError(400, 'BAD_USER_INPUT', 'give both from and to, or neither (the whole history)', { argument: from ? 'to' : 'from' });
  if (from && to && from > to) throw new HttpError(400, 'BAD_USER_INPUT', `from ${from} is after to ${to}`, { argument: 'from' });
  let stores: string[];
  if (store) {
    if (!isValidStoreId(store)) throw new HttpError(400, 'BAD_USER_INPUT', `store "${store}" is not a valid store id`, { argument: 'store' });
    stores = [resolveStore(key, store)];
  } else {
    const known = await allStores(services.warehouse);
    stores = key.stores.length > 0 ? known.filter((s) => key.stores.includes(s)) : known;
  }
  const steps = flowSteps();
  const scope = from && to ? { from, to } : { full: true };
  const flows: StartedFlow[] = [];
  for (const s of stores) flows.push(await startFlow(analyticsQueue(services), { storeId: s, scope, reason: 'rebuild', steps }));
  services.log.info({ stores, scope, flows: flows.length }, 'rebuild enqueued');
  sendJson(res, 202, {
    scope,
    steps,
    flows: flows.map((f) => ({ storeId: f.storeId, flowId: f.flowId, rootJobId: f.rootJobId, statusUrl: `/v1/flows/${encodeURIComponent(f.storeId)}/${encodeURIComponent(f.flowId)}` })),
  });
}

/** GET /v1/flows/:store/:flowId — the state of a flow and of each of its steps. */
export async function handleFlowStatus(services: Services, req: http.IncomingMessage, res: http.ServerResponse, storeId: string, flowId: string): Promise<void> {
  const key = await services.auth.require(req.headers);
  requireScope(key, 'admin');
  resolveStore(key, storeId);
  const steps = flowSteps();
  const view = await describeFlow(services, storeId, flowId, steps);
  if (view.steps.every((s) => s.state === 'unknown')) throw new HttpError(404, 'NOT_FOUND', `no flow ${flowId} for store ${storeId}`);
  sendJson(res, 200, view);
}
