import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type http from 'node:http';
import type { Job, Queue } from 'bullmq';
import type { Services } from '../app/services.js';
import { requireScope, resolveStore } from '../auth/authenticate.js';
import { ENTITIES, fastValidators, type Validated } from '../ingest/validate/entities.js';
import { IMPORT_FORMATS, IMPORT_JOB, importJobId, importPayload, type ImportPayload } from '../jobs/import.job.js';
import { EVENTS_JOB, eventsJobId, liveEntity, type EventsPayload } from '../jobs/events.job.js';
import { isValidStoreId, storeTimezone } from '../ingest/stores.js';
import { isEventsOnly, prepareEvents, preparedBatches, unknownEntityMessage } from '../ingest/live-events.js';
import { parseDelimiter, parseEncodingName, parseMappingSpec } from '../ingest/parsers/index.js';
import { BodyTooLargeError, HttpError, readBody, sendJson } from './respond.js';

function safeFileName(name: string): string {
  return path.basename(name).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'upload';
}

/** What a client sees of an import job. */
export async function describeImportJob(queue: Queue, job: Job) {
  let state = await job.getState();
  if ((state === 'completed' && job.returnvalue == null) || (state === 'failed' && !job.failedReason)) {
    // The job finished after it was read: read it again, so a finished state comes with its result.
    const fresh = await queue.getJob(job.id!);
    if (fresh) {
      job = fresh;
      state = await job.getState();
    }
  }
  const data = job.data as ImportPayload;
  return {
    jobId: job.id,
    state,
    store: data.storeId,
    file: data.fileName,
    entity: data.entity ?? null,
    format: data.format ?? null,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason ?? null,
    result: job.returnvalue ?? null,
  };
}

/**
 * POST /v1/imports?entity=orders&format=csv&store=S&encoding=&delimiter=&sheet=&timezone=&map=&filename=
 * Streams the request body to DATA_DIR/incoming (hashing it on the way), then enqueues the
 * import with a deterministic job id: the same file for the same store and entity runs once.
 */
