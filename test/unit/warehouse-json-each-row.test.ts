import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonCompactEachRow, jsonEachRow } from '../../src/warehouse/client.js';
import { TextBytes } from '../../src/warehouse/text-bytes.js';

/** Independent: the JSONEachRow text @clickhouse/client sends, one JSON.stringify per row. */
const expected = (rows: Record<string, unknown>[]) => Buffer.from(rows.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8');

test('jsonEachRow gives the bytes of one JSON object per line, for any text and row sizes', () => {
  assert.equal(jsonEachRow([]).length, 0);
  const values = ['', 'plain', 'quote " backslash \\ newline \n tab \t', 'Grüße', '日本語テキスト', '😀 emoji', '\u0000\u001f', 'x'.repeat(50_000)];
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 3000; i++) {
    rows.push({ id: `O${i}`, n: i, price: '12.3400', flag: i % 2 === 0, none: null, text: values[i % values.length], nested: { a: [i, 'b'] } });
  }
  // A short first row, then long multi-byte rows: the buffer sized from the first row must grow.
  const growing = [{ a: 1 }, ...Array.from({ length: 200 }, (_, i) => ({ a: i, t: '日本語'.repeat(1000) }))];
  for (const set of [rows, rows.slice(0, 1), rows.slice(7, 8), growing]) {
    assert.ok(jsonEachRow(set).equals(expected(set)));
  }
});

test('jsonCompactEachRow gives one JSON array of the values per line, only when every row has the same keys', () => {
  const values = ['', 'quote " backslash \\ newline \n', 'Grüße', '😀', '\u0000', 'x'.repeat(40_000)];
  const rows = Array.from({ length: 2000 }, (_, i) => ({ id: `O${i}`, n: i, price: '1.5', flag: i % 2 === 0, none: null, text: values[i % values.length] }));
  const compact = jsonCompactEachRow(rows);
  assert.ok(compact);
  assert.deepEqual(compact.columns, ['id', 'n', 'price', 'flag', 'none', 'text']);
  // Independent: the values of each row in column order, one JSON.stringify per row.
  const text = rows.map((r) => JSON.stringify(compact.columns.map((c) => (r as Record<string, unknown>)[c])) + '\n').join('');
  assert.ok(compact.bytes.equals(Buffer.from(text, 'utf8')));
  // Anything else is left to JSONEachRow (a missing key means the column's default there).
  assert.equal(jsonCompactEachRow([]), undefined);
  assert.equal(jsonCompactEachRow([{ a: 1, b: 2 }, { a: 1 }]), undefined, 'a key missing');
  assert.equal(jsonCompactEachRow([{ a: 1 }, { a: 1, b: 2 }]), undefined, 'an extra key');
  assert.equal(jsonCompactEachRow([{ a: 1, b: 2 }, { b: 2, a: 1 }]), undefined, 'another key order');
  assert.equal(jsonCompactEachRow([{ a: 1, b: undefined }]), undefined, 'an undefined value');
});

test('TextBytes appends text, lines and byte ranges as UTF-8, growing from any capacity', () => {
  const texts = ['', 'a', 'é', '€', '😀', '\n', 'x'.repeat(5000), '"quoted" \\ back'];
  const other = Buffer.from('0123456789€', 'utf8');
  for (const capacity of [1, 64, 100_000]) {
    const out = new TextBytes(capacity);
    // Independent: the same pieces as Buffers, concatenated.
    const expected: Buffer[] = [];
    for (let round = 0; round < 50; round++) {
      const t = texts[round % texts.length]!;
      const [from, to] = [round % 5, 10 + (round % 4)];
      out.text(t);
      out.line(t);
      out.copy(other, from, to);
      expected.push(Buffer.from(t + t + '\n', 'utf8'), other.subarray(from, to));
      assert.equal(out.length, Buffer.concat(expected).length, `length after round ${round}, capacity ${capacity}`);
    }
    assert.ok(out.bytes().equals(Buffer.concat(expected)), `capacity ${capacity}`);
  }
});
