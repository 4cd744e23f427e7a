/**
 * Streaming XLSX reader on exceljs' `stream.xlsx.WorkbookReader`: one sheet (the first, or the one
 * named / numbered by the `sheet` option), its first non-empty row the header. `rowNumber` is the
 * spreadsheet row number minus the header's, so with the header on row 1, Excel row 18 is row 17.
 *
 * Memory: rows are streamed; the workbook's shared-strings table (distinct texts) is held in memory,
 * as every XLSX reader must. The zip is read through its central directory (see
 * {@link readThroughCentralDirectory}), so a gzip-compressed workbook is first decompressed to a
 * temporary file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import unzipper from 'unzipper';
import ExcelJS from 'exceljs';
import type { ByteSource } from './detect.js';
import { HeaderMapping, setField, UnsupportedFileError, type SourceRow } from './source-row.js';

export interface XlsxOptions {
  file: string;
  sheet?: string | number;
  mapping: HeaderMapping;
  signal?: AbortSignal;
}

export interface OpenedXlsx {
  sheetName: string;
  sourceHeaders: string[];
  headers: string[];
  /** Data rows, in batches. */
  batches: AsyncGenerator<SourceRow[]>;
  /** How much of the sheet's XML has been read, 0..1 (the file's parts are not read in order). */
  readFraction(): number;
}

interface SheetModel {
  name: string;
  id: number;
  rId: string;
}

interface SheetReader extends AsyncIterable<ExcelJS.Row> {
  id: number | string;
  name: string;
}

/** A cell's value as a plain value: number, string, boolean, Date or null. */
export function cellValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v instanceof Date) return v;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) return (o.richText as { text?: string }[]).map((r) => r.text ?? '').join('');
    if ('formula' in o || 'sharedFormula' in o) return cellValue(o.result);
    if ('hyperlink' in o && 'text' in o) return cellValue(o.text);
    if ('error' in o) return String(o.error); // "#N/A", "#DIV/0!" …
    if ('text' in o) return cellValue(o.text);
  }
  return String(v);
}

export function columnLetter(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === '';
}

