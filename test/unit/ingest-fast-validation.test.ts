/**
 * The live-events hot path validates with `fastEventValidator`, file imports orders, items and
 * payments with their fast validators; the zod schemas in entitySchemas are the schemas of record. Both must give the same answer — the same cleaned value, or the same
 * problems (field, reason, message, in order) — for every input. Checked on a generated set that
 * mixes valid, blank, missing, mistyped and out-of-range values in every field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entitySchemas, fastEventValidator, fastOrderItemValidator, fastOrderValidator, fastPaymentValidator, fastValidators, rowHash, validateRecord, ENTITIES, type Entity, type Validated } from '../../src/ingest/validate/entities.js';
import { encodeFactRow, factHash } from '../../src/ingest/facts.js';
import { mulberry32 as rng } from '../support/random.js';

/** Candidate values per field: good ones, aliases, blanks and every kind of bad one. */
const CANDIDATES: Record<string, unknown[]> = {
  event_id: ['e1', '  e2  ', 42, '', '   ', null, 'x'.repeat(201), 'x'.repeat(200), { a: 1 }, true],
  event_time: [
    '2024-03-01T10:00:00Z', '2024-03-01 10:00:00', '2024-03-01', '3/1/2024 10:00', '01.03.2024 10:00', '2024-03-01T10:00:00+02:00',
    '2024-03-01T10:00:00.123Z', 1709287200, 1709287200123, '1709287200', 'yesterday', '2024-02-30 10:00', '1969-01-01', -5, '', null,
    new Date('2024-03-01T10:00:00Z'), new Date('nope'), { t: 1 }, '2024-10-27 01:30',
  ],
  session_id: ['s1', '', null, 7, 'y'.repeat(300)],
  customer_id: ['c1', '', null, 12345, [1, 2]],
  anonymous_id: ['a1', '', undefined, false],
  event_type: ['page_view', 'PAGE VIEW', 'Product-View', 'pageview', 'order', 'teleport', '', null, 3, 'add_to_basket', 'search'],
  product_id: ['P1', '', null, 99, ' P2 '],
  channel: ['Web', 'APP', '', null, 5],
  properties: [{ path: '/' }, '{"a":1}', '[1]', 'not json', '', null, [1], 'null', 12, { nested: { x: [1, 2] } }],
};

function generate(r: () => number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, values] of Object.entries(CANDIDATES)) {
    const p = r();
    if (p < 0.15) continue; // absent
    out[k] = values[Math.floor(r() * values.length)];
  }
  if (r() < 0.1) out['unknown_extra'] = 'ignored';
  return out;
}

/** Same shape for both: keys with undefined values dropped. */
const norm = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

test('fastEventValidator agrees with the zod events schema on 20,000 generated events, in three time zones', () => {
  for (const tz of ['UTC', 'Europe/London', 'America/Sao_Paulo']) {
    const schemas = entitySchemas(tz);
    const fast = fastEventValidator(tz);
    const r = rng(tz.length * 7919);
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < 20_000 / 3; i++) {
      const fields = generate(r);
      const expected = validateRecord(schemas, 'events', fields);
      const actual = fast(fields);
      assert.deepEqual(norm(actual), norm(expected), `tz ${tz}, input ${JSON.stringify(fields)}`);
      if (expected.ok) ok++;
      else bad++;
    }
    // The generated set exercises both outcomes substantially.
    assert.ok(ok > 300 && bad > 300, `ok ${ok}, bad ${bad}`);
  }
});

test('fastEventValidator: a fully valid event is cleaned exactly like the schema of record', () => {
  const fields = { event_id: ' e9 ', event_time: '2024-07-01 12:00', event_type: 'Add To Cart', channel: 'WEB', properties: '{"q": "mug"}', product_id: 'SKU-1' };
  const fast = fastEventValidator('Europe/London')(fields);
  assert.deepEqual(fast, {
    ok: true,
    value: {
      event_id: 'e9', event_time: Date.parse('2024-07-01T11:00:00Z'), session_id: undefined, customer_id: undefined, anonymous_id: undefined,
      event_type: 'add_to_cart', product_id: 'SKU-1', channel: 'web', properties: '{"q":"mug"}',
    },
  });
  const missing = fastEventValidator('UTC')({ event_type: 'teleport' });
  assert.deepEqual(missing, {
    ok: false,
    problems: [
      { field: 'event_time', reason: 'missing_field', message: 'event_time is required but missing' },
      { field: 'event_type', reason: 'invalid_enum', message: 'event_type "teleport" is not one of page_view, product_view, add_to_cart, remove_from_cart, checkout, purchase, search' },
    ],
  });
});

