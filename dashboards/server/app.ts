/**
 * The control plane's HTTP app (express 5): secure headers (helmet, CSP allowing only 'self'
 * scripts and styles), body parsing, sessions and the mutation guard (`auth.ts`), the JSON API under
 * `/api/v1` (`api.ts`), `/health`, Prometheus `/metrics` (`metrics.ts`), the HTML pages (`pages.ts`)
 * at `/`, and the one error handler (`http-error.ts`).
 *
 * For the pages: on every request `res.locals.csrfToken` (string, the session's CSRF token to put in
 * forms as `_csrf` or in the `x-csrf-token` header; absent for API requests without a session cookie)
 * and `res.locals.loggedIn` (boolean: a logged-in session, or the API token presented) are set before
 * any route runs, and `res.locals.sensitiveReads` (boolean: the pages may show savepoint and
 * checkpoint paths: logged in, or `publicReads`). Every non-GET/HEAD/OPTIONS request except `POST
 * /login` passes the mutation guard; a request with a bearer token passes the failed-login limit
 * first (a wrong token counts). Logins, logouts and mutations made with credentials are recorded in
 * the audit log with their outcome.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from '../../core/index.ts';
import { createApiRouter, type ApiOptions } from './api.ts';
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { type AuditActor, type AuditLog, type ControlPlane, healthReport, memoryAuditLog } from '../../control-plane/index.ts';
import type { ApiRoute } from './openapi.ts';
import type { Auth } from './auth.ts';
import { errorHandler, notFoundHandler } from './http-error.ts';
import { loginRateLimit, type LoginRateLimitOptions } from './login-limit.ts';
import { createServerMetrics } from './metrics.ts';
import { FastReads } from './fast-reads.ts';
import { createPagesRouter } from './pages/index.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Sessions, CSRF and the API token (`createAuth`). */
  auth: Auth;
  /** Public root URL, e.g. 'http://127.0.0.1:8080'. https → HSTS and upgrade-insecure-requests. */
  baseUrl: string;
  /** Mount the HTML pages at `/`. Default true. */
  pages?: boolean;
  /** Max request body, bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Result reuse of overview/series reads, ms (see {@link ApiOptions.cacheTtlMs}). Default 1,000. */
  cacheTtlMs?: number;
  /** Failed-login limit per client address (see {@link loginRateLimit}). Default 10 per 15 min. */
  loginRateLimit?: LoginRateLimitOptions;
  /** `server.publicReads`: reads of stack traces, savepoint paths and configuration (API and pages)
   * are open; else they need the API token or a logged-in session. Default false. */
  publicReads?: boolean;
  /** Where logins, mutations and their outcomes are recorded. Default the control plane's audit log,
   * else one in memory. */
  audit?: AuditLog;
  logger?: Logger;
}

