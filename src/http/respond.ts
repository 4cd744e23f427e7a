import type http from 'node:http';
import { AuthError } from '../auth/authenticate.js';

/** An HTTP API error with a stable code, shown to clients as `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answers a known error with its status and code; anything else is a 500 without internals. */
export function sendError(res: http.ServerResponse, err: unknown): boolean {
  if (err instanceof AuthError) {
    sendJson(res, err.code === 'UNAUTHENTICATED' ? 401 : 403, { error: { code: err.code, message: err.message } });
    return true;
  }
  if (err instanceof HttpError) {
    sendJson(res, err.status, { error: { code: err.code, message: err.message, ...err.details } });
    return true;
  }
  return false;
}

export class BodyTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes`);
  }
}

/** Reads a whole (small) request body, refusing more than `limit` bytes. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
