/**
 * Writes a generated demo shop as files, the way a shop's exports look: one file per entity
 * (customers, products, orders, order_items, payments, inventory, events), dirty rows included.
 *
 * - CSV: UTF-8, header row, CRLF line ends, RFC 4180 quoting (fields with `"`, `,`, CR or LF are
 *   quoted, quotes doubled). Empty field = no value. Money as plain decimals ("12.30").
 * - JSON Lines: one object per line (LF), every column present, `null` for no value, money as
 *   strings ("12.30"), integers as numbers, event `properties` as a nested object.
 * - XLSX (streaming writer): one sheet named after the entity, header row; money and integer
 *   columns as numeric cells (a dirty value that is not a number stays a text cell), timestamps
 *   as ISO-8601 text, `properties` as JSON text, no value = empty cell.
 */
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import {
  DEMO_COLUMNS,
  DEMO_ENTITIES,
  toExportRow,
  type ColumnSpec,
  type DemoEntity,
  type DemoShop,
  type ExportRow,
  type ExportValue,
} from './generator.js';

export const DEMO_FILE_FORMATS = ['csv', 'jsonl', 'xlsx'] as const;
/** A file format of {@link writeDemoFiles}. */
export type DemoFileFormat = (typeof DEMO_FILE_FORMATS)[number];

/** One file written by {@link writeDemoFiles}. */
export interface WrittenDemoFile {
  entity: DemoEntity;
  format: DemoFileFormat;
  /** Absolute path. */
  path: string;
  /** Data rows (header excluded), dirty rows included. */
  rows: number;
  dirtyRows: number;
  bytes: number;
}

export interface WriteDemoOptions {
  /** Only these entities (default: all, in {@link DEMO_ENTITIES} order). */
  entities?: readonly DemoEntity[];
}

/** Largest sheet Excel opens: 1,048,576 rows including the header. */
const XLSX_MAX_DATA_ROWS = 1_048_575;

/** The file name of an entity's export, e.g. `orders.csv`. */
export function demoFileName(entity: DemoEntity, format: DemoFileFormat): string {
  return `${entity}.${format}`;
}

/**
 * The rows of an entity's file in file order: the clean records with the dirty rows placed at
 * their `position`s.
 */
export function* exportRows(shop: DemoShop, entity: DemoEntity): Generator<ExportRow> {
  const records = shop[entity] as readonly object[];
  const dirty = shop.dirty.filter((d) => d.entity === entity).sort((a, b) => a.position - b.position);
  const total = records.length + dirty.length;
  let r = 0;
  let k = 0;
  for (let i = 0; i < total; i++) {
    if (k < dirty.length && dirty[k]!.position === i) yield dirty[k++]!.row;
    else if (r < records.length) yield toExportRow(entity, records[r++]!);
    else yield dirty[k++]!.row;
  }
}

/**
 * Writes one file per entity into `dir` (created when missing; existing files are replaced).
 * The output is byte-identical for the same shop in CSV and JSON Lines (XLSX archives carry
 * timestamps).
 */
export async function writeDemoFiles(
  shop: DemoShop,
  dir: string,
  format: DemoFileFormat,
  opts: WriteDemoOptions = {},
): Promise<WrittenDemoFile[]> {
  if (!DEMO_FILE_FORMATS.includes(format)) throw new RangeError(`unknown format ${JSON.stringify(format)}; use csv, jsonl or xlsx`);
  const target = path.resolve(dir);
  await fs.promises.mkdir(target, { recursive: true });
  const written: WrittenDemoFile[] = [];
  for (const entity of opts.entities ?? DEMO_ENTITIES) {
    const file = path.join(target, demoFileName(entity, format));
    const columns = DEMO_COLUMNS[entity];
    const rows = exportRows(shop, entity);
    let count: number;
    if (format === 'csv') count = await writeText(file, csvLine(columns.map((c) => c.name)), rows, (row) => csvLine(columns.map((c) => csvValue(row[c.name] ?? null))));
    else if (format === 'jsonl') count = await writeText(file, '', rows, (row) => jsonLine(columns, row));
    else count = await writeXlsx(file, entity, columns, rows, shop.asOf);
    const { size } = await fs.promises.stat(file);
    written.push({
      entity,
      format,
      path: file,
      rows: count,
      dirtyRows: shop.dirty.filter((d) => d.entity === entity).length,
      bytes: size,
    });
  }
  return written;
}

// ---------------------------------------------------------------------------------------------

async function writeText(file: string, header: string, rows: Iterable<ExportRow>, line: (row: ExportRow) => string): Promise<number> {
  const handle = await fs.promises.open(file, 'w');
  try {
    let buffer = header;
    let count = 0;
    for (const row of rows) {
      buffer += line(row);
      count++;
      if (buffer.length >= 1 << 20) {
        await handle.write(buffer);
        buffer = '';
      }
    }
    if (buffer.length > 0) await handle.write(buffer);
    return count;
  } finally {
    await handle.close();
  }
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field, RFC 4180: quoted when it holds a quote, comma, CR or LF; quotes doubled. */
export function csvField(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvValue(v: ExportValue): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return csvField(v);
  return csvField(JSON.stringify(v));
}

function csvLine(fields: readonly string[]): string {
  return fields.join(',') + '\r\n';
}

function jsonLine(columns: readonly ColumnSpec[], row: ExportRow): string {
  const out: Record<string, ExportValue> = {};
  for (const c of columns) out[c.name] = row[c.name] ?? null;
  return JSON.stringify(out) + '\n';
}

const NUMERIC = /^-?\d+(?:\.\d+)?$/;

function xlsxValue(spec: ColumnSpec, v: ExportValue): string | number | null {
  if (v === null) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  if ((spec.kind === 'money' || spec.kind === 'int') && typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return v;
}

async function writeXlsx(file: string, entity: DemoEntity, columns: readonly ColumnSpec[], rows: Iterable<ExportRow>, asOf: string): Promise<number> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: false, useStyles: false });
  workbook.creator = 'ecommerce-analytics demo generator';
  workbook.created = new Date(asOf);
  workbook.modified = new Date(asOf);
  const sheet = workbook.addWorksheet(entity);
  sheet.addRow(columns.map((c) => c.name)).commit();
  let count = 0;
  for (const row of rows) {
    if (++count > XLSX_MAX_DATA_ROWS) {
      throw new RangeError(`${entity} has more than ${XLSX_MAX_DATA_ROWS} rows, more than an XLSX sheet holds; use csv or jsonl, or a smaller --scale`);
    }
    sheet.addRow(columns.map((c) => xlsxValue(c, row[c.name] ?? null))).commit();
  }
  sheet.commit();
  await workbook.commit();
  return count;
}