const ITEM_CANDIDATES: Record<string, unknown[]> = {
  order_id: ['o1', ' o2 ', 17, '', null, 'z'.repeat(201)],
  line_number: [1, '2', 0, -1, '1.5', 'x', '', null, 9007199254740993, ' 3 '],
  product_id: ['SKU-1', '', null, 85123, 'p'.repeat(250)],
  quantity: [1, -3, '6', 0, '0', 2_000_000_001, '-2000000000', 'many', '', null, 1.5],
  unit_price: ['2.55', 2.55, '0', '-1', '1e3', '0.00001', '12345678901234.5', '', null, 'abc', 1e21, '3.14159'],
  discount: ['0', '1.5', '-0.5', '', null, 'x'],
  line_amount: ['15.30', '-4', 'n/a', '', null, 7],
  created_at: ['2011-12-01T08:26:00.000Z', '12/1/2010 8:26', 'never', '', null, new Date(0)],
  updated_at: ['2024-01-01', 'tomorrow', '', null],
};

test('fastOrderItemValidator agrees with the zod order_items schema on 8,000 generated items', () => {
  const tz = 'Europe/London';
  const schemas = entitySchemas(tz);
  const fast = fastOrderItemValidator(tz);
  const r = rng(4242);
  let ok = 0;
  let bad = 0;
  for (let i = 0; i < 8_000; i++) {
    const fields: Record<string, unknown> = {};
    for (const [k, values] of Object.entries(ITEM_CANDIDATES)) {
      const p = r();
      if (p < 0.05) continue; // absent
      // Mostly the first (valid) candidate, so valid items are common too.
      fields[k] = p < 0.75 ? values[0] : values[Math.floor(r() * values.length)];
    }
    const expected = validateRecord(schemas, 'order_items', fields);
    assert.deepEqual(norm(fast(fields)), norm(expected), `input ${JSON.stringify(fields)}`);
    if (expected.ok) ok++;
    else bad++;
  }
  assert.ok(ok > 100 && bad > 100, `ok ${ok}, bad ${bad}`);
});

/**
 * Generated records of an entity: each field absent (5 %), its first (valid) candidate (70 %) or any
 * candidate, so valid records, every kind of bad field and combinations of them all occur.
 */
function agreeOn(entity: Entity, fast: (f: Record<string, unknown>) => Validated<unknown>, tz: string, candidates: Record<string, unknown[]>, n: number, seed: number) {
  const schemas = entitySchemas(tz);
  const r = rng(seed);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const fields: Record<string, unknown> = {};
    for (const [k, values] of Object.entries(candidates)) {
      const p = r();
      if (p < 0.05) continue;
      fields[k] = p < 0.75 ? values[0] : values[Math.floor(r() * values.length)];
    }
    const expected = validateRecord(schemas, entity, fields);
    assert.deepEqual(norm(fast(fields)), norm(expected), `input ${JSON.stringify(fields)}`);
    const outcome = expected.ok ? 'ok' : expected.problems.map((p) => p.reason).join('+');
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  return outcomes;
}

const ORDER_CANDIDATES: Record<string, unknown[]> = {
  order_id: ['o1', ' o2 ', 17, '', null, 'z'.repeat(201)],
  order_kind: ['sale', 'REFUND', 'refund', 'gift', '', null],
  customer_id: ['c1', '', null, 12345, 'c'.repeat(201)],
  status: ['paid', 'Canceled', 'complete', 'fulfilled', 'lost', '', null, 3],
  created_at: ['2024-03-01 10:00', '2024-03-01T10:00:00Z', '3/1/2024 10:00', 'someday', '', null, 1709287200],
  shipped_at: ['2024-03-02 10:00', '2024-02-28 10:00', 'x', '', null],
  delivered_at: ['2024-03-03 10:00', '2024-03-01 09:00', '', null, 'soon'],
  returned_at: ['', '2024-03-04 10:00', '2024-03-02 09:00', null, 'never'],
  channel: ['Web', '', null, 5],
  country: ['GB', 'united kingdom', 'de', 'Atlantis', '', null],
  currency: ['GBP', 'eur', 'XXXX', '', null],
  gross: ['10.50', '-4', 7, 'n/a', '', null, '1e3', '12345678901234567890.1'],
  discount: ['0', '1.5', '-0.5', '', null, 'x'],
  shipping: ['4.99', '-1', '', null],
  tax: ['1.1', 'tax', '', null],
  net: ['9', '-2', 'x', '', null],
  refunded: ['', '3', '-3', null],
  updated_at: ['2024-03-05', 'tomorrow', '', null],
};

