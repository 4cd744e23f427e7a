/**
 * The Online Retail import executed by the engine: the same rules and the same stored rows as the
 * streaming mapper (./online-retail.ts + the pipeline), ≈ 7× faster on the real file.
 *
 * The engine reads the file itself (`file()`, LineAsString: each line with its line number; a
 * server that cannot read this disk gets the lines sent instead) into a working table, copies it
 * to the bronze table, splits the lines into fields, and runs the line rules as SQL over working
 * tables kept in the engine's memory (clickhouse/0010, 0011). The value rules stay in TypeScript:
 * each distinct value of each column (a file of 541,909 lines has ≈ 64,000) goes through the same
 * functions the mapper uses, and the results are joined to the lines. Items and orders are built and written in SQL with the pipeline's row hash and
 * idempotency; the few thousand customer versions and products go through the ordinary pipeline,
 * as the mapper's do.
 *
 * It takes only files it can read exactly as the CSV reader would: comma-separated, the standard
 * header, no multi-line or malformed records, no CR inside a line, at most `maxBytes` (the working
 * tables' memory), not on a cluster. For anything else
 * {@link importOnlineRetailInEngine} returns `undefined` before it writes anything, and the caller
 * uses the streaming path. Lines with quotes (≈ 1 %) are split by the CSV reader's own
 * `splitFields`.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Warehouse } from '../../warehouse/client.js';
import { TextBytes, tsvField } from '../../warehouse/text-bytes.js';
import { openRecordStream } from '../parsers/index.js';
import { splitFields } from '../parsers/csv.js';
import { runBatch, writeBatchLog, type BatchCounts, type BatchResult, type BatchStatus, type IncomingRecord } from '../pipeline.js';
import { toChTime, type EntityRecord } from '../validate/entities.js';
import { ORDER_ITEM_SPEC, ORDER_SPEC } from '../facts.js';
import { decimal } from '../validate/values.js';
import { wallClockToUtc, assertTimeZone } from './timezone.js';
import {
  countryCode,
  derivedRecords,
  formatMoney,
  ID_LIMIT,
  invoiceType,
  isMerchandiseStockCode,
  MONEY_LIMIT,
  normalizeCustomerId,
  normalizeStockCode,
  ONLINE_RETAIL_CURRENCY,
  ONLINE_RETAIL_FORMAT,
  parseInvoiceDate,
  parseMoney,
  QUANTITY_LIMIT,
  REJECT_MESSAGES,
  type OrderState,
  type ProductState,
} from './online-retail.js';

export interface EngineImportOptions {
  wh: Warehouse;
  storeId: string;
  batchId: string;
  /** The file as uploaded (DATA_DIR/incoming/…), local to the embedded engine. */
  path: string;
  /** File name for the batch and bronze rows. */
  source: string;
  contentHash?: string;
  jobId?: string;
  timezone: string;
  retentionDays: number;
  /** `--encoding`, when given. */
  encoding?: 'utf-8' | 'latin1';
  /**
   * How the engine gets the file: `file` — it reads it (`file()`; the embedded engine, whose disk
   * this is), `upload` — this process sends its lines (any engine). Default: `file` when embedded.
   */
  transfer?: 'file' | 'upload';
  /**
   * Largest file (uncompressed bytes) to take; a larger one is declined (the working tables live
   * in the engine's memory). Default {@link ENGINE_IMPORT_MAX_BYTES}.
   */
  maxBytes?: number;
  onProgress?: (counts: BatchCounts) => void | Promise<void>;
}

/** The default of {@link EngineImportOptions.maxBytes} (the config's ONLINE_RETAIL_ENGINE_MAX_BYTES). */
export const ENGINE_IMPORT_MAX_BYTES = 64 * 1024 ** 2;

/** The header keys (as the header mapping spells them) in the file's column order. */
const COLUMNS = ['invoiceno', 'stockcode', 'description', 'quantity', 'invoicedate', 'unitprice', 'customerid', 'country'] as const;
type Column = (typeof COLUMNS)[number];

const STAGING_TABLES = ['staging_online_retail_text', 'staging_online_retail_fields', 'staging_online_retail_values', 'staging_online_retail_lines', 'staging_online_retail_items', 'staging_online_retail_orders'];

/**
 * Windows-1252 characters for bytes 0x80–0x9F, as the CSV reader decodes latin1 (src/ingest/parsers/
 * detect.ts); the five bytes 1252 leaves undefined stay C1 controls there and here.
 */
const C1_FROM = '\u0080\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008E\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009E\u009F';
const C1_TO = '\u20AC\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u017D\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u017E\u0178';

/**
 * SQL of the decoded lines of the file: `_row_number` (0 = the header line) and `l`, the line as
 * the CSV reader decodes it, without its CR. The engine reads the file itself (`path`: bound as
 * {path:String}) or the lines this process sent (staging_online_retail_file, {batch:String}).
 */
function linesSql(encoding: 'utf-8' | 'latin1', from: { path: boolean; gzip: boolean }): string {
  const raw = "if(endsWith(line, '\\r'), substring(line, 1, length(line) - 1), line)";
  const latin1 = (x: string) => `translateUTF8(convertCharset(${x}, 'ISO-8859-1', 'UTF-8'), {c1from:String}, {c1to:String})`;
  const decoded = encoding === 'latin1' ? latin1('r') : `if(isValidUTF8(r), r, ${latin1('r')})`;
  const source = !from.path
    ? '(SELECT row_number AS _row_number, unhex(line_hex) AS line FROM staging_online_retail_file WHERE batch_hex = lower(hex({batch:String})))'
    : from.gzip
      ? "file({path:String}, 'LineAsString', 'line String', 'gzip')"
      : "file({path:String}, 'LineAsString', 'line String')";
  return `SELECT _row_number, ${decoded} AS l FROM (SELECT _row_number, ${raw} AS r FROM ${source})`;
}

/** A line the CSV reader skips: empty or only spaces and tabs, or only the 7 commas of 8 empty fields. */
const SKIPPED_LINE = "(match(l, '^[ \\t\\x0B\\x0C]*$') OR l = ',,,,,,,')";

interface Shape {
  lines: number;
  header: string;
  badUnquoted: number;
  oddQuotes: number;
  innerCr: number;
  quotedRows: string[];
  quotedLines: string[];
}

/**
 * Imports an Online Retail file in the engine. Returns `undefined`, having written nothing, when
 * the file is not one the engine path reads exactly like the CSV reader (the caller then runs the
 * streaming path).
 */
