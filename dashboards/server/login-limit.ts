/**
 * Rate limit of failed logins per client address, with express-rate-limit: after `limit` failed
 * attempts (wrong API token on `POST /login`, used or expired one-time link, or a request with an
 * `Authorization: Bearer` token that is not the API token, on any route) within `windowMs`, further
 * login attempts and bearer requests from that address get 429 `RATE_LIMITED` with `retryAfterMs`
 * (and the standard `RateLimit` / `Retry-After` headers) until the window ends. Successful logins and
 * requests with the right token do not count. Guessing the API token online is then bounded at
 * `limit` tries per window per address, through the login form or the bearer header alike.
 */
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { HttpError } from './http-error.ts';

/** Failed login attempts allowed per address and window. 10. */
export const LOGIN_FAILURES_LIMIT = 10;
/** ms of the failed-login window. 15 min. */
export const LOGIN_FAILURES_WINDOW_MS = 15 * 60_000;

/** Settings of {@link loginRateLimit}. */
export interface LoginRateLimitOptions {
  /** failed attempts per address and window; default {@link LOGIN_FAILURES_LIMIT} */
  limit?: number;
  /** window, ms; default {@link LOGIN_FAILURES_WINDOW_MS} */
  windowMs?: number;
}

/**
 * Marks the current login attempt as failed (a handler answering a wrong token with a redirect,
 * i.e. a status below 400, calls this so the attempt still counts).
 */
export function markLoginFailed(res: { locals: Record<string, unknown> }): void {
  res.locals.loginFailed = true;
}

/** `POST /login` and `GET /login/once/:nonce`. */
function isLoginPath(path: string): boolean {
  return path === '/login' || path.startsWith('/login/once/');
}

/**
 * The middleware to put in front of the login routes, and of every request that carries an
 * `Authorization` header (the app does both with one instance, so they share the count). A request counts as failed when it was
 * marked with {@link markLoginFailed} or answered with a status ≥ 400. Limited requests go to the
 * app's error handler as an {@link HttpError} 429 `RATE_LIMITED` with `retryAfterMs`.
 */
export function loginRateLimit(o: LoginRateLimitOptions = {}): RequestHandler {
  const windowMs = o.windowMs ?? LOGIN_FAILURES_WINDOW_MS;
  return rateLimit({
    windowMs,
    limit: o.limit ?? LOGIN_FAILURES_LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    // a login succeeds with a status below 400; any other request with a bearer token fails only
    // when the token is wrong (its own 400s and 404s are no guess at the token)
    requestWasSuccessful: (req, res) =>
      res.locals.loginFailed !== true && res.locals.wrongToken !== true && (!isLoginPath(req.path) || res.statusCode < 400),
    handler: (req, _res, next) => {
      const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfterMs = reset ? Math.max(0, reset.getTime() - Date.now()) : windowMs;
      next(new HttpError(429, 'RATE_LIMITED', `too many failed logins from this address: try again in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs }));
    },
  });
}