const PAYMENT_CANDIDATES: Record<string, unknown[]> = {
  payment_id: ['p1', ' p2 ', 9, '', null, 'q'.repeat(201)],
  order_id: ['o1', '', null, 'z'.repeat(201)],
  method: ['card', 'credit_card', 'PayPal', 'giftcard', 'barter', '', null],
  amount: ['10.50', 3, '0', '-1', 'x', '', null],
  currency: ['GBP', 'usd', 'XXXX', '', null],
  status: ['captured', 'paid', 'Declined', 'stolen', '', null],
  installments: ['', 1, '12', 0, 121, '1.5', 'x', null],
  paid_at: ['2024-03-01 10:00', 'never', '', null, 1709287200123],
  updated_at: ['2024-03-05', 'tomorrow', '', null],
};

test('fastOrderValidator agrees with the zod orders schema (fields, then its business rules) on 12,000 generated orders', () => {
  for (const tz of ['UTC', 'America/Sao_Paulo']) {
    const outcomes = agreeOn('orders', fastOrderValidator(tz), tz, ORDER_CANDIDATES, 6_000, tz.length * 31);
    // Valid orders, bad fields and each business rule all occur.
    for (const reason of ['ok', 'business_rule', 'out_of_range', 'invalid_value', 'missing_field', 'invalid_enum']) {
      const n = [...outcomes].filter(([k]) => k === reason || k.split('+').includes(reason)).reduce((a, [, c]) => a + c, 0);
      assert.ok(n > 20, `${tz}: ${reason} occurred ${n} times (${JSON.stringify([...outcomes])})`);
    }
  }
});

test('fastPaymentValidator agrees with the zod payments schema on 6,000 generated payments', () => {
  const outcomes = agreeOn('payments', fastPaymentValidator('Europe/London'), 'Europe/London', PAYMENT_CANDIDATES, 6_000, 977);
  for (const reason of ['ok', 'out_of_range', 'invalid_value', 'missing_field', 'invalid_enum']) {
    const n = [...outcomes].filter(([k]) => k === reason || k.split('+').includes(reason)).reduce((a, [, c]) => a + c, 0);
    assert.ok(n > 20, `${reason} occurred ${n} times`);
  }
});

const INVENTORY_CANDIDATES: Record<string, unknown[]> = {
  snapshot_date: ['2024-03-01', '3/1/2024', '2024-02-30', 'today', '', null],
  product_id: ['SKU-1', ' SKU-2 ', 7, '', null, 'p'.repeat(201)],
  warehouse_id: ['W1', '', null, 'w'.repeat(201)],
  on_hand: [12, '-3', '0', '1.5', 'lots', '', null],
  reserved: ['', 2, '-1', 'x', null],
  unit_cost: ['4.20', '-1', 'x', '', null],
  updated_at: ['2024-03-05', 'tomorrow', '', null],
};

const CUSTOMER_CANDIDATES: Record<string, unknown[]> = {
  customer_id: ['c1', ' c2 ', 12345, '', null, 'c'.repeat(201)],
  name: ['Ada', '', null, 42],
  email: ['Ada@Example.com', 'not-an-email', 'a@b', '', null],
  email_hash: ['', 'abc', null],
  country: ['GB', 'germany', 'Atlantis', '', null],
  region: ['North', '', null],
  city: ['York', '', null, { x: 1 }],
  segment: ['VIP', '', null],
  valid_from: ['2024-01-01', 'then', '', null],
  created_at: ['2023-05-01 10:00', 'x', '', null],
  updated_at: ['2024-03-05', 'tomorrow', '', null],
};

const PRODUCT_CANDIDATES: Record<string, unknown[]> = {
  product_id: ['SKU-1', ' SKU-2 ', 85123, '', null, 'p'.repeat(201)],
  sku: ['S1', '', null],
  name: ['Mug', '', null, [1]],
  category: ['Kitchen', '', null],
  brand: ['Acme', '', null],
  list_price: ['9.99', '-1', 'cheap', '', null, 1e21],
  cost: ['3', '-0.5', '', null],
  updated_at: ['2024-03-05', 'tomorrow', '', null],
};

