import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { tempDir } from '../support/temp.js';
import {
  openRecordStream,
  parseMappingSpec,
  parseEncodingName,
  UnsupportedFileError,
  type ReadOptions,
  type RecordStream,
  type SourceRow,
} from '../../src/ingest/parsers/index.js';
import { CsvRecordSplitter, splitFields, type RawRecord } from '../../src/ingest/parsers/csv.js';
import { mulberry32 } from '../support/random.js';

const tmp = tempDir('ecomm-parsers-');
after(() => tmp.cleanup());
let seq = 0;

function write(name: string, content: string | Buffer): string {
  const dir = path.join(tmp.dir, String(++seq));
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

async function readAll(file: string, opts?: ReadOptions): Promise<{ stream: RecordStream; rows: SourceRow[] }> {
  const stream = await openRecordStream(file, opts);
  const rows: SourceRow[] = [];
  for await (const row of stream) rows.push(row);
  return { stream, rows };
}

async function rejectsUnsupported(file: string, pattern: RegExp, opts?: ReadOptions): Promise<void> {
  await assert.rejects(
    () => readAll(file, opts),
    (e: unknown) => {
      assert.ok(e instanceof UnsupportedFileError, `expected UnsupportedFileError, got ${String(e)}`);
      assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// CSV

test('csv: comma-separated file with header, strings, empty values, row numbers', async () => {
  const file = write('orders.csv', 'Order ID,Customer,Total\n1001,alice@example.com,12.50\n1002,,0\n');
  const { stream, rows } = await readAll(file);
  assert.equal(stream.format, 'csv');
  assert.equal(stream.delimiter, ',');
  assert.equal(stream.encoding, 'utf-8');
  assert.deepEqual(stream.headers, ['order id', 'customer', 'total']);
  assert.deepEqual(stream.sourceHeaders, ['Order ID', 'Customer', 'Total']);
  assert.deepEqual(rows, [
    { rowNumber: 1, fields: { 'order id': '1001', customer: 'alice@example.com', total: '12.50' }, raw: '1001,alice@example.com,12.50' },
    { rowNumber: 2, fields: { 'order id': '1002', customer: '', total: '0' }, raw: '1002,,0' },
  ]);
  assert.equal(stream.bytesRead(), stream.totalBytes);
  assert.equal(stream.totalBytes, fs.statSync(file).size);
});

test('csv: delimiter detected from the header line (; tab |), and taken from the option', async () => {
  for (const [d, name] of [[';', 'semi.csv'], ['\t', 'tab.tsv'], ['\t', 'tab.csv'], ['|', 'pipe.txt']] as const) {
    const file = write(name, `id${d}name${d}price\n1${d}"Mug, large"${d}9,99\n2${d}Tea${d}3,50\n`);
    const { stream, rows } = await readAll(file);
    assert.equal(stream.delimiter, d, name);
    assert.deepEqual(rows.map((r) => r.fields), [
      { id: '1', name: 'Mug, large', price: '9,99' },
      { id: '2', name: 'Tea', price: '3,50' },
    ]);
  }
  // a one-column .tsv defaults to tab; an explicit delimiter wins over detection
  const file = write('x.csv', 'a;b,c\n1;2,3\n');
  assert.deepEqual((await readAll(file)).rows[0].fields, { 'a;b': '1;2', c: '3' });
  assert.deepEqual((await readAll(file, { delimiter: ';' })).rows[0].fields, { a: '1', 'b,c': '2,3' });
  // Excel's "sep=" line
  const sep = write('sep.csv', 'sep=|\na|b\n1|2\n');
  const r = await readAll(sep);
  assert.equal(r.stream.delimiter, '|');
  assert.deepEqual(r.rows.map((x) => x.fields), [{ a: '1', b: '2' }]);
});

test('csv: quoted fields with delimiters, doubled quotes, CR/LF newlines; quotes inside unquoted fields', async () => {
  const csv =
    'sku,title,note\r\n' +
    '"A-1","Mug, large","He said ""hi"""\r\n' +
    'A-2,"two\r\nlines","three\nlines\nhere"\r\n' +
    'A-3,12" pizza,""\r\n' +
    '"A-4","",end\r\n';
  const { rows } = await readAll(write('q.csv', csv));
  assert.deepEqual(rows.map((r) => [r.rowNumber, r.fields, r.error]), [
    [1, { sku: 'A-1', title: 'Mug, large', note: 'He said "hi"' }, undefined],
    [2, { sku: 'A-2', title: 'two\r\nlines', note: 'three\nlines\nhere' }, undefined],
    [3, { sku: 'A-3', title: '12" pizza', note: '' }, undefined],
    [4, { sku: 'A-4', title: '', note: 'end' }, undefined],
  ]);
  assert.equal(rows[1].raw, 'A-2,"two\r\nlines","three\nlines\nhere"');
});

test('csv: CRLF, LF and CR line ends; blank and trailing empty lines are skipped', async () => {
  for (const eol of ['\r\n', '\n', '\r']) {
    const file = write('eol.csv', ['a,b', '1,2', '', '3,4', ',', '', ''].join(eol));
    const { rows } = await readAll(file);
    assert.deepEqual(rows.map((r) => [r.rowNumber, r.fields]), [
      [1, { a: '1', b: '2' }],
      [3, { a: '3', b: '4' }],
    ], JSON.stringify(eol));
  }
});

test('csv: a UTF-8 BOM is stripped', async () => {
  const file = write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\n1,Zoë\n')]));
  const { stream, rows } = await readAll(file);
  assert.deepEqual(stream.headers, ['id', 'name']);
  assert.equal(stream.encoding, 'utf-8');
  assert.deepEqual(rows[0].fields, { id: '1', name: 'Zoë' });
});

test('csv: latin1 (ISO-8859-1) is detected and decoded; the encoding option overrides detection', async () => {
  const latin = Buffer.from('product;price\nTé à la menthe;£3.50\n', 'latin1');
  assert.ok(latin.includes(0xa3));
  const file = write('latin.csv', Buffer.concat([latin, Buffer.from([0x80]), Buffer.from(';1\n', 'latin1')]));
  const { stream, rows } = await readAll(file);
  assert.equal(stream.encoding, 'latin1');
  assert.deepEqual(rows.map((r) => r.fields), [
    { product: 'Té à la menthe', price: '£3.50' },
    { product: '€', price: '1' }, // 0x80 is read as Windows-1252's euro sign
  ]);
  // the same file declared latin1 explicitly
  const explicit = await readAll(file, { encoding: 'latin1' });
  assert.equal(explicit.stream.encoding, 'latin1');
  assert.equal(explicit.rows[0].fields.price, '£3.50');

  // a UTF-8 file read as declared latin1 gives what the user asked for (mojibake), not detection
  const utf8 = write('utf8.csv', 'product,price\nTea,£3.50\n');
  assert.equal((await readAll(utf8)).rows[0].fields.price, '£3.50');
  const forced = await readAll(utf8, { encoding: 'latin1' });
  assert.equal(forced.stream.encoding, 'latin1');
  assert.equal(forced.rows[0].fields.price, 'Â£3.50');
  assert.equal((await readAll(utf8, { encoding: 'utf-8' })).rows[0].fields.price, '£3.50');
  assert.equal(parseEncodingName('ISO-8859-1'), 'latin1');
  assert.equal(parseEncodingName('UTF8'), 'utf-8');
});

test('csv: an invalid UTF-8 row after the sniffed 64 KB is decoded as latin1, not crashed on', async () => {
  const lines = ['id,price'];
  for (let i = 0; i < 5000; i++) lines.push(`${i},€${i}.00`);
  const head = Buffer.from(lines.join('\n') + '\n');
  assert.ok(head.length > 64 * 1024);
  const file = write('late.csv', Buffer.concat([head, Buffer.from('late,£9.99\n', 'latin1'), Buffer.from('after,€1\n')]));
  const { stream, rows } = await readAll(file);
  assert.equal(stream.encoding, 'utf-8');
  assert.equal(rows.length, 5002);
  assert.equal(rows[0].fields.price, '€0.00');
  assert.deepEqual(rows[5000].fields, { id: 'late', price: '£9.99' });
  assert.deepEqual(rows[5001].fields, { id: 'after', price: '€1' });
  assert.ok(rows.every((r) => !r.error));
});

test('csv: wrong number of columns is a row-level error naming the row; later rows are read', async () => {
  const csv = 'a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12\n';
  const { rows } = await readAll(write('cols.csv', csv));
  assert.equal(rows.length, 4);
  assert.equal(rows[1].rowNumber, 2);
  assert.equal(rows[1].error?.code, 'malformed_row');
  assert.match(rows[1].error!.message, /^row 2: expected 3 columns, found 4\b/);
  assert.match(rows[1].error!.message, /line 3/);
  assert.deepEqual(rows[1].fields, { a: '4', b: '5', c: '6' });
  assert.equal(rows[1].raw, '4,5,6,7');
  assert.match(rows[2].error!.message, /^row 3: expected 3 columns, found 2\b/);
  assert.deepEqual(rows[3], { rowNumber: 4, fields: { a: '10', b: '11', c: '12' }, raw: '10,11,12' });
});

test('csv: an unterminated quote at the end of the file is a row-level error naming row and field', async () => {
  const csv = 'id,name,note\n1,ok,fine\n2,"broken,never closed\n3,x,y\n';
  const { rows } = await readAll(write('unterminated.csv', csv));
  assert.equal(rows.length, 2);
  assert.equal(rows[0].error, undefined);
  const bad = rows[1];
  assert.equal(bad.rowNumber, 2);
  assert.equal(bad.error?.code, 'malformed_row');
  assert.equal(bad.error?.field, 'name');
  assert.match(bad.error!.message, /^row 2: unterminated quoted field "name".*line 3/);
  assert.equal(bad.raw, '2,"broken,never closed\n3,x,y\n');
});

test('csv: the record splitter gives the same records whatever the chunk boundaries', () => {
  const rand = mulberry32(7);
  const parts = ['plain', '', 'with,comma', 'with "quote"', 'multi\nline', 'crlf\r\ninside', '£€ünïcödé', '"', ',', '\r'];
  const rows: string[][] = [];
  let text = '';
  for (let r = 0; r < 300; r++) {
    const row: string[] = [];
    for (let c = 0; c < 4; c++) row.push(parts[Math.floor(rand() * parts.length)] + (rand() < 0.5 ? String(r) : ''));
    rows.push(row);
    text += row.map(quote).join(',') + (rand() < 0.5 ? '\r\n' : '\n');
  }
  const bytes = Buffer.from(text);
  for (const size of [1, 2, 3, 5, 64, 4096, bytes.length]) {
    const splitter = new CsvRecordSplitter(',');
    const out: RawRecord[] = [];
    for (let i = 0; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size), out);
    splitter.end(out);
    const parsed = out.map((rec) => splitFields(rec.bytes.toString('utf8'), ','));
    assert.deepEqual(parsed, rows, `chunk size ${size}`);
  }
});

test('csv: a runaway quote stops at 16 MB with an error row naming the field, then reading resumes', async () => {
  const filler = 'x,y\n'.repeat(Math.ceil((17 * 1024 * 1024) / 4));
  const file = write('runaway.csv', `id,name\n1,ok\n2,"never closed\n${filler}3,after\n4,end\n`);
  const { rows } = await readAll(file);
  assert.deepEqual(rows[0].fields, { id: '1', name: 'ok' });
  assert.equal(rows[1].rowNumber, 2);
  assert.equal(rows[1].error?.field, 'name');
  assert.match(rows[1].error!.message, /^row 2: record is longer than 16 MB \(from line 3\); probably a quote opened in field "name" on line 3 is never closed/);
  assert.ok(rows[1].raw.length <= 1025);
  const last = rows.slice(-2);
  assert.deepEqual(last.map((r) => r.fields), [{ id: '3', name: 'after' }, { id: '4', name: 'end' }]);
  assert.ok(rows.slice(2).every((r) => !r.error));
});

// ---------------------------------------------------------------------------------------------
// Header mapping

test('header mapping: case-insensitive source names, applied to CSV and JSON keys', async () => {
  const mapping = { 'Order Number': 'order_id', 'E-Mail Address': 'email' };
  const csv = write('m.csv', ' ORDER NUMBER ,e-mail address,Total\n1,a@x.io,3\n');
  const c = await readAll(csv, { mapping });
  assert.deepEqual(c.stream.headers, ['order_id', 'email', 'total']);
  assert.deepEqual(c.rows[0].fields, { order_id: '1', email: 'a@x.io', total: '3' });

  const jsonl = write('m.jsonl', '{"Order Number": 7, "E-MAIL ADDRESS": "b@x.io", " Total ": 4.5}\n');
  assert.deepEqual((await readAll(jsonl, { mapping })).rows[0].fields, { order_id: 7, email: 'b@x.io', total: 4.5 });

  assert.deepEqual(parseMappingSpec('Order Number=order_id, Amount\\, EUR=total ,Net\\=Gross=net'), {
    'Order Number': 'order_id',
    'Amount, EUR': 'total',
    'Net=Gross': 'net',
  });
  assert.throws(() => parseMappingSpec('Order Number'), /Source Header=field/);

  // two columns mapped to one field is a whole-file problem
  const dup = write('dup.csv', 'Order Number,order_id\n1,2\n');
  await rejectsUnsupported(dup, /both map to field "order_id"/, { mapping });
});

// ---------------------------------------------------------------------------------------------
// JSON Lines and JSON arrays

test('jsonl: objects per line; a broken line is an error row with its line number and reading goes on', async () => {
  const text =
    '{"id": 1, "Props": {"a": [1, 2]}, "total": "12.30"}\r\n' +
    '{"id": 2, "oops": }\n' +
    '\n' +
    '[1, 2]\n' +
    '{"id": 5, "email": null}';
  const { stream, rows } = await readAll(write('events.jsonl', text));
  assert.equal(stream.format, 'jsonl');
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], { rowNumber: 1, fields: { id: 1, props: { a: [1, 2] }, total: '12.30' }, raw: '{"id": 1, "Props": {"a": [1, 2]}, "total": "12.30"}' });
  assert.equal(rows[1].rowNumber, 2);
  assert.equal(rows[1].error?.code, 'malformed_row');
  assert.match(rows[1].error!.message, /^row 2: invalid JSON/);
  assert.equal(rows[1].raw, '{"id": 2, "oops": }');
  assert.equal(rows[2].rowNumber, 4);
  assert.match(rows[2].error!.message, /^row 4: expected a JSON object, found an array/);
  assert.deepEqual(rows[3], { rowNumber: 5, fields: { id: 5, email: null }, raw: '{"id": 5, "email": null}' });
  assert.deepEqual(stream.headers, ['id', 'props', 'total']);
  // .ndjson and no extension with "{" content are JSON Lines too
  assert.equal((await readAll(write('x.ndjson', '{"a":1}\n'))).stream.format, 'jsonl');
  assert.equal((await readAll(write('export', '{"a":1}\n'))).stream.format, 'jsonl');
});

test('json array: streamed element by element; nested objects, strings with brackets, escapes', async () => {
  const text = `[
    {"id": 1, "name": "a [bracket] and {brace}", "nested": {"list": [1, {"x": "]"}], "q": "say \\"hi\\", ok"}},
    {"id": 2, "name": "comma, inside", "path": "C:\\\\dir\\\\"},
    {"id": 3, "bad": tru},
    "not an object",
    {"ID": 5, "Unicode": "caf\\u00e9 £"}
  ]`;
  const { stream, rows } = await readAll(write('orders.json', text));
  assert.equal(stream.format, 'json');
  assert.equal(rows.length, 5);
  assert.deepEqual(rows[0].fields, { id: 1, name: 'a [bracket] and {brace}', nested: { list: [1, { x: ']' }], q: 'say "hi", ok' } });
  assert.deepEqual(rows[1].fields, { id: 2, name: 'comma, inside', path: 'C:\\dir\\' });
  assert.equal(rows[2].rowNumber, 3);
  assert.match(rows[2].error!.message, /^row 3: invalid JSON array element/);
  assert.equal(rows[2].raw, '{"id": 3, "bad": tru}');
  assert.match(rows[3].error!.message, /^row 4: expected a JSON object, found a string/);
  assert.deepEqual(rows[4], { rowNumber: 5, fields: { id: 5, unicode: 'café £' }, raw: '{"ID": 5, "Unicode": "caf\\u00e9 £"}' });
  assert.deepEqual(stream.headers, ['id', 'name', 'nested']);

  assert.deepEqual((await readAll(write('empty.json', ' [ ] '))).rows, []);
  assert.equal((await readAll(write('trailing.json', '[{"a":1},]'))).rows.length, 1);
});

test('json array: many elements across chunk boundaries; a truncated file ends with an error row', async () => {
  const items = Array.from({ length: 20_000 }, (_, i) => ({ id: i, text: `item ${i} [x] {y} "z"`, tags: ['a', { b: i }] }));
  const json = JSON.stringify(items, null, 1);
  assert.ok(json.length > 1024 * 1024);
  const { rows } = await readAll(write('big.json', json));
  assert.equal(rows.length, items.length);
  assert.ok(rows.every((r, i) => !r.error && r.rowNumber === i + 1 && r.fields.id === i));
  assert.deepEqual(rows[19_999].fields, { id: 19_999, text: 'item 19999 [x] {y} "z"', tags: ['a', { b: 19_999 }] });

  const truncated = await readAll(write('cut.json', '[{"id":1},{"id":2},{"id":3, "name": "unterminated'));
  assert.equal(truncated.rows.length, 3);
  assert.equal(truncated.rows[1].error, undefined);
  assert.equal(truncated.rows[2].rowNumber, 3);
  assert.match(truncated.rows[2].error!.message, /^row 3: .*file ends inside this element/);

  const noClose = await readAll(write('noclose.json', '[{"id":1}\n'));
  assert.deepEqual(noClose.rows[0].fields, { id: 1 });
  assert.match(noClose.rows[1].error!.message, /^row 2: the file ends before the closing "\]"/);
});

// ---------------------------------------------------------------------------------------------
// XLSX

async function writeWorkbook(file: string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const orders = wb.addWorksheet('Orders');
  orders.addRow(['Order ID', 'Placed At', 'Total', 'Note']);
  orders.addRow(['A-1', new Date(Date.UTC(2024, 2, 1, 10, 30)), 12.5, 'first']);
  orders.addRow(['A-2', new Date(Date.UTC(2024, 2, 2)), 7, null]);
  orders.addRow([]);
  orders.addRow(['A-4', new Date(Date.UTC(2024, 2, 4)), { formula: '1+1', result: 2 }, { richText: [{ text: 'rich ' }, { text: 'text' }] }]);
  orders.addRow(['A-5', null, 1, 'x', 'stray']);
  orders.getColumn(2).numFmt = 'yyyy-mm-dd hh:mm';
  const refunds = wb.addWorksheet('Refunds');
  refunds.addRow(['Refund ID', 'Amount']);
  refunds.addRow(['R-1', 3.25]);
  await wb.xlsx.writeFile(file);
}

test('xlsx: first sheet by default; numbers, dates, text; empty rows skipped; stray cells reported', async () => {
  const file = path.join(tmp.dir, 'book.xlsx');
  await writeWorkbook(file);
  const { stream, rows } = await readAll(file);
  assert.equal(stream.format, 'xlsx');
  assert.deepEqual(stream.headers, ['order id', 'placed at', 'total', 'note']);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0].fields, { 'order id': 'A-1', 'placed at': new Date(Date.UTC(2024, 2, 1, 10, 30)), total: 12.5, note: 'first' });
  assert.equal(rows[0].rowNumber, 1);
  assert.equal(rows[0].raw, '["A-1","2024-03-01T10:30:00.000Z",12.5,"first"]');
  assert.deepEqual(rows[1].fields, { 'order id': 'A-2', 'placed at': new Date(Date.UTC(2024, 2, 2)), total: 7, note: null });
  assert.equal(rows[2].rowNumber, 4); // spreadsheet row 5; the empty row 4 is skipped
  assert.deepEqual(rows[2].fields, { 'order id': 'A-4', 'placed at': new Date(Date.UTC(2024, 2, 4)), total: 2, note: 'rich text' });
  assert.equal(rows[3].rowNumber, 5);
  assert.match(rows[3].error!.message, /^row 5: cell E6 has a value but its column has no header/);
  assert.equal(rows[3].fields['order id'], 'A-5');
});

