import { parseArgs } from 'node:util';
import { NO_API_KEY_MESSAGE, cliApiKey, defaultIO, serverBaseUrl, unreachableMessage, type CommandIO } from './server-connection.js';

const HELP = `Usage: ecomm rebuild [--store S] [--from YYYY-MM-DD --to YYYY-MM-DD] [--no-wait]

Asks the running server (POST /v1/rebuild, admin key) to rebuild the analytics of a store — or of
every store — from the facts: the daily rollups of the store-local days from..to (default: the
whole history), then cohorts, segments, affinity, funnel, anomalies, data quality, and finally
the store's data version (so cached API answers refresh). Shows each flow's progress until done.

Options:
  --store S        one store (default: every store the key may see)
  --from D --to D  store-local dates, inclusive; both or neither
  --no-wait        print the flow ids and exit
  -h, --help

Environment: ECOMM_URL (default http://localhost:4000), ECOMM_API_KEY (default: the admin key
file DATA_DIR/admin-key, DATA_DIR default ./.data).
`;

interface StepView {
  step: string;
  state: string;
  attemptsMade: number;
  failedReason: string | null;
  rows: number | null;
  durationMs: number | null;
}
interface FlowView {
  storeId: string;
  flowId: string;
  state: 'waiting' | 'running' | 'completed' | 'failed';
  steps: StepView[];
}
interface RebuildAnswer {
  scope: { from?: string; to?: string; full?: boolean };
  steps: string[];
  flows: Array<{ storeId: string; flowId: string; statusUrl: string }>;
  error?: { code: string; message: string };
}

function progressLine(v: FlowView): string {
  const done = v.steps.filter((s) => s.state === 'completed').length;
  const current = v.steps.find((s) => s.state === 'active') ?? v.steps.find((s) => s.state === 'failed');
  return `${v.storeId}: ${v.state.padEnd(9)} ${done}/${v.steps.length} steps${current ? ` (${current.state === 'failed' ? 'failed at' : 'running'} ${current.step})` : ''}`;
}

/**
 * `ecomm rebuild`: enqueues through the running server (one process holds the embedded engine,
 * so the CLI never opens the warehouse itself) and follows the flows until they end. Exit code 0
 * when every flow completed, 1 when one failed or the server refused, 2 for bad arguments.
 */
export async function rebuildCommand(args: string[], io: CommandIO = defaultIO): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        store: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'no-wait': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (!!values.from !== !!values.to) {
    io.err(`Give both --from and --to, or neither (the whole history).\n`);
    return 2;
  }
  const base = serverBaseUrl();
  const key = cliApiKey();
  if (!key) {
    io.err(NO_API_KEY_MESSAGE);
    return 2;
  }
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let res: Response;
  try {
    res = await fetch(`${base}/v1/rebuild`, { method: 'POST', headers, body: JSON.stringify({ store: values.store, from: values.from, to: values.to }) });
  } catch (err) {
    io.err(unreachableMessage(base, err));
    return 1;
  }
  const answer = (await res.json().catch(() => ({}))) as RebuildAnswer;
  if (!res.ok) {
    io.err(`Rebuild refused (${res.status} ${answer.error?.code ?? ''}): ${answer.error?.message ?? 'unknown error'}\n`);
    return 1;
  }
  const what = answer.scope.full ? 'the whole history' : `${answer.scope.from} to ${answer.scope.to}`;
  io.out(`Queued ${answer.flows.length} rebuild flow(s) over ${what}: ${answer.steps.join(' → ')}\n`);
  for (const f of answer.flows) io.out(`  ${f.storeId}  flow ${f.flowId}\n`);
  if (values['no-wait'] || answer.flows.length === 0) return 0;

  const t0 = Date.now();
  const views = new Map<string, FlowView>();
  let lastLine = 0;
  for (;;) {
    for (const f of answer.flows) {
      if (['completed', 'failed'].includes(views.get(f.flowId)?.state ?? '')) continue;
      const r = await fetch(`${base}${f.statusUrl}`, { headers }).catch(() => undefined);
      if (!r?.ok) {
        io.err(`\nLost flow ${f.flowId} of ${f.storeId}: ${r ? r.status : 'server unreachable'}\n`);
        return 1;
      }
      views.set(f.flowId, (await r.json()) as FlowView);
    }
    const all = [...views.values()];
    const done = all.filter((v) => v.state === 'completed' || v.state === 'failed').length;
    const line = `${done}/${answer.flows.length} flows done · ${((Date.now() - t0) / 1000).toFixed(1)} s · ` + all.filter((v) => v.state !== 'completed').slice(0, 3).map(progressLine).join(' · ');
    if (io.isTTY) io.err(`\r${line}\x1b[K`);
    else if (Date.now() - lastLine > 2000) {
      io.err(line + '\n');
      lastLine = Date.now();
    }
    if (done === answer.flows.length) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (io.isTTY) io.err('\n');
  let failed = 0;
  for (const v of views.values()) {
    io.out(`${v.storeId}: ${v.state}\n`);
    for (const s of v.steps) {
      const extra = s.state === 'failed' ? ` after ${s.attemptsMade} attempt(s): ${s.failedReason}` : s.rows !== null ? ` · ${s.rows} rows · ${s.durationMs ?? 0} ms` : '';
      io.out(`  ${s.step.padEnd(10)} ${s.state}${extra}\n`);
    }
    if (v.state === 'failed') failed++;
  }
  io.out(`Rebuild ${failed ? `finished with ${failed} failed flow(s)` : 'completed'} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (failed) io.err('Failed steps stay queued as failed; fix the cause and retry them (retryFailedJobs / the API mutation).\n');
  return failed ? 1 : 0;
}
