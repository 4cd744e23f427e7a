import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../schema/context.js';
import { DateRangeInput } from '../schema/date-range.input.js';
import { ImportJob, RebuildFlow, RetriedJobs } from '../schema/admin.type.js';
import { requireKey } from '../auth/auth-checker.js';
import { AuthError } from '../auth/authenticate.js';
import { badUserInput } from '../http/errors.js';
import { IMPORT_JOB, importJobId, importPayload } from '../jobs/import.job.js';
import { retryFailedJobs, UnknownQueueError } from '../jobs/retry.js';
import { allStores, analyticsQueue, startFlow } from '../jobs/analytics.flow.js';
import { flowSteps } from '../jobs/analytics.job.js';
import { storeArgument } from '../auth/store-access.js';
import { resolveReadStore } from './store-scope.js';

/** SHA-256 of a file, hex, streamed. */
async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The absolute path of a file under DATA_DIR/incoming named by `name` (relative to that folder);
 * BAD_USER_INPUT naming `path` when it leaves the folder (also through a symlink), is missing,
 * is not a regular file or is empty.
 */
async function incomingFile(dataDir: string, name: string): Promise<string> {
  const root = await fs.promises.realpath(path.join(dataDir, 'incoming')).catch(() => undefined);
  if (!root) throw badUserInput('path', 'there is no DATA_DIR/incoming folder yet: upload with POST /v1/imports or copy the file there first');
  const wanted = path.resolve(root, name);
  const real = await fs.promises.realpath(wanted).catch(() => undefined);
  if (!real || !(real + path.sep).startsWith(root + path.sep) || real === root) throw badUserInput('path', `no file "${name.slice(0, 200)}" under DATA_DIR/incoming`);
  const stat = await fs.promises.stat(real);
  if (!stat.isFile()) throw badUserInput('path', `"${name.slice(0, 200)}" is not a file`);
  if (stat.size === 0) throw badUserInput('path', `"${name.slice(0, 200)}" is empty`);
  return real;
}