test('xlsx: the bytes read follow the sheet being read, from near nothing to the whole file', async () => {
  const file = path.join(tmp.dir, 'progress.xlsx');
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('Big');
  sheet.addRow(['id', 'text']);
  for (let i = 0; i < 20_000; i++) sheet.addRow([i, `row ${i} ${'x'.repeat(i % 50)}`]);
  await wb.xlsx.writeFile(file);
  const stream = await openRecordStream(file);
  const seen: number[] = [];
  let rows = 0;
  for await (const _row of stream) if (++rows % 2000 === 0) seen.push(stream.bytesRead());
  assert.equal(rows, 20_000);
  assert.ok(seen[0]! < stream.totalBytes! / 2, `after 2,000 of 20,000 rows: ${seen[0]} of ${stream.totalBytes}`);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'never goes back');
  assert.equal(stream.bytesRead(), stream.totalBytes);
});

test('xlsx: sheet by name (case-insensitive) or 1-based index; unknown sheet lists the sheets', async () => {
  const file = path.join(tmp.dir, 'book2.xlsx');
  await writeWorkbook(file);
  for (const sheet of ['refunds', 'Refunds', 2, '2']) {
    const { stream, rows } = await readAll(file, { sheet, mapping: { 'Refund ID': 'refund_id' } });
    assert.deepEqual(stream.headers, ['refund_id', 'amount'], String(sheet));
    assert.deepEqual(rows, [{ rowNumber: 1, fields: { refund_id: 'R-1', amount: 3.25 }, raw: '["R-1",3.25]' }]);
  }
  await rejectsUnsupported(file, /sheet "Nope" does not exist; the workbook has 2 sheet\(s\): "Orders", "Refunds"/, { sheet: 'Nope' });
  await rejectsUnsupported(file, /sheet 3 does not exist/, { sheet: 3 });
});

