/**
 * Shared types of the streaming record readers (CSV, JSON Lines, JSON arrays, XLSX; any of them
 * gzip-compressed) and the header-name mapping every format applies. See docs/import-formats.md.
 */

export type FileFormat = 'csv' | 'jsonl' | 'json' | 'xlsx';

export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'jsonl', 'json', 'xlsx'];

/** A row-level problem: the row could not be parsed; it belongs in the rejects table. */
export interface RowError {
  code: 'malformed_row';
  /** Starts with "row N: …" (and names the field or line where that helps). */
  message: string;
  /** Canonical field name the problem is in, when it is about one field. */
  field?: string;
}

export interface SourceRow {
  /** 1-based data row number (header not counted); for JSON arrays the element index + 1. */
  rowNumber: number;
  /**
   * Keys = canonical field names (header lower-cased/trimmed, then the mapping applied).
   * CSV values are strings ('' for empty); JSON values as parsed; XLSX cells: numbers as numbers,
   * dates as Date, text as string, booleans as boolean, empty cells as null.
   */
  fields: Record<string, unknown>;
  /** The record as received (CSV record text, the JSON line/element text, XLSX row as a JSON array). */
  raw: string;
  /** Set when the row could not be parsed; `fields` may then be partial. */
  error?: RowError;
}

export interface ReadOptions {
  /** Default: from the extension (.csv .tsv .txt .jsonl .ndjson .json .xlsx, each optionally + .gz), then content sniffing. */
  format?: FileFormat;
  /** Default: detect (valid UTF-8 → utf-8, else latin1 = ISO-8859-1). A UTF-8 BOM is always stripped. */
  encoding?: 'utf-8' | 'latin1';
  /** CSV only; one character. Default: detected among , ; \t | from the header line (\t for .tsv). */
  delimiter?: string;
  /** XLSX only: sheet name (case-insensitive) or 1-based index. Default: the first sheet. */
  sheet?: string | number;
  /** Source header name (case-insensitive) → canonical field name, e.g. {"Order Number":"order_id"}. */
  mapping?: Record<string, string>;
  signal?: AbortSignal;
}

export interface RecordStream extends AsyncIterable<SourceRow> {
  format: FileFormat;
  /** 'utf-8' or 'latin1' for text formats; undefined for XLSX. */
  encoding?: string;
  /** CSV only. */
  delimiter?: string;
  /** Canonical field names (after mapping), in column order. Known after open for CSV/XLSX, after the first row for JSON. */
  headers?: string[];
  /** The header names as they appear in the file (CSV/XLSX), in column order. */
  sourceHeaders?: string[];
  /** Bytes read from the file on disk so far (compressed bytes for gzip files). */
  bytesRead(): number;
  /** Size of the file on disk. */
  totalBytes?: number;
  /** True when the file is gzip-compressed. */
  gzip?: boolean;
  /**
   * The rows in the parser's batches (one per chunk read) instead of one by one: cheaper for a
   * consumer that inserts in batches. Use either this or `for await` over the stream, once.
   */
  batches?(): AsyncIterable<SourceRow[]>;
  /** Releases the file without reading it to the end (iterating to the end, or breaking out of a for-await, does this too). */
  close(): Promise<void>;
}

/** A whole-file problem: unreadable file, unknown format, empty file, missing header, no such sheet. */
export class UnsupportedFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'UnsupportedFileError';
    this.file = file;
  }
}

/** Records longer than this (bytes) are reported as malformed instead of being buffered further. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** How much of an oversized record is kept in `raw`. */
export const RAW_PREVIEW_CHARS = 1024;

export function preview(text: string): string {
  return text.length > RAW_PREVIEW_CHARS ? text.slice(0, RAW_PREVIEW_CHARS) + '…' : text;
}

/** `fields[key] = value`, safe for a header or JSON key named "__proto__". */
export function setField(fields: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  else fields[key] = value;
}

/** How a header / JSON key is normalised before mapping: trimmed, lower-cased, runs of whitespace made one space. */
export function normalizeHeaderName(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** A validated, normalised header mapping (source name → canonical field name). */
export class HeaderMapping {
  private readonly map = new Map<string, string>();
  private readonly cache = new Map<string, string>();

  constructor(mapping: Record<string, string> | undefined) {
    if (!mapping) return;
    for (const [from, to] of Object.entries(mapping)) {
      const key = normalizeHeaderName(from);
      const target = normalizeHeaderName(String(to ?? ''));
      if (!key) throw new TypeError(`mapping: empty source header name (→ "${to}")`);
      if (!target) throw new TypeError(`mapping: "${from}" maps to an empty field name`);
      const prev = this.map.get(key);
      if (prev !== undefined && prev !== target) {
        throw new TypeError(`mapping: "${from}" is mapped twice (to "${prev}" and "${target}"); header names are compared case-insensitively`);
      }
      this.map.set(key, target);
    }
  }

  /** Canonical name for one source header / JSON key. */
  field(sourceName: string): string {
    let out = this.cache.get(sourceName);
    if (out === undefined) {
      const n = normalizeHeaderName(sourceName);
      out = this.map.get(n) ?? n;
      if (this.cache.size < 10_000) this.cache.set(sourceName, out);
    }
    return out;
  }

  /**
   * Canonical names for a header row. A blank header cell becomes `column_N`; two columns with the
   * same canonical name are a whole-file problem.
   */
  headers(sourceHeaders: string[], file: string): string[] {
    const seen = new Map<string, number>();
    return sourceHeaders.map((h, i) => {
      const name = h.trim() === '' ? `column_${i + 1}` : this.field(h);
      const first = seen.get(name);
      if (first !== undefined) {
        throw new UnsupportedFileError(
          file,
          `columns ${first + 1} ("${sourceHeaders[first]}") and ${i + 1} ("${h}") both map to field "${name}"; ` +
            `rename one or use the header mapping option`,
        );
      }
      seen.set(name, i);
      return name;
    });
  }
}

/**
 * Parses the CLI form of the mapping, `--map "Source Header=field,Other=field2"`.
 * A literal `,` or `=` inside a header name is written `\,` or `\=`.
 */
export function parseMappingSpec(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs: string[][] = [];
  let cur = '';
  let pair: string[] = [];
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === '\\' && i + 1 < spec.length && (spec[i + 1] === ',' || spec[i + 1] === '=' || spec[i + 1] === '\\')) {
      cur += spec[++i];
    } else if (c === '=' && pair.length === 0) {
      pair.push(cur);
      cur = '';
    } else if (c === ',') {
      pair.push(cur);
      pairs.push(pair);
      pair = [];
      cur = '';
    } else {
      cur += c;
    }
  }
  pair.push(cur);
  pairs.push(pair);
  for (const p of pairs) {
    if (p.length === 1 && p[0].trim() === '') continue; // stray comma
    if (p.length !== 2 || p[0].trim() === '' || p[1].trim() === '') {
      throw new TypeError(`--map: expected "Source Header=field" pairs separated by commas, got "${p.join('=')}"`);
    }
    out[p[0].trim()] = p[1].trim();
  }
  return out;
}

/** Throws the signal's reason when aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}
