/**
 * Streaming reader for a JSON array of objects (`[{…},{…}]`), element by element: a small
 * byte-level scanner tracks strings, escapes and bracket depth to find the top-level commas, and
 * only one element is held and JSON.parse'd at a time. `rowNumber` is the element index + 1.
 */
import type { ByteSource } from './detect.js';
import { decodeRecord } from './detect.js';
import { jsonRecordToRow, type JsonOptions } from './jsonl.js';
import { MAX_RECORD_BYTES, preview, UnsupportedFileError, type SourceRow } from './source-row.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;

const BEFORE = 0;
const IN_ARRAY = 1;
const AFTER = 2;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Rows in batches (one per chunk read). */
export async function* jsonArrayRows(src: ByteSource, opts: JsonOptions): AsyncGenerator<SourceRow[]> {
  const { file, encoding, mapping, signal } = opts;
  let phase = BEFORE;
  let depth = 0;
  let inString = false;
  let escape = false;
  let index = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let oversized = false;
  let oversizedHead: Buffer | undefined;

  function take(chunk: Buffer, start: number, end: number): Buffer {
    let bytes: Buffer;
    if (oversized) bytes = oversizedHead!;
    else if (pendingLen === 0) bytes = chunk.subarray(start, end);
    else {
      if (end > start) pending.push(chunk.subarray(start, end));
      bytes = Buffer.concat(pending, pendingLen + end - start);
    }
    pending = [];
    pendingLen = 0;
    oversized = false;
    oversizedHead = undefined;
    return bytes;
  }

  /** One element is complete (terminated by "," or by the closing "]"). */
  function element(bytes: Buffer, closing: boolean, wasOversized: boolean): SourceRow | null {
    const text = decodeRecord(bytes, encoding).trim();
    if (text === '' && !wasOversized) {
      if (closing) return null; // "[]" or a trailing comma
      index++;
      return { rowNumber: index, fields: {}, raw: '', error: { code: 'malformed_row', message: `row ${index}: empty array element (two commas in a row)` } };
    }
    index++;
    if (wasOversized) {
      return {
        rowNumber: index,
        fields: {},
        raw: preview(text),
        error: { code: 'malformed_row', message: `row ${index}: array element is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MB; skipped` },
      };
    }
    return jsonRecordToRow(index, text, mapping, 'array element');
  }

  /** Non-whitespace after the closing "]": reported once, and the rest ignored. */
  function trailing(chunk: Buffer, at: number): SourceRow {
    index++;
    return {
      rowNumber: index,
      fields: {},
      raw: preview(decodeRecord(chunk.subarray(at, Math.min(chunk.length, at + 4096)), encoding)),
      error: { code: 'malformed_row', message: `row ${index}: unexpected content after the closing "]" of the JSON array; the rest of the file was ignored` },
    };
  }

  for await (const chunk of src.chunks()) {
    signal?.throwIfAborted();
    const rows: SourceRow[] = [];
    const n = chunk.length;
    let i = 0;
    if (phase === BEFORE) {
      while (i < n && isSpace(chunk[i])) i++;
      if (i === n) continue;
      if (chunk[i] !== LBRACKET) throw new UnsupportedFileError(file, 'not a JSON array: the content does not start with "["');
      phase = IN_ARRAY;
      depth = 1;
      i++;
    }
    if (phase === AFTER) {
      while (i < n && isSpace(chunk[i])) i++;
      if (i < n) {
        index++;
        yield [trailing(chunk, i)];
        return;
      }
      continue;
    }
    let start = i;
    for (; i < n; i++) {
      const b = chunk[i];
      if (inString) {
        if (escape) escape = false;
        else if (b === BACKSLASH) escape = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === LBRACE || b === LBRACKET) depth++;
      else if (b === RBRACE) {
        if (depth > 1) depth--;
      } else if (b === RBRACKET) {
        if (depth > 1) depth--;
        else {
          const wasOversized = oversized;
          const row = element(take(chunk, start, i), true, wasOversized);
          if (row) rows.push(row);
          phase = AFTER;
          i++;
          break;
        }
      } else if (b === COMMA && depth === 1) {
        const wasOversized = oversized;
        const row = element(take(chunk, start, i), false, wasOversized);
        if (row) rows.push(row);
        start = i + 1;
      }
    }
    if (phase === IN_ARRAY) {
      if (!oversized && start < n) {
        pending.push(chunk.subarray(start, n));
        pendingLen += n - start;
        if (pendingLen > MAX_RECORD_BYTES) {
          oversized = true;
          oversizedHead = Buffer.from(Buffer.concat(pending, pendingLen).subarray(0, 4096));
          pending = [];
          pendingLen = 0;
        }
      }
    } else {
      // closed: anything but whitespace after the "]" is reported once
      while (i < n && isSpace(chunk[i])) i++;
      if (i < n) {
        rows.push(trailing(chunk, i));
        yield rows;
        return;
      }
    }
    if (rows.length > 0) yield rows;
  }

  if (phase === BEFORE) throw new UnsupportedFileError(file, 'the file contains no JSON data');
  if (phase === IN_ARRAY) {
    const wasOversized = oversized;
    const bytes = take(Buffer.alloc(0), 0, 0);
    const text = decodeRecord(bytes, encoding).trim();
    if (text !== '' || wasOversized) {
      const row = element(bytes, false, wasOversized);
      if (row?.error) {
        row.error.message += inString || depth > 1
          ? ' (the file ends inside this element: unterminated string or missing closing bracket)'
          : ' (the file ends inside this element)';
        yield [row];
        return;
      }
      if (row) yield [row];
    }
    index++;
    yield [{
      rowNumber: index,
      fields: {},
      raw: '',
      error: { code: 'malformed_row', message: `row ${index}: the file ends before the closing "]" of the JSON array (truncated file?)` },
    }];
  }
}
