import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Services } from '../app/services.js';
import { checkHealth } from '../app/health.js';
import type { RequestContext } from '../schema/context.js';
import { costLimitRules } from '../schema/cost-limits.js';
import { hashApiKey, type ApiKeyRecord } from '../auth/api-keys.js';
import { presentedKey } from '../auth/authenticate.js';
import { readBody, sendError, sendJson } from './respond.js';
import { handleEvents, handleImportStatus, handleUpload } from './ingest.routes.js';
import { handleFlowStatus, handleRebuild } from './admin.routes.js';
import { classifyError, formatGraphQLError, graphqlErrorBody, internalErrorLogger, logInternalError, rateLimited } from './errors.js';
import { RateLimiter, rateLimitHeaders, type RateDecision } from './rate-limit.js';
import { serveStatic } from './static.js';
import { AnswerCache, newAnswerUsage } from '../cache/answer-cache.js';
import { RedisPersistedQueryCache, PERSISTED_QUERY_TTL_SECONDS } from '../cache/persisted-queries.js';
import { ResponseCache, type RequestIdentity } from '../cache/response-cache.js';
import { runInQueryScope, type QueryScope } from '../warehouse/query-scope.js';
import { answerCacheRequests, graphqlDuration, graphqlRequests, httpRequests, registry, watchQueues } from '../metrics/metrics.js';
import { observabilityPlugin } from '../metrics/graphql-plugin.js';
import { PLAYGROUND_ASSET_PREFIX, servePlayground, servePlaygroundAsset, wantsPlayground } from './playground.js';

/** Largest request body the API reads, in bytes. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpServerHandle {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The API's HTTP server: GraphQL at /graphql (Apollo Server driven by hand over node:http, so
 * the same server can carry /healthz, /readyz and the other endpoints without a framework).
 */
