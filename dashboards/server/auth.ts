/**
 * Who may change things. Reads are open (the server listens on loopback by default); every mutating
 * request needs either `Authorization: Bearer <API token>` (compared in constant time) or a logged-in
 * session cookie plus a CSRF token bound to that session (header `x-csrf-token` or form field `_csrf`).
 *
 * Sessions: the cookie `streamtune_sid` holds a random session id signed with a per-process HMAC key
 * (HttpOnly, SameSite=Strict, Path=/, Secure when the base URL is https). Every browser gets one on its
 * first page view (a pre-session), so the login form carries a CSRF token too. The CSRF token is
 * HMAC(key, 'csrf:' + session id): stateless, and useless with another session. `POST /login` with the
 * API token (form field `token`) turns a new session id (rotated: no session fixation) into a logged-in
 * one for {@link SESSION_TTL_MS}; `POST /logout` ends it; `GET /login/once/<nonce>` logs in with a
 * single-use link that expires after 10 minutes (like Jupyter's token URL), printed by `serve`.
 * Sessions live in memory and the signing key is per process: a restart logs everyone out, and a
 * cookie from before it is refused cleanly (401 "log in again" on a mutation; pages mint a new
 * pre-session; `res.locals.staleSession` marks it). Per request the middleware also sets
 * `res.locals.authVia` ('token' | 'session' when logged in) and `res.locals.wrongToken` (a bearer
 * token that is not the API token: counted as a failed login by the rate limit).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../core/index.ts';
import { HttpError } from './http-error.ts';
import { markLoginFailed } from './login-limit.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'streamtune_sid';
/** ms a login lasts. 12 h. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** ms a one-time login link stays valid. 10 min. */
export const LOGIN_LINK_TTL_MS = 10 * 60_000;
/** Name of the file under the data dir holding a generated API token. */
export const TOKEN_FILE = 'api-token';

