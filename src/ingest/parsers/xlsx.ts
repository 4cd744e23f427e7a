/**
 * Streaming XLSX reader on exceljs' `stream.xlsx.WorkbookReader`: one sheet (the first, or the one
 * named / numbered by the `sheet` option), its first non-empty row the header. `rowNumber` is the
 * spreadsheet row number minus the header's, so with the header on row 1, Excel row 18 is row 17.
 *
 * Memory: rows are streamed; the workbook's shared-strings table (distinct texts) is held in memory,
 * as every XLSX reader must; sheets stored before that table in the ZIP are spooled to temp files.
 */
import { Readable } from 'node:stream';
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

  // exceljs pipes the input into its unzipper without forwarding errors, which would hang it; so
  // a read error ends the input early instead and is rethrown here.
  let inputError: unknown;
  async function* safeChunks(): AsyncGenerator<Buffer> {
    try {
      yield* src.chunks();
    } catch (e) {
      inputError = e;
    }
  }
  const input = Readable.from(safeChunks(), { objectMode: false });

  // When the ZIP is truncated or corrupt, unzipper emits 'error' on its parser but never ends the
  // entry stream exceljs is reading, so exceljs waits forever. Every exceljs step is therefore
  // raced against the parser's first error.
  let zipError: unknown;
  let fail: (e: unknown) => void = () => {};
  const doomed = new Promise<never>((_, reject) => (fail = reject));
  doomed.catch(() => undefined);
  const pipe = input.pipe.bind(input);
  (input as { pipe: unknown }).pipe = (dest: NodeJS.WritableStream, options?: { end?: boolean }) => {
    dest.on('error', (e: unknown) => {
      zipError ??= e;
      fail(e);
    });
    return pipe(dest, options);
  };
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, doomed]);
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache', // needed to tell dates from numbers (number formats)
    entries: 'ignore',
  });
  holdWorksheetsUntilWorkbook(reader);
  const sheets = (reader as unknown as AsyncIterable<SheetReader>)[Symbol.asyncIterator]();
  const model = (): SheetModel[] | undefined => (reader as unknown as { model?: { sheets?: SheetModel[] } }).model?.sheets;

  const wanted = opts.sheet;
  const wantedName = typeof wanted === 'string' ? wanted.trim().toLowerCase() : undefined;
  const wantedIndex =
    wanted === undefined ? 0 : typeof wanted === 'number' ? wanted - 1 : /^\d+$/.test(wanted.trim()) ? Number(wanted.trim()) - 1 : undefined;
  const describeWanted = wanted === undefined ? 'the first sheet' : typeof wanted === 'number' ? `sheet ${wanted}` : `sheet "${wanted}"`;

  function rethrow(e: unknown): never {
    signal?.throwIfAborted();
    if (inputError) throw inputError;
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
    input.destroy();
    src.destroy();
    // after a ZIP error exceljs' generators may never settle; don't wait for them then
    if (!zipError) await step<unknown>(sheets.return?.(undefined) ?? Promise.resolve()).catch(() => undefined);
  };

  let target: SheetReader | undefined;
  try {
    for (;;) {
      const r = await step(sheets.next());
      if (r.done) break;
      if (isWanted(r.value)) {
        target = r.value;
        break;
      }
      // Read a skipped sheet to its end: exceljs deletes a spooled sheet's temp file as soon as we
      // move on, and an unread sheet's file stream would then fail to open (an uncaught ENOENT).
      const skipped = r.value[Symbol.asyncIterator]();
      while (!(await step(skipped.next())).done) signal?.throwIfAborted();
    }
  } catch (e) {
    await cleanup();
    rethrow(e);
  }
  if (!target) {
    await cleanup();
    if (inputError) rethrow(inputError);
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
      const r = await step(rowsIt.next());
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
  if (inputError) {
    await cleanup();
    rethrow(inputError);
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
          r = await step(rowsIt.next());
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
      if (inputError) rethrow(inputError);
    } finally {
      await cleanup();
    }
  }

  return { sheetName, sourceHeaders, headers, batches: rows() };
}

/**
 * exceljs' streaming reader parses a worksheet as soon as it meets it once the shared strings and
 * the workbook's relationships have been read, and then looks the sheet up in the workbook's
 * sheet list — which crashes ("reading 'sheets'") when xl/workbook.xml comes later in the zip.
 * exceljs itself writes workbook.xml last, and its zip entries can land in either order, so such
 * files exist. Until workbook.xml has been read this hides the relationships from that check, so
 * exceljs spools such a worksheet to a temporary file and reads it after the workbook, as it does
 * when the shared strings come late.
 */
function holdWorksheetsUntilWorkbook(reader: object): void {
  let rels: unknown;
  Object.defineProperty(reader, 'workbookRels', {
    configurable: true,
    get(this: { model?: unknown }) {
      return this.model ? rels : undefined;
    },
    set(value: unknown) {
      rels = value;
    },
  });
}
