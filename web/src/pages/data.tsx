import { useState } from 'preact/hooks';
import { describeError, gql, queryFields, requireQueries } from '../api/client';
import { DATA_QUALITY, IMPORT_BATCH, IMPORTS, PIPELINE, RETRY_FAILED } from '../api/documents';
import { useQuery } from '../api/use-query';
import { Panel, QueryView } from '../components/states';
import { formatCount } from '../format';
import type { PageProps } from './page-props';

interface ImportRow {
  batchId: string;
  source: string;
  fileName: string;
  entity: string;
  format: string;
  status: string;
  read: number;
  inserted: number;
  unchanged: number;
  rejected: number;
  startedAt: string;
  finishedAt: string | null;
  error: string;
}
interface ImportDetail extends ImportRow {
  rejectsByReason: Array<{ reason: string; count: number }>;
  sampleRejects: Array<{ rowNumber: number; entity: string; field: string; reason: string; message: string; raw: string }>;
}
interface QualityCheck {
  table: string;
  check: string;
  dimension: string;
  value: number;
  threshold: number;
  status: 'PASS' | 'WARN' | 'FAIL';
  message: string;
  checkedAt: string;
  sampleIds: string[];
}
interface PipelineRun {
  runId: string;
  jobName: string;
  queue: string;
  jobId: string;
  status: string;
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
  rows: number;
  error: string;
}
interface Pipeline {
  /** null when the API process has no queue connection. */
  queues: Array<{ queue: string; waiting: number; active: number; delayed: number; failed: number; completed: number }> | null;
  recentRuns: PipelineRun[];
  failures: PipelineRun[];
}

const when = (s: string | null | undefined) => (s ? s.slice(0, 19).replace('T', ' ') : '—');