export async function handleUpload(services: Services, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const key = await services.auth.require(req.headers);
  requireScope(key, 'ingest');
  const q = url.searchParams;
  const storeId = resolveStore(key, q.get('store') ?? undefined, services.config.DEFAULT_STORE);
  if (!isValidStoreId(storeId)) throw new HttpError(400, 'BAD_USER_INPUT', `store "${storeId}" is not a valid store id`, { argument: 'store' });
  const fileName = safeFileName(q.get('filename') ?? 'upload');
  const arg = <T>(name: string, parse: (v: string) => T): T | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    try {
      return parse(v);
    } catch (err) {
      throw new HttpError(400, 'BAD_USER_INPUT', `${name}: ${(err as Error).message}`, { argument: name });
    }
  };
  const draft = {
    storeId,
    fileName,
    entity: q.get('entity') ?? undefined,
    format: q.get('format') ?? undefined,
    encoding: arg('encoding', parseEncodingName),
    delimiter: arg('delimiter', parseDelimiter),
    sheet: q.get('sheet') ? (/^\d+$/.test(q.get('sheet')!) ? Number(q.get('sheet')) : q.get('sheet')!) : undefined,
    timezone: q.get('timezone') ?? undefined,
    mapping: arg('map', parseMappingSpec),
  };
  // Check the arguments before reading a byte of the file.
  const precheck = importPayload.safeParse({ ...draft, path: '/x', contentHash: '0'.repeat(64) });
  if (!precheck.success) {
    const issue = precheck.error.issues[0]!;
    const argument = String(issue.path[0] ?? '');
    const hint = argument === 'entity' ? ` (one of ${ENTITIES.join(', ')})` : argument === 'format' ? ` (one of ${IMPORT_FORMATS.join(', ')})` : '';
    throw new HttpError(400, 'BAD_USER_INPUT', `${argument}: ${issue.message}${hint}`, { argument });
  }
  if (draft.timezone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: draft.timezone });
    } catch {
      throw new HttpError(400, 'BAD_USER_INPUT', `timezone: "${draft.timezone}" is not an IANA time zone`, { argument: 'timezone' });
    }
  }
  const limit = services.config.UPLOAD_MAX_BYTES;
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLargeError(limit);
  const dir = path.join(services.config.dataDir, 'incoming');
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.upload-${randomUUID()}`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      req,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > limit) return cb(new BodyTooLargeError(limit));
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      fs.createWriteStream(tmp),
    );
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  if (size === 0) {
    await fs.promises.rm(tmp, { force: true });
    throw new HttpError(400, 'BAD_USER_INPUT', 'the uploaded file is empty', { argument: 'body' });
  }
  const contentHash = hash.digest('hex');
  const finalPath = path.join(dir, `${contentHash.slice(0, 16)}-${fileName}`);
  await fs.promises.rename(tmp, finalPath);
  const payload = importPayload.parse({ ...draft, path: finalPath, contentHash });
  const jobId = importJobId(payload);
  const existing = await services.queues.ingest.getJob(jobId);
  const job = existing ?? (await services.queues.ingest.add(IMPORT_JOB, payload, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 2000 } }));
  services.log.info({ jobId, store: storeId, file: fileName, bytes: size, duplicate: !!existing }, 'import enqueued');
  sendJson(res, 202, { ...(await describeImportJob(services.queues.ingest, job)), duplicate: !!existing, bytes: size, statusUrl: `/v1/imports/${encodeURIComponent(jobId)}` });
}

/** GET /v1/imports/:jobId — state, progress and (when done) the batch summary. */
export async function handleImportStatus(services: Services, req: http.IncomingMessage, res: http.ServerResponse, jobId: string): Promise<void> {
  const key = await services.auth.require(req.headers);
  const job = await services.queues.ingest.getJob(jobId);
  const data = job?.data as ImportPayload | undefined;
  if (!job || !data || (key.stores.length > 0 && !key.stores.includes(data.storeId))) {
    throw new HttpError(404, 'NOT_FOUND', `no import job ${jobId}`);
  }
  sendJson(res, 200, await describeImportJob(services.queues.ingest, job));
}

/**
 * Splits a JSON or NDJSON body into records; names the line of a bad one. NDJSON is read as such
 * under an NDJSON content type, and under any other when the body is not one JSON value but its
 * first line is a JSON object (clients often send NDJSON as application/json). `arrayText` is the
 * body's text when the body is one JSON array of the records (the text the events job carries as
 * it is).
 */
export function parseEventsBody(body: string, contentType: string): { records: Record<string, unknown>[]; arrayText?: string } {
  const text = body.trim();
  if (!text) throw new HttpError(400, 'BAD_USER_INPUT', 'the body is empty: send a JSON object, a JSON array or NDJSON', { argument: 'body' });
  let values: unknown[];
  let arrayText: string | undefined;
  const declaredNdjson = /ndjson|jsonl|json-seq/.test(contentType);
  let parsed: unknown;
  let asJson: SyntaxError | undefined;
  if (!declaredNdjson) {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      asJson = err as SyntaxError;
    }
  }
  if (declaredNdjson || (asJson && isNdjson(text))) {
    values = ndjsonValues(text);
  } else if (asJson) {
    throw new HttpError(400, 'BAD_USER_INPUT', `the body is not valid JSON: ${asJson.message}`, { argument: 'body' });
  } else {
    const inner = parsed && typeof parsed === 'object' && !Array.isArray(parsed) && Array.isArray((parsed as { events?: unknown }).events) ? (parsed as { events: unknown[] }).events : parsed;
    values = Array.isArray(inner) ? inner : [inner];
    if (inner === parsed && Array.isArray(parsed)) arrayText = text;
  }
  const records = values.map((v, i) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'BAD_USER_INPUT', `record ${i + 1} is not a JSON object`, { argument: 'body', index: i });
    return v as Record<string, unknown>;
  });
  return { records, arrayText };
}

/**
 * True when a body that is not one JSON value reads as NDJSON sent under a JSON content type: it
 * has more than one line and its first line is a JSON object on its own. Its later lines are then
 * parsed as NDJSON (a bad one is named by its number); any other body keeps JSON's own error.
 */
function isNdjson(text: string): boolean {
  const firstBreak = text.indexOf('\n');
  if (firstBreak < 0) return false;
  try {
    const first: unknown = JSON.parse(text.slice(0, firstBreak));
    return first !== null && typeof first === 'object' && !Array.isArray(first);
  } catch {
    return false;
  }
}

/** The values of an NDJSON body, one per non-blank line; a line that is not JSON is a 400 naming it. */
function ndjsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      values.push(JSON.parse(line));
    } catch (err) {
      throw new HttpError(400, 'BAD_USER_INPUT', `line ${i + 1} is not valid JSON: ${(err as Error).message}`, { argument: 'body', line: i + 1 });
    }
  });
  return values;
}

export interface EventsAnswer {
  jobId: string;
  duplicate: boolean;
  received: number;
  accepted: number;
  rejected: { index: number; field: string; reason: string; message: string }[];
}

const validatorCache = new Map<string, ReturnType<typeof fastValidators>>();
/** The validators of a time zone, built once (each with exactly its zod schema's rules). */
function validatorsFor(tz: string) {
  let v = validatorCache.get(tz);
  if (!v) validatorCache.set(tz, (v = fastValidators(tz)));
  return v;
}

/**
 * Validates a live batch (so the answer can say why each bad record is refused), then enqueues
 * the whole batch durably; the job stores the good records and records the rejects.
 * `recordsJson`, when the caller has it, is the JSON text of exactly `records` as an array (the
 * job carries that text; see `eventsPayload`); without it the records are serialised.
 */
export async function acceptEvents(services: Services, storeId: string, records: Record<string, unknown>[], bodyForId: string, recordsJson?: string): Promise<EventsAnswer> {
  const max = services.config.EVENTS_MAX_BATCH;
  if (records.length > max) throw new HttpError(413, 'BATCH_TOO_LARGE', `the batch has ${records.length} records; the limit is ${max}`, { limit: max });
  const tz = await storeTimezone(services.warehouse, storeId, services.config.DEFAULT_TIMEZONE);
  const validators = validatorsFor(tz);
  const jobId = eventsJobId(storeId, bodyForId);
  const rejected: EventsAnswer['rejected'] = [];
  // With an events worker in this process, validate by preparing the batch's rows (the same rules
  // and rejects), which the worker then takes instead of validating the records again.
  const prepared = preparedBatches.wanted && isEventsOnly(records) ? prepareEvents({ batchId: `${jobId}__1`, jobId, storeId, timezone: tz, records }, validators.events) : undefined;
  if (prepared) {
    for (const r of prepared.rejects) rejected.push({ index: r.rowNumber - 1, field: r.field, reason: r.reason, message: r.message });
  } else records.forEach((r, index) => {
    const entity = liveEntity(r);
    if (!entity) {
      rejected.push({ index, field: 'entity', reason: 'invalid_enum', message: unknownEntityMessage(r) });
      return;
    }
    const { entity: _e, ...fields } = r;
    const result = (validators[entity] as (f: Record<string, unknown>) => Validated<unknown>)(fields);
    if (!result.ok) rejected.push({ index, field: result.problems[0]!.field, reason: result.problems[0]!.reason, message: result.problems.map((p) => p.message).join('; ') });
  });
  const existing = await services.queues.events.getJob(jobId);
  if (!existing) {
    // Kept before the job exists: the worker may take the job before add() returns.
    if (prepared) preparedBatches.put(jobId, tz, prepared);
    const data: EventsPayload = { storeId, receivedAt: Date.now(), count: records.length, recordsJson: recordsJson ?? JSON.stringify(records) };
    await services.queues.events.add(EVENTS_JOB, data, { jobId, attempts: 5, backoff: { type: 'exponential', delay: 500 } });
  }
  return { jobId, duplicate: !!existing, received: records.length, accepted: records.length - rejected.length, rejected };
}

/** POST /v1/events?store=S — JSON object, JSON array, {"events": [...]}, or NDJSON. */
export async function handleEvents(services: Services, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const key = await services.auth.require(req.headers);
  requireScope(key, 'ingest');
  const storeId = resolveStore(key, url.searchParams.get('store') ?? undefined, services.config.DEFAULT_STORE);
  if (!isValidStoreId(storeId)) throw new HttpError(400, 'BAD_USER_INPUT', `store "${storeId}" is not a valid store id`, { argument: 'store' });
  const body = (await readBody(req, services.config.EVENTS_MAX_BODY_BYTES)).toString('utf8');
  const { records, arrayText } = parseEventsBody(body, String(req.headers['content-type'] ?? ''));
  const answer = await acceptEvents(services, storeId, records, body, arrayText);
  sendJson(res, 202, answer);
}