test('xlsx: a worksheet stored before xl/workbook.xml in the zip (after the shared strings) is read by name and position', async () => {
  // exceljs writes workbook.xml last and its entries can land in any order: this puts the second
  // sheet after the shared strings and relationships but before workbook.xml.
  const plain = path.join(tmp.dir, 'book-order.xlsx');
  await writeWorkbook(plain);
  const zip = await JSZip.loadAsync(fs.readFileSync(plain));
  const names = Object.keys(zip.files).filter((n) => !zip.files[n]!.dir);
  const first = ['[Content_Types].xml', '_rels/.rels', 'xl/_rels/workbook.xml.rels', 'xl/sharedStrings.xml', 'xl/worksheets/sheet2.xml'];
  const order = [...first, ...names.filter((n) => !first.includes(n))];
  assert.ok(order.indexOf('xl/workbook.xml') > order.indexOf('xl/worksheets/sheet2.xml'));
  const reordered = new JSZip();
  for (const n of order) reordered.file(n, await zip.files[n]!.async('nodebuffer'), { createFolders: false });
  const file = path.join(tmp.dir, 'book-reordered.xlsx');
  fs.writeFileSync(file, await reordered.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
  assert.deepEqual(Object.keys((await JSZip.loadAsync(fs.readFileSync(file))).files).slice(0, 5), first, 'the entries are stored in that order');
  for (const sheet of ['Refunds', 2]) {
    const { rows } = await readAll(file, { sheet });
    assert.deepEqual(rows, [{ rowNumber: 1, fields: { 'refund id': 'R-1', amount: 3.25 }, raw: '["R-1",3.25]' }], String(sheet));
  }
  const { rows: orders } = await readAll(file);
  assert.equal(orders[0]!.fields['order id'], 'A-1', 'the first sheet is still the default');
});

test('xlsx: a streamed workbook (inline strings, no styles) like the demo generator writes', async () => {
  const file = path.join(tmp.dir, 'streamed.xlsx');
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: false, useStyles: false });
  const ws = wb.addWorksheet('orders');
  ws.addRow(['order_id', 'total', 'placed_at']).commit();
  for (let i = 1; i <= 2000; i++) ws.addRow([`O-${i}`, i / 4, '2024-01-01T00:00:00Z']).commit();
  ws.commit();
  await wb.commit();
  const { rows } = await readAll(file);
  assert.equal(rows.length, 2000);
  assert.deepEqual(rows[1999], { rowNumber: 2000, fields: { order_id: 'O-2000', total: 500, placed_at: '2024-01-01T00:00:00Z' }, raw: '["O-2000",500,"2024-01-01T00:00:00Z"]' });
});