export async function importOnlineRetailInEngine(opts: EngineImportOptions): Promise<EngineImportResult | undefined> {
  assertTimeZone(opts.timezone);
  // The working tables are in one server's memory: on a cluster the statements may reach others.
  if (opts.wh.cluster) return undefined;
  const { gzip, bytes } = await fileContent(opts.path);
  if (bytes > (opts.maxBytes ?? ENGINE_IMPORT_MAX_BYTES)) return undefined;
  // What the CSV reader makes of the file's start: encoding, delimiter, header (no rows are read).
  const stream = await openRecordStream(opts.path, { format: 'csv', encoding: opts.encoding });
  const { encoding, delimiter, headers } = stream as { encoding?: string; delimiter?: string; headers?: string[] };
  await stream.close();
  if ((encoding !== 'utf-8' && encoding !== 'latin1') || delimiter !== ',' || !headers || headers.join(',') !== COLUMNS.join(',')) return undefined;
  const transfer = opts.transfer ?? (opts.wh.engine === 'embedded' ? 'file' : 'upload');
  if (transfer === 'file') {
    return importLines(opts, { sql: linesSql(encoding, { path: true, gzip }), params: { path: opts.path, c1from: C1_FROM, c1to: C1_TO } });
  }
  const started = performance.now();
  const params = { batch: opts.batchId, c1from: C1_FROM, c1to: C1_TO };
  try {
    await uploadLines(opts.wh, opts.batchId, opts.path, gzip);
    return await importLines(opts, { sql: linesSql(encoding, { path: false, gzip }), params }, Math.round(performance.now() - started));
  } finally {
    await opts.wh.command('ALTER TABLE staging_online_retail_file DELETE WHERE batch_hex = {batch:String}', { batch: Buffer.from(opts.batchId).toString('hex') }).catch(() => {});
  }
}

export type EngineImportResult = BatchResult & { timings: Record<string, number> };

/**
 * Time budget of each statement of an engine import, seconds. Each one works on the whole file (the
 * API's CLICKHOUSE_MAX_EXECUTION_TIME bounds interactive queries; a job may take longer).
 */
export const IMPORT_STATEMENT_SECONDS = 3600;

/** The warehouse with a time budget of its own for every statement. */
function withStatementTime(wh: Warehouse, seconds: number): Warehouse {
  return {
    ...wh,
    client: wh.client,
    engine: wh.engine,
    database: wh.database,
    query: (sql, params, o) => wh.query(sql, params, { maxExecutionTime: seconds, ...o }),
    command: (sql, params, o) => wh.command(sql, params, { maxExecutionTime: seconds, ...o }),
    insert: (table, rows, o) => wh.insert(table, rows, { maxExecutionTime: seconds, ...o }),
    close: () => wh.close(),
  };
}

/**
 * Sends the file's lines to the engine (staging_online_retail_file: batch, line number from 0 for
 * the first line, the line's bytes as received, hex-encoded so no transport can re-encode them),
 * for an engine that cannot read this process's disk. The lines are cut at LF exactly as the
 * engine's LineAsString reader cuts them.
 */
async function uploadLines(wh: Warehouse, batchId: string, path: string, gzip: boolean): Promise<void> {
  const prefix = `${Buffer.from(batchId).toString('hex')}\t`;
  async function* tsv(): AsyncGenerator<string> {
    const file = fs.createReadStream(path, { highWaterMark: 1 << 20 });
    const input: AsyncIterable<Buffer> = gzip ? file.pipe(zlib.createGunzip()) : file;
    let rowNumber = 0;
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of input) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let out = '';
      let start = 0;
      for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
        out += `${prefix}${rowNumber++}\t${buf.toString('hex', start, nl)}\n`;
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
      if (out.length > 0) yield out;
    }
    if (carry.length > 0) yield `${prefix}${rowNumber}\t${carry.toString('hex')}\n`;
  }
  await wh.client.insert({
    table: 'staging_online_retail_file',
    values: Readable.from(tsv(), { objectMode: false }),
    format: 'TabSeparated',
    columns: ['batch_hex', 'row_number', 'line_hex'],
  });
}

/** The import once the engine can read the file's lines through `lines` (see {@link linesSql}). */
async function importLines(opts: EngineImportOptions, lines: { sql: string; params: Record<string, unknown> }, transferMs = 0): Promise<EngineImportResult | undefined> {
  const wh = withStatementTime(opts.wh, IMPORT_STATEMENT_SECONDS);
  const b = { store: opts.storeId, batch: opts.batchId };
  try {
    return await importDecodedLines(opts, wh, lines, transferMs);
  } finally {
    for (const t of STAGING_TABLES) await wh.command(`ALTER TABLE ${t} DELETE WHERE batch_id = {batch:String}`, b).catch(() => {});
  }
}

/** The decoded lines of the batch (staging_online_retail_text), as {@link linesSql} names them. */
const TEXT = '(SELECT row_number AS _row_number, line AS l FROM staging_online_retail_text WHERE batch_id = {batch:String})';

