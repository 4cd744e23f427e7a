import fs from 'node:fs';
import path from 'node:path';

/** Where a CLI command writes: stdout for results, stderr for progress and errors. */
export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
}

export const defaultIO: CommandIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: !!process.stderr.isTTY,
};

/** The server the CLI talks to: ECOMM_URL, default http://localhost:4000, without a trailing slash. */
export function serverBaseUrl(): string {
  return (process.env.ECOMM_URL || 'http://localhost:4000').replace(/\/$/, '');
}

/** The CLI's API key: ECOMM_API_KEY, else the local admin key file DATA_DIR/admin-key. */
export function cliApiKey(): string | undefined {
  if (process.env.ECOMM_API_KEY) return process.env.ECOMM_API_KEY;
  const file = path.resolve(process.env.DATA_DIR || './.data', 'admin-key');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

export const NO_API_KEY_MESSAGE = 'No API key: set ECOMM_API_KEY, or run where DATA_DIR/admin-key exists (created by `npm start`).\n';

/** The message for a server that cannot be reached. */
export function unreachableMessage(base: string, err: unknown): string {
  const e = err as Error;
  return `Cannot reach the server at ${base}: ${e.cause ?? e.message}. Is it running (npm start)? Set ECOMM_URL for another server.\n`;
}
