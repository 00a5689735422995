/**
 * The one polling helper: call `check` every `intervalMs` until it gives a value, the time is up, or
 * the signal aborts. The clock and the sleep are injected, so tests run it on a virtual clock.
 */
import { StreamtuneError } from './errors.ts';
import { sleep as realSleep } from './retry.ts';

/** Options of {@link poll}. */
export interface PollOptions {
  /** ms between checks. */
  intervalMs: number;
  /** ms after the first check when polling gives up. */
  timeoutMs: number;
  /** What is awaited, for the timeout message: 'job 4f1d… RUNNING'. */
  what: string;
  /** ms since epoch. Default Date.now. */
  now?: () => number;
  /** Waits ms (rejecting when the signal aborts). Default a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** The error thrown on timeout, made when it happens. Default: OPERATION_FAILED, reason 'timeout'. */
  timeoutError?: () => Error;
}

/**
 * Resolves with the first value of `check` that is not `undefined`. An exception from `check` ends
 * polling with it (a check decides itself what is worth retrying).
 * @throws `timeoutError()`, by default StreamtuneError OPERATION_FAILED with `details.reason`
 *   'timeout' (retriable), when nothing came within `timeoutMs`; the signal's reason when aborted.
 */
export async function poll<T>(check: () => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  const deadline = now() + opts.timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const v = await check();
    if (v !== undefined) return v;
    const left = deadline - now();
    if (left <= 0) {
      if (opts.timeoutError) throw opts.timeoutError();
      throw new StreamtuneError('OPERATION_FAILED', `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`, { retriable: true, details: { reason: 'timeout' } });
    }
    await sleep(Math.min(opts.intervalMs, left), opts.signal);
  }
}