async function importDecodedLines(
  opts: EngineImportOptions,
  wh: Warehouse,
  lines: { sql: string; params: Record<string, unknown> },
  transferMs: number,
): Promise<EngineImportResult | undefined> {
  const { storeId, batchId } = opts;
  const b = { store: storeId, batch: batchId };
  // Milliseconds per step, for the job's log and the benchmark.
  const timings: Record<string, number> = transferMs > 0 ? { transfer: transferMs } : {};
  let mark = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - mark);
    mark = now;
  };
  // The file is read and decoded once, into memory; everything after reads it from there.
  await wh.command(`INSERT INTO staging_online_retail_text SELECT {batch:String}, _row_number, l FROM (${lines.sql})`, { ...lines.params, ...b });
  step('load');
  const [shape] = await wh.query<Shape>(
    `SELECT toUInt64(count()) AS lines,
            anyIf(l, _row_number = 0) AS header,
            toUInt64(countIf(_row_number > 0 AND position(l, '"') = 0 AND NOT ${SKIPPED_LINE} AND length(splitByChar(',', l)) != 8)) AS badUnquoted,
            toUInt64(countIf((length(l) - length(replaceAll(l, '"', ''))) % 2 = 1)) AS oddQuotes,
            toUInt64(countIf(position(l, '\\r') > 0)) AS innerCr,
            groupArrayIf(toString(_row_number), _row_number > 0 AND position(l, '"') > 0) AS quotedRows,
            groupArrayIf(l, _row_number > 0 AND position(l, '"') > 0) AS quotedLines
       FROM ${TEXT}`,
    b,
  );
  if (!shape) return undefined;
  const header = shape.header.replace(/^\uFEFF/, '');
  const headerKeys = splitFields(header, ',').map((h) => h.trim().toLowerCase());
  if (headerKeys.join(',') !== COLUMNS.join(',') || Number(shape.badUnquoted) > 0 || Number(shape.oddQuotes) > 0 || Number(shape.innerCr) > 0) {
    return undefined;
  }
  // Lines with quotes are split by the CSV reader's own function.
  const quotedFields: Record<string, unknown>[] = [];
  for (let i = 0; i < shape.quotedLines.length; i++) {
    const values = splitFields(shape.quotedLines[i]!, ',');
    if (values.length !== COLUMNS.length || values.every((v) => v === '')) return undefined;
    const row: Record<string, unknown> = { batch_id: batchId, row_number: shape.quotedRows[i] };
    COLUMNS.forEach((c, i) => (row[c] = values[i]));
    quotedFields.push(row);
  }

  step('check');
  // From here on the batch is written.
  const startedAt = Date.now();
  const versionBase = BigInt(startedAt) * 1_000_000n;
  const counts: BatchCounts = { read: 0, inserted: 0, unchanged: 0, rejected: 0 };
  const identity = { storeId, batchId, source: opts.source, entity: 'order_items' as const, format: ONLINE_RETAIL_FORMAT, contentHash: opts.contentHash, jobId: opts.jobId, startedAt };
  // The pipeline run for customers and products below writes this batch's row with its own (zero)
  // counts at order 0 and 1; the final row here comes after it (order 2, or 3 when failed).
  const writeBatchRow = (status: BatchStatus, error = '', order = 0) => writeBatchLog(wh, identity, counts, status, error, order);
  await writeBatchRow('running');
  try {
    // 1. Bronze: every data line as received (decoded, as the CSV reader keeps it).
    await wh.command(
      `INSERT INTO raw_order_items (store_id, batch_id, source, row_number, payload, received_at, retention_days)
       SELECT {store:String}, {batch:String}, {source:String}, _row_number, l, {received:DateTime64(3, 'UTC')}, {retention:UInt16}
         FROM ${TEXT} WHERE _row_number > 0 AND NOT ${SKIPPED_LINE}`,
      { ...b, source: opts.source, received: toChTime(startedAt), retention: opts.retentionDays },
    );
    const [{ n: read } = { n: '0' }] = await wh.query<{ n: string }>(
      'SELECT toString(count()) AS n FROM raw_order_items WHERE store_id = {store:String} AND batch_id = {batch:String}',
      b,
    );
    counts.read = Number(read);
    step('bronze');
    await opts.onProgress?.({ ...counts });

    // 2. Fields of the lines with quotes (the others are split in SQL, see FIELDS).
    if (quotedFields.length > 0) await wh.insert('staging_online_retail_fields', quotedFields);

    // 3. The value rules, once per distinct value.
    await mapValues(wh, storeId, batchId, opts.timezone);
    step('values');

    // 4. The line rules, in the mapper's order: required, values, invoice type, duplicate, signs.
    await classifyLines(wh, storeId, batchId);
    step('rules');

    // 5. Order items: line numbers per invoice in file order, the invoice's time, the row hash, and
    //    the stored row of the same key.
    await buildItems(wh, storeId, batchId);
    step('items');
    const [outcome] = await wh.query<{ accepted: string; inserted: string; moved: string; rejected: string }>(
      `SELECT (SELECT toString(count()) FROM staging_online_retail_items WHERE batch_id = {batch:String}) AS accepted,
              (SELECT toString(countIf(row_hash != old_hash)) FROM staging_online_retail_items WHERE batch_id = {batch:String}) AS inserted,
              (SELECT toString(countIf(${MOVED})) FROM staging_online_retail_items WHERE batch_id = {batch:String}) AS moved,
              (SELECT toString(countIf(reason != '')) FROM staging_online_retail_lines WHERE batch_id = {batch:String}) AS rejected`,
      b,
    );
    counts.inserted = Number(outcome!.inserted);
    counts.unchanged = Number(outcome!.accepted) - counts.inserted;
    counts.rejected = Number(outcome!.rejected);
    const days = await writeItems(wh, storeId, batchId, versionBase, Number(outcome!.moved) > 0);
    step('write_items');
    await writeRejects(wh, storeId, batchId, opts.source);
    step('write_rejects');
    await opts.onProgress?.({ ...counts });

    // 6. Orders in SQL as the items; customer versions and products (a few thousand) through the
    //    pipeline, as the mapper emits them.
    await buildOrders(wh, storeId, batchId);
    const orderDays = await writeOrders(wh, storeId, batchId, versionBase);
    step('orders');
    const derived = (await derivedFromLines(wh, batchId)).filter((d) => d.entity !== 'orders');
    step('derive');
    const records: IncomingRecord[] = derived.map((d) => ({
      entity: d.entity,
      rowNumber: d.rowNumber,
      fields: d.record,
      raw: JSON.stringify(d.record),
      primary: false,
      refsInBatch: true,
    }));
    const sub = await runBatch({
      wh,
      storeId,
      batchId,
      source: opts.source,
      entity: 'order_items',
      format: ONLINE_RETAIL_FORMAT,
      contentHash: opts.contentHash,
      jobId: opts.jobId,
      timezone: opts.timezone,
      retentionDays: opts.retentionDays,
      rows: (async function* () {})(),
      chunkSize: 25_000,
      mapper: async function* (rows) {
        for await (const _ of rows) void _;
        yield* records;
      },
    });

    step('customers_products');
    if (counts.read !== counts.inserted + counts.unchanged + counts.rejected) {
      throw new Error(`batch ${batchId} does not reconcile: read ${counts.read} ≠ inserted ${counts.inserted} + unchanged ${counts.unchanged} + rejected ${counts.rejected}`);
    }
    await writeBatchRow('completed', '', 2);
    await opts.onProgress?.({ ...counts });
    const [byReason] = await wh.query<{ reasons: string[]; n: string[] }>(
      `SELECT groupArray(reason) AS reasons, groupArray(toString(c)) AS n
         FROM (SELECT reason, count() AS c FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason != '' GROUP BY reason)`,
      b,
    );
    const rejectsByReason: Record<string, number> = {};
    byReason?.reasons.forEach((r, i) => (rejectsByReason[r] = Number(byReason.n[i])));
    const allDays = [...new Set([...days, ...orderDays, ...sub.affected.days])].sort();
    const tables = new Set(sub.affected.tables);
    if (days.length > 0) tables.add('fact_order_items');
    if (orderDays.length > 0) tables.add('fact_orders');
    step('finish');
    return { batchId, ...counts, affected: { days: allDays, tables: [...tables].sort() }, rejectsByReason, timings };
  } catch (err) {
    await writeBatchRow('failed', (err as Error).message.slice(0, 2000), 3).catch(() => {});
    throw err;
  }
}

