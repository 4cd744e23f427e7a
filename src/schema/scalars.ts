import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isDecimalString, MONEY_DISPLAY_SCALE, roundDecimal } from './decimal.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar day written `YYYY-MM-DD` (2024-02-30 is not). */
export function isIsoDate(v: string): boolean {
  const m = ISO_DATE.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === v;
}

function literalString(ast: ValueNode, scalar: string): string {
  if (ast.kind !== Kind.STRING) throw new GraphQLError(`${scalar} must be written as a string`, { nodes: [ast] });
  return ast.value;
}

function parseDate(v: unknown): string {
  if (typeof v !== 'string' || !isIsoDate(v)) throw new GraphQLError(`Date must be a calendar day written YYYY-MM-DD, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

/**
 * `Date`: a calendar day, `YYYY-MM-DD`, in the store's time zone (dim_store.timezone). Internally
 * the same string, so no time zone conversion can shift it.
 */
export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  description: "A calendar day written YYYY-MM-DD (ISO 8601), in the store's own time zone: a day of a store in Tokyo starts at midnight Tokyo time.",
  specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc3339#section-5.6',
  serialize(v) {
    if (v instanceof Date) return v.toISOString().slice(0, 10);
    if (typeof v === 'string' && isIsoDate(v.slice(0, 10))) return v.slice(0, 10);
    throw new TypeError(`Date cannot represent ${JSON.stringify(v)?.slice(0, 40)}`);
  },
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(literalString(ast, 'Date')),
});

/** A warehouse DateTime64 (`2024-05-01 10:00:00.000`, UTC) or any ISO 8601 string → ISO 8601 UTC with milliseconds. */
export function isoDateTime(v: string | Date): string {
  if (v instanceof Date) return v.toISOString();
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(v) ? v.replace(' ', 'T') + 'Z' : v;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new TypeError(`not a date-time: ${JSON.stringify(v).slice(0, 40)}`);
  return d.toISOString();
}

function parseDateTime(v: unknown): string {
  // A zone is required: a bare local time would be read in the server's zone.
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) {
    throw new GraphQLError(`DateTime must be an ISO 8601 date-time with a zone (e.g. 2024-05-01T10:00:00Z), got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  return new Date(v).toISOString();
}

/** `DateTime`: an instant, ISO 8601 in UTC with milliseconds (`2024-05-01T10:00:00.000Z`). */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An instant, written ISO 8601 in UTC with milliseconds (2024-05-01T10:00:00.000Z). As input, any ISO 8601 date-time with a zone offset.',
  specifiedByURL: 'https://www.rfc-editor.org/rfc/rfc3339#section-5.6',
  serialize(v) {
    if (typeof v === 'string' || v instanceof Date) return isoDateTime(v);
    throw new TypeError(`DateTime cannot represent ${JSON.stringify(v)?.slice(0, 40)}`);
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(literalString(ast, 'DateTime')),
});

function parseMoney(v: unknown): string {
  if (typeof v !== 'string' || !isDecimalString(v)) throw new GraphQLError(`Money must be a decimal string such as "1234.50", got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

/**
 * `Money`: a decimal string with exactly 2 decimals. The warehouse keeps 4 decimals
 * (Decimal(18, 4)) and sums exactly; the API rounds once, half away from zero, when it writes
 * the answer. A JS number is refused (it would mean the value went through a float).
 */
export const MoneyScalar = new GraphQLScalarType<string, string>({
  name: 'Money',
  description:
    `An amount of money in the store's currency as a decimal string with exactly ${MONEY_DISPLAY_SCALE} decimals ("1234.50"); never a JSON number, so no float rounding. ` +
    'Sums are exact over the stored 4-decimal amounts and rounded half away from zero only here.',
  serialize(v) {
    if (typeof v === 'string' && isDecimalString(v)) return roundDecimal(v, MONEY_DISPLAY_SCALE);
    if (typeof v === 'bigint') return roundDecimal(v.toString(), MONEY_DISPLAY_SCALE);
    throw new TypeError(`Money cannot represent ${typeof v} ${String(v).slice(0, 40)}: expected a decimal string`);
  },
  parseValue: parseMoney,
  parseLiteral: (ast) => parseMoney(literalString(ast, 'Money')),
});
