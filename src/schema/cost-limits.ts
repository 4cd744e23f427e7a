import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  typeFromAST,
  type ASTVisitor,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { badUserInput } from '../http/errors.js';

/** Deepest field nesting a query may have (introspection fields not counted). */
export const MAX_QUERY_DEPTH = 10;
/** Most estimated cost one operation may have; see {@link complexityLimitRule}. */
export const MAX_QUERY_COMPLEXITY = 5000;
/** Largest page a list argument (`first`, `limit`) may ask for. */
export const MAX_PAGE_SIZE = 1000;
/** Longest date range an analytics query may cover, in days. */
export const MAX_RANGE_DAYS = 1096;
/** Size assumed for a list whose size argument is a variable or absent (and has no default). */
const DEFAULT_LIST_SIZE = 10;
/** Arguments taken as the size of the list a field returns. */
const SIZE_ARGUMENTS = ['first', 'last', 'limit', 'top', 'pageSize'];

type Frame = { selectionSet: SelectionSetNode; type: GraphQLNamedType | undefined };

/**
 * Folds an operation's fields into one number: `field` gives a field's value from its children's,
 * `combine` joins siblings (max for depth, sum for cost). Each fragment is folded once and
 * memoised, so repeated spreads cost nothing extra; a fragment cycle (reported by graphql's own
 * rule, which runs alongside) counts 0.
 */
function foldOperation(
  ctx: ValidationContext,
  root: Frame,
  field: (node: FieldNode, def: GraphQLField<unknown, unknown> | undefined, children: () => number) => number,
  combine: (a: number, b: number) => number,
): number {
  const schema = ctx.getSchema();
  const memo = new Map<string, number>();
  const fold = (frame: Frame): number => {
    let acc = 0;
    for (const sel of frame.selectionSet.selections) {
      let v: number;
      if (sel.kind === Kind.FIELD) {
        // Introspection (__schema, __type, __typename) is free and not nested: schema tools must work.
        if (sel.name.value.startsWith('__')) continue;
        const def = fieldDef(frame.type, sel.name.value);
        const selectionSet = sel.selectionSet;
        v = field(sel, def, () => (selectionSet ? fold({ selectionSet, type: def ? getNamedType(def.type) : undefined }) : 0));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        v = fold({ selectionSet: sel.selectionSet, type: sel.typeCondition ? (typeFromAST(schema, sel.typeCondition) as GraphQLNamedType | undefined) : frame.type });
      } else {
        const name = sel.name.value;
        if (!memo.has(name)) {
          memo.set(name, 0);
          const fragment = ctx.getFragment(name);
          if (fragment) memo.set(name, fold({ selectionSet: fragment.selectionSet, type: typeFromAST(schema, fragment.typeCondition) as GraphQLNamedType | undefined }));
        }
        v = memo.get(name)!;
      }
      acc = combine(acc, v);
    }
    return acc;
  };
  return fold(root);
}

function fieldDef(parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name];
  return undefined;
}

function rootFrame(schema: GraphQLSchema, op: OperationDefinitionNode): Frame {
  return { selectionSet: op.selectionSet, type: schema.getRootType(op.operation) ?? undefined };
}

/** The field nesting depth of an operation (introspection fields not counted). */
export function operationDepth(ctx: ValidationContext, op: OperationDefinitionNode): number {
  return foldOperation(ctx, rootFrame(ctx.getSchema(), op), (_node, _def, children) => 1 + children(), Math.max);
}

/**
 * Validation rule: refuses an operation whose fields nest deeper than `max`. Introspection fields
 * (`__schema`, `__type`) are not counted, so tools can still read the schema.
 */
export function depthLimitRule(max: number = MAX_QUERY_DEPTH): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const depth = operationDepth(ctx, op);
      if (depth > max) {
        ctx.reportError(
          new GraphQLError(`query depth ${depth} is over the maximum depth of ${max}: ask for less nested data`, {
            nodes: [op],
            extensions: { limit: 'maxDepth', max, actual: depth },
          }),
        );
      }
    },
  });
}

function intValue(v: ValueNode | undefined): number | undefined {
  return v?.kind === Kind.INT ? Number(v.value) : undefined;
}

/**
 * The estimated cost of an operation: every field costs 1 (or its `extensions.complexity`, which
 * type-graphql's `@Field({ complexity })` sets), and a list field multiplies its children's cost by
 * its size argument (`first`, `limit`, …: the literal value, else the argument's default, else 10;
 * at most MAX_PAGE_SIZE).
 */
export function operationComplexity(ctx: ValidationContext, op: OperationDefinitionNode): number {
  return foldOperation(
    ctx,
    rootFrame(ctx.getSchema(), op),
    (node, def, children) => {
      const own = typeof def?.extensions?.['complexity'] === 'number' ? (def.extensions['complexity'] as number) : 1;
      let inner = children();
      if (inner > 0 && def && isListType(getNullableType(def.type))) {
        const sizeArg = def.args.find((a) => SIZE_ARGUMENTS.includes(a.name));
        const literal = sizeArg ? intValue(node.arguments?.find((a) => a.name.value === sizeArg.name)?.value) : undefined;
        const size = literal ?? (typeof sizeArg?.defaultValue === 'number' ? sizeArg.defaultValue : DEFAULT_LIST_SIZE);
        inner *= Math.max(1, Math.min(size, MAX_PAGE_SIZE));
      }
      return own + inner;
    },
    (a, b) => a + b,
  );
}

/** Validation rule: refuses an operation whose estimated cost ({@link operationComplexity}) is over `max`. */
export function complexityLimitRule(max: number = MAX_QUERY_COMPLEXITY): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const cost = operationComplexity(ctx, op);
      if (cost > max) {
        ctx.reportError(
          new GraphQLError(`query complexity ${cost} is over the complexity budget of ${max}: ask for fewer fields or smaller pages`, {
            nodes: [op],
            extensions: { limit: 'maxComplexity', max, actual: cost },
          }),
        );
      }
    },
  });
}

/** The validation rules the API adds to graphql's own. */
export function costLimitRules(): ValidationRule[] {
  return [depthLimitRule(MAX_QUERY_DEPTH), complexityLimitRule(MAX_QUERY_COMPLEXITY)];
}

/** Checks a page-size argument: BAD_USER_INPUT naming it when not 1…MAX_PAGE_SIZE. */
export function assertPageSize(argument: string, value: number, max: number = MAX_PAGE_SIZE): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw badUserInput(argument, `must be from 1 to ${max} (maximum page size), got ${value}`, { limit: 'maxPageSize', max });
}

/**
 * Checks a date range: `from` before `to`, at most MAX_RANGE_DAYS apart. BAD_USER_INPUT names
 * the argument at fault (`to` when the range is too long).
 */
export function assertDateRange(from: Date, to: Date, names: { from: string; to: string } = { from: 'from', to: 'to' }, maxDays: number = MAX_RANGE_DAYS): void {
  if (Number.isNaN(from.getTime())) throw badUserInput(names.from, 'is not a valid date');
  if (Number.isNaN(to.getTime())) throw badUserInput(names.to, 'is not a valid date');
  if (to.getTime() < from.getTime()) throw badUserInput(names.to, `must not be before ${names.from}`);
  const days = (to.getTime() - from.getTime()) / 86_400_000;
  if (days > maxDays) throw badUserInput(names.to, `the range covers ${Math.ceil(days)} days; the maximum range is ${maxDays} days`, { limit: 'maxRangeDays', max: maxDays });
}