/**
 * Whether the file is gzip, and the size of its content: the file's size, or for gzip the size its
 * trailer records. That is modulo 4 GiB; a recorded size below the compressed one (beyond
 * deflate's few bytes of overhead per 16 KiB) means it wrapped, and counts as unbounded.
 */
async function fileContent(path: string): Promise<{ gzip: boolean; bytes: number }> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const magic = Buffer.alloc(2);
    await fh.read(magic, 0, 2, 0);
    const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
    if (!gzip || size < 18) return { gzip, bytes: size };
    const trailer = Buffer.alloc(4);
    await fh.read(trailer, 0, 4, size - 4);
    const recorded = trailer.readUInt32LE(0);
    const overhead = 64 + 5 * Math.ceil(recorded / 16384);
    return { gzip, bytes: recorded + overhead < size ? Number.POSITIVE_INFINITY : recorded };
  } finally {
    await fh.close();
  }
}

interface ValueRow {
  batch_id: string;
  col: Column;
  raw: string;
  blank: number;
  ok: number;
  value: string;
  json: string;
  num: string;
  flag: number;
  message: string;
  message2: string;
}

const VALUE_COLUMNS = ['batch_id', 'col', 'raw', 'blank', 'ok', 'value', 'json', 'num', 'flag', 'message', 'message2'] satisfies (keyof ValueRow)[];

/** What the mapper's value rules make of each distinct value of each column. */
async function mapValues(wh: Warehouse, storeId: string, batchId: string, timezone: string): Promise<void> {
  const [distinct] = await wh.query<Record<Column, string[]>>(
    `SELECT ${COLUMNS.map((c) => `groupUniqArray(${c}) AS ${c}`).join(', ')} FROM ${FIELDS}`,
    { store: storeId, batch: batchId },
  );
  // As TabSeparated lines in VALUE_COLUMNS order: ≈ 64,000 rows for the real file, which as JSON
  // objects took longer to encode and for the engine to parse than the rest of this step.
  const lines = new TextBytes(4 * 1024 * 1024);
  const batch = tsvField(batchId);
  const add = (col: Column, raw: string, r: Partial<ValueRow>) => {
    const v: ValueRow = { batch_id: batchId, col, raw, blank: raw.trim() === '' ? 1 : 0, ok: 1, value: '', json: '', num: '0', flag: 0, message: '', message2: '', ...r };
    lines.line(
      `${batch}\t${col}\t${tsvField(raw)}\t${v.blank}\t${v.ok}\t${tsvField(v.value)}\t${tsvField(v.json)}\t${v.num}\t${v.flag}\t${tsvField(v.message)}\t${tsvField(v.message2)}`,
    );
  };
  for (const raw of distinct!.invoiceno) {
    const v = raw.trim();
    const type = invoiceType(v);
    add('invoiceno', raw, {
      value: v,
      json: JSON.stringify(v),
      num: type === 'sale' ? '1' : type === 'cancellation' ? '2' : '0',
      flag: v.length > ID_LIMIT ? 1 : 0,
      message: type === 'unknown' ? REJECT_MESSAGES.unknownInvoiceType(v) : '',
    });
  }
  for (const raw of distinct!.stockcode) {
    const v = normalizeStockCode(raw);
    add('stockcode', raw, { value: v, json: JSON.stringify(v), num: isMerchandiseStockCode(v) ? '1' : '0', flag: v.length > ID_LIMIT ? 1 : 0 });
  }
  for (const raw of distinct!.customerid) {
    const v = normalizeCustomerId(raw);
    add('customerid', raw, { value: v, json: JSON.stringify(v), flag: v.length > ID_LIMIT ? 1 : 0 });
  }
  for (const raw of distinct!.quantity) {
    const t = raw.trim();
    const ok = /^[+-]?\d+$/.test(t) && Math.abs(Number(t)) <= QUANTITY_LIMIT;
    const q = ok ? Number(t) : 0;
    add('quantity', raw, {
      ok: ok ? 1 : 0,
      num: String(q),
      value: String(q),
      flag: ok && q === 0 ? 1 : 0,
      message: ok ? '' : REJECT_MESSAGES.invalidQuantity(t),
      message2: ok && q < 0 ? REJECT_MESSAGES.negativeQuantity(q) : '',
    });
  }
  for (const raw of distinct!.invoicedate) {
    const wall = parseInvoiceDate(raw);
    const ms = wall ? wallClockToUtc(wall, timezone, 'compatible') : undefined;
    add('invoicedate', raw, { ok: ms === undefined ? 0 : 1, num: String(ms ?? 0), value: ms === undefined ? '' : toChTime(ms), message: ms === undefined ? REJECT_MESSAGES.invalidDate(raw) : '' });
  }
  for (const raw of distinct!.unitprice) {
    const v = parseMoney(raw);
    const ok = v !== undefined && v < MONEY_LIMIT && -v < MONEY_LIMIT;
    add('unitprice', raw, {
      ok: ok ? 1 : 0,
      num: ok ? v!.toString() : '0',
      // What the pipeline's validator makes of the mapper's text: the stored unit_price.
      value: ok && v! >= 0n ? decimal(formatMoney(v!)) : '',
      message: ok ? '' : REJECT_MESSAGES.invalidPrice(raw),
      message2: ok && v! < 0n ? REJECT_MESSAGES.negativePrice(raw.trim()) : '',
    });
  }
  for (const raw of distinct!.country) {
    const code = countryCode(raw);
    add('country', raw, { ok: code === undefined ? 0 : 1, value: code ?? '', json: JSON.stringify(code ?? ''), message: code === undefined ? REJECT_MESSAGES.unknownCountry(raw) : '' });
  }
  for (const raw of distinct!.description) add('description', raw, { value: raw.trim() });
  await wh.insertLines('staging_online_retail_values', { format: 'TabSeparated', columns: VALUE_COLUMNS, bytes: lines.bytes() });
}

