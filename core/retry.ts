/**
 * The one retry helper of streamtune: exponential backoff with full jitter, a cap on attempts and
 * on the delay, an abort signal and a `bail()` to stop early. It retries infrastructure errors only:
 * by default an error is retried when it is a {@link StreamtuneError} with `retriable === true`.
 *
 * Shape follows kafkajs `retry/index.js` (initialRetryTime, maxRetryTime, factor, multiplier,
 * retries) and Temporal's `RetryPolicy` (policy as data, defaults in one place).
 */
import { StreamtuneError } from './errors.ts';

/** Retry policy. Every field is optional; see {@link RETRY_DEFAULTS} for the defaults. */
export interface RetryOptions {
  /** Retries after the first attempt (so at most `retries + 1` calls). `Infinity` retries until aborted. Default 5. */
  retries?: number;
  /** Delay before the first retry, ms. Default 300. */
  initialMs?: number;
  /** Upper bound of any delay, ms. Default 30,000. */
  maxMs?: number;
  /** Growth factor of the delay per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomised, 0..1 (0.2 → delay × [0.8, 1.2]). Default 0.2. */
  jitter?: number;
  /** Aborting stops the waiting and rejects with the last error (or an abort error). */
  signal?: AbortSignal;
  /** Which errors to retry. Default: `StreamtuneError` with `retriable === true`. */
  isRetriable?: (err: unknown) => boolean;
  /** Called before each wait, for logging: attempt number (1-based, of the failed call), error, delay ms. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
}

/** Default retry policy, in one place. Under test (`NODE_ENV=test`) waits are 10× shorter. */
export const RETRY_DEFAULTS: Readonly<Required<Pick<RetryOptions, 'retries' | 'initialMs' | 'maxMs' | 'factor' | 'jitter'>>> =
  process.env.NODE_ENV === 'test'
    ? Object.freeze({ retries: 5, initialMs: 30, maxMs: 3_000, factor: 2, jitter: 0.2 })
    : Object.freeze({ retries: 5, initialMs: 300, maxMs: 30_000, factor: 2, jitter: 0.2 });

/** Default retriability test: a StreamtuneError marked `retriable`. */
export function isRetriableError(err: unknown): boolean {
  return err instanceof StreamtuneError && err.retriable;
}

/**
 * The delay before retry number `attempt` (1-based), ms:
 * `min(maxMs, initialMs × factor^(attempt-1))`, then ± `jitter` fraction, never above `maxMs`.
 * `random` is injectable for tests (default Math.random).
 */
export function backoffDelay(attempt: number, opts: RetryOptions = {}, random: () => number = Math.random): number {
  const initialMs = opts.initialMs ?? RETRY_DEFAULTS.initialMs;
  const maxMs = opts.maxMs ?? RETRY_DEFAULTS.maxMs;
  const factor = opts.factor ?? RETRY_DEFAULTS.factor;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? RETRY_DEFAULTS.jitter));
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt - 1)));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
}

/**
 * Sleeps `ms`, rejecting early with `signal.reason` when the signal aborts. With `unref` the timer does
 * not keep the process alive (background watches).
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (unref) timer.unref();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn(attempt, bail)` until it resolves, retrying retriable errors with exponential backoff.
 *
 * - `attempt` is 0 for the first call.
 * - `bail(err)` stops retrying: the returned promise rejects with `err` after `fn` settles.
 * - A non-retriable error (see `isRetriable`) is rethrown at once.
 * - After `retries` retries the last error is rethrown.
 * - When `signal` aborts during a wait, the last error is rethrown (so callers see the cause).
 *
 * @throws whatever `fn` threw last.
 */
export async function retry<T>(
  fn: (attempt: number, bail: (err: unknown) => void) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const retries = opts.retries ?? RETRY_DEFAULTS.retries;
  const isRetriable = opts.isRetriable ?? isRetriableError;
  let bailed: { err: unknown } | null = null;
  const bail = (err: unknown): void => {
    bailed = { err };
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await fn(attempt, bail);
      if (bailed) throw (bailed as { err: unknown }).err;
      return result;
    } catch (err) {
      if (bailed) throw (bailed as { err: unknown }).err;
      if (!isRetriable(err) || attempt >= retries || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt + 1, opts);
      opts.onRetry?.(attempt + 1, err, delay);
      try {
        await sleep(delay, opts.signal);
      } catch {
        throw err;
      }
    }
  }
}