export async function startHttpServer(opts: {
  services: Services;
  schema: GraphQLSchema;
  port: number;
  host: string;
}): Promise<HttpServerHandle> {
  const { services } = opts;
  const limiter = new RateLimiter(services.redis, { defaultPerMinute: services.config.RATE_LIMIT_PER_MINUTE, log: services.log });
  // Its own Redis connection: bounded waits, no offline queue, so a Redis outage costs nothing but the cache.
  const answerCache = new AnswerCache({ redisUrl: services.redisUrl, log: services.log, ttlSeconds: services.config.ANSWER_CACHE_TTL_SECONDS });
  const responseCache = new ResponseCache(answerCache.redis, services.config.ANSWER_CACHE_TTL_SECONDS);
  const stopWatchingQueues = watchQueues(services.queues);
  const apollo = new ApolloServer<RequestContext>({
    schema: opts.schema,
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), internalErrorLogger(), observabilityPlugin()],
    // Automatic persisted queries (sha256 of the query text), registered in Redis for every API process.
    persistedQueries: { cache: new RedisPersistedQueryCache(answerCache.redis), ttl: PERSISTED_QUERY_TTL_SECONDS },
    includeStacktraceInErrorResponses: false,
    formatError: formatGraphQLError,
    validationRules: costLimitRules({ maxComplexity: services.config.MAX_QUERY_COMPLEXITY, maxPageSize: services.config.MAX_PAGE_SIZE }),
    // Refuses selection sets that explode when fragments are expanded (Apollo's own guard).
    maxRecursiveSelections: true,
    // Shutdown is ours (src/cli/main.ts): Apollo's own handler would re-raise the signal and kill the process mid-drain.
    stopOnTerminationSignals: false,
    logger: {
      debug: (m) => services.log.debug(m),
      info: (m) => services.log.info(m),
      warn: (m) => services.log.warn(m),
      error: (m) => services.log.error(m),
    },
  });
  await apollo.start();

  interface Admission {
    /** The key as presented, when one was. */
    presented?: string;
    /** Its record, when it is known and active. */
    apiKey?: ApiKeyRecord;
    /** The rate limiter's answer, for an active key. */
    decision?: RateDecision;
  }

  /** Resolves the presented key (cached ≤ 1 s by the Authenticator) and takes a token from its bucket. */
  const admit = async (req: http.IncomingMessage): Promise<Admission> => {
    const presented = presentedKey(req.headers);
    if (!presented) return {};
    const apiKey = await services.auth.lookup(presented);
    if (!apiKey) return { presented };
    // Buckets are named by the key's hash: the plain key never reaches Redis.
    const decision = await limiter.take(hashApiKey(presented), apiKey.rateLimit);
    return { presented, apiKey, decision };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 100) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const log = services.log.child({ requestId });
    const t0 = performance.now();
    res.once('finish', () => {
      const route = routeLabel(url.pathname);
      httpRequests.inc({ route, method: ['GET', 'POST', 'HEAD', 'OPTIONS'].includes(req.method ?? '') ? req.method! : 'other', status: String(res.statusCode) });
      if (route !== '/healthz' && route !== '/metrics') {
        log.info({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round((performance.now() - t0) * 10) / 10 }, 'request');
      }
    });

    if (url.pathname === '/healthz') {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (url.pathname === '/metrics' && req.method === 'GET') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      return res.end(text);
    }
    if (url.pathname.startsWith(PLAYGROUND_ASSET_PREFIX)) return servePlaygroundAsset(req, res, url.pathname);
    if (url.pathname === '/graphql' && wantsPlayground(req, url)) return servePlayground(res);
    if (url.pathname === '/readyz') {
      const h = await checkHealth(services);
      return sendJson(res, h.status === 'ok' ? 200 : 503, h);
    }
    if (url.pathname === '/graphql') {
      if (req.method !== 'GET' && req.method !== 'POST') {
        return sendJson(res, 405, { error: 'use GET or POST' }, { allow: 'GET, POST' });
      }
      let admission: Admission;
      try {
        admission = await admit(req);
      } catch (err) {
        const c = classifyError(err);
        if (c.internal) logInternalError(log, err, { during: 'API key lookup' });
        return sendJson(res, c.code === 'TIMEOUT' ? 504 : 500, graphqlErrorBody(c));
      }
      if (admission.decision && !admission.decision.allowed) {
        // 429 (not 200): proxies and HTTP clients understand it and honour Retry-After; the body is still a GraphQL response.
        const err = rateLimited(admission.decision.retryAfter, admission.decision.limit);
        return sendJson(res, 429, graphqlErrorBody({ code: err.code, message: err.message, extensions: err.extensions }), rateLimitHeaders(admission.decision));
      }
      if (admission.decision) for (const [k, v] of Object.entries(rateLimitHeaders(admission.decision))) res.setHeader(k, v);
      const rawBody = req.method === 'POST' ? (await readBody(req, MAX_BODY_BYTES)).toString('utf8') : '';
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      let body: unknown = rawBody;
      if ((headers.get('content-type') ?? '').includes('application/json') && rawBody) {
        try {
          body = JSON.parse(rawBody);
        } catch {
          return sendJson(res, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      }
      // A repeated request of this key whose every answer is cached and current: answered whole from Redis.
      const responseKey = admission.apiKey && answerCache.usable ? responseCache.keyOf(admission.apiKey.keyId, requestIdentity(req.method, body, url)) : undefined;
      const cached = responseKey ? await responseCache.get(responseKey) : undefined;
      if (cached) {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(cached.body),
          'cache-control': 'private, max-age=0',
          age: String(Math.max(0, Math.floor((Date.now() - cached.at) / 1000))),
          'x-answer-cache': 'hit',
        });
        res.end(cached.body);
        for (const op of cached.label.split(',')) answerCacheRequests.inc({ op, result: 'hit' });
        graphqlRequests.inc({ operation: cached.label, outcome: 'ok' });
        graphqlDuration.observe({ operation: cached.label }, (performance.now() - t0) / 1000);
        return;
      }
      // The client going away aborts the request's warehouse queries (src/warehouse/query-scope.ts).
      const gone = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
      });
      const answerUsage = newAnswerUsage();
      const scope: QueryScope = { signal: gone.signal, timeoutMs: services.config.QUERY_TIMEOUT_MS };
      res.once('close', () => (scope.done = true));
      const result = await runInQueryScope(scope, () => apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method!, headers, search: url.search, body },
        context: async () => {
          // A key that was presented but is unknown or revoked fails the whole request; no key at all
          // leaves only the public fields (health) usable, the others answer UNAUTHENTICATED.
          if (admission.presented && !admission.apiKey) {
            throw new GraphQLError('the API key is unknown or revoked', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
          }
          return { requestId, services, log, apiKey: admission.apiKey, signal: gone.signal, answerCache, answerUsage };
        },
      }));
      if (gone.signal.aborted) {
        log.info('client went away before the answer; its warehouse queries were cancelled');
        return;
      }
      for (const [k, v] of result.headers) res.setHeader(k, v);
      res.statusCode = result.status ?? 200;
      if (result.body.kind === 'complete') {
        if (responseKey && res.statusCode === 200 && result.headers.get('cache-control')?.startsWith('private') && result.headers.get('content-type')?.startsWith('application/json')) {
          responseCache.put(responseKey, answerUsage, answerUsage.label ?? 'unknown', result.body.string);
        }
        res.end(result.body.string);
      } else {
        for await (const chunk of result.body.asyncIterator) res.write(chunk);
        res.end();
      }
      return;
    }
    if (url.pathname.startsWith('/v1/')) {
      // The /v1 handlers authenticate themselves (services.auth.require, cached ≤ 1 s); here only the rate limit.
      const { decision } = await admit(req);
      if (decision && !decision.allowed) {
        const err = rateLimited(decision.retryAfter, decision.limit);
        return sendJson(res, 429, { error: { code: err.code, message: err.message, ...err.extensions } }, rateLimitHeaders(decision));
      }
      if (decision) for (const [k, v] of Object.entries(rateLimitHeaders(decision))) res.setHeader(k, v);
    }
    if (url.pathname === '/v1/imports' && req.method === 'POST') return handleUpload(services, req, res, url);
    const importStatus = /^\/v1\/imports\/([^/]+)$/.exec(url.pathname);
    if (importStatus && req.method === 'GET') return handleImportStatus(services, req, res, decodeURIComponent(importStatus[1]!));
    if (url.pathname === '/v1/events' && req.method === 'POST') return handleEvents(services, req, res, url);
    if (url.pathname === '/v1/rebuild' && req.method === 'POST') return handleRebuild(services, req, res, url);
    const flowStatus = /^\/v1\/flows\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (flowStatus && req.method === 'GET') return handleFlowStatus(services, req, res, decodeURIComponent(flowStatus[1]!), decodeURIComponent(flowStatus[2]!));
    // The dashboard (dist/web) at / and its routes; it never answers the API's own paths.
    if (await serveStatic(req, res, url.pathname)) return;
    sendJson(res, 404, {
      error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` },
      routes: ['POST /graphql', 'GET /healthz', 'GET /readyz', 'POST /v1/imports', 'GET /v1/imports/:jobId', 'POST /v1/events', 'POST /v1/rebuild', 'GET /v1/flows/:store/:flowId'],
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent && sendError(res, err)) return;
      services.log.error({ err, url: req.url }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  return {
    server,
    port,
    url: `http://${shownHost}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
      stopWatchingQueues();
      await answerCache.close();
    },
  };
}

/** A bounded route label for metrics. */
function routeLabel(pathname: string): string {
  if (['/graphql', '/healthz', '/readyz', '/metrics', '/v1/events', '/v1/imports'].includes(pathname)) return pathname;
  if (pathname.startsWith('/v1/imports/')) return '/v1/imports/:jobId';
  if (pathname.startsWith(PLAYGROUND_ASSET_PREFIX)) return PLAYGROUND_ASSET_PREFIX;
  return 'other';
}

/** What identifies a GraphQL request for the response cache: the POST body, or the GET parameters. */
function requestIdentity(method: string | undefined, body: unknown, url: URL): RequestIdentity {
  if (method === 'POST') return body as RequestIdentity;
  const json = (name: string) => {
    const v = url.searchParams.get(name);
    if (v === null) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  };
  return { query: url.searchParams.get('query') ?? undefined, variables: json('variables'), operationName: url.searchParams.get('operationName') ?? undefined, extensions: json('extensions') };
}
