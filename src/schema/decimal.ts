/**
 * Exact decimal arithmetic on the money strings the warehouse returns ("1234.5000"), as BigInt
 * fixed-point numbers: money never goes through a JS float.
 */

/** Decimal places money is computed with here (the warehouse stores Decimal(18, 4)). */
export const MONEY_SCALE = 4;
/** Decimal places `Money` values are shown with. */
export const MONEY_DISPLAY_SCALE = 2;

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** True for a plain decimal string: optional sign, digits, optional fraction (no exponent). */
export function isDecimalString(v: string): boolean {
  return DECIMAL.test(v);
}

/**
 * A decimal string as an integer count of 10^-scale units, rounded half away from zero when it
 * has more decimals than `scale`. Throws on anything but a plain decimal string.
 */
export function toScaled(v: string, scale: number = MONEY_SCALE): bigint {
  const m = DECIMAL.exec(v.trim());
  if (!m) throw new TypeError(`not a decimal string: ${JSON.stringify(v).slice(0, 40)}`);
  const [, sign, int, frac = ''] = m;
  let digits = BigInt(int! + frac.slice(0, scale).padEnd(scale, '0'));
  // Round half away from zero on the first dropped digit.
  if (frac.length > scale && frac.charCodeAt(scale) >= 53 /* '5' */) digits += 1n;
  return sign === '-' ? -digits : digits;
}

/** An integer count of 10^-scale units as a decimal string with exactly `scale` decimals. */
export function fromScaled(v: bigint, scale: number = MONEY_SCALE): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(scale + 1, '0');
  const out = scale === 0 ? s : `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
  return neg && /[1-9]/.test(out) ? `-${out}` : out;
}

/** `v` rounded half away from zero to `scale` decimals, as a string with exactly that many. */
export function roundDecimal(v: string, scale: number = MONEY_DISPLAY_SCALE): string {
  return fromScaled(toScaled(v, scale), scale);
}

/** a − b, exactly. */
export function subtractDecimal(a: string, b: string): string {
  return fromScaled(toScaled(a) - toScaled(b));
}

/** a + b, exactly. */
export function addDecimal(a: string, b: string): string {
  return fromScaled(toScaled(a) + toScaled(b));
}

/**
 * (a − b) / b as a ratio (a float: it is a rate, not money); null when b is zero. Computed on
 * the exact scaled integers so only the final division rounds.
 */
export function relativeChange(current: string, previous: string): number | null {
  const p = toScaled(previous);
  if (p === 0n) return null;
  const c = toScaled(current);
  // 10^12 fixed-point before converting keeps ~12 significant decimals of the ratio.
  const q = ((c - p) * 1_000_000_000_000n) / (p < 0n ? -p : p);
  return Number(q) / 1e12;
}