/**
 * The data lines as bronze keeps them (`payload`), read from the decoded text in memory rather than
 * back from bronze (compressed on disk): every line but the header and the lines the CSV reader skips.
 */
const DATA_LINES = `(SELECT row_number, l AS payload FROM (SELECT row_number, line AS l FROM staging_online_retail_text WHERE batch_id = {batch:String})
                      WHERE row_number > 0 AND NOT ${SKIPPED_LINE})`;

/**
 * The fields of every data line: split in SQL where the line has no quote, from the staging table
 * (split by the CSV reader's `splitFields`) where it has.
 */
const FIELDS = `(
  SELECT row_number, ${COLUMNS.map((c, i) => `f[${i + 1}] AS ${c}`).join(', ')}
    FROM (SELECT row_number, splitByChar(',', payload) AS f FROM ${DATA_LINES} WHERE position(payload, '"') = 0)
  UNION ALL
  SELECT row_number, ${COLUMNS.join(', ')} FROM staging_online_retail_fields WHERE batch_id = {batch:String})`;

/**
 * A text per data line that is equal for two lines exactly when all their fields are (untrimmed):
 * a line without quotes is its own key (its 8 fields joined by commas, none of them holding one);
 * a line with quotes is keyed by its fields joined by commas when none holds one, else by LF, which
 * no field holds (a line has no LF) — so each kind of key can be split back into the same fields,
 * and a key with an LF never equals one without.
 */
const FIELD_ARRAY = `[${COLUMNS.join(', ')}]`;
const LINE_KEYS = `(
  SELECT row_number, payload AS k FROM ${DATA_LINES} WHERE position(payload, '"') = 0
  UNION ALL
  SELECT row_number, if(arrayExists(x -> position(x, ',') > 0, ${FIELD_ARRAY}), arrayStringConcat(${FIELD_ARRAY}, '\\n'), arrayStringConcat(${FIELD_ARRAY}, ','))
    FROM staging_online_retail_fields WHERE batch_id = {batch:String})`;

/**
 * The lines that exactly repeat an earlier line (all fields equal, untrimmed): every line of a group
 * of equal lines but the first. Lines with equal fields share the outcome of the rules before the
 * duplicate rule, so among the lines that pass them these are exactly the mapper's duplicates.
 * A 64-bit hash finds the candidates cheaply; the groups are then formed on the keys themselves,
 * so a hash collision cannot make two different lines duplicates.
 */
const REPEATS = `
  SELECT arrayJoin(arrayPopFront(arraySort(groupArray(row_number))))
    FROM ${LINE_KEYS}
   WHERE cityHash64(k) IN (SELECT h FROM (SELECT cityHash64(k) AS h FROM ${LINE_KEYS}) GROUP BY h HAVING count() > 1)
   GROUP BY k
  HAVING count() > 1`;

/** A staged item whose stored row has another day (its sort key): the stored row gets a tombstone. */
const MOVED = 'old_hash != 0 AND old_hash != row_hash AND old_day != toString(toDate(created_at))';

/** Joins a column's value rules (a subquery per column; every raw value has its row). */
const valuesOf = (col: Column, alias: string) =>
  `LEFT ANY JOIN (SELECT raw, blank, ok, value, json, num, flag, message, message2 FROM staging_online_retail_values
                    WHERE batch_id = {batch:String} AND col = '${col}') AS ${alias} ON ${alias}.raw = f.${col}`;

/**
 * The outcome of every line, the first failing rule winning, in the mapper's order. `pre` is the
 * outcome before the duplicate rule (which only looks at lines that passed the rules before it).
 */
