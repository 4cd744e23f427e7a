/**
 * Streaming JSON Lines reader: one JSON object per line (LF or CRLF). `rowNumber` is the line
 * number; blank lines are skipped (and counted). A line that is not valid JSON, or not an object,
 * is yielded as a malformed row; the lines after it are read as usual.
 */
import type { ByteSource, TextEncoding } from './detect.js';
import { decodeRecord } from './detect.js';
import { HeaderMapping, MAX_RECORD_BYTES, preview, setField, type RowError, type SourceRow } from './source-row.js';

const LF = 0x0a;
const CR = 0x0d;

export interface JsonOptions {
  file: string;
  encoding: TextEncoding;
  mapping: HeaderMapping;
  signal?: AbortSignal;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : typeof v;
}

/**
 * Turns one JSON text (a line, an array element) into a row: parsed, checked to be an object,
 * keys normalised and mapped. Never throws.
 */
export function jsonRecordToRow(rowNumber: number, text: string, mapping: HeaderMapping, what: string): SourceRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return {
      rowNumber,
      fields: {},
      raw: preview(text),
      error: { code: 'malformed_row', message: `row ${rowNumber}: invalid JSON ${what}: ${(e as Error).message}` },
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      rowNumber,
      fields: {},
      raw: preview(text),
      error: { code: 'malformed_row', message: `row ${rowNumber}: expected a JSON object, found ${describe(value)}` },
    };
  }
  const fields: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  let error: RowError | undefined;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = mapping.field(key);
    if (Object.prototype.hasOwnProperty.call(fields, name)) {
      error ??= {
        code: 'malformed_row',
        message: `row ${rowNumber}: keys "${source[name]}" and "${key}" both map to field "${name}"`,
        field: name,
      };
      continue;
    }
    setField(source, name, key);
    setField(fields, name, v);
  }
  return error ? { rowNumber, fields, raw: text, error } : { rowNumber, fields, raw: text };
}

/** Rows in batches (one per chunk read). */
export async function* jsonlRows(src: ByteSource, opts: JsonOptions): AsyncGenerator<SourceRow[]> {
  const { encoding, mapping, signal } = opts;
  let line = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let discarding = false;

  function lineToRow(bytes: Buffer): SourceRow | null {
    line++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    const text = decodeRecord(end === bytes.length ? bytes : bytes.subarray(0, end), encoding);
    if (text.trim() === '') return null;
    return jsonRecordToRow(line, text, mapping, 'on this line');
  }

  for await (const chunk of src.chunks()) {
    signal?.throwIfAborted();
    let start = 0;
    const rows: SourceRow[] = [];
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      if (discarding) {
        discarding = false;
        start = nl + 1;
        continue;
      }
      let bytes: Buffer;
      if (pendingLen === 0) bytes = chunk.subarray(start, nl);
      else {
        pending.push(chunk.subarray(start, nl));
        bytes = Buffer.concat(pending, pendingLen + nl - start);
        pending = [];
        pendingLen = 0;
      }
      start = nl + 1;
      const row = lineToRow(bytes);
      if (row) rows.push(row);
    }
    if (start < chunk.length && !discarding) {
      pending.push(chunk.subarray(start));
      pendingLen += chunk.length - start;
      if (pendingLen > MAX_RECORD_BYTES) {
        line++;
        const head = decodeRecord(Buffer.concat(pending, pendingLen).subarray(0, 4096), encoding);
        rows.push({
          rowNumber: line,
          fields: {},
          raw: preview(head),
          error: {
            code: 'malformed_row',
            message: `row ${line}: line is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB; skipped (is this really JSON Lines?)`,
          },
        });
        pending = [];
        pendingLen = 0;
        discarding = true;
      }
    }
    if (rows.length > 0) yield rows;
  }
  if (pendingLen > 0 && !discarding) {
    const row = lineToRow(Buffer.concat(pending, pendingLen));
    if (row) yield [row];
  }
}