test('xlsx: a truncated workbook is a whole-file error, not a hang; breaking out early releases the file', async () => {
  const streamed = path.join(tmp.dir, 'for-truncation.xlsx');
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: streamed, useSharedStrings: true, useStyles: true });
  const ws = wb.addWorksheet('orders');
  ws.addRow(['order_id', 'email', 'total']).commit();
  for (let i = 1; i <= 20_000; i++) ws.addRow([i, `c${i}@example.com`, i / 4]).commit();
  ws.commit();
  await wb.commit();
  const regular = path.join(tmp.dir, 'regular-for-truncation.xlsx');
  const wb2 = new ExcelJS.Workbook();
  const ws2 = wb2.addWorksheet('orders');
  ws2.addRow(['order_id', 'email']);
  for (let i = 1; i <= 20_000; i++) ws2.addRow([i, `c${i}@example.com`]);
  await wb2.xlsx.writeFile(regular);
  for (const source of [streamed, regular]) {
    const bytes = fs.readFileSync(source);
    for (const cut of [0.3, 0.6, 0.95]) {
      const file = write('cut.xlsx', bytes.subarray(0, Math.floor(bytes.length * cut)));
      await rejectsUnsupported(file, /not a valid XLSX file/);
    }
  }
  const stream = await openRecordStream(streamed);
  for await (const row of stream) if (row.rowNumber === 5) break;
  const ac = new AbortController();
  const aborted = await openRecordStream(streamed, { signal: ac.signal });
  await assert.rejects(async () => {
    for await (const row of aborted) if (row.rowNumber === 5) ac.abort();
  }, { name: 'AbortError' });
});

