/**
 * One HTTP error class and the one error handler that turns every thrown error into a JSON response
 * (Hono's `HTTPException` style). Handlers stay thin: they throw {@link HttpError} or let a
 * {@link StreamtuneError} through, and {@link errorHandler} maps the code to a status.
 *
 * Response body: `{ error: { code, message, field?, file?, line?, details? } }`. Internal errors are
 * logged with their stack and answered with a generic message (no internals, no secrets).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { type ErrorCode, errorMessage, type Logger, StreamtuneError } from '../../core/index.ts';

/** An error with the HTTP status to answer with. `field` names the bad parameter for 400s. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  /**
   * @param status HTTP status (400, 401, 403, 404, 409, 413, 415, 500, 503)
   * @param code stable machine-readable code, e.g. 'INVALID_ARGUMENT'
   * @param message one line for the client; never secrets
   * @param details extra fields copied into the body (`field`, `file`, `line`, ...)
   */
  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** 400 naming the bad `field` (a query parameter, path parameter or body field). */
  static badRequest(field: string, message: string): HttpError {
    return new HttpError(400, 'INVALID_ARGUMENT', message, { field });
  }

  /** 404 for an unknown id of `what` ('job', 'diagnosis', ...). */
  static notFound(what: string, id: string): HttpError {
    return new HttpError(404, 'NOT_FOUND', `unknown ${what} "${id}"`, { [what === 'job' ? 'job_id' : 'id']: id });
  }
}

/** HTTP status of each StreamtuneError code; codes not listed answer 500. */
export const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_SPEC: 400,
  INVALID_ARGUMENT: 400,
  INVALID_CONFIG: 400,
  INVALID_RULES: 400,
  SAVEPOINT_MISSING: 400,
  SAVEPOINT_CORRUPT: 400,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
  JOB_STATE: 409,
  STORE_UNAVAILABLE: 503,
  BUS_UNAVAILABLE: 503,
  FLINK_API: 502,
  OPERATION_FAILED: 502,
  NOTIFY_FAILED: 502,
};

/** Detail keys of a StreamtuneError that are safe to show a client (never secrets). */
const PUBLIC_DETAILS = ['field', 'file', 'line', 'column', 'errors', 'job_id', 'id', 'reason', 'retryAfterMs', 'variable', 'vertex', 'settings'];

/** The HTTP status and body for any thrown value. */
export function toHttp(err: unknown): { status: number; body: { error: Record<string, unknown> } } {
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...err.details } } };
  }
  if (err instanceof StreamtuneError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    if (status === 500) return { status, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
    const details: Record<string, unknown> = {};
    for (const k of PUBLIC_DETAILS) if (err.details[k] !== undefined) details[k] = err.details[k];
    return { status, body: { error: { code: err.code, message: err.message, ...details } } };
  }
  // a path segment that does not percent-decode (the router's decode of a parameter): the path is the bad field
  if (err instanceof URIError) return { status: 400, body: { error: { code: 'INVALID_ARGUMENT', message: 'the path is not well percent-encoded', field: 'path' } } };
  // body-parser errors (malformed JSON, too large) carry `status` and `type`
  const e = err as { status?: unknown; type?: unknown };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, body: { error: { code: 'INVALID_ARGUMENT', message: errorMessage(err), field: typeof e.type === 'string' ? 'body' : 'path' } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

/** The app's single error handler: logs 5xx with the cause, answers JSON. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body } = toHttp(err);
    res.locals.errorCode = body.error.code;
    if (status >= 500) logger.error('request failed', { method: req.method, path: req.path, status, error: errorMessage(err), stack: (err as Error)?.stack });
    if (res.headersSent) return;
    res.status(status).json(body);
  };
}

/** 404 for any route not matched. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`));
};