function headerText(v: unknown): string {
  if (v === null) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export async function openXlsx(src: ByteSource, opts: XlsxOptions): Promise<OpenedXlsx> {
  const { file, mapping, signal } = opts;

  // The workbook is read through the zip's central directory, which needs the file itself: a
  // plain file is read where it is; a gzip-compressed one is decompressed to a temporary file first.
  let spool: string | undefined;
  let zipPath = file;
  if (src.gzip) {
    spool = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ecomm-xlsx-'));
    zipPath = path.join(spool, 'workbook.xlsx');
    try {
      await pipeline(Readable.from(src.chunks(), { objectMode: false }), fs.createWriteStream(zipPath), { signal });
    } catch (e) {
      await fs.promises.rm(spool, { recursive: true, force: true });
      src.destroy();
      signal?.throwIfAborted();
      if (e instanceof UnsupportedFileError) throw e;
      throw new UnsupportedFileError(file, `not a valid XLSX file (${(e as Error)?.message ?? String(e)})`, { cause: e });
    }
  }
  src.destroy();

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(zipPath, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache', // needed to tell dates from numbers (number formats)
    entries: 'ignore',
  });
  const sheetRead = { bytes: 0, size: 0 };
  readThroughCentralDirectory(reader, zipPath, sheetRead);
  const sheets = (reader as unknown as AsyncIterable<SheetReader>)[Symbol.asyncIterator]();
  const model = (): SheetModel[] | undefined => (reader as unknown as { model?: { sheets?: SheetModel[] } }).model?.sheets;

  const wanted = opts.sheet;
  const wantedName = typeof wanted === 'string' ? wanted.trim().toLowerCase() : undefined;
  const wantedIndex =
    wanted === undefined ? 0 : typeof wanted === 'number' ? wanted - 1 : /^\d+$/.test(wanted.trim()) ? Number(wanted.trim()) - 1 : undefined;
  const describeWanted = wanted === undefined ? 'the first sheet' : typeof wanted === 'number' ? `sheet ${wanted}` : `sheet "${wanted}"`;

  function rethrow(e: unknown): never {
    signal?.throwIfAborted();
    if (e instanceof UnsupportedFileError) throw e;
    const msg = (e as Error)?.message ?? String(e);
    throw new UnsupportedFileError(file, `not a valid XLSX file (${msg === 'FILE_ENDED' ? 'the file is truncated' : msg})`, { cause: e });
  }

  function isWanted(ws: SheetReader): boolean {
    const all = model();
    const name = String(ws.name ?? '');
    if (wantedName !== undefined && name.trim().toLowerCase() === wantedName) return true;
    if (wantedIndex === undefined) return false;
    // a digit string names a sheet of that name if there is one, else is a position
    if (wantedName !== undefined && all?.some((s) => s.name.trim().toLowerCase() === wantedName)) return false;
    const position = all ? all.findIndex((s) => s.name === name) : Number(ws.id) - 1;
    return position === wantedIndex;
  }

  const cleanup = async (): Promise<void> => {
    await (sheets.return?.(undefined) ?? Promise.resolve()).catch(() => undefined);
    if (spool) await fs.promises.rm(spool, { recursive: true, force: true });
  };

  let target: SheetReader | undefined;
  try {
    for (;;) {
      const r = await sheets.next();
      if (r.done) break;
      if (isWanted(r.value)) {
        target = r.value;
        break;
      }
      // A skipped sheet is not read: its entry's stream is only opened when its rows are.
    }
  } catch (e) {
    await cleanup();
    rethrow(e);
  }
  if (!target) {
    await cleanup();
    const names = (model() ?? []).map((s) => `"${s.name}"`);
    if (names.length === 0) throw new UnsupportedFileError(file, 'not a valid XLSX file (no worksheets found)');
    throw new UnsupportedFileError(file, `${describeWanted} does not exist; the workbook has ${names.length} sheet(s): ${names.join(', ')}`);
  }
  const sheetName = String(target.name);
  const rowsIt = target[Symbol.asyncIterator]();

  // header: the first row with a value
  let header: ExcelJS.Row | undefined;
  let headerValues: unknown[] = [];
  try {
    for (;;) {
      const r = await rowsIt.next();
      if (r.done) break;
      const values = (r.value.values as unknown[]).map(cellValue);
      if (values.some((v) => !isEmpty(v))) {
        header = r.value;
        headerValues = values;
        break;
      }
    }
  } catch (e) {
    await cleanup();
    rethrow(e);
  }
  if (!header) {
    await cleanup();
    throw new UnsupportedFileError(file, `sheet "${sheetName}" is empty: no header row`);
  }
  const sourceHeaders: string[] = [];
  for (let c = 1; c < headerValues.length; c++) sourceHeaders.push(headerText(headerValues[c] ?? null).trim());
  while (sourceHeaders.length > 0 && sourceHeaders[sourceHeaders.length - 1] === '') sourceHeaders.pop();
  let headers: string[];
  try {
    headers = mapping.headers(sourceHeaders, file);
  } catch (e) {
    await cleanup();
    throw e;
  }
  const headerRow = header.number;

  async function* rows(): AsyncGenerator<SourceRow[]> {
    try {
      for (;;) {
        let r: IteratorResult<ExcelJS.Row>;
        try {
          r = await rowsIt.next();
        } catch (e) {
          rethrow(e);
        }
        if (r.done) break;
        signal?.throwIfAborted();
        const row = r.value;
        const values = row.values as unknown[];
        const width = Math.max(values.length - 1, headers.length);
        const cells: unknown[] = new Array(width);
        let allEmpty = true;
        let extra = -1;
        for (let c = 1; c <= width; c++) {
          const v = cellValue(values[c]);
          cells[c - 1] = v;
          if (!isEmpty(v)) {
            allEmpty = false;
            if (c > headers.length && extra < 0) extra = c;
          }
        }
        if (allEmpty) continue;
        const rowNumber = row.number - headerRow;
        const fields: Record<string, unknown> = {};
        for (let c = 0; c < headers.length; c++) setField(fields, headers[c], cells[c]);
        while (cells.length > headers.length && isEmpty(cells[cells.length - 1])) cells.pop();
        const raw = JSON.stringify(cells);
        if (extra > 0) {
          yield [{
            rowNumber,
            fields,
            raw,
            error: {
              code: 'malformed_row',
              message: `row ${rowNumber}: cell ${columnLetter(extra)}${row.number} has a value but its column has no header (expected ${headers.length} columns)`,
            },
          }];
          continue;
        }
        yield [{ rowNumber, fields, raw }];
      }
    } finally {
      await cleanup();
    }
  }

  const readFraction = () => (sheetRead.size > 0 ? Math.min(1, sheetRead.bytes / sheetRead.size) : 0);
  return { sheetName, sourceHeaders, headers, batches: rows(), readFraction };
}