// ---------------------------------------------------------------------------------------------
// gzip

test('gzip: csv, jsonl, json and xlsx, by .gz extension and by magic bytes alone', async () => {
  const csv = 'id,name\n1,£\n';
  const jsonl = '{"id":1}\n{"id":2}\n';
  const json = '[{"id":1},{"id":2}]';
  const gz = (s: string | Buffer) => zlib.gzipSync(s);
  const cases: [string, Buffer, string, number][] = [
    ['a.csv.gz', gz(csv), 'csv', 1],
    ['a.jsonl.gz', gz(jsonl), 'jsonl', 2],
    ['a.json.gz', gz(json), 'json', 2],
    ['no-gz-extension.csv', gz(csv), 'csv', 1],
    ['export.dat', gz(jsonl), 'jsonl', 2],
    ['download', gz(json), 'json', 2],
  ];
  for (const [name, content, format, count] of cases) {
    const file = write(name, content);
    const { stream, rows } = await readAll(file);
    assert.equal(stream.format, format, name);
    assert.equal(stream.gzip, true, name);
    assert.equal(rows.length, count, name);
    assert.ok(rows.every((r) => !r.error), name);
    assert.equal(stream.bytesRead(), content.length, name);
  }
  assert.equal((await readAll(write('b.csv.gz', gz(csv)))).rows[0].fields.name, '£');

  const book = path.join(tmp.dir, 'gz-book.xlsx');
  await writeWorkbook(book);
  const x = await readAll(write('book.xlsx.gz', gz(fs.readFileSync(book))), { sheet: 'Refunds' });
  assert.equal(x.stream.format, 'xlsx');
  assert.deepEqual(x.rows[0].fields, { 'refund id': 'R-1', amount: 3.25 });

  // a truncated gzip file is a whole-file problem
  const cut = gz('id\n' + '1\n'.repeat(100_000));
  await rejectsUnsupported(write('cut.csv.gz', cut.subarray(0, cut.length - 20)), /gzip data is corrupt or truncated/);
});

