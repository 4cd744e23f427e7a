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
