import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { NO_API_KEY_MESSAGE, cliApiKey, defaultIO, serverBaseUrl, unreachableMessage, type CommandIO } from './server-connection.js';

const HELP = `Usage: ecomm import <file> [options]

Sends a file to the running server (POST /v1/imports), then shows the import's progress until it
ends and prints the batch summary.

Options:
  --entity E       orders, order_items, customers, products, payments, inventory or events
  --format F       csv, jsonl, json, xlsx or online-retail (default: detected from the file)
  --store S        the store the data belongs to (default: the key's only store, else DEFAULT_STORE)
  --encoding X     utf-8 or latin1 (default: detected)
  --delimiter C    CSV delimiter (default: detected among , ; tab |)
  --sheet NAME     XLSX sheet name or 1-based number (default: the first)
  --timezone TZ    zone of times without one (default: the store's)
  --map "A=f,B=g"  map source header names to fields
  --no-wait        print the job id and exit
  -h, --help

Environment: ECOMM_URL (default http://localhost:4000), ECOMM_API_KEY (default: the admin key
file DATA_DIR/admin-key, DATA_DIR default ./.data).
`;

const fmt = (n: number) => n.toLocaleString('en-US');

function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return '[' + '#'.repeat(full) + '.'.repeat(width - full) + `] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

interface JobView {
  jobId: string;
  state: string;
  progress: { read?: number; inserted?: number; unchanged?: number; rejected?: number; bytesRead?: number; totalBytes?: number } | number;
  failedReason: string | null;
  attemptsMade: number;
  result: { batchId: string; read: number; inserted: number; unchanged: number; rejected: number; rejectsByReason: Record<string, number> } | null;
  duplicate?: boolean;
}

export async function importCommand(args: string[], io: CommandIO = defaultIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        entity: { type: 'string' },
        format: { type: 'string' },
        store: { type: 'string' },
        encoding: { type: 'string' },
        delimiter: { type: 'string' },
        sheet: { type: 'string' },
        timezone: { type: 'string' },
        map: { type: 'string' },
        'no-wait': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`Name exactly one file to import.\n\n${HELP}`);
    return 2;
  }
  const file = positionals[0]!;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    io.err(`Cannot read ${file}: no such file.\n`);
    return 2;
  }
  const base = serverBaseUrl();
  const key = cliApiKey();
  if (!key) {
    io.err(NO_API_KEY_MESSAGE);
    return 2;
  }
  const q = new URLSearchParams({ filename: path.basename(file) });
  for (const k of ['entity', 'format', 'store', 'encoding', 'delimiter', 'sheet', 'timezone', 'map'] as const) {
    if (values[k]) q.set(k, values[k]!);
  }
  const headers = { authorization: `Bearer ${key}` };

  // Upload, with a progress bar of bytes sent.
  let sent = 0;
  const started = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      sent += chunk.length;
      if (io.isTTY) io.err(`\ruploading ${bar(size ? sent / size : 1)} ${fmt(sent)} / ${fmt(size)} bytes`);
      cb(null, chunk);
    },
  });
  let res: Response;
  try {
    res = await fetch(`${base}/v1/imports?${q}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: Readable.toWeb(fs.createReadStream(file).pipe(counter)) as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  } catch (err) {
    io.err('\n' + unreachableMessage(base, err));
    return 1;
  }
  if (io.isTTY) io.err('\n');
  const body = (await res.json().catch(() => ({}))) as JobView & { error?: { code: string; message: string } };
  if (!res.ok) {
    io.err(`Import refused (${res.status} ${body.error?.code ?? ''}): ${body.error?.message ?? 'unknown error'}\n`);
    return 1;
  }
  io.out(`${body.duplicate ? 'Already submitted' : 'Queued'}: job ${body.jobId}${body.duplicate ? ` (state ${body.state})` : ''}\n`);
  if (values['no-wait']) return 0;

  // Follow the job until it ends.
  let view: JobView = body;
  let lastLine = 0;
  const t0 = Date.now();
  for (;;) {
    if (view.state === 'completed' || view.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 250));
    const r = await fetch(`${base}/v1/imports/${encodeURIComponent(body.jobId)}`, { headers });
    if (!r.ok) {
      io.err(`\nLost the job: ${r.status}\n`);
      return 1;
    }
    view = (await r.json()) as JobView;
    const p = typeof view.progress === 'object' ? view.progress : {};
    const secs = (Date.now() - t0) / 1000;
    const line =
      `${view.state.padEnd(9)} ${bar(p.totalBytes ? (p.bytesRead ?? 0) / p.totalBytes : 0)} ` +
      `${fmt(p.read ?? 0)} read · ${fmt(p.inserted ?? 0)} inserted · ${fmt(p.unchanged ?? 0)} unchanged · ${fmt(p.rejected ?? 0)} rejected · ` +
      `${fmt(Math.round((p.read ?? 0) / Math.max(secs, 0.001)))} rows/s`;
    if (io.isTTY) io.err(`\r${line}\x1b[K`);
    else if (Date.now() - lastLine > 2000) {
      io.err(line + '\n');
      lastLine = Date.now();
    }
  }
  if (io.isTTY) io.err('\n');
  if (view.state === 'failed') {
    io.err(`Import failed after ${view.attemptsMade} attempt(s): ${view.failedReason}\n`);
    return 1;
  }
  const r = view.result!;
  io.out(
    `Import completed in ${((Date.now() - started) / 1000).toFixed(1)} s — batch ${r.batchId}\n` +
      `  read      ${fmt(r.read)}\n  inserted  ${fmt(r.inserted)}\n  unchanged ${fmt(r.unchanged)}\n  rejected  ${fmt(r.rejected)}\n` +
      Object.entries(r.rejectsByReason)
        .sort((a, b) => b[1] - a[1])
        .map(([reason, n]) => `    ${reason.padEnd(34)} ${fmt(n)}\n`)
        .join(''),
  );
  return 0;
}
