/**
 * A test stand-in for a ClickHouse server: a small HTTP server that speaks enough of ClickHouse's
 * HTTP interface (https://clickhouse.com/docs/interfaces/http) for `@clickhouse/client`, backed by
 * the embedded engine (chdb). It lets the app's server code path (CLICKHOUSE_URL) be tested on a
 * machine without Docker or a recent clickhouse-server.
 *
 *   node dist/test/support/clickhouse-http-shim.js --port 0 --path DIR [--host 127.0.0.1]
 *        [--user NAME] [--password SECRET] [--exit-with-stdin]
 *
 * It prints one JSON line on stdout once it listens ({"event":"listening","port":…,"url":…}) and
 * exits on SIGTERM/SIGINT (and, with --exit-with-stdin, when its stdin closes — so it dies with the
 * test process that spawned it). The user and password can also come from CLICKHOUSE_SHIM_USER and
 * CLICKHOUSE_SHIM_PASSWORD (default: user `default`, empty password, like a fresh server).
 *
 * What it implements:
 * - `GET /ping`, `GET /` (no query), `GET /replicas_status` → `Ok.`
 * - queries by GET or POST: SQL in the `query` URL parameter, the body, or both (joined by a
 *   newline, as the server does — that is how INSERT … FORMAT X sends its rows); multipart/form-data
 *   bodies (`query` and `param_*` parts); gzip/deflate/br request bodies (Content-Encoding).
 * - `database` (URL parameter or X-ClickHouse-Database): `USE db` before the statement.
 * - `query_id` (generated when absent), echoed in X-ClickHouse-Query-Id.
 * - `param_<name>` bound parameters, with the server's text (escaped) semantics: the raw value is
 *   handed to the engine unchanged through `SET param_<name> = '…'`. A placeholder without a
 *   parameter fails with UNKNOWN_QUERY_PARAMETER (456).
 * - every other URL parameter is a setting (SET for the statement, reset to DEFAULT afterwards;
 *   unknown ones fail with UNKNOWN_SETTING like the server); `default_format` picks the output
 *   format (TabSeparated by default); HTTP-layer settings (wait_end_of_query, …) are accepted and
 *   ignored; `enable_http_compression=1` + Accept-Encoding gzip compresses the response.
 * - credentials: Basic auth, X-ClickHouse-User/X-ClickHouse-Key, or `user`/`password` URL
 *   parameters; a wrong user or password fails with AUTHENTICATION_FAILED (516, HTTP 403).
 * - errors: the server's HTTP status for the code, `X-ClickHouse-Exception-Code`, and a
 *   `Code: N. DB::Exception: … (NAME) (version …)` body; successes carry X-ClickHouse-Summary,
 *   X-ClickHouse-Format, X-ClickHouse-Timezone.
 * - `GET /_shim/requests[?query_id=…]` (shim only, same credentials): the last 1000 requests
 *   (query_id, user, database, query, status), so a test can check what reached the "server".
 *
 * What it does not: HTTP sessions (`session_id` → NOT_IMPLEMENTED), streaming (results are
 * buffered), progress headers, readonly for GET, cancellation of a running statement, roles,
 * quotas, more than one user. Statements run one at a time (the engine's session state — current
 * database, settings, parameters — is per connection, and the shim has one).
 *
 * The embedded engine holds one data path per process: run the shim as its own process (use
 * spawnShim() below from tests), never inside a process that also opens the embedded engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Error codes and their HTTP statuses (the subset of ClickHouse's exceptionCodeToHTTPStatus the
// shim can meet).

const CODE_NAMES: Record<number, string> = {
  36: 'BAD_ARGUMENTS',
  48: 'NOT_IMPLEMENTED',
  62: 'SYNTAX_ERROR',
  73: 'UNKNOWN_FORMAT',
  115: 'UNKNOWN_SETTING',
  456: 'UNKNOWN_QUERY_PARAMETER',
  516: 'AUTHENTICATION_FAILED',
  1001: 'STD_EXCEPTION',
};

const HTTP_STATUS_BY_CODE = new Map<number, number>([
  [194, 401], // REQUIRED_PASSWORD
  [192, 403], // UNKNOWN_USER
  [193, 403], // WRONG_PASSWORD
  [516, 403], // AUTHENTICATION_FAILED
  [497, 403], // ACCESS_DENIED
  ...[6, 25, 26, 27, 36, 38, 41, 53, 62, 72, 117].map((c) => [c, 400] as [number, number]), // parse/syntax/bad arguments
  ...[46, 47, 50, 56, 60, 63, 73, 81, 115].map((c) => [c, 404] as [number, number]), // UNKNOWN_*
  [48, 501], // NOT_IMPLEMENTED
  [159, 408], // TIMEOUT_EXCEEDED
]);

/** An error the shim itself raises, in the server's shape. */
class ShimError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`Code: ${code}. DB::Exception: ${message}. (${CODE_NAMES[code] ?? 'UNKNOWN_EXCEPTION'})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Request parsing

/** URL parameters that are part of the HTTP protocol, not settings. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'query_id',
  'database',
  'user',
  'password',
  'quota_key',
  'session_id',
  'session_timeout',
  'session_check',
  'role',
  'default_format',
  'compress',
  'decompress',
  'buffer_size',
  'stacktrace',
]);

/** Settings the HTTP server layer handles (the shim buffers everything, so it can ignore them). */
const HTTP_ONLY_SETTINGS = new Set([
  'wait_end_of_query',
  'http_wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_zlib_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'cancel_http_readonly_queries_on_client_close',
  'enable_http_compression',
  'add_http_cors_header',
]);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `{name:Type}` placeholders. */
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*[A-Za-z]/g;

interface ParsedRequest {
  queryId: string;
  user: string;
  password: string;
  database: string;
  /** The statement text (URL `query`, or the body when there is none), for placeholder checks. */
  statement: string;
  /** What runs: URL `query` + '\n' + body, or either alone. */
  sql: string;
  /** The rows part of an INSERT (body after a URL query), for the summary's written_rows. */
  data: string;
  params: Map<string, string>;
  settings: Map<string, string>;
  format: string;
  compressResponse: boolean;
}

function credentials(req: http.IncomingMessage, url: URL): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  const headerUser = req.headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  return { user: url.searchParams.get('user') ?? 'default', password: url.searchParams.get('password') ?? '' };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (!encoding || encoding === 'identity' || raw.length === 0) return raw;
  if (encoding === 'gzip') return zlib.gunzipSync(raw);
  if (encoding === 'deflate') return zlib.inflateSync(raw);
  if (encoding === 'br') return zlib.brotliDecompressSync(raw);
  throw new ShimError(48, `Unsupported Content-Encoding ${encoding} (the shim knows gzip, deflate, br)`);
}

/** Parses a multipart/form-data body into its named text parts. */
function parseMultipart(body: Buffer, contentType: string): Map<string, string> {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw new ShimError(36, 'multipart/form-data without a boundary');
  const boundary = `--${m[1] ?? m[2]}`;
  const parts = new Map<string, string>();
  for (const section of body.toString('utf8').split(boundary).slice(1)) {
    if (section.startsWith('--')) break;
    const headerEnd = section.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const name = /name="([^"]*)"/i.exec(section.slice(0, headerEnd))?.[1];
    if (name === undefined) continue;
    parts.set(name, section.slice(headerEnd + 4).replace(/\r\n$/, ''));
  }
  return parts;
}

async function parseRequest(req: http.IncomingMessage, url: URL): Promise<ParsedRequest> {
  const { user, password } = credentials(req, url);
  const fields = new Map<string, string>(url.searchParams);
  let body = await readBody(req);
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    for (const [k, v] of parseMultipart(body, contentType)) fields.set(k, v);
    body = Buffer.alloc(0);
  }
  if (fields.has('session_id')) {
    throw new ShimError(48, 'HTTP sessions (session_id) are not supported by the ClickHouse HTTP test shim');
  }
  const urlQuery = fields.get('query') ?? '';
  const bodyText = body.toString('utf8');
  const sql = urlQuery && bodyText ? `${urlQuery}\n${bodyText}` : urlQuery || bodyText;
  if (!sql.trim()) throw new ShimError(62, 'Empty query');
  const params = new Map<string, string>();
  const settings = new Map<string, string>();
  for (const [k, v] of fields) {
    if (k.startsWith('param_')) params.set(k.slice('param_'.length), v);
    else if (!PROTOCOL_PARAMS.has(k)) settings.set(k, v);
  }
  const header = req.headers['x-clickhouse-database'];
  const acceptsGzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  return {
    queryId: fields.get('query_id') || randomUUID(),
    user,
    password,
    database: fields.get('database') || (typeof header === 'string' && header) || 'default',
    statement: urlQuery || bodyText,
    sql,
    data: urlQuery ? bodyText : '',
    params,
    settings,
    format: fields.get('default_format') || 'TabSeparated',
    compressResponse: settings.get('enable_http_compression') === '1' && acceptsGzip,
  };
}

// ---------------------------------------------------------------------------------------------
// Execution

/** A single-quoted ClickHouse string literal holding `value` exactly. */
function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function quoteIdentifier(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** The statement's FORMAT clause, or the request's default format. */
function outputFormat(sql: string, fallback: string): string {
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql.trim())?.[1] ?? fallback;
}

function contentTypeOf(format: string): string {
  const f = format.toLowerCase();
  if (f === 'json' || f === 'jsoncompact' || f === 'jsonstrings') return 'application/json; charset=UTF-8';
  if (f.includes('eachrow')) return 'application/x-ndjson; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8; header=absent';
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  return 'text/plain; charset=UTF-8';
}

/** The subset of chdb's Session the shim uses (chdb is loaded only in the shim process). */
interface EngineSession {
  queryAsync(sql: string, opts?: { format?: string }): Promise<{ bytes(): Uint8Array; rowsRead: number; bytesRead: number; elapsed: number }>;
  close(): void;
}

interface ExecResult {
  body: Buffer;
  format: string;
  summary: Record<string, string>;
}

/** Non-empty lines of a line-delimited INSERT payload (the server's written_rows, near enough). */
function countRows(data: string): number {
  let n = 0;
  for (const line of data.split('\n')) if (line.trim()) n++;
  return n;
}

async function execute(session: EngineSession, r: ParsedRequest): Promise<ExecResult> {
  const missing = [...r.statement.matchAll(PLACEHOLDER)].map((m) => m[1]!).find((n) => !r.params.has(n));
  if (missing) throw new ShimError(456, `Substitution \`${missing}\` is not set`);

  await session.queryAsync(`USE ${quoteIdentifier(r.database)}`);
  const applied: string[] = [];
  try {
    for (const [name, value] of r.settings) {
      if (HTTP_ONLY_SETTINGS.has(name)) continue;
      if (!NAME.test(name)) throw new ShimError(115, `Unknown setting '${name}'`);
      await session.queryAsync(`SET ${name} = ${sqlString(value)}`);
      applied.push(name);
    }
    for (const [name, value] of r.params) {
      if (!NAME.test(name)) throw new ShimError(36, `Bad query parameter name '${name}'`);
      // The engine parses a parameter's text exactly as the server parses param_<name>.
      await session.queryAsync(`SET param_${name} = ${sqlString(value)}`);
    }
    const format = outputFormat(r.statement, r.format);
    const started = process.hrtime.bigint();
    const result = await session.queryAsync(r.sql, { format: r.format });
    const elapsed = String(process.hrtime.bigint() - started);
    const body = Buffer.from(result.bytes());
    const isInsert = /^\s*INSERT\b/i.test(r.statement);
    const written = isInsert ? countRows(r.data) : 0;
    return {
      body,
      format,
      summary: {
        read_rows: String(isInsert ? written : result.rowsRead),
        read_bytes: String(isInsert ? Buffer.byteLength(r.data) : result.bytesRead),
        written_rows: String(written),
        written_bytes: String(isInsert ? Buffer.byteLength(r.data) : 0),
        total_rows_to_read: '0',
        result_rows: String(isInsert ? written : result.rowsRead),
        result_bytes: String(isInsert ? 0 : body.length),
        elapsed_ns: elapsed,
      },
    };
  } finally {
    for (const name of applied) {
      await session.queryAsync(`SET ${name} = DEFAULT`).catch(() => undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export interface ShimOptions {
  /** Data directory of the embedded engine. */
  path: string;
  port?: number;
  host?: string;
  user?: string;
  password?: string;
}

export interface ShimLogEntry {
  time: string;
  query_id: string;
  user: string;
  database: string;
  query: string;
  status: number;
  exception_code?: number;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Runs the shim in this process (which must not open the embedded engine elsewhere). */
export async function runShim(opts: ShimOptions): Promise<{ server: http.Server; port: number; stop(): Promise<void> }> {
  const user = opts.user ?? 'default';
  const password = opts.password ?? '';
  fs.mkdirSync(opts.path, { recursive: true });
  const chdb = (await import('chdb')) as unknown as { Session: new (path: string) => EngineSession };
  const session = new chdb.Session(opts.path);
  // clickhouse-local (the engine's mode) reads `CREATE TABLE` as `SELECT CREATE AS TABLE`; a server does not.
  await session.queryAsync('SET implicit_select = 0').catch(() => undefined);
  // A server parses param_<name> values apart from the query text, so max_query_size (256 KiB)
  // does not bound them; here they travel as `SET param_… = '…'` statements, which it would. An
  // import's key lookups bind 10,000 keys at a time.
  await session.queryAsync('SET max_query_size = 16777216');
  const [engineVersion = 'unknown', timezone = 'UTC'] = Buffer.from(
    (await session.queryAsync('SELECT version(), timezone()', { format: 'TabSeparatedRaw' })).bytes(),
  )
    .toString('utf8')
    .trim()
    .split('\t');

  // One statement at a time: USE/SET state belongs to the engine connection.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const log: ShimLogEntry[] = [];
  const remember = (entry: ShimLogEntry) => {
    log.push(entry);
    if (log.length > 1000) log.shift();
  };

  const sendError = (res: http.ServerResponse, err: unknown, queryId: string | undefined) => {
    const e = err as { clickhouseCode?: number; code?: unknown; message?: string };
    const code = typeof e.clickhouseCode === 'number' ? e.clickhouseCode : typeof e.code === 'number' ? e.code : 1001;
    let message = String(e.message ?? err);
    if (!/^Code: \d+\./.test(message)) message = new ShimError(1001, message).message;
    const status = HTTP_STATUS_BY_CODE.get(code) ?? 500;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(code),
      'X-ClickHouse-Server-Display-Name': 'clickhouse-http-shim',
    };
    if (queryId) headers['X-ClickHouse-Query-Id'] = queryId;
    res.writeHead(status, headers);
    res.end(`${message} (version ${engineVersion})\n`);
    return { status, code };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://shim');
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && (url.pathname === '/ping' || url.pathname === '/replicas_status' || (url.pathname === '/' && !url.searchParams.has('query')))) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' });
      res.end('Ok.\n');
      return;
    }
    if (url.pathname !== '/' && url.pathname !== '/_shim/requests') {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
      return;
    }
    if (method !== 'GET' && method !== 'POST') {
      req.resume();
      res.writeHead(405, { Allow: 'GET, POST' });
      res.end();
      return;
    }
    let parsed: ParsedRequest | undefined;
    const who = credentials(req, url);
    try {
      if (!(who.user === user && sameSecret(who.password, password))) {
        req.resume();
        throw new ShimError(
          516,
          `${who.user}: Authentication failed: password is incorrect, or there is no user with such name`,
        );
      }
      if (url.pathname === '/_shim/requests') {
        req.resume();
        const id = url.searchParams.get('query_id');
        res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(id ? log.filter((e) => e.query_id === id) : log));
        return;
      }
      parsed = await parseRequest(req, url);
      const p = parsed;
      const result = await exclusive(() => execute(session, p));
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': contentTypeOf(result.format),
        'X-ClickHouse-Query-Id': p.queryId,
        'X-ClickHouse-Format': result.format,
        'X-ClickHouse-Timezone': timezone,
        'X-ClickHouse-Server-Display-Name': 'clickhouse-http-shim',
        'X-ClickHouse-Summary': JSON.stringify(result.summary),
      };
      let body = result.body;
      if (p.compressResponse) {
        body = zlib.gzipSync(body);
        headers['Content-Encoding'] = 'gzip';
      }
      res.writeHead(200, headers);
      res.end(body);
      remember({ time: new Date().toISOString(), query_id: p.queryId, user: p.user, database: p.database, query: p.sql.slice(0, 10_000), status: 200 });
    } catch (err) {
      const queryId = parsed?.queryId ?? url.searchParams.get('query_id') ?? undefined;
      const { status, code } = sendError(res, err, queryId);
      remember({
        time: new Date().toISOString(),
        query_id: queryId ?? '',
        user: who.user,
        database: parsed?.database ?? '',
        query: (parsed?.sql ?? url.searchParams.get('query') ?? '').slice(0, 10_000),
        status,
        exception_code: code,
      });
    }
  };

  // A server takes URLs up to http_max_uri_size (1 MiB by default); @clickhouse/client sends query
  // parameters in the URL, and an import's key lookups bind thousands of keys. Node's own limit
  // for the request line and headers is 16 KiB (431 otherwise, before the handler sees it).
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err, undefined);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    server,
    port,
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await chain;
        session.close();
      })();
      return stopped;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Spawning (for tests: the shim runs in a child process, this module's spawnShim does not load chdb)

export interface ShimProcess {
  url: string;
  port: number;
  user: string;
  password: string;
  child: ChildProcess;
  /** The shim's request log (GET /_shim/requests), optionally for one query id. */
  requests(queryId?: string): Promise<ShimLogEntry[]>;
  /** SIGTERM, then SIGKILL after timeoutMs; resolves when the process is gone. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts the compiled shim as a child process that also exits when this process dies. */
export async function spawnShim(opts: { path: string; user?: string; password?: string; startTimeoutMs?: number }): Promise<ShimProcess> {
  const script = fileURLToPath(import.meta.url);
  const user = opts.user ?? 'default';
  const password = opts.password ?? '';
  const child = spawn(process.execPath, [script, '--port', '0', '--path', opts.path, '--exit-with-stdin'], {
    env: { ...process.env, CLICKHOUSE_SHIM_USER: user, CLICKHOUSE_SHIM_PASSWORD: password },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    child.stdin?.destroy();
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`ClickHouse HTTP shim did not start within ${opts.startTimeoutMs ?? 60_000} ms\n${stderr}`)),
        opts.startTimeoutMs ?? 60_000,
      );
      const lines = readline.createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; port?: number };
          if (msg.event === 'listening' && typeof msg.port === 'number') {
            clearTimeout(timer);
            resolve(msg.port);
          }
        } catch {
          // not the announcement
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`ClickHouse HTTP shim exited (${signal ?? code}) before listening\n${stderr}`));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
    return {
      url,
      port,
      user,
      password,
      child,
      async requests(queryId?: string) {
        const res = await fetch(`${url}/_shim/requests${queryId ? `?query_id=${encodeURIComponent(queryId)}` : ''}`, {
          headers: { authorization: auth },
        });
        if (!res.ok) throw new Error(`shim request log: HTTP ${res.status}: ${await res.text()}`);
        return (await res.json()) as ShimLogEntry[];
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv: string[]): ShimOptions & { exitWithStdin: boolean } {
  const out: ShimOptions & { exitWithStdin: boolean } = {
    path: '',
    port: 0,
    host: '127.0.0.1',
    user: process.env.CLICKHOUSE_SHIM_USER || 'default',
    password: process.env.CLICKHOUSE_SHIM_PASSWORD ?? '',
    exitWithStdin: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port') out.port = Number(value());
    else if (arg === '--host') out.host = value();
    else if (arg === '--path') out.path = path.resolve(value());
    else if (arg === '--user') out.user = value();
    else if (arg === '--password') out.password = value();
    else if (arg === '--exit-with-stdin') out.exitWithStdin = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!out.path) throw new Error('--path DIR is required (the embedded engine data directory)');
  if (!Number.isInteger(out.port) || out.port! < 0 || out.port! > 65535) throw new Error('--port must be 0..65535');
  return out;
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(
      `clickhouse-http-shim: ${(err as Error).message}\n` +
        'usage: node dist/test/support/clickhouse-http-shim.js --path DIR [--port 0] [--host 127.0.0.1] [--user U] [--password P] [--exit-with-stdin]\n',
    );
    process.exit(2);
  }
  const shim = await runShim(opts);
  let exiting = false;
  const exit = (why: string) => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`clickhouse-http-shim: stopping (${why})\n`);
    const force = setTimeout(() => process.exit(0), 5_000);
    force.unref();
    shim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => exit('SIGTERM'));
  process.once('SIGINT', () => exit('SIGINT'));
  if (opts.exitWithStdin) {
    process.stdin.on('end', () => exit('stdin closed'));
    process.stdin.on('close', () => exit('stdin closed'));
    process.stdin.resume();
  }
  process.stdout.write(
    JSON.stringify({ event: 'listening', port: shim.port, host: opts.host, url: `http://${opts.host}:${shim.port}`, path: opts.path, pid: process.pid }) + '\n',
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`clickhouse-http-shim: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
