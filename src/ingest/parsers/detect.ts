/**
 * Reading a file as a stream of bytes (gzip detected by its magic bytes and decompressed on the
 * fly), and the sniffing rules: format, text encoding, CSV delimiter. See docs/import-formats.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { UnsupportedFileError, type FileFormat } from './source-row.js';

/** How much of the (decompressed) start of a file is looked at to detect format, encoding and delimiter. */
export const SNIFF_BYTES = 64 * 1024;
const READ_CHUNK = 256 * 1024;

export type TextEncoding = 'utf-8' | 'latin1';

/**
 * The bytes of a file, decompressed when it starts with the gzip magic bytes (1f 8b), with the
 * start kept back so it can be sniffed ({@link peek}) before a parser reads it ({@link chunks}).
 */
export class ByteSource {
  private head: Buffer[] = [];
  private headLen = 0;
  private done = false;
  private iterating = false;
  private destroyed = false;
  private readonly iter: AsyncIterator<Buffer>;

  private constructor(
    readonly file: string,
    readonly totalBytes: number,
    readonly gzip: boolean,
    private readonly fileStream: fs.ReadStream,
    private readonly body: Readable,
    private readonly signal: AbortSignal | undefined,
    private readonly onAbort: (() => void) | undefined,
  ) {
    this.iter = body[Symbol.asyncIterator]();
  }

  static async open(file: string, signal?: AbortSignal): Promise<ByteSource> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch (e) {
      throw new UnsupportedFileError(file, describeFsError(e), { cause: e });
    }
    if (!st.isFile()) throw new UnsupportedFileError(file, 'not a regular file');
    if (st.size === 0) throw new UnsupportedFileError(file, 'the file is empty');
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (e) {
      throw new UnsupportedFileError(file, describeFsError(e), { cause: e });
    }
    const magic = Buffer.alloc(2);
    let fileStream: fs.ReadStream;
    try {
      await fh.read(magic, 0, 2, 0);
      fileStream = fh.createReadStream({ highWaterMark: READ_CHUNK, start: 0 });
    } catch (e) {
      await fh.close().catch(() => {});
      throw new UnsupportedFileError(file, describeFsError(e), { cause: e });
    }
    const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
    // errors reach the reader through the stream's iterator; these keep a late one (after an
    // abort, say) from being an unhandled 'error' event
    fileStream.on('error', () => {});
    let body: Readable = fileStream;
    if (gzip) {
      const gunzip = zlib.createGunzip({ chunkSize: READ_CHUNK });
      pipeline(fileStream, gunzip, () => {});
      gunzip.on('error', () => {});
      body = gunzip;
    }
    let onAbort: (() => void) | undefined;
    if (signal) {
      onAbort = () => fileStream.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return new ByteSource(file, st.size, gzip, fileStream, body, signal, onAbort);
  }

  /** Bytes read from the file on disk so far (compressed bytes for gzip). */
  get bytesRead(): number {
    return this.fileStream.bytesRead;
  }

  /** True once the whole (decompressed) content is in the peek buffer. */
  get atEnd(): boolean {
    return this.done;
  }

  private async read(): Promise<Buffer | null> {
    if (this.done) return null;
    try {
      const r = await this.iter.next();
      if (r.done) {
        this.done = true;
        return null;
      }
      return r.value as Buffer;
    } catch (e) {
      this.signal?.throwIfAborted();
      throw this.wrapError(e);
    }
  }

  private wrapError(e: unknown): Error {
    if (e instanceof UnsupportedFileError) return e;
    const code = (e as NodeJS.ErrnoException)?.code ?? '';
    if (this.gzip && (code.startsWith('Z_') || /unexpected end of file|incorrect header check|invalid/i.test(String((e as Error)?.message)))) {
      return new UnsupportedFileError(this.file, `the gzip data is corrupt or truncated (${(e as Error).message})`, { cause: e });
    }
    return new UnsupportedFileError(this.file, describeFsError(e), { cause: e });
  }