/** Media types accepted as a YAML job spec body by `POST /api/v1/jobs`. */
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/** Builds the app. It does not listen: see {@link listen}. */
export function createApp(cp: ControlPlane, opts: AppOptions): Express {
  const log = (opts.logger ?? cp.logger).namespace('http');
  const https = opts.baseUrl.startsWith('https://');
  const limit = opts.bodyLimit ?? 1024 * 1024;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const metrics = createServerMetrics(cp, () => opts.auth.sessionCount());
  const cacheTtlMs = opts.cacheTtlMs ?? 1000;
  // repeat reads of the overview and lag series, answered from the router's last answer (fast-reads.ts)
  // (answered in listen(), ahead of express itself; see appFastReads)
  const fastReads = new FastReads(cacheTtlMs, metrics.observe);
  fastReadsOf.set(app, fastReads);

  app.use(metrics.middleware);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(https ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: https,
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.use(express.json({ limit }));
  app.use(express.urlencoded({ extended: false, limit }));
  app.use(express.text({ type: YAML_TYPES, limit }));
  app.use(opts.auth.session);
  const publicReads = opts.publicReads ?? false;
  app.use((_req, res, next) => {
    // what the pages may show: paths and configuration only with credentials (or publicReads)
    res.locals.sensitiveReads = publicReads || res.locals.loggedIn === true;
    next();
  });
  const audit = opts.audit ?? cp.audit ?? memoryAuditLog();
  app.use(auditRecorder(audit));

  // before the guard: login needs only the pre-session CSRF token; the one-time link is a GET.
  // One limiter for logins and for every request with a bearer token: a wrong token counts as a failed login.
  const limiter = loginRateLimit(opts.loginRateLimit);
  app.use((req, res, next) => (req.get('authorization') !== undefined ? limiter(req, res, next) : next()));
  app.post('/login', (req, res, next) => (req.get('authorization') !== undefined ? next() : limiter(req, res, next)), opts.auth.routes.login);
  app.get('/login/once/:nonce', (req, res, next) => (req.get('authorization') !== undefined ? next() : limiter(req, res, next)), opts.auth.routes.once);
  app.use(opts.auth.requireMutationAuth);
  app.post('/logout', opts.auth.routes.logout);

  app.get('/metrics', metrics.handler);
  app.get('/health', async (_req, res) => {
    const h = await healthReport(cp);
    res.status(h.status === 'down' ? 503 : 200).json(h);
  });
  app.use('/api/v1', createApiRouter(cp, { cacheTtlMs, fastReads, publicReads, audit }));
  if (opts.pages !== false) app.use('/', createPagesRouter(cp, { baseUrl: opts.baseUrl }));

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}

/** A short fingerprint of a session id for the audit log: which session, without the id itself. */
function sessionFingerprint(sid: unknown): string | undefined {
  return typeof sid === 'string' ? createHash('sha256').update(sid).digest('hex').slice(0, 12) : undefined;
}

/** The audit log's name of the thing a route's `{id}` is. */
function targetKey(path: string): string {
  if (path.startsWith('/jobs/')) return 'job_id';
  if (path.startsWith('/recommendations/')) return 'recommendation';
  if (path.startsWith('/diagnoses/')) return 'diagnosis';
  if (path.startsWith('/operations/')) return 'operation';
  return 'id';
}

/**
 * Records logins (and failed ones: wrong token, wrong CSRF token, used or expired link), logouts and
 * every mutation made with credentials (the API token or a logged-in session), with its outcome,
 * once the response is sent. Not recorded: mutations without any credentials (refused before they
 * do anything) and requests refused by the rate limit (429), so that a flood cannot grow the log.
 */
function auditRecorder(audit: AuditLog): RequestHandler {
  return (req: Request, res: Response, next) => {
    const login = (req.method === 'POST' && req.path === '/login') || (req.method === 'GET' && req.path.startsWith('/login/once/'));
    const mutation = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (!login && !mutation) return next();
    const before: AuditActor = {
      via: res.locals.authVia === 'token' ? 'token' : res.locals.authVia === 'session' ? 'session' : 'anonymous',
      ...(res.locals.authVia === 'session' ? { session: sessionFingerprint(res.locals.sid) } : {}),
      ...(req.ip ? { address: req.ip } : {}),
    };
    res.on('finish', () => {
      const status = res.statusCode;
      if (status === 429) return;
      const outcome = status < 400 ? 'ok' : status >= 500 ? 'failed' : 'refused';
      if (login) {
        const failed = res.locals.loginFailed === true || status >= 400;
        const via = res.locals.loginVia === 'login-link' ? 'login-link' : 'token';
        audit.record({
          action: failed ? 'login.failed' : 'login',
          outcome: failed ? 'refused' : 'ok',
          status,
          actor: failed ? { via: 'anonymous', ...(req.ip ? { address: req.ip } : {}) } : { via, session: sessionFingerprint(res.locals.sid), ...(req.ip ? { address: req.ip } : {}) },
          details: failed ? { reason: String(res.locals.loginFailReason ?? res.locals.errorCode ?? 'refused'), via } : { via },
        });
        return;
      }
      if (before.via === 'anonymous') return;
      const route = res.locals.apiRoute as ApiRoute | undefined;
      const params = res.locals.apiParams as Record<string, string> | undefined;
      const action = req.path === '/logout' ? 'logout' : route?.audit ?? `${req.method} ${req.path.slice(0, 200)}`;
      const target = (res.locals.auditTarget as Record<string, string> | undefined) ?? (route && params?.id ? { [targetKey(route.path)]: params.id.slice(0, 200) } : undefined);
      const details = { ...((res.locals.auditDetails as Record<string, unknown> | undefined) ?? {}), ...(status >= 400 && res.locals.errorCode ? { error: String(res.locals.errorCode) } : {}) };
      audit.record({ action, outcome, status, actor: before, ...(target ? { target } : {}), ...(Object.keys(details).length ? { details } : {}) });
    });
    next();
  };
}

/** The fast reads of each app made by {@link createApp} (not in `app.locals`, which templates see). */
const fastReadsOf = new WeakMap<Express, FastReads>();

/** The {@link FastReads} of an app made by {@link createApp}, if any. */
export function appFastReads(app: Express): FastReads | undefined {
  return fastReadsOf.get(app);
}

/** A listening server. */
export interface Listening {
  server: Server;
  /** e.g. 'http://127.0.0.1:8080' (the port actually bound, also for port 0) */
  url: string;
  port: number;
  /** Stops accepting, waits up to `graceMs` (default 5,000) for open requests, then drops connections. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Listens on `host:port` (port 0 = any free port). Rejects with the listen error (EADDRINUSE,
 * EACCES) so the caller can say which port is taken. Without `app`, attach the handler afterwards
 * with `server.on('request', app)` (when the app needs the bound URL).
 */
export function listen(app: Express | undefined, port: number, host: string): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const fast = app ? appFastReads(app) : undefined;
    // repeat reads of the hot routes are answered before express sets up the request (fast-reads.ts)
    if (app) server.on('request', fast ? (req: IncomingMessage, res: ServerResponse) => { if (!fast.handle(req, res)) app(req, res); } : app);
    server.listen(port, host);
    server.keepAliveTimeout = 5000;
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const h = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        port: addr.port,
        url: `http://${h}:${addr.port}`,
        close(graceMs = 5000) {
          return new Promise<void>((res) => {
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              res();
            });
            server.closeIdleConnections();
          });
        },
      });
    });
  });
}
