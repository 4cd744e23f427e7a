/**
 * Canonical JSON of a value: object keys sorted, `undefined` members dropped, so arguments that
 * mean the same (`{ from, to }` vs `{ to, from }`) give the same text and the same cache key.
 * Dates become ISO strings; Maps and Sets become sorted entry lists; bigints become strings.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalise(value));
}

function canonicalise(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(canonicalise);
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [canonicalise(k), canonicalise(x)]).sort(byJson);
  if (v instanceof Set) return [...v].map(canonicalise).sort(byJson);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== 'function') out[k] = canonicalise(x);
  }
  return out;
}

function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
