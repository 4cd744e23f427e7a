import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * How far V8 lets the heap grow past the live data before its next full collection, in % (V8's
 * own factor is 1.1–4× and settles near 4× under a steady allocation rate).
 */
export const IMPORT_HEAP_GROWING_PERCENT = 10;

/** Imports running in this process. */
let running = 0;

/**
 * Runs a file import with the process's V8 heap kept close to its live size. An import's rows live
 * across the engine round trips of their chunk, so they all reach the old generation as garbage;
 * with V8's default growth the heap of the app (≈ 60 MB live) then swings up to ≈ 250–300 MB
 * between full collections, though the import itself holds a few MB at any time. A growth of 10 %
 * makes the full collections more frequent (each one short with a small live heap); measured no
 * slower on a 200,000-row import. The setting is process-wide, so it holds only while at least one
 * import runs: on the live-events path (no import) it doubled the GC time for no memory gain.
 */
export async function withLimitedHeapGrowth<T>(fn: () => Promise<T>): Promise<T> {
  if (running++ === 0) limit(IMPORT_HEAP_GROWING_PERCENT);
  try {
    return await fn();
  } finally {
    // 0 = V8's own dynamic factor (its default).
    if (--running === 0) v8.setFlagsFromString('--heap-growing-percent=0');
  }
}

function limit(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  // The growth applies from the next full collection on; until then the current limit (possibly
  // far above the live heap) holds, and the import would first fill it. One full collection now,
  // while the heap is small, sets the limit from the live size.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  v8.setFlagsFromString('--no-expose-gc');
  gc?.();
}