function ImportDetailView(props: { batchId: string; store: string; apiKey: string }) {
  const state = useQuery(
    async (signal) => {
      await requireQueries(['importBatch']);
      return (await gql<{ importBatch: ImportDetail | null }>(IMPORT_BATCH, { id: props.batchId }, { signal })).importBatch;
    },
    [props.batchId, props.apiKey],
  );
  return (
    <QueryView state={state} what="the import" isEmpty={(d) => d === null} empty="This import is no longer known.">
      {(d) => (
        <div class="import-detail" data-testid="import-detail">
          <h3>Rejects by reason</h3>
          {d!.rejectsByReason.length === 0 ? (
            <p class="note">No rejected rows.</p>
          ) : (
            <ul class="reasons">
              {d!.rejectsByReason.map((r) => (
                <li>
                  <code>{r.reason}</code> <strong>{formatCount(r.count)}</strong>
                </li>
              ))}
            </ul>
          )}
          {d!.sampleRejects.length ? (
            <>
              <h3>Sample rejected rows</h3>
              <div class="table-wrap">
                <table>
                  <caption class="sr-only">Sample of rejected rows</caption>
                  <thead>
                    <tr>
                      <th scope="col" class="num">Row</th>
                      <th scope="col">Field</th>
                      <th scope="col">Reason</th>
                      <th scope="col">Message</th>
                      <th scope="col">Record</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d!.sampleRejects.map((r) => (
                      <tr>
                        <td class="num">{r.rowNumber}</td>
                        <td>{r.field}</td>
                        <td>
                          <code>{r.reason}</code>
                        </td>
                        <td>{r.message}</td>
                        <td>
                          <code class="raw">{r.raw.length > 160 ? r.raw.slice(0, 160) + '…' : r.raw}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ) : null}
        </div>
      )}
    </QueryView>
  );
}

function Imports(props: PageProps) {
  const [open, setOpen] = useState<string | null>(null);
  const state = useQuery(
    async (signal) => {
      await requireQueries(['imports']);
      return (await gql<{ imports: ImportRow[] }>(IMPORTS, { store: props.store || null }, { signal })).imports;
    },
    [props.store, props.apiKey],
  );
  return (
    <Panel title="Imports" id="imports" wide>
      <QueryView state={state} what="imports" isEmpty={(d) => d.length === 0} empty="No imports yet.">
        {(rows) => (
          <div class="table-wrap">
            <table data-testid="imports-table">
              <caption class="sr-only">Latest imports with their counts</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Source</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Read</th>
                  <th scope="col" class="num">Inserted</th>
                  <th scope="col" class="num">Unchanged</th>
                  <th scope="col" class="num">Rejected</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <>
                    <tr>
                      <td>{when(r.startedAt)}</td>
                      <td>
                        {r.source}
                        {r.fileName && r.fileName !== r.source ? <span class="muted"> {r.fileName}</span> : null}
                      </td>
                      <td>{r.entity}</td>
                      <td>
                        <span class={`badge status-${r.status}`}>{r.status}</span>
                        {r.error ? <span class="muted"> {r.error}</span> : null}
                      </td>
                      <td class="num">{formatCount(r.read)}</td>
                      <td class="num">{formatCount(r.inserted)}</td>
                      <td class="num">{formatCount(r.unchanged)}</td>
                      <td class="num">{formatCount(r.rejected)}</td>
                      <td>
                        <button type="button" aria-expanded={open === r.batchId} onClick={() => setOpen(open === r.batchId ? null : r.batchId)}>
                          {open === r.batchId ? 'Hide' : 'Rejects'}
                          <span class="sr-only"> of import {r.batchId}</span>
                        </button>
                      </td>
                    </tr>
                    {open === r.batchId ? (
                      <tr class="detail-row">
                        <td colSpan={9}>
                          <ImportDetailView batchId={r.batchId} store={props.store} apiKey={props.apiKey} />
                        </td>
                      </tr>
                    ) : null}
                  </>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </Panel>
  );
}

function Quality(props: PageProps) {
  const state = useQuery(
    async (signal) => {
      await requireQueries(['dataQuality']);
      return (await gql<{ dataQuality: QualityCheck[] }>(DATA_QUALITY, { store: props.store || null }, { signal })).dataQuality;
    },
    [props.store, props.apiKey],
  );
  return (
    <Panel title="Data quality" id="quality" wide>
      <QueryView state={state} what="data-quality checks" isEmpty={(d) => d.length === 0} empty="No data-quality run yet for this store.">
        {(unsorted) => {
          // Failures first: they are what needs attention.
          const order = { FAIL: 0, WARN: 1, PASS: 2 };
          const rows = [...unsorted].sort((a, b) => order[a.status] - order[b.status]);
          const counts = { PASS: 0, WARN: 0, FAIL: 0 };
          rows.forEach((r) => counts[r.status]++);
          return (
            <>
              <p class="summary">
                <span class="badge status-PASS">{counts.PASS} pass</span> <span class="badge status-WARN">{counts.WARN} warn</span>{' '}
                <span class="badge status-FAIL">{counts.FAIL} fail</span> <span class="muted">checked {when(rows[0]?.checkedAt)}</span>
              </p>
              <div class="table-wrap">
                <table data-testid="quality-table">
                  <caption class="sr-only">Data-quality checks of the latest run</caption>
                  <thead>
                    <tr>
                      <th scope="col">Status</th>
                      <th scope="col">Table</th>
                      <th scope="col">Check</th>
                      <th scope="col">Dimension</th>
                      <th scope="col" class="num">Value</th>
                      <th scope="col" class="num">Threshold</th>
                      <th scope="col">Message</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr>
                        <td>
                          <span class={`badge status-${r.status}`}>{r.status}</span>
                        </td>
                        <td>{r.table}</td>
                        <td>{r.check}</td>
                        <td>{r.dimension}</td>
                        <td class="num">{Number.isInteger(r.value) ? r.value : r.value.toFixed(4)}</td>
                        <td class="num">{r.threshold}</td>
                        <td>
                          {r.message}
                          {r.sampleIds.length ? <span class="muted"> e.g. {r.sampleIds.slice(0, 3).join(', ')}</span> : null}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </QueryView>
    </Panel>
  );
}

function PipelinePanel(props: PageProps) {
  const state = useQuery(
    async (signal) => {
      await requireQueries(['pipeline']);
      return (await gql<{ pipeline: Pipeline }>(PIPELINE, { store: props.store || null }, { signal })).pipeline;
    },
    [props.store, props.apiKey],
  );
  const [retry, setRetry] = useState<{ busy: boolean; message?: string; error?: unknown }>({ busy: false });
  // Retrying needs the mutation on the server and an admin key that sees every store.
  const hasMutation = useQuery(async () => (await queryFields())?.has('Mutation.retryFailedJobs') ?? true, [props.apiKey]);
  const canRetry = props.isAdmin && hasMutation.status === 'ok' && hasMutation.data;
  const doRetry = async (queue: string | null) => {
    setRetry({ busy: true });
    try {
      const d = await gql<{ retryFailedJobs: Array<{ queue: string; retried: number }> }>(RETRY_FAILED, { queue });
      const n = d.retryFailedJobs.reduce((s, r) => s + r.retried, 0);
      setRetry({ busy: false, message: `${n} failed job${n === 1 ? '' : 's'} sent back to ${queue ? `the ${queue} queue` : 'their queues'}.` });
      state.reload();
    } catch (error) {
      setRetry({ busy: false, error });
    }
  };
  const failedInQueues = state.status === 'ok' ? (state.data.queues ?? []).reduce((s, q) => s + q.failed, 0) : 0;
  const retryNote = !props.isAdmin ? (
    <p class="note">Retrying failed jobs needs an admin key that sees every store.</p>
  ) : hasMutation.status === 'ok' && !hasMutation.data ? (
    <p class="note">This server cannot retry jobs yet (no retryFailedJobs mutation).</p>
  ) : null;
  return (
    <>
      <Panel title="Queues" id="queues">
        <QueryView state={state} what="the pipeline" isEmpty={(p) => !p.queues} empty="This API process does not see the job queues.">
          {(p) => (
            <div class="table-wrap">
              <table data-testid="queues-table">
                <caption class="sr-only">Job queues</caption>
                <thead>
                  <tr>
                    <th scope="col">Queue</th>
                    <th scope="col" class="num">Waiting</th>
                    <th scope="col" class="num">Active</th>
                    <th scope="col" class="num">Delayed</th>
                    <th scope="col" class="num">Failed</th>
                    {canRetry ? <th scope="col"><span class="sr-only">Retry</span></th> : null}
                  </tr>
                </thead>
                <tbody>
                  {(p.queues ?? []).map((q) => (
                    <tr>
                      <th scope="row">{q.queue}</th>
                      <td class="num">{formatCount(q.waiting)}</td>
                      <td class="num">{formatCount(q.active)}</td>
                      <td class="num">{formatCount(q.delayed)}</td>
                      <td class="num">{formatCount(q.failed)}</td>
                      {canRetry ? (
                        <td>
                          {q.failed > 0 ? (
                            <button type="button" disabled={retry.busy} onClick={() => doRetry(q.queue)} aria-label={`Retry the failed jobs of the ${q.queue} queue`}>
                              Retry
                            </button>
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </Panel>
      <Panel
        title="Failed jobs"
        id="failures"
        actions={
          canRetry && state.status === 'ok' && (state.data.failures.length > 0 || failedInQueues > 0) ? (
            <button type="button" class="primary" disabled={retry.busy} onClick={() => doRetry(null)} data-testid="retry-all">
              {retry.busy ? 'Retrying…' : 'Retry all failed jobs'}
            </button>
          ) : null
        }
      >
        {retry.message ? (
          <p class="note" role="status" data-testid="retry-result">
            {retry.message}
          </p>
        ) : null}
        {retry.error ? (
          <p class="state error" role="alert">
            {describeError(retry.error).title}: {describeError(retry.error).detail}
          </p>
        ) : null}
        <QueryView state={state} what="failed jobs" isEmpty={(p) => p.failures.length === 0 && failedInQueues === 0} empty="No failed jobs.">
          {(p) => (
            <>
              {retryNote}
              {failedInQueues > 0 ? (
                <p class="note">
                  {formatCount(failedInQueues)} failed job{failedInQueues === 1 ? '' : 's'} in the queues (see Queues).
                </p>
              ) : null}
              {p.failures.length > 0 ? (
                <ul class="failures" data-testid="failures">
                  {p.failures.map((f) => (
                    <li>
                      <strong>{f.jobName}</strong>{' '}
                      <span class="muted">
                        ({f.queue}, job {f.jobId}, attempt {f.attempt}, {when(f.finishedAt ?? f.startedAt)})
                      </span>
                      <div class="reason">{f.error || 'no reason recorded'}</div>
                    </li>
                  ))}
                </ul>
              ) : null}
            </>
          )}
        </QueryView>
      </Panel>
      <Panel title="Pipeline runs" id="runs" wide>
        <QueryView state={state} what="pipeline runs" isEmpty={(p) => p.recentRuns.length === 0} empty="No pipeline runs yet.">
          {(p) => (
            <div class="table-wrap">
              <table data-testid="runs-table">
                <caption class="sr-only">Recent pipeline runs</caption>
                <thead>
                  <tr>
                    <th scope="col">Started</th>
                    <th scope="col">Job</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">Duration</th>
                    <th scope="col" class="num">Rows</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {p.recentRuns.map((r) => (
                    <tr>
                      <td>{when(r.startedAt)}</td>
                      <td>
                        {r.jobName} <span class="muted">{r.queue}</span>
                      </td>
                      <td>
                        <span class={`badge status-${r.status}`}>{r.status}</span>
                      </td>
                      <td class="num">{(r.durationMs / 1000).toFixed(1)} s</td>
                      <td class="num">{formatCount(r.rows)}</td>
                      <td>{r.error}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </Panel>
    </>
  );
}

/** Data: imports with rejects, data-quality checks, pipeline runs and failed jobs. */
export function DataPage(props: PageProps) {
  return (
    <>
      <h1 class="page-title">Data</h1>
      <div class="grid">
        <Imports {...props} />
        <Quality {...props} />
        <PipelinePanel {...props} />
      </div>
    </>
  );
}

