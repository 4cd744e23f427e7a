/**
 * Streaming CSV reader (RFC 4180 and the usual dialects): any one-character delimiter, quoted
 * fields with embedded delimiters, doubled quotes and CR/LF, CRLF / LF / CR line ends.
 *
 * Two stages, neither of which holds more than one record:
 * 1. {@link CsvRecordSplitter}, a byte-level state machine fed chunk by chunk, cuts the stream
 *    into records (the delimiter, quote, CR and LF are ASCII, so this works on UTF-8 and latin1
 *    bytes alike, and each record can be decoded on its own — with a latin1 fallback for a stray
 *    invalid UTF-8 record).
 * 2. {@link splitFields} splits one decoded record into field values, with the same quoting rules.
 */
import type { ByteSource, TextEncoding } from './detect.js';
import { decodeRecord, detectDelimiter, SNIFF_BYTES } from './detect.js';
import {
  HeaderMapping,
  MAX_RECORD_BYTES,
  preview,
  setField,
  UnsupportedFileError,
  type SourceRow,
} from './source-row.js';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3; // a quote inside a quoted field: closes it, unless another quote follows

/** One record cut from the byte stream, not yet decoded. */
export interface RawRecord {
  bytes: Buffer;
  /** 1-based line the record starts on. */
  line: number;
  /** Line the record ends on. */
  lastLine: number;
  /** The file ended inside a quoted field. */
  unterminated?: boolean;
  /** The record was longer than MAX_RECORD_BYTES; `bytes` is its start only. */
  oversized?: boolean;
  /** Byte offset in the record, and line, of the last quoted field opened (for error messages). */
  quoteOffset?: number;
  quoteLine?: number;
}

/**
 * Byte-level CSV record splitter; feed it chunks with {@link push}, then call {@link end}.
 *
 * Outside quotes it jumps between line ends and quotes with `indexOf`; a quote opens a quoted field
 * only at the start of a field (after the delimiter or at the start of the record), like
 * {@link splitFields}. Inside quotes it jumps from quote to quote.
 */
export class CsvRecordSplitter {
  private state = FIELD_START;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private line = 1;
  private recLine = 1;
  private quoteOffset = 0;
  private quoteLine = 0;
  private lastByte = -1; // last byte of the previous chunk
  private crEnded = false; // the previous chunk ended with a CR that ended a record
  private discarding = false;
  private readonly delim: number;

  constructor(delimiter: string, private readonly maxRecordBytes = MAX_RECORD_BYTES) {
    this.delim = delimiter.charCodeAt(0);
  }