  /** At least `n` bytes of the (decompressed) start of the file, fewer only at the end of the file. */
  async peek(n: number): Promise<Buffer> {
    if (this.iterating) throw new Error('ByteSource.peek after chunks()');
    while (this.headLen < n) {
      const b = await this.read();
      if (!b) break;
      this.head.push(b);
      this.headLen += b.length;
    }
    if (this.head.length > 1) this.head = [Buffer.concat(this.head, this.headLen)];
    const all = this.head[0] ?? Buffer.alloc(0);
    return all.length > n ? all.subarray(0, n) : all;
  }

  /** Drops the first `n` bytes (a byte-order mark); call after {@link peek}. */
  skip(n: number): void {
    const all = this.head[0];
    if (!all) return;
    this.head = [all.subarray(Math.min(n, all.length))];
    this.headLen = this.head[0].length;
  }

  /** The content, from the first byte not skipped; once only. */
  async *chunks(): AsyncGenerator<Buffer> {
    if (this.iterating) throw new Error('ByteSource.chunks() called twice');
    this.iterating = true;
    const head = this.head;
    this.head = [];
    this.headLen = 0;
    for (const b of head) {
      this.signal?.throwIfAborted();
      if (b.length > 0) yield b;
    }
    for (;;) {
      this.signal?.throwIfAborted();
      const b = await this.read();
      if (!b) return;
      yield b;
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.body.destroy();
    this.fileStream.destroy();
  }
}

function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return `cannot read the file (${err?.message ?? String(e)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Text decoding

/** Windows-1252 characters for bytes 0x80–0x9F (C1 controls in ISO-8859-1, never text in practice). */
const CP1252_C1 =
  '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
  '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';
const C1_TEST = /[\u0080-\u009f]/;
const C1_ALL = /[\u0080-\u009f]/g;

/** ISO-8859-1, except that bytes 0x80–0x9F are read as Windows-1252 (0x80 = €), as browsers do. */
export function decodeLatin1(buf: Uint8Array): string {
  const s = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
  return C1_TEST.test(s) ? s.replace(C1_ALL, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]) : s;
}

/**
 * Decodes one record. In a file detected (or declared) as UTF-8, a record that is not valid UTF-8
 * is decoded as latin1 instead, so one stray byte neither crashes the import nor yields U+FFFD.
 */
export function decodeRecord(buf: Buffer, encoding: TextEncoding): string {
  if (encoding === 'latin1') return decodeLatin1(buf);
  return isUtf8(buf) ? buf.toString('utf8') : decodeLatin1(buf);
}

/** Cuts off an incomplete UTF-8 sequence at the very end of a sample (it may continue past the sample). */
export function trimIncompleteUtf8(buf: Buffer): Buffer {
  const n = buf.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const b = buf[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? buf.subarray(0, n - back) : buf;
  }
  return buf;
}

/** utf-8 when the sample is valid UTF-8, else latin1. `complete`: the sample is the whole file. */
export function detectEncoding(sample: Buffer, complete: boolean): TextEncoding {
  return isUtf8(complete ? sample : trimIncompleteUtf8(sample)) ? 'utf-8' : 'latin1';
}

// ---------------------------------------------------------------------------------------------
// Format

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.xlsx': 'xlsx',
};

/** The extension that names the format, `.gz` looked through: "orders.csv.gz" → ".csv". */
export function formatExtension(file: string): string {
  let name = path.basename(file).toLowerCase();
  if (name.endsWith('.gz')) name = name.slice(0, -3);
  return path.extname(name);
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function isOle(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0;
}

/** NUL bytes or many control characters in the sample: not a text file. */
export function looksBinary(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  if (sample.includes(0)) return true;
  let ctrl = 0;
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) ctrl++;
  }
  return ctrl > sample.length / 20;
}

/** First byte that is not JSON whitespace, or -1. */
export function firstNonSpace(sample: Buffer): number {
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  }
  return -1;
}

/**
 * The format of a file: `requested`, else its extension (with content checks: a ZIP is XLSX
 * whatever its name, a ".json" file starting with "{" is JSON Lines), else sniffed from the
 * content ("[" → json, "{" → jsonl, other text → csv). `head` is the decompressed start.
 */
export function resolveFormat(file: string, head: Buffer, requested: FileFormat | undefined): FileFormat {
  const zip = isZip(head);
  if (isOle(head)) {
    throw new UnsupportedFileError(file, 'this is a legacy Excel 97-2003 (.xls) file or a password-protected workbook; save it as an unprotected .xlsx or as CSV');
  }
  if (requested) {
    if (requested === 'xlsx' && !zip) throw new UnsupportedFileError(file, 'not a valid XLSX file (no ZIP signature)');
    if (requested !== 'xlsx' && zip) {
      throw new UnsupportedFileError(file, `format ${requested} was requested but the file is a ZIP archive (XLSX?)`);
    }
    return requested;
  }
  if (zip) return 'xlsx';
  const ext = formatExtension(file);
  const byExt = EXTENSIONS[ext];
  if (byExt === 'xlsx') throw new UnsupportedFileError(file, 'not a valid XLSX file (no ZIP signature)');
  if (looksBinary(head)) {
    throw new UnsupportedFileError(file, 'unknown format: the content is binary, not CSV, JSON or XLSX (UTF-16 text is not supported; save as UTF-8)');
  }
  const first = firstNonSpace(skipUtf8Bom(head));
  if (byExt === 'json') return first === 0x7b /* { */ ? 'jsonl' : 'json';
  if (byExt && ext !== '.txt') return byExt;
  if (first === 0x5b /* [ */) return 'json';
  if (first === 0x7b /* { */) return 'jsonl';
  return 'csv';
}

const MARKUP = /^\s*<(\?xml|!doctype|html|head|body|table)\b/i;

/** An HTML page or XML document (an export download that returned an error page, say): never tabular text we read. */
export function looksLikeMarkup(sample: Buffer): boolean {
  return MARKUP.test(skipUtf8Bom(sample).subarray(0, 256).toString('latin1'));
}

/**
 * A ".json" file that starts with "{" is read as JSON Lines; but when its first line is just "{" it is
 * one pretty-printed object, which is neither JSON Lines nor an array of objects.
 */
export function looksLikeSingleJsonObject(sample: Buffer): boolean {
  const text = skipUtf8Bom(sample).toString('latin1');
  const first = /^\s*([^\r\n]*)/.exec(text)?.[1]?.trim();
  return first === '{' && /[\r\n]/.test(text);
}

function skipUtf8Bom(b: Buffer): Buffer {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
}

export function hasUtf8Bom(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

export function hasUtf16Bom(b: Buffer): boolean {
  return b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff));
}

// ---------------------------------------------------------------------------------------------
// CSV delimiter

export const DELIMITER_CANDIDATES = [',', '\t', ';', '|'] as const;

/** Number of fields of the first non-blank record of `text` when split with `delim` (quotes respected). */
export function countHeaderFields(text: string, delim: string): number {
  let i = 0;
  const n = text.length;
  while (i < n && (text[i] === '\n' || text[i] === '\r')) i++;
  let fields = 1;
  let atFieldStart = true;
  let inQuotes = false;
  for (; i < n; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else inQuotes = false;
      }
      continue;
    }
    if (c === delim) {
      fields++;
      atFieldStart = true;
      continue;
    }
    if (c === '\n' || c === '\r') break;
    if (c === '"' && atFieldStart) inQuotes = true;
    atFieldStart = false;
  }
  return fields;
}

/** The candidate that splits the header line into the most fields; `fallback` when none splits it. */
export function detectDelimiter(text: string, fallback: string): string {
  let best = fallback;
  let bestCount = 1;
  for (const d of DELIMITER_CANDIDATES) {
    const count = countHeaderFields(text, d);
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}
