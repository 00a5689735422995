/**
 * One error base class for all of streamtune (kafkajs `errors.js` style): every error carries a
 * stable machine-readable `code`, whether retrying can help (`retriable`), and the wrapped
 * original as `cause`.
 */

/** Stable error codes. Add a row here rather than inventing codes inline. */
export type ErrorCode =
  | 'INVALID_SPEC'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'INVALID_RULES'
  | 'NOT_FOUND'
  | 'SAVEPOINT_MISSING'
  | 'SAVEPOINT_CORRUPT'
  | 'CHECKPOINT_FAILED'
  | 'CHECKPOINT_TIMEOUT'
  | 'JOB_FAILED'
  | 'JOB_STATE'
  | 'STORE_UNAVAILABLE'
  | 'STORE_REJECTED'
  | 'KAFKA_ERROR'
  | 'FLINK_API'
  | 'OPERATION_FAILED'
  | 'NOTIFY_FAILED'
  | 'UNAUTHORIZED'
  | 'CONFLICT'
  | 'BUS_UNAVAILABLE'
  | 'FORBIDDEN'
  /** a server's artifacts (jars, packages) cannot be had: tool missing, not resolvable, not installed */
  | 'ARTIFACT_UNAVAILABLE'
  | 'INTERNAL';

/** Options of {@link StreamtuneError}. */
export interface StreamtuneErrorOptions {
  /** Whether retrying the same call later can succeed. Default false. */
  retriable?: boolean;
  /** The error this one wraps. */
  cause?: unknown;
  /** Structured context (file, line, field, ids); never secrets. */
  details?: Record<string, unknown>;
}

/** Base class of every error streamtune throws on purpose. */
export class StreamtuneError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: StreamtuneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamtuneError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/** True when `err` is a {@link StreamtuneError} with the given code. */
export function isErrorCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof StreamtuneError && err.code === code;
}

/** A message for any thrown value, for logs and CLI output. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
