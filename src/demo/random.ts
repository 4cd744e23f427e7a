/**
 * A small seeded pseudo-random number generator for the demo data generator.
 *
 * sfc32 (Chris Doty-Humphrey's "Small Fast Chaotic" generator, 128-bit state) seeded through
 * splitmix32. Everything is 32-bit integer arithmetic (`Math.imul`, `>>>`), so a seed gives the
 * same sequence on every platform and Node version. Independent sub-streams come from
 * {@link Rng.fork}: adding draws to one part of the generator never shifts another part's numbers.
 *
 * Never use Math.random in the generator; draw from an Rng.
 */

const TWO_POW_32 = 4294967296;

const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 lower-case hex digits of a 32-bit unsigned integer. */
function hex32(x: number): string {
  return BYTE_HEX[x >>> 24]! + BYTE_HEX[(x >>> 16) & 0xff]! + BYTE_HEX[(x >>> 8) & 0xff]! + BYTE_HEX[x & 0xff]!;
}

/** One step of splitmix32: a well-mixed 32-bit value from a 32-bit state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a hash of a string (32-bit), to derive a sub-stream from a label. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seeded random number generator (sfc32). Not cryptographic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /**
   * @param seed any integer (also negative or above 2^32; the whole safe-integer range is used)
   * @param stream optional label of an independent sub-stream
   */
  constructor(seed: number, stream = '') {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    const s = Math.trunc(seed);
    const lo = s >>> 0;
    const hi = Math.floor(s / TWO_POW_32) >>> 0;
    const label = hashString(stream);
    this.a = splitmix32(lo);
    this.b = splitmix32(hi ^ 0x6a09e667);
    this.c = splitmix32(label ^ 0xbb67ae85);
    this.d = splitmix32((lo ^ hi ^ label) + 0x3c6ef372);
    for (let i = 0; i < 15; i++) this.uint32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max < min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An element chosen with probability proportional to its weight (linear scan; for short lists). */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    if (!(total > 0)) throw new RangeError('weighted() needs a positive total weight');
    let r = this.next() * total;
    for (const [item, w] of choices) {
      r -= w;
      if (r < 0) return item;
    }
    return choices[choices.length - 1]![0];
  }

  /** A normally distributed value (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    let z: number;
    if (this.spareNormal !== undefined) {
      z = this.spareNormal;
      this.spareNormal = undefined;
    } else {
      let u = this.next();
      while (u === 0) u = this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      z = r * Math.cos(2 * Math.PI * v);
      this.spareNormal = r * Math.sin(2 * Math.PI * v);
    }
    return mean + sd * z;
  }

  /** A Poisson-distributed count (Knuth below 30, a rounded normal approximation above). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** `n` lower-case hex digits. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += hex32(this.uint32());
    return out.length === n ? out : out.slice(0, n);
  }

  /** A version-4-shaped UUID built from this generator (deterministic, not unique across seeds). */
  uuid(): string {
    const a = hex32(this.uint32());
    const b = hex32(this.uint32());
    const c = hex32(((this.uint32() & 0x3fffffff) | 0x80000000) >>> 0);
    const d = hex32(this.uint32());
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${c.slice(0, 4)}-${c.slice(4, 8)}${d}`;
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** An independent generator for a named part of the work, derived from this one's next draws. */
  fork(label: string): Rng {
    const seed = this.uint32() + this.uint32() * 0xfffff;
    return new Rng(seed, label);
  }
}

/**
 * A fixed weighted choice over many items: cumulative weights and binary search, O(log n) a draw.
 */
export class WeightedTable<T> {
  private readonly items: readonly T[];
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(items: readonly T[], weights: readonly number[]) {
    if (items.length !== weights.length) throw new RangeError('WeightedTable: items and weights differ in length');
    this.items = items;
    this.cumulative = new Float64Array(items.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0)) throw new RangeError('WeightedTable: weights must be >= 0');
      sum += w;
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  get size(): number {
    return this.items.length;
  }

  /** Draws one item; throws when the table is empty or all weights are zero. */
  draw(rng: Rng): T {
    if (!(this.total > 0)) throw new RangeError('WeightedTable: nothing to draw from');
    const r = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}