@Resolver()
export class AdminResolver {
  @Authorized('ingest')
  @Mutation(() => ImportJob, {
    description:
      'Queues the import of a file already under DATA_DIR/incoming (uploaded earlier, or copied there on the server), like POST /v1/imports does for an upload. ' +
      'The same file for the same store and entity is imported once. Ingest scope.',
  })
  async startImport(
    @Ctx() ctx: RequestContext,
    @Arg('path', () => String, { description: 'The file, relative to DATA_DIR/incoming.' }) file: string,
    @Arg('store', () => ID, { nullable: true, description: 'Store to import into; omitted: the key\'s only store, or DEFAULT_STORE.' }) store: string | null,
    @Arg('entity', () => String, { nullable: true, description: 'What the file holds: customers, products, orders, order_items, payments, inventory or events (not needed for format online-retail).' }) entity: string | null,
    @Arg('format', () => String, { nullable: true, description: 'csv, jsonl, json, xlsx or online-retail; omitted: detected from the file.' }) format: string | null,
    @Arg('encoding', () => String, { nullable: true, description: 'utf-8 or latin1; omitted: utf-8.' }) encoding: string | null,
    @Arg('delimiter', () => String, { nullable: true, description: 'CSV delimiter (one character); omitted: detected.' }) delimiter: string | null,
    @Arg('sheet', () => String, { nullable: true, description: 'XLSX sheet name or 1-based number; omitted: the first.' }) sheet: string | null,
    @Arg('timezone', () => String, { nullable: true, description: 'IANA time zone of timestamps without an offset; omitted: the store\'s.' }) timezone: string | null,
    @Arg('mapping', () => GraphQLJSONObject, { nullable: true, description: 'Source column → field names, e.g. {"Order ID": "order_id"}.' }) mapping: Record<string, unknown> | null,
  ): Promise<ImportJob> {
    // As POST /v1/imports: without `store`, the key's only store or DEFAULT_STORE.
    const storeId = storeArgument(ctx, store);
    if (timezone) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      } catch {
        throw badUserInput('timezone', `"${timezone.slice(0, 80)}" is not an IANA time zone`);
      }
    }
    const real = await incomingFile(ctx.services.config.dataDir, file);
    const draft = {
      storeId,
      path: real,
      fileName: path.basename(real),
      contentHash: '0'.repeat(64),
      entity: entity ?? undefined,
      format: format ?? undefined,
      encoding: encoding ?? undefined,
      delimiter: delimiter ?? undefined,
      sheet: sheet === null || sheet === undefined ? undefined : /^\d+$/.test(sheet) ? Number(sheet) : sheet,
      timezone: timezone ?? undefined,
      mapping: mapping ?? undefined,
    };
    // Check the arguments before hashing the file.
    const precheck = importPayload.safeParse(draft);
    if (!precheck.success) {
      const issue = precheck.error.issues[0]!;
      throw badUserInput(String(issue.path[0] ?? 'path'), issue.message);
    }
    const payload = importPayload.parse({ ...draft, contentHash: await fileHash(real) });
    const jobId = importJobId(payload);
    const queue = ctx.services.queues.ingest;
    const existing = await queue.getJob(jobId);
    const job = existing ?? (await queue.add(IMPORT_JOB, payload, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 2000 } }));
    ctx.log.info({ jobId, store: storeId, file: payload.fileName, duplicate: !!existing }, 'import enqueued (startImport)');
    return {
      jobId,
      state: await job.getState(),
      store: storeId,
      file: payload.fileName,
      entity: payload.entity ?? null,
      format: payload.format ?? null,
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason || null,
      duplicate: !!existing,
    };
  }

  @Authorized('admin')
  @Mutation(() => [RetriedJobs], { description: 'Retries every failed job of one queue, or of all queues, with fresh attempts; a failed analytics step resumes its flow. Admin scope, for keys that see every store.' })
  async retryFailedJobs(
    @Ctx() ctx: RequestContext,
    @Arg('queue', () => String, { nullable: true, description: 'Queue name (maintenance, ingest, events, analytics); omitted: all queues.' }) queue: string | null,
  ): Promise<RetriedJobs[]> {
    const key = requireKey(ctx);
    // Queues hold jobs of every store.
    if (key.stores.length > 0) throw new AuthError('FORBIDDEN', 'retryFailedJobs acts on the jobs of every store: it needs an admin key that is not limited to stores');
    try {
      const results = await retryFailedJobs(ctx.services.queues, { queue: queue ?? undefined });
      ctx.log.info({ queue, retried: results.reduce((s, r) => s + r.retried, 0) }, 'failed jobs retried');
      return results;
    } catch (err) {
      if (err instanceof UnknownQueueError) throw badUserInput('queue', err.message);
      throw err;
    }
  }

  @Authorized('admin')
  @Mutation(() => [RebuildFlow], {
    description:
      'Rebuilds the aggregates (rollups, then every derived output and check, then the data version) of one store, or of every store the key sees, ' +
      'over a range of store-local days or the whole history. Queued; follow each flow with GET /v1/flows/:store/:flowId. Admin scope.',
  })
  async rebuildAggregates(
    @Ctx() ctx: RequestContext,
    @Arg('store', () => ID, { nullable: true, description: 'Store to rebuild; omitted: every store the key sees.' }) store: string | null,
    @Arg('range', () => DateRangeInput, { nullable: true, description: 'Store-local days to rebuild (inclusive); omitted: the whole history.' }) range: DateRangeInput | null,
  ): Promise<RebuildFlow[]> {
    const key = requireKey(ctx);
    // A rebuild may cover the whole history: no range limit, only a valid order of the ends.
    if (range && range.to < range.from) throw badUserInput('range.to', `${range.to} is before range.from ${range.from}`);
    let stores: string[];
    if (store !== null && store !== undefined) stores = [await resolveReadStore(ctx, store)];
    else {
      const known = await allStores(ctx.services.warehouse);
      stores = key.stores.length > 0 ? known.filter((s) => key.stores.includes(s)) : known;
    }
    const steps = flowSteps();
    const scope = range ? { from: range.from, to: range.to } : { full: true };
    const out: RebuildFlow[] = [];
    for (const s of stores) {
      const flow = await startFlow(analyticsQueue(ctx.services), { storeId: s, scope, reason: 'rebuild', steps });
      out.push({ store: s, flowId: flow.flowId, rootJobId: flow.rootJobId, steps: flow.steps });
    }
    ctx.log.info({ stores, scope }, 'rebuild enqueued (rebuildAggregates)');
    return out;
  }
}