  push(chunk: Buffer, out: RawRecord[]): void {
    const n = chunk.length;
    if (n === 0) return;
    let i = 0;
    if (this.discarding) {
      const j = chunk.indexOf(LF);
      if (j < 0) return;
      this.discarding = false;
      this.line++;
      this.recLine = this.line;
      this.state = FIELD_START;
      i = j + 1;
    } else if (this.crEnded) {
      this.crEnded = false;
      if (chunk[0] === LF) i = 1; // the LF of a CRLF split across chunks
    }
    let start = i;
    let state = this.state;
    let line = this.line;
    let nextLF = -1;
    let nextCR = -1;
    let nextQuote = -1;
    while (i < n) {
      if (state === QUOTED) {
        const q = chunk.indexOf(QUOTE, i);
        const stop = q < 0 ? n : q;
        for (let k = i; k < stop; k++) if (chunk[k] === LF) line++;
        if (q < 0) {
          i = n;
          break;
        }
        if (q + 1 === n) {
          state = QUOTE_IN_QUOTED; // decided by the next chunk's first byte
          i = n;
          break;
        }
        if (chunk[q + 1] === QUOTE) {
          i = q + 2; // doubled quote
          continue;
        }
        state = UNQUOTED;
        i = q + 1;
        continue;
      }
      if (state === QUOTE_IN_QUOTED) {
        // only at the start of a chunk
        if (chunk[i] === QUOTE) {
          state = QUOTED;
          i++;
          continue;
        }
        state = UNQUOTED;
      }
      if (nextLF < i) {
        nextLF = chunk.indexOf(LF, i);
        if (nextLF < 0) nextLF = n;
      }
      if (nextCR < i) {
        nextCR = chunk.indexOf(CR, i);
        if (nextCR < 0) nextCR = n;
      }
      if (nextQuote < i) {
        nextQuote = chunk.indexOf(QUOTE, i);
        if (nextQuote < 0) nextQuote = n;
      }
      const eol = nextLF < nextCR ? nextLF : nextCR;
      if (nextQuote < eol) {
        const q = nextQuote;
        const atRecordStart = q === start && this.pendingLen === 0;
        const prev = q > 0 ? chunk[q - 1] : this.lastByte;
        if (atRecordStart || prev === this.delim) {
          state = QUOTED;
          this.quoteOffset = this.pendingLen + (q - start);
          this.quoteLine = line;
        } else {
          state = UNQUOTED; // a quote inside an unquoted field is an ordinary character
        }
        i = q + 1;
        continue;
      }
      if (eol >= n) {
        i = n;
        break;
      }
      this.emit(out, chunk, start, eol, line, false);
      line++;
      this.recLine = line;
      state = FIELD_START;
      if (chunk[eol] === CR) {
        if (eol + 1 < n) i = chunk[eol + 1] === LF ? eol + 2 : eol + 1;
        else {
          i = n;
          this.crEnded = true;
        }
      } else {
        i = eol + 1;
      }
      start = i;
    }
    this.state = state;
    this.line = line;
    this.lastByte = chunk[n - 1];
    if (start < n) {
      this.crEnded = false;
      this.pending.push(chunk.subarray(start, n));
      this.pendingLen += n - start;
      if (this.pendingLen > this.maxRecordBytes) {
        const head = Buffer.from(Buffer.concat(this.pending, this.pendingLen).subarray(0, 4096));
        const rec: RawRecord = { bytes: head, line: this.recLine, lastLine: line, oversized: true };
        if (state === QUOTED) {
          rec.quoteOffset = this.quoteOffset;
          rec.quoteLine = this.quoteLine;
        }
        out.push(rec);
        this.pending = [];
        this.pendingLen = 0;
        this.state = FIELD_START;
        this.discarding = true; // resume after the next LF
      }
    }
  }

  private emit(out: RawRecord[], chunk: Buffer, start: number, end: number, lastLine: number, unterminated: boolean): void {
    let bytes: Buffer;
    if (this.pendingLen === 0) {
      bytes = chunk.subarray(start, end);
    } else {
      if (end > start) this.pending.push(chunk.subarray(start, end));
      bytes = Buffer.concat(this.pending, this.pendingLen + (end - start));
      this.pending = [];
      this.pendingLen = 0;
    }
    const rec: RawRecord = { bytes, line: this.recLine, lastLine };
    if (unterminated) {
      rec.unterminated = true;
      rec.quoteOffset = this.quoteOffset;
      rec.quoteLine = this.quoteLine;
    }
    out.push(rec);
  }

  /** The last record, when the file does not end with a line end. */
  end(out: RawRecord[]): void {
    if (this.discarding) return;
    if (this.pendingLen > 0) {
      this.emit(out, Buffer.alloc(0), 0, 0, this.line, this.state === QUOTED);
    }
    this.state = FIELD_START;
  }
}

/** 0-based index of the field that the byte at `offset` of a record is in (quotes respected). */
export function fieldIndexAt(bytes: Buffer, offset: number, delimiter: string): number {
  const d = delimiter.charCodeAt(0);
  let field = 0;
  let state = FIELD_START;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) {
    const b = bytes[i];
    if (state === QUOTED) {
      if (b === QUOTE) state = QUOTE_IN_QUOTED;
      continue;
    }
    if (state === QUOTE_IN_QUOTED && b === QUOTE) {
      state = QUOTED;
      continue;
    }
    if (b === d) {
      field++;
      state = FIELD_START;
    } else if (b === QUOTE && state === FIELD_START) state = QUOTED;
    else state = UNQUOTED;
  }
  return field;
}