// ---------------------------------------------------------------------------------------------
// whole-file problems

test('UnsupportedFileError: empty, missing, binary, legacy xls, no header, not an array', async () => {
  await rejectsUnsupported(write('empty.csv', ''), /the file is empty/);
  await rejectsUnsupported(write('blank.csv', '\n\r\n  \n'), /empty/);
  await rejectsUnsupported(write('empty.csv.gz', zlib.gzipSync('')), /empty/);
  await rejectsUnsupported(path.join(tmp.dir, 'does-not-exist.csv'), /no such file/);
  await rejectsUnsupported(tmp.dir, /not a regular file/);
  await rejectsUnsupported(write('blob.bin', crypto.randomBytes(10_000)), /binary/);
  await rejectsUnsupported(write('image.csv', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), crypto.randomBytes(500)])), /binary/);
  await rejectsUnsupported(write('old.xls', Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)])), /\.xls/);
  await rejectsUnsupported(write('fake.xlsx', 'id,name\n1,2\n'), /not a valid XLSX file/);
  await rejectsUnsupported(write('corrupt.xlsx', Buffer.concat([Buffer.from('PK\x03\x04'), crypto.randomBytes(2000)])), /not a valid XLSX file/);
  await rejectsUnsupported(write('obj.json', '"just a string"'), /not a JSON array/);
  await rejectsUnsupported(write('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')])), /UTF-16/);
  await rejectsUnsupported(write('export.csv', '<!DOCTYPE html>\n<html><body>Session expired</body></html>\n'), /HTML or XML/);
  await rejectsUnsupported(write('pretty.json', '{\n  "orders": [\n    {"id": 1}\n  ]\n}\n'), /single JSON object/);
  await rejectsUnsupported(write('header-only-quote.csv', 'id,"name\n1,2\n'), /header row \(line 1\) has a quoted field that is never closed/);
  await assert.rejects(() => openRecordStream(write('x.csv', 'a\n1\n'), { delimiter: '::' }), /delimiter/);
  await assert.rejects(() => openRecordStream(write('x.csv', 'a\n1\n'), { mapping: { a: 'x', A: 'y' } }), /mapped twice/);
});

