import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonEachRow } from '../../src/warehouse/client.js';

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