/**
 * Splits one decoded record into its field values. A quoted field's text after its closing quote
 * (`"a"b`) is kept as text; a quote inside an unquoted field (`12" pizza`) is an ordinary
 * character; a quoted field still open at the end of the record runs to its end.
 */
export function splitFields(text: string, delim: string): string[] {
  if (text.indexOf('"') === -1) return text.split(delim);
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === QUOTE) {
      let val = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) {
          val += text.slice(j);
          i = n;
          break;
        }
        if (text.charCodeAt(q + 1) === QUOTE) {
          val += text.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        val += text.slice(j, q);
        i = q + 1;
        break;
      }
      const dpos = i >= n ? -1 : text.indexOf(delim, i);
      if (dpos === -1) {
        out.push(val + text.slice(i));
        return out;
      }
      out.push(val + text.slice(i, dpos));
      i = dpos + 1;
    } else {
      const dpos = text.indexOf(delim, i);
      if (dpos === -1) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, dpos));
      i = dpos + 1;
    }
  }
}

export interface CsvOptions {
  file: string;
  encoding: TextEncoding;
  delimiter?: string;
  /** Delimiter when none is given and detection finds none (\t for .tsv). */
  defaultDelimiter: string;
  mapping: HeaderMapping;
  signal?: AbortSignal;
}

export interface OpenedCsv {
  delimiter: string;
  sourceHeaders: string[];
  headers: string[];
  /** Data rows, in batches (one per chunk read). */
  batches: AsyncGenerator<SourceRow[]>;
}

const SEP_LINE = /^sep=(.)\s*$/i;

/** Reads the header row (whole-file problems throw {@link UnsupportedFileError}) and returns the data rows. */
export async function openCsv(src: ByteSource, opts: CsvOptions): Promise<OpenedCsv> {
  const { file, encoding, mapping } = opts;
  const sample = decodeRecord(await src.peek(SNIFF_BYTES), 'latin1'); // ASCII structure only
  let delimiter = opts.delimiter;
  let skipSepLine = false;
  const firstLine = /^[^\r\n]*/.exec(sample)?.[0] ?? '';
  const sep = SEP_LINE.exec(firstLine);
  if (sep) {
    // Excel's "sep=;" hint line
    skipSepLine = true;
    delimiter ??= sep[1];
  }
  delimiter ??= detectDelimiter(skipSepLine ? sample.slice(firstLine.length) : sample, opts.defaultDelimiter);

  const splitter = new CsvRecordSplitter(delimiter);
  const records = recordBatches(src, splitter);
  let batch: RawRecord[] = [];
  let at = 0;
  let header: RawRecord | undefined;
  let headerText = '';
  find: for (;;) {
    const r = await records.next();
    if (r.done) break;
    batch = r.value;
    for (at = 0; at < batch.length; at++) {
      const rec = batch[at];
      if (rec.oversized) {
        await records.return(undefined);
        throw new UnsupportedFileError(file, `the header row (line ${rec.line}) is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB; is this a CSV file?`);
      }
      const text = decodeRecord(rec.bytes, encoding);
      if (text.trim() === '') continue;
      if (skipSepLine) {
        skipSepLine = false;
        if (SEP_LINE.test(text)) continue;
      }
      if (rec.unterminated) {
        await records.return(undefined);
        throw new UnsupportedFileError(file, `the header row (line ${rec.line}) has a quoted field that is never closed`);
      }
      header = rec;
      headerText = text;
      at++;
      break find;
    }
  }
  if (!header) {
    await records.return(undefined);
    throw new UnsupportedFileError(file, 'no header row: the file contains only empty lines');
  }
  const sourceHeaders = splitFields(headerText, delimiter).map((h) => h.trim());
  let headers: string[];
  try {
    headers = mapping.headers(sourceHeaders, file);
  } catch (e) {
    await records.return(undefined);
    throw e;
  }
  const rest = batch.slice(at);
  return { delimiter, sourceHeaders, headers, batches: csvRows(rest, records, headers, delimiter, encoding, opts.signal) };
}

