import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

/** A Redis the app can use: REDIS_URL's, or a private child redis-server the app owns. */
export interface RedisHandle {
  url: string;
  /** true when this process started the server (and stops it). */
  owned: boolean;
  pid?: number;
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install redis-server`, ' +
  'macOS: `brew install redis`) or set REDIS_URL to an existing Redis (e.g. redis://localhost:6379).';

/** Finds an executable on PATH. */
export function findExecutable(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode}: ${stderr().trim()}`);
    }
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch (err) {
      lastError = err;
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new RedisUnavailableError(`redis-server did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Returns REDIS_URL when set; otherwise starts `redis-server` on a free loopback port with its
 * files under `<dataDir>/redis` (append-only file, so queues survive restarts) and stops it on stop().
 */
export async function ensureRedis(opts: {
  redisUrl?: string;
  dataDir: string;
  log?: (msg: string) => void;
  binary?: string;
}): Promise<RedisHandle> {
  if (opts.redisUrl) return { url: opts.redisUrl, owned: false, stop: async () => {} };
  const binary = opts.binary ?? findExecutable('redis-server');
  if (!binary) throw new RedisUnavailableError(INSTALL_HINT);
  const dir = path.join(opts.dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--maxmemory-policy', 'noeviction',
      '--loglevel', 'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new RedisUnavailableError(`could not start ${binary}: ${err.message}`))),
  );
  // Never leave the child behind, even when this process dies without a clean stop.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([waitForPing(url, child, () => output, 10_000), spawnError]);
  opts.log?.(`started redis-server (pid ${child.pid}) on ${url}, data in ${dir}`);
  return {
    url,
    owned: true,
    pid: child.pid,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