test('csv: delimiter given by name (tab, semicolon) as a command line would pass it', async () => {
  const file = write('named.txt', 'a\tb\n1\t2\n');
  assert.deepEqual((await readAll(file, { delimiter: 'tab' })).rows[0].fields, { a: '1', b: '2' });
  assert.deepEqual((await readAll(file, { delimiter: '\\t' })).rows[0].fields, { a: '1', b: '2' });
});

test('batches(): the same rows, in the parser\'s batches', async () => {
  const lines = ['id,v'];
  for (let i = 1; i <= 50_000; i++) lines.push(`${i},${i % 3 === 0 ? '"x,y"' : 'z'}`);
  const file = write('batches.csv', lines.join('\n'));
  const stream = await openRecordStream(file);
  const batches: SourceRow[][] = [];
  for await (const b of stream.batches!()) batches.push(b);
  assert.ok(batches.length > 1);
  const rows = batches.flat();
  assert.equal(rows.length, 50_000);
  assert.ok(rows.every((r, i) => r.rowNumber === i + 1 && r.fields.id === String(i + 1)));
  assert.throws(() => stream[Symbol.asyncIterator](), /only once/);
});

// ---------------------------------------------------------------------------------------------
// streaming behaviour

test('abort signal stops reading; breaking out early releases the file', async () => {
  const lines = ['id,v'];
  for (let i = 0; i < 200_000; i++) lines.push(`${i},${i}`);
  const file = write('abort.csv', lines.join('\n'));
  const ac = new AbortController();
  const stream = await openRecordStream(file, { signal: ac.signal });
  let n = 0;
  await assert.rejects(async () => {
    for await (const _ of stream) {
      if (++n === 10) ac.abort();
    }
  }, { name: 'AbortError' });
  assert.ok(n < 200_000);

  const s2 = await openRecordStream(file);
  for await (const row of s2) if (row.rowNumber === 3) break;
  assert.ok(s2.bytesRead() < s2.totalBytes!);
  const s3 = await openRecordStream(file);
  await s3.close();
});

