/**
 * UTF-8 text appended to one growable Buffer, off the V8 heap: insert payloads, and the rows a live
 * batch keeps between its request and its load (bytes there are never copied by the young-generation
 * collections that strings surviving that long would be).
 */
export class TextBytes {
  private buf: Buffer;
  private n = 0;

  /** @param capacity bytes allocated at first (grows by doubling). */
  constructor(capacity = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.ceil(capacity)));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.n;
  }

  private room(bytes: number): void {
    if (this.n + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + bytes));
    this.buf.copy(bigger, 0, 0, this.n);
    this.buf = bigger;
  }

  /** Appends a string as UTF-8. */
  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(s.length * 3);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  /** Appends a string and a line feed. */
  line(s: string): void {
    this.text(s);
    this.buf[this.n++] = 0x0a;
  }

  /** Appends bytes [start, end) of another buffer. */
  copy(from: Buffer, start: number, end: number): void {
    this.room(end - start);
    this.n += from.copy(this.buf, this.n, start, end);
  }

  /** The bytes written (a view, not a copy: valid until the next append). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

/**
 * A text as a TabSeparated field: backslashes and control characters escaped (as the engine's
 * TabSeparated reader unescapes them). Text without any (JSON text, most values) is returned as it is.
 */
export function tsvField(text: string): string {
  if (!/[\\\x00-\x1f]/.test(text)) return text;
  return text.replace(/[\\\x00-\x1f]/g, (c) => TSV_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f' };
