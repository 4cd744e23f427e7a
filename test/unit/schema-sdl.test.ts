import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType, type GraphQLSchema } from 'graphql';
import { buildAppSchema, printAppSchema } from '../../src/schema/build-schema.js';
import { projectRoot } from '../../src/config/paths.js';

test('schema.graphql at the repository root is the schema the code builds', async () => {
  const file = path.join(projectRoot(), 'schema.graphql');
  const checkedIn = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const built = await printAppSchema();
  assert.ok(
    checkedIn === built,
    'schema.graphql is out of date: run `npx tsc -p . && node dist/src/cli/main.js schema > schema.graphql` and commit it.\n' +
      firstDifference(checkedIn, built),
  );
});

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `first difference at line ${i + 1}:\n  checked in: ${x[i] ?? '(end of file)'}\n  built:      ${y[i] ?? '(end of file)'}`;
  }
  return '';
}

/** Every type, field, argument, enum value and input field without a description. */
function undocumented(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const need = (what: string, description: string | null | undefined) => {
    if (!description?.trim()) missing.push(what);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    need(`type ${type.name}`, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        need(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name})`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
    }
  }
  return missing;
}

test('every type, field, argument and enum value has a description', async () => {
  assert.deepEqual(undocumented(await buildAppSchema()), []);
});

test('one date-time scalar: every instant field, ApiKey\'s included, is DateTime (no DateTimeISO)', async () => {
  const schema = await buildAppSchema();
  assert.equal(schema.getType('DateTimeISO'), undefined, 'DateTimeISO is not in the schema');
  const apiKey = schema.getType('ApiKey');
  assert.ok(isObjectType(apiKey));
  assert.equal(String(apiKey.getFields()['createdAt']!.type), 'DateTime!');
  assert.equal(String(apiKey.getFields()['revokedAt']!.type), 'DateTime');
  // Every custom scalar that stands for a point in time is the one DateTime.
  const scalars = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__') && !isSpecifiedScalarType(t as never) && /date.?time/i.test(t.name));
  assert.deepEqual(scalars.map((t) => t.name), ['DateTime']);
});
