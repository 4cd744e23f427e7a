import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventsBody } from '../../src/http/ingest.routes.js';

test('parseEventsBody: a JSON array body gives its own text as the records\' array text; other shapes give none', () => {
  const records = [{ event_type: 'page_view', event_id: 'a' }, { event_type: 'add_to_cart', event_id: 'b', note: 'say "hi"\n' }];
  const array = `  ${JSON.stringify(records, null, 1)}\n`;
  const parsed = parseEventsBody(array, 'application/json');
  assert.deepEqual(parsed.records, records);
  assert.equal(parsed.arrayText, array.trim());
  assert.deepEqual(JSON.parse(parsed.arrayText!), records, 'the text is exactly the records');
  for (const [body, type] of [
    [records.map((r) => JSON.stringify(r)).join('\n'), 'application/x-ndjson'],
    [JSON.stringify({ events: records }), 'application/json'],
  ] as const) {
    const p = parseEventsBody(body, type);
    assert.deepEqual(p.records, records);
    assert.equal(p.arrayText, undefined, `${type}: ${body.slice(0, 20)}`);
  }
  assert.deepEqual(parseEventsBody(JSON.stringify(records[0]), 'application/json'), { records: [records[0]], arrayText: undefined });
});

test('parseEventsBody: NDJSON sent as application/json is read line by line; other bad bodies keep a clear error', () => {
  const records = [{ event_type: 'page_view', event_id: 'a' }, { event_type: 'add_to_cart', event_id: 'b', note: 'x\ny' }];
  const ndjson = records.map((r) => JSON.stringify(r)).join('\r\n') + '\n';
  for (const type of ['application/json', '', 'text/plain']) {
    assert.deepEqual(parseEventsBody(ndjson, type), { records, arrayText: undefined }, type);
  }
  // A pretty-printed object spans lines and is one JSON value: one record.
  assert.deepEqual(parseEventsBody(JSON.stringify(records[0], null, 2), 'application/json').records, [records[0]]);
  const fails = (body: string, type: string, message: RegExp) =>
    assert.throws(() => parseEventsBody(body, type), (e: Error & { status?: number }) => e.status === 400 && message.test(e.message), body);
  // NDJSON with a broken third line, under either content type: the line is named.
  const broken = `${JSON.stringify(records[0])}\n${JSON.stringify(records[1])}\n{"event_type": }`;
  fails(broken, 'application/json', /^line 3 is not valid JSON: /);
  fails(broken, 'application/x-ndjson', /^line 3 is not valid JSON: /);
  // Broken JSON that is not NDJSON keeps JSON's own message.
  fails('{\n  "event_type": "page_view",\n}', 'application/json', /^the body is not valid JSON: /);
  fails('[{"event_type": "page_view"}', 'application/json', /^the body is not valid JSON: /);
  // Lines that are JSON but not objects are not records.
  fails('{"event_type": "page_view"}\n[1, 2]', 'application/json', /^record 2 is not a JSON object/);
});
