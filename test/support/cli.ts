/**
 * Runs the `ecomm` CLI (the compiled dist/src/cli/main.js) as a user would, against a running app:
 * ECOMM_URL and ECOMM_API_KEY set, nothing else of this process's environment but PATH.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/config/paths.js';

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

export function runCli(server: { url: string; key: string }, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot(), 'dist/src/cli/main.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ECOMM_URL: server.url, ECOMM_API_KEY: server.key, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