/**
 * Reads `file` in a fresh node process (so that neither the test runner's per-promise bookkeeping
 * nor the other tests' garbage distort the numbers) and reports rows, time and RSS.
 */
async function measureInChild(file: string): Promise<{ rows: number; errors: number; seconds: number; growthMb: number; batchRows: number; batchSeconds: number }> {
  const parsers = new URL('../../src/ingest/parsers/index.js', import.meta.url).href;
  const script = `
    import { openRecordStream } from ${JSON.stringify(parsers)};
    const file = process.argv[1];
    const base = process.memoryUsage().rss;
    let peak = base;
    let t0 = process.hrtime.bigint();
    const stream = await openRecordStream(file);
    let rows = 0, errors = 0;
    for await (const row of stream) {
      rows++;
      if (row.error) errors++;
      if ((rows & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    peak = Math.max(peak, process.memoryUsage().rss);
    t0 = process.hrtime.bigint();
    let batchRows = 0;
    for await (const batch of (await openRecordStream(file)).batches()) batchRows += batch.length;
    const batchSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ rows, errors, seconds, growthMb: (peak - base) / 1048576, batchRows, batchSeconds }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, 'measuring child process failed');
  return JSON.parse(out);
}

test('memory stays flat streaming a large generated CSV; throughput is reported', async (t) => {
  const targetBytes = Number(process.env.PARSER_MEMTEST_MB ?? 150) * 1024 * 1024;
  const file = path.join(tmp.dir, 'large.csv');
  const out = fs.createWriteStream(file);
  out.write('order_id,customer_email,placed_at,status,currency,total,note\n');
  // one ~1 MB block of varied rows, written over and over (generating every row would dominate the test's time)
  let block = '';
  let blockRows = 0;
  for (let i = 0; block.length < 1024 * 1024; i++, blockRows++) {
    block += `${i},customer${i % 9973}@example.com,2024-03-${String((i % 28) + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z,paid,EUR,${(i % 10000) / 100},${i % 7 === 0 ? '"gift, wrapped ""please"""' : i % 11 === 0 ? '"two\nlines"' : 'none'}\n`;
  }
  const blockBytes = Buffer.from(block);
  let written = 0;
  let total = 0;
  while (written < targetBytes) {
    written += blockBytes.length;
    total += blockRows;
    if (!out.write(blockBytes)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');

  const m = await measureInChild(file);
  const mb = written / 1024 / 1024;
  t.diagnostic(
    `CSV ${mb.toFixed(0)} MB, ${m.rows} rows in ${m.seconds.toFixed(2)} s: ${Math.round(m.rows / m.seconds)} rows/s, ` +
      `${(mb / m.seconds).toFixed(0)} MB/s; RSS growth ${m.growthMb.toFixed(1)} MB; ` +
      `batches(): ${Math.round(m.batchRows / m.batchSeconds)} rows/s`,
  );
  assert.equal(m.rows, total);
  assert.equal(m.errors, 0);
  assert.equal(m.batchRows, total);
  assert.ok(m.growthMb < 150, `RSS grew by ${m.growthMb.toFixed(1)} MB`);
  fs.rmSync(file);
});

// ---------------------------------------------------------------------------------------------

function quote(v: string): string {
  return /[",\r\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v;
}

