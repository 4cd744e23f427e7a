/**
 * `ecomm generate`: writes the demo shop as export files (CSV, JSON Lines or XLSX).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_DEMO_DAYS,
  DEFAULT_DEMO_END,
  DEFAULT_DIRTY_RATE,
  demoRowCounts,
  generateDemoShop,
  type DemoShop,
} from '../demo/generator.js';
import { DEMO_FILE_FORMATS, writeDemoFiles, type DemoFileFormat, type WrittenDemoFile } from '../demo/writers.js';

export const GENERATE_HELP = `Usage: ecomm generate [options]

Writes a deterministic demo online shop as export files, one per entity:
customers, products, orders, order_items, payments, inventory, events.
About 0.5 % of the rows are deliberately broken (negative amounts, missing
required fields, bad dates, unknown values) for the ingestion pipeline to reject.

Options:
  --seed N          random seed; the same seed gives identical files (default: $DEMO_SEED or 42)
  --format F        csv | jsonl | xlsx (default: csv)
  --out DIR         output folder, created when missing (default: ./demo-data)
  --days N          days of data (default: ${DEFAULT_DEMO_DAYS})
  --start DATE      first day, YYYY-MM-DD (default: --days before ${DEFAULT_DEMO_END})
  --scale X         volume multiplier; 1 ≈ 30k orders (default: 1)
  --dirty-rate R    share of broken rows per file, 0..0.5 (default: ${DEFAULT_DIRTY_RATE})
  --store ID        store id (default: demo)
  -h, --help        this text
`;

/** Where the command prints; replaceable in tests. */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIO: CommandIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

class UsageError extends Error {}

function parseNumber(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Runs `ecomm generate [--seed N] [--format csv|jsonl|xlsx] [--out DIR] [--days N] [--scale X] …`.
 *
 * @param args the arguments after `generate`
 * @returns the exit code: 0 done, 1 failed while generating or writing, 2 bad usage
 */
export async function generateCommand(args: string[], io: CommandIO = defaultIO): Promise<number> {
  let shop: DemoShop;
  let format: DemoFileFormat;
  let out: string;
  const started = Date.now();
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        format: { type: 'string', default: 'csv' },
        out: { type: 'string', default: 'demo-data' },
        days: { type: 'string' },
        start: { type: 'string' },
        scale: { type: 'string' },
        'dirty-rate': { type: 'string' },
        store: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.out(GENERATE_HELP);
      return 0;
    }
    if (!(DEMO_FILE_FORMATS as readonly string[]).includes(values.format)) {
      throw new UsageError(`--format must be one of ${DEMO_FILE_FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`);
    }
    format = values.format as DemoFileFormat;
    out = path.resolve(values.out);
    const envSeed = process.env.DEMO_SEED;
    const seed =
      parseNumber('seed', values.seed, true) ??
      (envSeed !== undefined && /^-?\d+$/.test(envSeed.trim()) ? Number(envSeed) : 42);
    try {
      shop = generateDemoShop({
        seed,
        days: parseNumber('days', values.days, true),
        start: values.start,
        scale: parseNumber('scale', values.scale, false),
        dirtyRate: parseNumber('dirty-rate', values['dirty-rate'], false),
        storeId: values.store,
      });
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`ecomm generate: ${(err as Error).message}\n\n${GENERATE_HELP}`);
      return 2;
    }
    io.err(`ecomm generate: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }

  const generatedMs = Date.now() - started;
  let files: WrittenDemoFile[];
  try {
    files = await writeDemoFiles(shop, out, format);
  } catch (err) {
    io.err(`ecomm generate: could not write ${format} files to ${out}: ${(err as Error).message}\n`);
    return 1;
  }
  const counts = demoRowCounts(shop);
  const width = Math.max(...files.map((f) => path.basename(f.path).length));
  const lines = files.map((f) => {
    const dirty = counts[f.entity].dirty;
    return `  ${path.basename(f.path).padEnd(width)}  ${f.rows.toLocaleString('en-US').padStart(9)} rows  (${dirty} dirty)  ${formatBytes(f.bytes).padStart(10)}`;
  });
  io.out(
    `Demo shop "${shop.store.store_id}": seed ${shop.seed}, ${shop.start} … ${shop.end} (exclusive), ${shop.days} days, scale ${shop.scale}; generated in ${generatedMs} ms\n` +
      lines.join('\n') +
      `\nWrote ${files.length} ${format} files to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(${shop.dirty.length} dirty rows for the ingestion pipeline to reject).\n`,
  );
  return 0;
}
