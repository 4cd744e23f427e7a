/**
 * Number formatting for people. Money arrives as decimal strings ("1234.5000") and is formatted
 * as text — grouped and rounded half-up to cents with BigInt — so no amount goes through a float.
 */

const GROUP = /\B(?=(\d{3})+(?!\d))/g;

/** "1234567.891" → "1,234,567.89"; null/undefined → "—". */
export function formatMoney(value: string | null | undefined, currency = ''): string {
  if (value === null || value === undefined || value === '') return '—';
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.trim());
  if (!m) return value;
  const [, sign, int, frac = ''] = m;
  // Round half-up (away from zero) to 2 decimals on the digits themselves.
  let cents = BigInt(int! + (frac + '00').slice(0, 2));
  if ((frac[2] ?? '0') >= '5') cents += 1n;
  const s = cents.toString().padStart(3, '0');
  const whole = s.slice(0, -2).replace(GROUP, ',');
  const text = `${whole}.${s.slice(-2)}`;
  const negative = sign === '-' && cents !== 0n;
  return `${negative ? '−' : ''}${currency ? currency + ' ' : ''}${text}`;
}

/** 12345 → "12,345". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return String(Math.round(value)).replace(GROUP, ',');
}

/** A ratio as a percentage: 0.04231 → "4.23%". */
export function formatRate(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

/** A relative change as a signed percentage: 0.125 → "+12.5%". */
export function formatChange(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const pct = value * 100;
  return `${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${Math.abs(pct).toFixed(1)}%`;
}

/** A money string as a number, only for chart geometry (never for shown amounts). */
export function moneyForChart(value: string | null | undefined): number {
  return value ? Number(value) : 0;
}

/** A change of a rate in percentage points: 0.0031 → "+0.31 pp". */
export function formatPointChange(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const pp = value * 100;
  return `${pp > 0 ? '+' : pp < 0 ? '−' : '±'}${Math.abs(pp).toFixed(2)} pp`;
}

/** Axis labels: 1250000 → "1.3M", 250000 → "250k". */
export function formatCompact(value: number): string {
  const a = Math.abs(value);
  if (a >= 1e9) return `${+(value / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(value);
}