async function classifyLines(wh: Warehouse, storeId: string, batchId: string): Promise<void> {
  const amountLimit = MONEY_LIMIT.toString();
  await wh.command(
    `INSERT INTO staging_online_retail_lines (batch_id, row_number, reason, field, message, order_id, order_json, invoice_type, product_id,
                                              product_json, merchandise, customer_id, customer_json, country, country_json, description, quantity, price_units, price_text, amount, line_ms, line_time)
     SELECT {batch:String}, row_number,
            multiIf(pre != '', pre, dup > 1, 'duplicate', price < 0, 'negative_price',
                    inv_type = 1 AND quantity < 0, 'negative_quantity', inv_type = 2 AND quantity > 0, 'positive_quantity_in_cancellation', '') AS reason,
            multiIf(pre != '', pre_field, dup > 1, '', price < 0, 'UnitPrice', reason != '', 'Quantity', '') AS field,
            multiIf(pre != '', pre_message, dup > 1, {duplicate:String}, price < 0, price_negative_message,
                    reason = 'negative_quantity', quantity_negative_message,
                    reason = 'positive_quantity_in_cancellation', concat('positive Quantity ', quantity_text, ' in cancellation ', order_id), '') AS message,
            order_id, order_json, inv_type, product_id, product_json, merchandise, customer_id, customer_json, country, country_json, description,
            quantity, price, price_text, amount, line_ms, line_time
       FROM (
         SELECT *, if(pre = '' AND row_number IN (${REPEATS}), 2, 0) AS dup
           FROM (
             SELECT f.row_number AS row_number, f.invoiceno AS invoiceno, f.stockcode AS stockcode, f.description AS f_description,
                    f.quantity AS f_quantity, f.invoicedate AS invoicedate, f.unitprice AS unitprice, f.customerid AS customerid, f.country AS f_country,
                    inv.value AS order_id, inv.json AS order_json, toUInt8(inv.num) AS inv_type,
                    st.value AS product_id, st.json AS product_json, st.num AS merchandise,
                    cu.value AS customer_id, cu.json AS customer_json, co.value AS country, co.json AS country_json, de.value AS description,
                    qt.num AS quantity, qt.value AS quantity_text, qt.message2 AS quantity_negative_message,
                    pr.num AS price, pr.value AS price_text, pr.message2 AS price_negative_message,
                    toInt128(qt.num) * toInt128(pr.num) AS amount,
                    dt.num AS line_ms, dt.value AS line_time,
                    multiIf(inv.blank = 1, 'missing_field', st.blank = 1, 'missing_field', qt.blank = 1, 'missing_field', dt.blank = 1, 'missing_field', pr.blank = 1, 'missing_field',
                            inv.flag = 1, 'invalid_value', st.flag = 1, 'invalid_value', cu.flag = 1, 'invalid_value',
                            qt.ok = 0, 'invalid_value', qt.flag = 1, 'invalid_value', dt.ok = 0, 'invalid_value', pr.ok = 0, 'invalid_value',
                            abs(amount) >= toInt128({limit:String}), 'invalid_value', co.ok = 0, 'invalid_value',
                            inv.num = 0, 'unknown_invoice_type', '') AS pre,
                    multiIf(inv.blank = 1, 'InvoiceNo', st.blank = 1, 'StockCode', qt.blank = 1, 'Quantity', dt.blank = 1, 'InvoiceDate', pr.blank = 1, 'UnitPrice',
                            inv.flag = 1, 'InvoiceNo', st.flag = 1, 'StockCode', cu.flag = 1, 'CustomerID',
                            qt.ok = 0, 'Quantity', qt.flag = 1, 'Quantity', dt.ok = 0, 'InvoiceDate', pr.ok = 0, 'UnitPrice',
                            abs(amount) >= toInt128({limit:String}), 'UnitPrice', co.ok = 0, 'Country',
                            inv.num = 0, 'InvoiceNo', '') AS pre_field,
                    multiIf(inv.blank = 1, {emptyInvoiceNo:String}, st.blank = 1, {emptyStockCode:String}, qt.blank = 1, {emptyQuantity:String},
                            dt.blank = 1, {emptyInvoiceDate:String}, pr.blank = 1, {emptyUnitPrice:String},
                            inv.flag = 1, {longInvoiceNo:String}, st.flag = 1, {longStockCode:String}, cu.flag = 1, {longCustomerID:String},
                            qt.ok = 0, qt.message, qt.flag = 1, {zeroQuantity:String}, dt.ok = 0, dt.message, pr.ok = 0, pr.message,
                            abs(amount) >= toInt128({limit:String}), {amountTooLarge:String}, co.ok = 0, co.message,
                            inv.num = 0, inv.message, '') AS pre_message
               FROM ${FIELDS} AS f
               ${valuesOf('invoiceno', 'inv')}
               ${valuesOf('stockcode', 'st')}
               ${valuesOf('customerid', 'cu')}
               ${valuesOf('quantity', 'qt')}
               ${valuesOf('invoicedate', 'dt')}
               ${valuesOf('unitprice', 'pr')}
               ${valuesOf('country', 'co')}
               ${valuesOf('description', 'de')}
           )
       )`,
    {
      store: storeId,
      batch: batchId,
      limit: amountLimit,
      duplicate: REJECT_MESSAGES.duplicate,
      emptyInvoiceNo: REJECT_MESSAGES.empty('InvoiceNo'),
      emptyStockCode: REJECT_MESSAGES.empty('StockCode'),
      emptyQuantity: REJECT_MESSAGES.empty('Quantity'),
      emptyInvoiceDate: REJECT_MESSAGES.empty('InvoiceDate'),
      emptyUnitPrice: REJECT_MESSAGES.empty('UnitPrice'),
      longInvoiceNo: REJECT_MESSAGES.tooLong('InvoiceNo'),
      longStockCode: REJECT_MESSAGES.tooLong('StockCode'),
      longCustomerID: REJECT_MESSAGES.tooLong('CustomerID'),
      zeroQuantity: REJECT_MESSAGES.zeroQuantity,
      amountTooLarge: REJECT_MESSAGES.amountTooLarge,
    },
  );
}

/**
 * `formatMoney` then the validator's `decimal` in SQL, for an amount in ten-thousandths: the
 * integer part, then the fraction without trailing zeros ("15.3", "2", "-0.5").
 */
const DECIMAL_TEXT = (x: string) =>
  `concat(if(${x} < 0, '-', ''), toString(intDiv(abs(${x}), 10000)),
          if(abs(${x}) % 10000 = 0, '', concat('.', trimRight(leftPad(toString(abs(${x}) % 10000), 4, '0'), '0'))))`;

/**
 * The accepted lines as order items, with the same row hash as the pipeline's `factHash` (the
 * first 8 bytes of the SHA-256 of the row's JSON, big-endian), and the stored row of each key.
 */
async function buildItems(wh: Warehouse, storeId: string, batchId: string): Promise<void> {
  const rowHash = rowHashSql(ORDER_ITEM_SPEC.row(SAMPLE_ITEM), {
    created_at: 'toJSONString(order_time)',
    discount: `'"0"'`,
    line_amount: 'toJSONString(amount_text)',
    line_number: 'toString(line_number)',
    order_id: 'order_json',
    product_id: 'product_json',
    quantity: 'toString(quantity)',
    unit_price: 'toJSONString(price_text)',
  });
  await wh.command(
    `INSERT INTO staging_online_retail_items
     SELECT {batch:String}, n.row_number, n.order_id, n.line_number, n.product_id, fromUnixTimestamp64Milli(n.order_ms, 'UTC'), n.quantity,
            toDecimal64(n.price_text, 4), toDecimal64(n.amount_text, 4), n.row_hash,
            if(e.k = '', toUInt64(0), e.h), e.d
       FROM (
         SELECT row_number, order_id, line_number, product_id, order_ms, quantity, price_text, ${DECIMAL_TEXT('amount')} AS amount_text,
                ${rowHash} AS row_hash
           FROM (
             SELECT l.row_number AS row_number, l.order_id AS order_id, l.order_json AS order_json, l.product_id AS product_id, l.product_json AS product_json,
                    l.quantity AS quantity, l.amount AS amount, l.price_text AS price_text,
                    row_number() OVER w AS line_number, first_value(l.line_ms) OVER w AS order_ms, first_value(l.line_time) OVER w AS order_time
               FROM (SELECT * FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason = '') AS l
             WINDOW w AS (PARTITION BY l.order_id ORDER BY l.row_number ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           )
       ) AS n
       LEFT ANY JOIN (
         SELECT concat(order_id, '|', toString(line_number)) AS k, toString(toDate(created_at)) AS d, argMax(row_hash, version) AS h
           FROM fact_order_items
          WHERE store_id = {store:String}
            AND order_id IN (SELECT order_id FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason = '')
          GROUP BY k, d
         HAVING argMax(is_deleted, version) = 0
       ) AS e ON e.k = concat(n.order_id, '|', toString(n.line_number))`,
    { batch: batchId, store: storeId },
  );
}