/** exceljs' WorkbookReader parts this module drives (see {@link readThroughCentralDirectory}). */
interface WorkbookReaderParts {
  parse(): AsyncGenerator<{ eventType: string; value: unknown }>;
  _parseRels(stream: AsyncIterable<unknown>): Promise<void>;
  _parseWorkbook(stream: AsyncIterable<unknown>): Promise<void>;
  _parseSharedStrings(stream: AsyncIterable<unknown>): Generator<{ eventType: string; value: unknown }> | AsyncGenerator<{ eventType: string; value: unknown }>;
  _parseStyles(stream: AsyncIterable<unknown>): Promise<void>;
  _parseWorksheet(stream: AsyncIterable<unknown>, sheetNo: string): Generator<{ eventType: string; value: unknown }>;
}

/**
 * exceljs' streaming reader takes the zip's parts in the order they are stored, through one pass
 * of unzipper's streaming parser and its own stream-iteration helper, and loses parts at random
 * (a race: the same file reads fine one time and not the next; exceljs issues #1558, #3064):
 * worksheets, the workbook (then the sheets have no names: "no worksheets found", or a crash
 * reading 'sheets') or the shared strings (then text cells would read as empty). Here its parse
 * step is replaced: the parts are found through the zip's central directory and read one by one —
 * relationships, workbook, shared strings and styles first, then each worksheet as its rows are
 * read (still streamed; the shared strings are held in memory, as every XLSX reader must).
 */
function readThroughCentralDirectory(reader: object, zipPath: string, sheetRead: { bytes: number; size: number }): void {
  const parts = reader as WorkbookReaderParts;
  parts.parse = async function* (this: WorkbookReaderParts) {
    // tailSize: the end-of-central-directory record is found within the last 22 bytes + a zip
    // comment of up to 65,535 bytes.
    const dir = await unzipper.Open.file(zipPath, { tailSize: 65_557 });
    const byPath = new Map(dir.files.map((f) => [f.path, f]));
    const read = (name: string) => {
      const part = byPath.get(name);
      return part ? (Readable.from(part.stream() as AsyncIterable<Buffer>) as AsyncIterable<unknown>) : undefined;
    };
    const rels = read('xl/_rels/workbook.xml.rels');
    if (rels) await this._parseRels(rels);
    const workbook = read('xl/workbook.xml');
    if (workbook) await this._parseWorkbook(workbook);
    const shared = read('xl/sharedStrings.xml');
    if (shared) yield* this._parseSharedStrings(shared);
    const styles = read('xl/styles.xml');
    if (styles) await this._parseStyles(styles);
    const sheets = dir.files
      .map((f) => /^xl\/worksheets\/sheet(\d+)\.xml$/.exec(f.path))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((x, y) => Number(x[1]) - Number(y[1]));
    for (const m of sheets) {
      // Opened lazily: a sheet's part is read only when its rows are (and counted in `sheetRead`,
      // the progress of the import, when it is).
      const part = byPath.get(m[0])!;
      const lazy = (async function* () {
        sheetRead.bytes = 0;
        sheetRead.size = part.uncompressedSize;
        for await (const chunk of part.stream() as AsyncIterable<Buffer>) {
          sheetRead.bytes += chunk.length;
          yield chunk;
        }
      })();
      yield* this._parseWorksheet(lazy, m[1]!);
    }
  };
}
