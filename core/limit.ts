/**
 * A concurrency limiter: at most `concurrency` of the functions handed to it run at once, the
 * others wait in arrival order (what npm `p-limit` does, in a few lines, so core needs no dependency).
 * Used to bound the HTTP requests in flight against one server (the Flink REST collector).
 */
import { StreamtuneError } from './errors.ts';

/** Runs `fn` when a slot is free; resolves or rejects with its result. */
export interface Limiter {
  <T>(fn: () => Promise<T>): Promise<T>;
  /** functions running now */
  readonly active: number;
  /** functions waiting for a slot */
  readonly pending: number;
}

/**
 * A new limiter.
 * @param concurrency at most this many run at once (integer ≥ 1)
 * @throws StreamtuneError INVALID_ARGUMENT for a concurrency below 1 or not an integer
 */
export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new StreamtuneError('INVALID_ARGUMENT', `concurrency must be an integer ≥ 1, got ${concurrency}`, { details: { field: 'concurrency' } });
  }
  const queue: Array<() => void> = [];
  let active = 0;
  const next = (): void => {
    if (active >= concurrency) return;
    const start = queue.shift();
    if (start) start();
  };
  const limit = (<T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(resolve, reject).finally(() => {
          active--;
          next();
        });
      });
      next();
    })) as Limiter;
  Object.defineProperties(limit, {
    active: { get: () => active },
    pending: { get: () => queue.length },
  });
  return limit;
}