async function* recordBatches(src: ByteSource, splitter: CsvRecordSplitter): AsyncGenerator<RawRecord[]> {
  for await (const chunk of src.chunks()) {
    const out: RawRecord[] = [];
    splitter.push(chunk, out);
    if (out.length > 0) yield out;
  }
  const out: RawRecord[] = [];
  splitter.end(out);
  if (out.length > 0) yield out;
}

async function* csvRows(
  first: RawRecord[],
  records: AsyncGenerator<RawRecord[]>,
  headers: string[],
  delimiter: string,
  encoding: TextEncoding,
  signal: AbortSignal | undefined,
): AsyncGenerator<SourceRow[]> {
  let rowNumber = 0;
  const expected = headers.length;
  const delimName = delimiter === '\t' ? 'tab' : `"${delimiter}"`;
  const mb = MAX_RECORD_BYTES / 1024 / 1024;

  function toRow(rec: RawRecord): SourceRow | null {
    rowNumber++;
    const raw = decodeRecord(rec.bytes, encoding);
    if (rec.oversized) {
      const index = rec.quoteOffset !== undefined && rec.quoteOffset < rec.bytes.length ? fieldIndexAt(rec.bytes, rec.quoteOffset, delimiter) : undefined;
      const field = index !== undefined ? headers[index] : undefined;
      return {
        rowNumber,
        fields: {},
        raw: preview(raw),
        error: {
          code: 'malformed_row',
          message:
            `row ${rowNumber}: record is longer than ${mb} MB (from line ${rec.line})` +
            (rec.quoteLine !== undefined ? `; probably a quote opened${field ? ` in field "${field}"` : ''} on line ${rec.quoteLine} is never closed` : '') +
            '; skipped up to the next line end',
          ...(field !== undefined ? { field } : {}),
        },
      };
    }
    if (raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === '')) return null; // empty line
    const values = splitFields(raw, delimiter);
    const fields: Record<string, unknown> = {};
    const m = values.length < expected ? values.length : expected;
    let allEmpty = true;
    for (let i = 0; i < m; i++) {
      const v = values[i];
      if (v !== '') allEmpty = false;
      setField(fields, headers[i], v);
    }
    if (rec.unterminated) {
      const field = headers[fieldIndexAt(rec.bytes, rec.quoteOffset!, delimiter)];
      return {
        rowNumber,
        fields,
        raw,
        error: {
          code: 'malformed_row',
          message: `row ${rowNumber}: unterminated quoted field${field !== undefined ? ` "${field}"` : ''}: the quote opened on line ${rec.quoteLine} is never closed before the end of the file`,
          ...(field !== undefined ? { field } : {}),
        },
      };
    }
    if (values.length !== expected) {
      for (let i = m; i < values.length && allEmpty; i++) if (values[i] !== '') allEmpty = false;
      if (allEmpty && values.length === 1) return null;
      const where = rec.lastLine > rec.line ? `lines ${rec.line}–${rec.lastLine}` : `line ${rec.line}`;
      return {
        rowNumber,
        fields,
        raw,
        error: {
          code: 'malformed_row',
          message:
            `row ${rowNumber}: expected ${expected} columns, found ${values.length} (${where}, delimiter ${delimName})` +
            (rec.lastLine > rec.line ? '; the record spans several lines, check for an unbalanced quote' : ''),
        },
      };
    }
    if (allEmpty) return null; // a line of only delimiters
    return { rowNumber, fields, raw };
  }

  function convert(batch: RawRecord[]): SourceRow[] {
    const rows: SourceRow[] = [];
    for (const rec of batch) {
      const row = toRow(rec);
      if (row) rows.push(row);
    }
    return rows;
  }

  try {
    if (first.length > 0) yield convert(first);
    for await (const batch of records) {
      signal?.throwIfAborted();
      yield convert(batch);
    }
  } finally {
    await records.return(undefined);
  }
}
