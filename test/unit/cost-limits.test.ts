// The complexity estimate of src/schema/cost-limits.ts over the app's real schema: lists are
// counted by the page sizes they ask for (connection `nodes`/`edges` by the connection's `first`),
// the use case (a page of 100 customers with their orders, items, payments and products)
// fits the default budget, and an absurd query is refused naming the limit. Expected costs are
// computed here from the query's shape (fields per type × page sizes), not by the rule's code.
import 'reflect-metadata';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphQLObjectType, getNamedType, isLeafType, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { buildAppSchema } from '../../src/schema/build-schema.js';
import { MAX_QUERY_COMPLEXITY, costLimitRules } from '../../src/schema/cost-limits.js';

let schema: GraphQLSchema;
before(async () => {
  schema = await buildAppSchema();
});

/** The names of a type's fields that take no arguments and return scalars or enums. */
function leaves(typeName: string): string[] {
  const t = schema.getType(typeName) as GraphQLObjectType;
  return Object.values(t.getFields())
    .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => a.defaultValue !== undefined || !String(a.type).endsWith('!')))
    .map((f) => f.name);
}

/** The complexity error of a document under `limits`, or undefined when it is allowed. */
function refusal(doc: string, limits: Parameters<typeof costLimitRules>[0] = {}) {
  const errors = validate(schema, parse(doc), [...specifiedRules, ...costLimitRules(limits)]);
  assert.deepEqual(errors.filter((e) => e.extensions['limit'] === undefined).map((e) => e.message), [], 'the document is valid GraphQL');
  return errors.find((e) => e.extensions['limit'] === 'maxComplexity');
}

/** The estimated cost of `doc` (read from the refusal under a budget of 1). */
function cost(doc: string): number {
  const e = refusal(doc, { maxComplexity: 1 });
  assert.ok(e, 'refused under a budget of 1');
  return e.extensions['actual'] as number;
}

test('a connection\'s nodes and edges count as many items as its first asks for (its default when absent)', () => {
  // customers (1) + nodes (1) + 500 × id (1)
  assert.equal(cost('{ customers(store: "s", first: 500) { nodes { id } } }'), 1 + 1 + 500);
  assert.equal(cost('{ customers(store: "s", first: 3) { edges { cursor node { id name } } pageInfo { hasNextPage } } }'), 1 + (1 + 3 * (1 + 1 + 2)) + (1 + 1));
  // Absent: the argument's default page size (50).
  assert.equal(cost('{ orders(store: "s") { nodes { id status } } }'), 1 + 1 + 50 * 2);
  // A variable without a default: counted at the largest page allowed.
  assert.equal(cost('query($n: Int!) { customers(store: "s", first: $n) { nodes { id } } }'), 1 + 1 + 1000);
  assert.equal(cost('query($n: Int! = 7) { customers(store: "s", first: $n) { nodes { id } } }'), 1 + 1 + 7);
  // Nested lists multiply by their own size argument: 4 customers × orders(first: 6) × items (10 assumed).
  assert.equal(
    cost('{ customers(store: "s", first: 4) { nodes { orders(first: 6) { id items { quantity } } } } }'),
    1 + 1 + 4 * (1 + 6 * (1 + (1 + 10 * 1))),
  );
});

test('the issue\'s use case, 100 customers with orders(first: 20), items, products and payments (every field), fits the default budget', () => {
  const [c, o, i, p, pay] = ['Customer', 'Order', 'OrderItem', 'Product', 'Payment'].map(leaves) as [string[], string[], string[], string[], string[]];
  const doc = `{ customers(store: "s", first: 100) { nodes { ${c.join(' ')}
    orders(first: 20) { ${o.join(' ')} items { ${i.join(' ')} product { ${p.join(' ')} } } payments { ${pay.join(' ')} } customer { id } } } } }`;
  const item = i.length + 1 + p.length;
  const order = o.length + (1 + 10 * item) + (1 + 10 * pay.length) + (1 + 1);
  const expected = 1 + 1 + 100 * (c.length + 1 + 20 * order);
  assert.equal(cost(doc), expected);
  assert.ok(expected <= MAX_QUERY_COMPLEXITY, `${expected} within ${MAX_QUERY_COMPLEXITY}`);
  assert.equal(refusal(doc), undefined, 'allowed by the default budget');
});

test('an absurd query is refused before it runs, with a message naming the limit', () => {
  const doc = `{ customers(store: "s", first: 500) { nodes { id name orders(first: 500) { id items { quantity product { id name sku brand category } } payments { amount method } } } } }`;
  const e = refusal(doc);
  assert.ok(e, 'refused');
  assert.equal(e.extensions['max'], MAX_QUERY_COMPLEXITY);
  assert.ok((e.extensions['actual'] as number) > 10 * MAX_QUERY_COMPLEXITY);
  assert.match(e.message, /complexity budget of 1000000 \(MAX_QUERY_COMPLEXITY\)/);
  // The budget is configurable: a larger one allows it.
  assert.equal(refusal(doc, { maxComplexity: 100_000_000 }), undefined);
});