/** Options of {@link createAuth}. */
export interface AuthOptions {
  /** The API token. Never logged. */
  token: string;
  /** Cookies get `Secure` (set when the dashboard is served over https). Default false. */
  secureCookies?: boolean;
  /** ms since epoch. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** What the auth middleware puts on `res.locals` for the pages. */
export interface AuthLocals {
  /** CSRF token of this browser's session, to put in forms (`_csrf`) and `x-csrf-token` headers;
   * undefined for requests without a session cookie under /api (API clients use the bearer token). */
  csrfToken?: string;
  /** whether the session is logged in (or the request carries the API token) */
  loggedIn: boolean;
}

/** Sessions, CSRF and the API token. */
export interface Auth {
  /** Sets `res.locals.csrfToken` / `res.locals.loggedIn`; starts a pre-session for page views. */
  session: RequestHandler;
  /** Refuses a mutating request without a bearer token (401) or, with a session cookie, without a
   * valid CSRF token (403). Safe methods (GET, HEAD, OPTIONS) pass. */
  requireMutationAuth: RequestHandler;
  /** POST /login, POST /logout, GET /login/once/:nonce. */
  routes: { login: RequestHandler; logout: RequestHandler; once: RequestHandler };
  /** A new single-use login path `/login/once/<nonce>`, valid {@link LOGIN_LINK_TTL_MS}. */
  createLoginLink(): string;
  /** Whether `presented` is the API token (constant time). */
  checkToken(presented: string | undefined): boolean;
  /** Number of logged-in sessions (for /metrics). */
  sessionCount(): number;
}

/** sha256 both sides, then timingSafeEqual: constant time whatever the lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Reads one cookie from a Cookie header. */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Only same-site relative paths: '/x', never '//host' or 'http://'. */
function safeNext(v: unknown): string {
  return typeof v === 'string' && /^\/(?![/\\])[^\s]*$/.test(v) ? v : '/';
}

function wantsHtml(req: Request): boolean {
  return req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded' || (req.accepts(['json', 'html']) === 'html' && !req.path.startsWith('/api/'));
}

/** Creates the auth pieces for one server process. */
export function createAuth(opts: AuthOptions): Auth {
  const key = randomBytes(32);
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  /** logged-in session id → expiry (ms) */
  const loggedIn = new Map<string, number>();
  /** one-time nonce → expiry (ms) */
  const nonces = new Map<string, number>();
  const mac = (s: string): string => createHmac('sha256', key).update(s).digest('base64url');
  const sign = (sid: string): string => `${sid}.${mac(`sid:${sid}`)}`;
  const unsign = (v: string | undefined): string | undefined => {
    if (!v) return undefined;
    const i = v.lastIndexOf('.');
    if (i <= 0) return undefined;
    const sid = v.slice(0, i);
    return constantTimeEqual(v.slice(i + 1), mac(`sid:${sid}`)) ? sid : undefined;
  };
  const csrfFor = (sid: string): string => mac(`csrf:${sid}`);
  const setCookie = (res: Response, sid: string): void => {
    const attrs = [`${SESSION_COOKIE}=${encodeURIComponent(sign(sid))}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
    if (opts.secureCookies) attrs.push('Secure');
    // one session cookie per response: a rotation replaces the pre-session minted earlier
    const prev = res.getHeader('Set-Cookie');
    const others = (Array.isArray(prev) ? prev : prev === undefined ? [] : [String(prev)]).filter((c) => !c.startsWith(`${SESSION_COOKIE}=`));
    res.setHeader('Set-Cookie', [...others, attrs.join('; ')]);
  };
  const isLoggedIn = (sid: string | undefined): boolean => {
    if (!sid) return false;
    const exp = loggedIn.get(sid);
    if (exp === undefined) return false;
    if (exp <= now()) {
      loggedIn.delete(sid);
      return false;
    }
    return true;
  };
  const newSession = (res: Response, login: boolean): string => {
    const sid = randomBytes(24).toString('base64url');
    if (login) loggedIn.set(sid, now() + SESSION_TTL_MS);
    setCookie(res, sid);
    res.locals.sid = sid;
    res.locals.csrfToken = csrfFor(sid);
    res.locals.loggedIn = login;
    return sid;
  };
  const checkToken = (presented: string | undefined): boolean => typeof presented === 'string' && presented.length > 0 && constantTimeEqual(presented, opts.token);
  const bearer = (req: Request): string | undefined => {
    const h = req.get('authorization');
    if (!h) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    return m ? m[1]!.trim() : '';
  };
  const presentedCsrf = (req: Request): string | undefined => {
    const h = req.get('x-csrf-token');
    if (h) return h;
    const b = req.body as Record<string, unknown> | undefined;
    return b && typeof b === 'object' && typeof b._csrf === 'string' ? b._csrf : undefined;
  };
  const csrfOk = (req: Request, sid: string): boolean => {
    const p = presentedCsrf(req);
    return typeof p === 'string' && constantTimeEqual(p, csrfFor(sid));
  };

  const session: RequestHandler = (req, res, next) => {
    const cookie = readCookie(req.get('cookie'), SESSION_COOKIE);
    const sid = unsign(cookie);
    // a cookie this process did not sign: from before a restart (the signing key is per process)
    if (cookie !== undefined && !sid) res.locals.staleSession = true;
    if (sid) {
      res.locals.sid = sid;
      res.locals.csrfToken = csrfFor(sid);
      res.locals.loggedIn = isLoggedIn(sid);
    } else if (req.method === 'GET' && !req.path.startsWith('/api/') && req.path !== '/metrics' && req.path !== '/health') {
      newSession(res, false);
    } else {
      res.locals.loggedIn = false;
    }
    const b = bearer(req);
    if (b !== undefined) {
      if (checkToken(b)) {
        res.locals.loggedIn = true;
        res.locals.authVia = 'token';
      } else res.locals.wrongToken = true;
    } else if (res.locals.loggedIn === true) res.locals.authVia = 'session';
    next();
  };

  const requireMutationAuth: RequestHandler = (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const b = bearer(req);
    if (b !== undefined) {
      if (checkToken(b)) return next();
      log?.warn('refused a request with a wrong API token', { method: req.method, path: req.path });
      return next(new HttpError(401, 'UNAUTHORIZED', 'wrong API token'));
    }
    const sid = res.locals.sid as string | undefined;
    if (!sid && res.locals.staleSession === true) return next(new HttpError(401, 'UNAUTHORIZED', 'your session is no longer valid (the server restarted, or it expired): log in again'));
    if (!sid || !isLoggedIn(sid)) return next(new HttpError(401, 'UNAUTHORIZED', 'log in or send Authorization: Bearer <STREAMTUNE_API_TOKEN>'));
    if (!csrfOk(req, sid)) return next(new HttpError(403, 'FORBIDDEN', 'missing or wrong CSRF token (header x-csrf-token or form field _csrf)', { field: '_csrf' }));
    next();
  };

  const login: RequestHandler = (req, res, next) => {
    const sid = res.locals.sid as string | undefined;
    res.locals.loginVia = 'token';
    if (!sid || !csrfOk(req, sid)) {
      res.locals.loginFailReason = res.locals.staleSession === true ? 'session from before a restart' : 'missing or wrong CSRF token';
      return next(new HttpError(403, 'FORBIDDEN', res.locals.staleSession === true ? 'your session is from before a restart: load the login page again' : 'missing or wrong CSRF token: load the login page first', { field: '_csrf' }));
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const html = wantsHtml(req);
    if (!checkToken(typeof body.token === 'string' ? body.token.trim() : undefined)) {
      log?.warn('login refused: wrong API token');
      res.locals.loginFailReason = 'wrong API token';
      markLoginFailed(res);
      if (html) return void res.redirect(303, `/login?error=1&next=${encodeURIComponent(safeNext(body.next))}`);
      return next(new HttpError(401, 'UNAUTHORIZED', 'wrong API token', { field: 'token' }));
    }
    loggedIn.delete(sid);
    newSession(res, true);
    log?.info('session logged in');
    if (html) return void res.redirect(303, safeNext(body.next));
    res.json({ loggedIn: true, csrfToken: res.locals.csrfToken });
  };

  const logout: RequestHandler = (req, res) => {
    const sid = res.locals.sid as string | undefined;
    if (sid) loggedIn.delete(sid);
    newSession(res, false);
    if (wantsHtml(req)) return void res.redirect(303, '/');
    res.json({ loggedIn: false, csrfToken: res.locals.csrfToken });
  };

  const once: RequestHandler = (req, res, next) => {
    const nonce = String(req.params.nonce ?? '');
    const exp = nonces.get(nonce);
    res.locals.loginVia = 'login-link';
    if (exp === undefined || exp <= now()) {
      res.locals.loginFailReason = exp === undefined ? 'unknown or used login link' : 'expired login link';
      nonces.delete(nonce);
      return next(new HttpError(401, 'UNAUTHORIZED', 'this login link was used already or has expired; log in with the API token'));
    }
    nonces.delete(nonce);
    const old = res.locals.sid as string | undefined;
    if (old) loggedIn.delete(old);
    newSession(res, true);
    log?.info('session logged in with a one-time link');
    res.redirect(303, safeNext(req.query.next));
  };

  return {
    session,
    requireMutationAuth,
    routes: { login, logout, once },
    createLoginLink() {
      const nonce = randomBytes(24).toString('base64url');
      nonces.set(nonce, now() + LOGIN_LINK_TTL_MS);
      return `/login/once/${nonce}`;
    },
    checkToken,
    sessionCount() {
      const t = now();
      for (const [sid, exp] of loggedIn) if (exp <= t) loggedIn.delete(sid);
      return loggedIn.size;
    },
  };
}

/** Where the API token came from. `file` is set when it is kept in (or was just written to) a file. */
export interface ApiToken {
  token: string;
  source: 'config' | 'file' | 'generated';
  file?: string;
}

/**
 * The API token: the configured one (`STREAMTUNE_API_TOKEN` / `server.apiToken`), else the one kept in
 * `<dataDir>/api-token`, else a new random one (32 bytes, base64url) written there with mode 0600.
 * The token itself is never logged. Throws (fs errors) when the data dir cannot be written.
 */
export function ensureApiToken(configured: string | undefined, dataDir: string, logger?: Logger): ApiToken {
  if (configured) return { token: configured, source: 'config' };
  const file = join(dataDir, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) {
      chmodSync(file, 0o600);
      return { token, source: 'file', file };
    }
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  logger?.info('generated an API token', { file });
  return { token, source: 'generated', file };
}
