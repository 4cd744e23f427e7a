/**
 * Streaming record readers for file imports: CSV, JSON Lines, JSON arrays and XLSX, any of them
 * gzip-compressed. `openRecordStream(path)` detects what it can, reads the header, and returns an
 * async iterable of {@link SourceRow}s; memory stays flat whatever the file size.
 * Rules and options: docs/import-formats.md.
 */
import { openCsv } from './csv.js';
import {
  ByteSource,
  detectEncoding,
  firstNonSpace,
  formatExtension,
  hasUtf16Bom,
  hasUtf8Bom,
  looksBinary,
  looksLikeMarkup,
  looksLikeSingleJsonObject,
  resolveFormat,
  SNIFF_BYTES,
  type TextEncoding,
} from './detect.js';
import { jsonArrayRows } from './json-array.js';
import { jsonlRows } from './jsonl.js';
import {
  FILE_FORMATS,
  HeaderMapping,
  UnsupportedFileError,
  type FileFormat,
  type ReadOptions,
  type RecordStream,
  type SourceRow,
} from './source-row.js';
import { openXlsx } from './xlsx.js';

export {
  FILE_FORMATS,
  HeaderMapping,
  normalizeHeaderName,
  parseMappingSpec,
  UnsupportedFileError,
  MAX_RECORD_BYTES,
  type FileFormat,
  type ReadOptions,
  type RecordStream,
  type RowError,
  type SourceRow,
} from './source-row.js';
export { detectDelimiter, DELIMITER_CANDIDATES } from './detect.js';

class FileRecordStream implements RecordStream {
  encoding?: string;
  delimiter?: string;
  headers?: string[];
  sourceHeaders?: string[];
  /** XLSX: the name of the sheet read. */
  sheet?: string;
  readonly totalBytes: number;
  readonly gzip: boolean;
  private used = false;
  private closed = false;
  private batch: SourceRow[] = [];
  private at = 0;

  /**
   * @param readFraction how much of the file has been read, 0..1, when that is not the bytes read
   *   from it in order (XLSX: the parts are read out of order, and the sheet's XML is what counts).
   */
  constructor(
    readonly format: FileFormat,
    private readonly src: ByteSource,
    private readonly batches_: AsyncGenerator<SourceRow[]>,
    private readonly readFraction?: () => number,
  ) {
    this.totalBytes = src.totalBytes;
    this.gzip = src.gzip;
  }

  bytesRead(): number {
    return this.readFraction ? Math.round(this.totalBytes * this.readFraction()) : this.src.bytesRead;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batch = [];
    try {
      await this.batches_.return(undefined);
    } finally {
      this.src.destroy();
    }
  }

