import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { projectRoot } from '../config/paths.js';

/** Paths the API owns: the dashboard never answers them, not even with its index.html. */
const API_PATHS = ['/graphql', '/healthz', '/readyz', '/metrics'];
const API_PREFIXES = ['/v1/', '/graphql/'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files Vite names by content hash (`assets/index-CJ_njBb1.js`): they never change, so they are cached for a year. */
const HASHED_ASSET = /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The built dashboard (`npm run build` → dist/web). */
export function defaultWebRoot(): string {
  return path.join(projectRoot(), 'dist', 'web');
}

/** True for a path the API answers itself (the dashboard must not shadow it). */
export function isApiPath(pathname: string): boolean {
  return API_PATHS.includes(pathname) || API_PREFIXES.some((p) => pathname.startsWith(p));
}

/**
 * Serves the dashboard: files of `root` with their content type, hashed assets with a year-long
 * immutable cache, index.html (never cached, so a new build is picked up) for `/` and for the
 * app's own routes (`/retention`, `/customers/c-1`: any extension-less path — the SPA fallback).
 * Returns false, having written nothing, for API paths, other methods, and paths with an
 * extension that name no file, so the caller answers them (404 JSON).
 */
export async function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, opts: { root?: string } = {}): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (isApiPath(pathname)) return false;
  const root = path.resolve(opts.root ?? defaultWebRoot());
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (decoded.includes('\0')) return false;
  const file = path.resolve(root, '.' + path.posix.normalize(decoded));
  // normalize() already folds `..`; this also refuses anything that escaped the root.
  if (file !== root && !file.startsWith(root + path.sep)) return false;

  const isFile = async (p: string) => (await fs.promises.stat(p).catch(() => null))?.isFile() ?? false;
  if (decoded !== '/' && (await isFile(file))) {
    return sendFile(req, res, file, HASHED_ASSET.test(decoded) ? 'public, max-age=31536000, immutable' : 'no-cache');
  }
  const lastSegment = decoded.slice(decoded.lastIndexOf('/') + 1);
  // A missing asset (or any path with an extension) is a real 404, not the app: a stale
  // index.html asking for an old bundle must fail visibly, not get HTML as JavaScript.
  if (lastSegment.includes('.') || decoded.startsWith('/assets/')) return false;
  const index = path.join(root, 'index.html');
  if (!(await isFile(index))) {
    res.statusCode = 503;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end('The dashboard is not built. Run `npm run build` (it builds web/ into dist/web) and restart.\n');
    return true;
  }
  return sendFile(req, res, index, 'no-cache');
}

async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, cacheControl: string): Promise<boolean> {
  const stat = await fs.promises.stat(file);
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  res.setHeader('content-type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
  res.setHeader('cache-control', cacheControl);
  res.setHeader('etag', etag);
  res.setHeader('x-content-type-options', 'nosniff');
  if (path.extname(file) === '.html') res.setHeader('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === etag) {
    res.statusCode = 304;
    res.end();
    return true;
  }
  res.statusCode = 200;
  res.setHeader('content-length', stat.size);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(file);
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
  return true;
}
