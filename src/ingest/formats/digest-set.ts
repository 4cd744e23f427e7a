/**
 * A set of 96-bit digests held in one typed array (open addressing, linear probing): 12 bytes a
 * member at most 70 % full, instead of a JS string and a Set entry (~70 bytes). The online-retail
 * mapper keeps one digest per line of the file for its `duplicate` rule, so this is what its
 * memory grows with.
 *
 * Members are the first 96 bits of a cryptographic digest, so two different lines share a member
 * with probability about n² / 2⁹⁷ (≈ 10⁻¹⁵ for 12 million lines).
 */
export class DigestSet {
  private table: Uint32Array;
  private mask: number;
  private count = 0;

  /** @param capacity slots to start with (rounded up to a power of two). @default 65536 */
  constructor(capacity = 1 << 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.table = new Uint32Array(cap * 3);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the digest (its first 12 bytes); false when it was already a member. */
  add(digest: Uint8Array): boolean {
    if (digest.length < 12) throw new RangeError('DigestSet: a digest needs at least 12 bytes');
    const view = new DataView(digest.buffer, digest.byteOffset, 12);
    const a = view.getUint32(0, true);
    const b = view.getUint32(4, true);
    let c = view.getUint32(8, true);
    // All zeros marks an empty slot; that one digest is stored as …0001 instead.
    if (a === 0 && b === 0 && c === 0) c = 1;
    if ((this.count + 1) * 10 > (this.mask + 1) * 7) this.grow();
    return this.insert(a, b, c);
  }

  clear(): void {
    this.table = new Uint32Array(16 * 3);
    this.mask = 15;
    this.count = 0;
  }

  private insert(a: number, b: number, c: number): boolean {
    const t = this.table;
    let i = a & this.mask; // digest bits are uniform: the first word is a good slot index
    for (;;) {
      const o = i * 3;
      const x = t[o]!;
      const y = t[o + 1]!;
      const z = t[o + 2]!;
      if (x === 0 && y === 0 && z === 0) {
        t[o] = a;
        t[o + 1] = b;
        t[o + 2] = c;
        this.count++;
        return true;
      }
      if (x === a && y === b && z === c) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    this.count = 0;
    for (let o = 0; o < old.length; o += 3) {
      if (old[o] !== 0 || old[o + 1] !== 0 || old[o + 2] !== 0) this.insert(old[o]!, old[o + 1]!, old[o + 2]!);
    }
  }
}