  /**
   * Rows come from the parsers in batches (one per chunk read); this iterator hands them out one
   * by one with a single already-resolved promise per row, which keeps per-row overhead low.
   */
  [Symbol.asyncIterator](): AsyncIterator<SourceRow> {
    if (this.used) throw new Error(`${this.src.file}: a record stream can be iterated only once`);
    this.used = true;
    return {
      next: () => {
        if (this.at < this.batch.length) return Promise.resolve({ value: this.batch[this.at++], done: false });
        return this.fill();
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
      throw: async (e?: unknown) => {
        await this.close();
        throw e;
      },
    };
  }

  /**
   * The same rows in the batches the parser produces (one per chunk read, typically thousands of
   * rows): for consumers that insert in batches anyway, this saves the per-row promise of `for await`.
   * Use either this or the row iterator, once.
   */
  batches(): AsyncIterable<SourceRow[]> {
    if (this.used) throw new Error(`${this.src.file}: a record stream can be iterated only once`);
    this.used = true;
    const self = this;
    return {
      [Symbol.asyncIterator]: async function* () {
        try {
          for (;;) {
            if (self.closed) return;
            const r = await self.batches_.next();
            if (r.done) return;
            if (r.value.length === 0) continue;
            self.noteHeaders(r.value);
            yield r.value;
          }
        } finally {
          await self.close();
        }
      },
    };
  }

  private noteHeaders(batch: SourceRow[]): void {
    // JSON: the headers are the keys of the first good row
    if (!this.headers) {
      const good = batch.find((x) => !x.error);
      if (good) this.headers = Object.keys(good.fields);
    }
  }

  private async fill(): Promise<IteratorResult<SourceRow>> {
    for (;;) {
      if (this.closed) return { value: undefined, done: true };
      let r: IteratorResult<SourceRow[]>;
      try {
        r = await this.batches_.next();
      } catch (e) {
        await this.close().catch(() => undefined);
        throw e;
      }
      if (r.done) {
        await this.close();
        return { value: undefined, done: true };
      }
      if (r.value.length === 0) continue;
      this.batch = r.value;
      this.at = 1;
      this.noteHeaders(r.value);
      return { value: r.value[0], done: false };
    }
  }
}

const DELIMITER_NAMES: Record<string, string> = { '\\t': '\t', tab: '\t', comma: ',', semicolon: ';', pipe: '|' };

/** A delimiter as typed on a command line: one character, or the words tab, comma, semicolon, pipe, or a backslash-t. */
export function parseDelimiter(d: string): string {
  return DELIMITER_NAMES[d.toLowerCase()] ?? d;
}

function validateOptions(opts: ReadOptions): void {
  if (opts.format !== undefined && !FILE_FORMATS.includes(opts.format)) {
    throw new TypeError(`format: expected one of ${FILE_FORMATS.join(', ')}, got "${opts.format}"`);
  }
  if (opts.encoding !== undefined && opts.encoding !== 'utf-8' && opts.encoding !== 'latin1') {
    throw new TypeError(`encoding: expected utf-8 or latin1, got "${opts.encoding}"`);
  }
  if (opts.delimiter !== undefined) {
    const d = parseDelimiter(opts.delimiter);
    if (d.length !== 1 || d.charCodeAt(0) > 0x7e || d === '"' || d === '\r' || d === '\n') {
      throw new TypeError(`delimiter: expected one ASCII character other than a quote or line end, got ${JSON.stringify(d)}`);
    }
  }
  if (typeof opts.sheet === 'number' && (!Number.isInteger(opts.sheet) || opts.sheet < 1)) {
    throw new TypeError(`sheet: expected a sheet name or a 1-based index, got ${opts.sheet}`);
  }
}

/** Normalises `encoding` values people type: "utf8", "UTF-8", "iso-8859-1", "latin-1" … */
export function parseEncodingName(name: string): 'utf-8' | 'latin1' {
  const n = name.trim().toLowerCase().replace(/[_\s]/g, '-');
  if (n === 'utf-8' || n === 'utf8') return 'utf-8';
  if (['latin1', 'latin-1', 'iso-8859-1', 'iso8859-1', 'windows-1252', 'cp1252', 'l1'].includes(n)) return 'latin1';
  throw new TypeError(`encoding: expected utf-8 or latin1 (ISO-8859-1), got "${name}"`);
}

/**
 * Opens a file for import. Whole-file problems (unreadable, empty, unknown format, no header, no
 * such sheet) reject with {@link UnsupportedFileError}; row-level problems are yielded as rows with
 * `error` set. Iterate the result once; breaking out early (or `close()`) releases the file.
 */
export async function openRecordStream(path: string, opts: ReadOptions = {}): Promise<RecordStream> {
  validateOptions(opts);
  opts.signal?.throwIfAborted();
  const mapping = new HeaderMapping(opts.mapping);
  const src = await ByteSource.open(path, opts.signal);
  try {
    const head = await src.peek(SNIFF_BYTES);
    if (head.length === 0) throw new UnsupportedFileError(path, src.gzip ? 'the file is empty (the gzip data decompresses to nothing)' : 'the file is empty');
    const format = resolveFormat(path, head, opts.format);

    if (format === 'xlsx') {
      const x = await openXlsx(src, { file: path, sheet: opts.sheet, mapping, signal: opts.signal });
      const s = new FileRecordStream(format, src, x.batches, x.readFraction);
      s.headers = x.headers;
      s.sourceHeaders = x.sourceHeaders;
      s.sheet = x.sheetName;
      return s;
    }

    if (hasUtf16Bom(head)) throw new UnsupportedFileError(path, 'UTF-16 text is not supported; save the file as UTF-8');
    const bom = hasUtf8Bom(head);
    if (bom) src.skip(3);
    const sample = bom ? await src.peek(SNIFF_BYTES) : head;
    if (looksBinary(sample)) {
      throw new UnsupportedFileError(path, `the content is binary, not ${format === 'csv' ? 'CSV' : 'JSON'} text (UTF-16 is not supported; save as UTF-8)`);
    }
    if (firstNonSpace(sample) < 0 && src.atEnd) throw new UnsupportedFileError(path, 'the file is empty (only whitespace)');
    if (looksLikeMarkup(sample)) {
      throw new UnsupportedFileError(path, 'the content is an HTML or XML document, not CSV or JSON (an error page saved instead of the export?)');
    }
    if (format === 'jsonl' && looksLikeSingleJsonObject(sample)) {
      throw new UnsupportedFileError(path, 'the file is a single JSON object; expected an array of objects ([{…}, {…}]) or JSON Lines (one object per line)');
    }
    const encoding: TextEncoding = opts.encoding ?? (bom ? 'utf-8' : detectEncoding(sample, src.atEnd));

    if (format === 'csv') {
      const c = await openCsv(src, {
        file: path,
        encoding,
        delimiter: opts.delimiter === undefined ? undefined : parseDelimiter(opts.delimiter),
        defaultDelimiter: formatExtension(path) === '.tsv' ? '\t' : ',',
        mapping,
        signal: opts.signal,
      });
      const s = new FileRecordStream(format, src, c.batches);
      s.encoding = encoding;
      s.delimiter = c.delimiter;
      s.headers = c.headers;
      s.sourceHeaders = c.sourceHeaders;
      return s;
    }
    if (format === 'json' && firstNonSpace(sample) !== 0x5b /* [ */) {
      throw new UnsupportedFileError(path, 'not a JSON array: the content does not start with "[" (for one object per line use JSON Lines)');
    }
    const json = { file: path, encoding, mapping, signal: opts.signal };
    const s = new FileRecordStream(format, src, format === 'json' ? jsonArrayRows(src, json) : jsonlRows(src, json));
    s.encoding = encoding;
    return s;
  } catch (e) {
    src.destroy();
    throw e;
  }
}