test('inventory, customers and products: the fast validators agree with the zod schemas on 6,000 generated records each', () => {
  const cases = [
    ['inventory', INVENTORY_CANDIDATES, ['ok', 'invalid_value', 'out_of_range', 'missing_field']],
    ['customers', CUSTOMER_CANDIDATES, ['ok', 'invalid_value', 'missing_field']],
    ['products', PRODUCT_CANDIDATES, ['ok', 'invalid_value', 'out_of_range', 'missing_field']],
  ] as const;
  for (const [entity, candidates, reasons] of cases) {
    const outcomes = agreeOn(entity, fastValidators('Europe/Berlin')[entity], 'Europe/Berlin', candidates, 6_000, entity.length * 101);
    for (const reason of reasons) {
      const n = [...outcomes].filter(([k]) => k === reason || k.split('+').includes(reason)).reduce((a, [, c]) => a + c, 0);
      assert.ok(n > 20, `${entity}: ${reason} occurred ${n} times`);
    }
  }
});

test('fastValidators has a validator for every entity', () => {
  const v = fastValidators('UTC');
  assert.deepEqual(Object.keys(v).sort(), [...ENTITIES].sort());
});

test('factHash (cached key order) equals the hash of the sorted business entries, updated_at excluded', () => {
  const rows = [
    { order_id: 'o1', line_number: 1, product_id: 'P', created_at: '2024-01-01 00:00:00.000', quantity: 2, unit_price: '1.5', discount: '0', line_amount: '3', updated_at: 'x' },
    { event_id: 'e', event_time: 't', session_id: '', customer_id: 'c', anonymous_id: '', event_type: 'page_view', product_id: '', channel: 'web', properties: '{}' },
  ];
  for (const row of rows) {
    const { updated_at: _u, ...business } = row as Record<string, unknown>;
    const expected = rowHash(Object.entries(business).sort(([a], [b]) => a.localeCompare(b)));
    assert.equal(factHash(row), expected);
    assert.equal(factHash({ ...row }), expected, 'second call (cached order) too');
    assert.notEqual(factHash({ ...row, product_id: 'other' }), expected);
  }
});

test('factHash builds the same JSON as rowHash over [key, value] pairs for every kind of value, and rowHash is SHA-256 of that JSON', async () => {
  const { createHash } = await import('node:crypto');
  const independent = (values: unknown[]) => createHash('sha256').update(JSON.stringify(values)).digest().readBigUInt64BE(0).toString();
  const rows: Record<string, unknown>[] = [
    {},
    { updated_at: 'only' },
    { a: null, b: undefined, c: '', d: 0, e: -1.5, f: true, g: 'quote " backslash \\ newline \n é ✓' },
    { z: { nested: [1, { x: null }] }, y: [undefined, 2], x: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), w: () => 1, updated_at: 'ignored' },
    { Order_ID: 'o', order_id: 'p', 'line number': 3, ä: 'umlaut sorts by localeCompare' },
  ];
  for (const row of rows) {
    const order = Object.keys(row).filter((k) => k !== 'updated_at').sort((a, b) => a.localeCompare(b));
    const expected = independent(order.map((k) => [k, row[k]]));
    assert.equal(factHash(row), expected, JSON.stringify(Object.keys(row)));
    assert.equal(factHash({ ...row }), expected, 'second call (cached shape) too');
    assert.equal(rowHash(order.map((k) => [k, row[k]])), expected);
  }
});

test('encodeFactRow gives factHash and the JSONCompactEachRow values of the row (undefined when a value has no JSON)', () => {
  const rows: Record<string, unknown>[] = [
    { event_id: 'e', event_time: '2024-06-01 00:00:00.000', session_id: '', customer_id: 'c', anonymous_id: '', event_type: 'page_view', product_id: '', channel: 'web', properties: '{"q":"a \\"b\\" ✓"}' },
    { a: null, c: '', d: 0, e: -1.5, f: true, g: 'quote " backslash \\ newline \n é ✓', updated_at: 'kept in values, not in the hash' },
    { z: { nested: [1, { x: null }] }, y: [undefined, 2], x: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) },
    { a: 1, b: undefined, c: 'x' },
    { event_id: undefined, event_time: 't' },
    {},
  ];
  for (const row of rows) {
    const { hash, values } = encodeFactRow(row);
    assert.equal(hash, factHash(row), JSON.stringify(Object.keys(row)));
    const hasUndefined = Object.values(row).some((v) => JSON.stringify(v) === undefined);
    // Independent: the row's values as one JSON array, without its brackets.
    assert.equal(values, hasUndefined ? undefined : JSON.stringify(Object.values(row)).slice(1, -1), JSON.stringify(Object.keys(row)));
    assert.deepEqual(encodeFactRow({ ...row }), { hash, values }, 'second call (cached shape) too');
  }
});
