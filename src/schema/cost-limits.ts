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
/**
 * Most estimated cost one operation may have (see {@link operationComplexity}); the config's
 * MAX_QUERY_COMPLEXITY overrides it. A page of 100 customers, each with orders(first: 20) with
 * their items, products and payments (every field) costs about 600,000; 500 customers with
 * orders(first: 500) and their items about 100 times that.
 */
export const MAX_QUERY_COMPLEXITY = 1_000_000;
/** Largest page a list argument (`first`, `limit`) may ask for. */
export const MAX_PAGE_SIZE = 1000;
/** Longest date range an analytics query may cover, in days. */
export const MAX_RANGE_DAYS = 1096;
/** Size assumed for a list whose size argument is a variable or absent (and has no default). */
const DEFAULT_LIST_SIZE = 10;
/** Arguments taken as the size of the list a field returns. */
const SIZE_ARGUMENTS = ['first', 'last', 'limit', 'top', 'pageSize'];

/**
 * A selection set being folded: its type, and the page size of the connection it belongs to when
 * it is a connection's selection (`customers(first: 100) { nodes { … } }`: 100 for `nodes`/`edges`).
 */
type Frame = { selectionSet: SelectionSetNode; type: GraphQLNamedType | undefined; pageSize?: number };

/**
 * Folds an operation's fields into one number: `field` gives a field's value from its children's,
 * `combine` joins siblings (max for depth, sum for cost). Each fragment is folded once and
 * memoised, so repeated spreads cost nothing extra; a fragment cycle (reported by graphql's own
 * rule, which runs alongside) counts 0.
 */
function foldOperation(
  ctx: ValidationContext,
  root: Frame,
  field: (node: FieldNode, def: GraphQLField<unknown, unknown> | undefined, children: (pageSize?: number) => number, pageSize: number | undefined) => number,
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
        v = field(sel, def, (pageSize) => (selectionSet ? fold({ selectionSet, type: def ? getNamedType(def.type) : undefined, pageSize }) : 0), frame.pageSize);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        v = fold({ selectionSet: sel.selectionSet, type: sel.typeCondition ? (typeFromAST(schema, sel.typeCondition) as GraphQLNamedType | undefined) : frame.type, pageSize: frame.pageSize });
      } else {
        const name = sel.name.value;
        const key = `${name}@${frame.pageSize ?? ''}`;
        if (!memo.has(key)) {
          memo.set(key, 0);
          const fragment = ctx.getFragment(name);
          if (fragment) memo.set(key, fold({ selectionSet: fragment.selectionSet, type: typeFromAST(schema, fragment.typeCondition) as GraphQLNamedType | undefined, pageSize: frame.pageSize }));
        }
        v = memo.get(key)!;
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

/** The fields of a connection that list its page: multiplied by the connection's page size. */
const PAGE_FIELDS = ['nodes', 'edges'];

/** Options of the cost rules; each defaults to the constant of the same name. */
export interface CostLimits {
  maxDepth?: number;
  maxComplexity?: number;
  /** Largest page a size argument may ask for: the size assumed for a size given by a variable. */
  maxPageSize?: number;
}

/**
 * The size a field's size argument (`first`, `limit`, …) asks for: its literal value; for a
 * variable, the variable's default in the operation, else `worst` (a validation rule cannot see
 * variable values, so a variable page is counted at the largest page allowed); when the argument
 * is not given, its default. Undefined when the field has no size argument or none applies.
 */
function requestedSize(node: FieldNode, def: GraphQLField<unknown, unknown>, op: OperationDefinitionNode, worst: number): number | undefined {
  const sizeArg = def.args.find((a) => SIZE_ARGUMENTS.includes(a.name));
  if (!sizeArg) return undefined;
  const given = node.arguments?.find((a) => a.name.value === sizeArg.name)?.value;
  if (given?.kind === Kind.INT) return Number(given.value);
  if (given?.kind === Kind.VARIABLE) {
    const d = op.variableDefinitions?.find((v) => v.variable.name.value === given.name.value)?.defaultValue;
    return d?.kind === Kind.INT ? Number(d.value) : worst;
  }
  if (given === undefined || given.kind === Kind.NULL) return typeof sizeArg.defaultValue === 'number' ? sizeArg.defaultValue : undefined;
  return worst;
}

/**
 * The estimated cost of an operation: the number of fields its answer can hold. Every field costs
 * 1 (or its `extensions.complexity`, which type-graphql's `@Field({ complexity })` sets), and a
 * list multiplies its children's cost by how many items it can hold:
 * - a list field with a size argument (`Customer.orders(first: 20)`, `topProducts(limit: 10)`):
 *   that size (see {@link requestedSize});
 * - `nodes`/`edges` of a connection (`customers(first: 100) { nodes { … } }`): the connection
 *   field's size argument;
 * - any other list (`Order.items`): DEFAULT_LIST_SIZE.
 * Sizes are capped at `maxPageSize` (larger pages are refused by the resolvers anyway).
 */
export function operationComplexity(ctx: ValidationContext, op: OperationDefinitionNode, maxPageSize: number = MAX_PAGE_SIZE): number {
  const clamp = (n: number) => Math.max(1, Math.min(n, maxPageSize));
  return foldOperation(
    ctx,
    rootFrame(ctx.getSchema(), op),
    (node, def, children, connectionSize) => {
      const own = typeof def?.extensions?.['complexity'] === 'number' ? (def.extensions['complexity'] as number) : 1;
      if (!def) return own + children();
      const size = requestedSize(node, def, op, maxPageSize);
      if (!isListType(getNullableType(def.type))) {
        // A connection passes its page size on to its `nodes` and `edges`.
        const inner = children(size !== undefined ? clamp(size) : undefined);
        return own + inner;
      }
      const inner = children();
      if (inner === 0) return own;
      const items = size ?? (PAGE_FIELDS.includes(def.name) && connectionSize !== undefined ? connectionSize : DEFAULT_LIST_SIZE);
      return own + inner * clamp(items);
    },
    (a, b) => a + b,
  );
}

/** Validation rule: refuses an operation whose estimated cost ({@link operationComplexity}) is over `max`. */
export function complexityLimitRule(max: number = MAX_QUERY_COMPLEXITY, maxPageSize: number = MAX_PAGE_SIZE): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const cost = operationComplexity(ctx, op, maxPageSize);
      if (cost > max) {
        ctx.reportError(
          new GraphQLError(
            `query complexity ${cost} is over the complexity budget of ${max} (MAX_QUERY_COMPLEXITY): each field counts once per item its lists can hold ` +
              '(a list counts as many items as its first/limit asks for); ask for fewer fields, smaller pages or less nesting',
            { nodes: [op], extensions: { limit: 'maxComplexity', max, actual: cost } },
          ),
        );
      }
    },
  });
}

/** The validation rules the API adds to graphql's own: depth and complexity limits. */
export function costLimitRules(limits: CostLimits = {}): ValidationRule[] {
  return [depthLimitRule(limits.maxDepth ?? MAX_QUERY_DEPTH), complexityLimitRule(limits.maxComplexity ?? MAX_QUERY_COMPLEXITY, limits.maxPageSize ?? MAX_PAGE_SIZE)];
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