/**
 * Writes the items whose content differs from the stored row (or have none), with a tombstone for
 * a stored row whose day (its sort key) changed. Returns the UTC days whose facts changed.
 */
async function writeItems(wh: Warehouse, storeId: string, batchId: string, versionBase: bigint, moved: boolean): Promise<string[]> {
  const p = { batch: batchId, store: storeId, base: versionBase.toString() };
  // Tombstones first: the stored rows of keys that move to another day.
  if (moved) await wh.command(
    `INSERT INTO fact_order_items
     (store_id, order_id, line_number, product_id, created_at, quantity, unit_price, discount, line_amount, updated_at, batch_id, version, is_deleted, row_hash)
     SELECT o.store_id, o.order_id, o.line_number, o.product_id, o.created_at, o.quantity, o.unit_price, o.discount, o.line_amount, o.updated_at,
            {batch:String}, m.version, 1, o.row_hash
       FROM (SELECT * FROM fact_order_items FINAL WHERE store_id = {store:String}
               AND concat(order_id, '|', toString(line_number)) IN
                   (SELECT concat(order_id, '|', toString(line_number)) FROM staging_online_retail_items
                     WHERE batch_id = {batch:String} AND ${MOVED})) AS o
       INNER JOIN (SELECT order_id, line_number, toUInt64({base:UInt64}) + row_number AS version FROM staging_online_retail_items WHERE batch_id = {batch:String}) AS m
         ON m.order_id = o.order_id AND m.line_number = o.line_number`,
    p,
  );
  await wh.command(
    `INSERT INTO fact_order_items (store_id, order_id, line_number, product_id, created_at, quantity, unit_price, discount, line_amount, updated_at, batch_id, version, is_deleted, row_hash)
     SELECT {store:String}, order_id, line_number, product_id, created_at, quantity, unit_price, 0, line_amount, created_at, {batch:String},
            toUInt64({base:UInt64}) + row_number, 0, row_hash
       FROM staging_online_retail_items WHERE batch_id = {batch:String} AND row_hash != old_hash`,
    p,
  );
  return changedDays(wh, 'staging_online_retail_items', batchId);
}

/** Every rejected line with its row number, field, reason, message and the line as received. */
async function writeRejects(wh: Warehouse, storeId: string, batchId: string, source: string): Promise<void> {
  await wh.command(
    `INSERT INTO rejected_records (store_id, batch_id, source, entity, row_number, field, reason_code, message, raw_payload, rejected_at)
     SELECT {store:String}, {batch:String}, {source:String}, 'order_items', l.row_number, l.field, l.reason,
            concat('row ', toString(l.row_number), ': ', l.message), r.payload, now64(3, 'UTC')
       FROM (SELECT row_number, field, reason, message FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason != '') AS l
       INNER JOIN (SELECT row_number, payload FROM raw_order_items WHERE store_id = {store:String} AND batch_id = {batch:String}
                     AND row_number IN (SELECT row_number FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason != '')) AS r
         ON r.row_number = l.row_number`,
    { store: storeId, batch: batchId, source },
  );
}

/** Records with every field the row builders read, for the key order of their rows. */
const SAMPLE_ITEM = { order_id: '', line_number: 1, product_id: '', created_at: 0, quantity: 1, unit_price: '0', discount: '0', line_amount: '0' } as unknown as EntityRecord<'order_items'>;
const SAMPLE_ORDER = { order_id: '', status: 'completed', created_at: 0, gross: '0', net: '0' } as unknown as EntityRecord<'orders'>;

/**
 * SQL of a row's hash exactly as the pipeline's `factHash` computes it: the first 8 bytes (big-endian)
 * of the SHA-256 of `[["key",value],…]` in its key order (localeCompare, without updated_at). `values`
 * gives the JSON text of each value as SQL; the keys come from the pipeline's own row builder, so a
 * field added there fails here loudly instead of hashing differently.
 */
function rowHashSql(sampleRow: Record<string, unknown>, values: Record<string, string>): string {
  const order = Object.keys(sampleRow)
    .filter((k) => k !== 'updated_at')
    .sort((a, b) => a.localeCompare(b));
  const parts = order.map((k, i) => {
    const v = values[k];
    if (v === undefined) throw new Error(`rowHashSql: no SQL for the value of ${k}`);
    return `'${i === 0 ? '[[' : '],['}${JSON.stringify(k)},', ${v}`;
  });
  return `reinterpretAsUInt64(reverse(substring(SHA256(concat(${parts.join(', ')}, ']]')), 1, 8)))`;
}

/**
 * The orders of the accepted lines as the pipeline would store them (one per invoice: kind, time,
 * customer and country of its first accepted line, gross = net = Σ line amounts, refunded = −net
 * for a cancellation), with the stored row of each order.
 */
async function buildOrders(wh: Warehouse, storeId: string, batchId: string): Promise<void> {
  const rowHash = rowHashSql(ORDER_SPEC.row(SAMPLE_ORDER), {
    channel: `'"web"'`,
    country: 'country_json',
    created_at: 'toJSONString(time_text)',
    currency: `'"${ONLINE_RETAIL_CURRENCY}"'`,
    customer_id: 'customer_json',
    delivered_at: "'null'",
    discount: `'"0"'`,
    gross: 'toJSONString(gross_text)',
    net: 'toJSONString(gross_text)',
    order_id: 'order_json',
    order_kind: `if(kind = 'sale', '"sale"', '"refund"')`,
    refunded: 'toJSONString(refunded_text)',
    returned_at: "'null'",
    shipped_at: "'null'",
    shipping: `'"0"'`,
    status: `if(kind = 'sale', '"completed"', '"cancelled"')`,
    tax: `'"0"'`,
  });
  await wh.command(
    `INSERT INTO staging_online_retail_orders
     SELECT {batch:String}, n.first_row, n.order_id, n.kind, n.customer_id, n.country, fromUnixTimestamp64Milli(n.ms, 'UTC'),
            toDecimal64(n.gross_text, 4), toDecimal64(n.refunded_text, 4), n.row_hash, if(e.k = '', toUInt64(0), e.h), e.d
       FROM (
         SELECT *, ${rowHash} AS row_hash
           FROM (
             SELECT order_id, any(order_json) AS order_json, if(any(invoice_type) = 1, 'sale', 'refund') AS kind,
                    argMin(customer_id, row_number) AS customer_id, argMin(customer_json, row_number) AS customer_json,
                    argMin(country, row_number) AS country, argMin(country_json, row_number) AS country_json,
                    argMin(line_ms, row_number) AS ms, argMin(line_time, row_number) AS time_text, min(row_number) AS first_row,
                    sum(amount) AS total, ${DECIMAL_TEXT('total')} AS gross_text, if(kind = 'sale', '0', ${DECIMAL_TEXT('-total')}) AS refunded_text
               FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason = ''
              GROUP BY order_id
           )
       ) AS n
       LEFT ANY JOIN (
         SELECT order_id AS k, toString(toDate(created_at)) AS d, argMax(row_hash, version) AS h
           FROM fact_orders
          WHERE store_id = {store:String}
            AND order_id IN (SELECT order_id FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason = '')
          GROUP BY k, d
         HAVING argMax(is_deleted, version) = 0
       ) AS e ON e.k = n.order_id`,
    { batch: batchId, store: storeId },
  );
}

/** Writes the orders whose content differs from the stored row, as {@link writeItems} does the items. */
async function writeOrders(wh: Warehouse, storeId: string, batchId: string, versionBase: bigint): Promise<string[]> {
  const p = { batch: batchId, store: storeId, base: versionBase.toString() };
  const [m] = await wh.query<{ n: string }>(`SELECT toString(countIf(${MOVED})) AS n FROM staging_online_retail_orders WHERE batch_id = {batch:String}`, p);
  const columns = `store_id, order_id, order_kind, customer_id, status, created_at, shipped_at, delivered_at, returned_at, channel, country, currency,
                   gross, discount, shipping, tax, net, refunded, updated_at, batch_id, version, is_deleted, row_hash`;
  if (Number(m!.n) > 0) {
    await wh.command(
      `INSERT INTO fact_orders (${columns})
       SELECT o.store_id, o.order_id, o.order_kind, o.customer_id, o.status, o.created_at, o.shipped_at, o.delivered_at, o.returned_at, o.channel,
              o.country, o.currency, o.gross, o.discount, o.shipping, o.tax, o.net, o.refunded, o.updated_at, {batch:String}, m.version, 1, o.row_hash
         FROM (SELECT * FROM fact_orders FINAL WHERE store_id = {store:String}
                 AND order_id IN (SELECT order_id FROM staging_online_retail_orders WHERE batch_id = {batch:String} AND ${MOVED})) AS o
         INNER JOIN (SELECT order_id, toUInt64({base:UInt64}) + first_row AS version FROM staging_online_retail_orders WHERE batch_id = {batch:String}) AS m
           ON m.order_id = o.order_id`,
      p,
    );
  }
  await wh.command(
    `INSERT INTO fact_orders (${columns})
     SELECT {store:String}, order_id, order_kind, customer_id, if(order_kind = 'sale', 'completed', 'cancelled'), created_at, NULL, NULL, NULL, 'web',
            country, {currency:String}, gross, 0, 0, 0, gross, refunded, created_at, {batch:String}, toUInt64({base:UInt64}) + first_row, 0, row_hash
       FROM staging_online_retail_orders WHERE batch_id = {batch:String} AND row_hash != old_hash`,
    { ...p, currency: ONLINE_RETAIL_CURRENCY },
  );
  return changedDays(wh, 'staging_online_retail_orders', batchId);
}

/** The UTC days whose facts a batch changed: the day of each row written, the old day of each moved row. */
async function changedDays(wh: Warehouse, staged: 'staging_online_retail_items' | 'staging_online_retail_orders', batchId: string): Promise<string[]> {
  const [d] = await wh.query<{ days: string[] }>(
    `SELECT arraySort(groupUniqArray(day)) AS days FROM (
       SELECT toString(toDate(created_at)) AS day FROM ${staged} WHERE batch_id = {batch:String} AND row_hash != old_hash
       UNION ALL
       SELECT old_day FROM ${staged} WHERE batch_id = {batch:String} AND ${MOVED})`,
    { batch: batchId },
  );
  return d?.days ?? [];
}

/**
 * The customer versions and products of the accepted lines, as the mapper derives them (orders are
 * written by {@link writeOrders}; the caller drops the order records).
 */
async function derivedFromLines(wh: Warehouse, batchId: string) {
  // The orders as staged (buildOrders): what the customer versions need.
  const orders = await wh.query<{ order_id: string; kind: 'sale' | 'refund'; customer_id: string; country: string; ms: string; first: string }>(
    `SELECT order_id, toString(order_kind) AS kind, customer_id, country, toString(toUnixTimestamp64Milli(created_at)) AS ms, toString(first_row) AS first
       FROM staging_online_retail_orders WHERE batch_id = {batch:String} AND customer_id != ''
      ORDER BY first_row`,
    { batch: batchId },
  );
  // The latest (line time, then line number) description: the pair as one number (line numbers are
  // below 2^32), ≈ 4× faster than argMax over a tuple.
  const latest = 'toInt128(line_ms) * 4294967296 + row_number';
  const products = await wh.query<{ product_id: string; m: number; first: string; named: string; name: string; name_row: string }>(
    `SELECT product_id, any(merchandise) AS m, toString(min(row_number)) AS first, toString(countIf(description != '')) AS named,
            argMaxIf(description, ${latest}, description != '') AS name,
            toString(argMaxIf(row_number, ${latest}, description != '')) AS name_row
       FROM staging_online_retail_lines WHERE batch_id = {batch:String} AND reason = ''
      GROUP BY product_id ORDER BY min(row_number)`,
    { batch: batchId },
  );
  const orderStates: OrderState[] = orders.map((o) => {
    const ms = Number(o.ms);
    return {
      order_id: o.order_id,
      kind: o.kind,
      customer_id: o.customer_id,
      country: o.country,
      createdMs: ms,
      created_at: new Date(ms).toISOString(),
      rowNumber: Number(o.first),
      // Only the customer versions are taken from these states (the orders are written in SQL).
      lines: 0,
      sum: 0,
    };
  });
  const productStates: ProductState[] = products.map((p) => {
    const named = Number(p.named) > 0;
    return {
      product_id: p.product_id,
      merchandise: Number(p.m) === 1,
      name: named ? p.name : '',
      nameMs: 0,
      rowNumber: Number(named ? p.name_row : p.first),
    };
  });
  return derivedRecords(orderStates, productStates);
}
