/**
 * What `createControlPlane` (assemble.ts) and `createWorker` (worker.ts) share: the stack of parts
 * to close in reverse order of start, and the diagnoser's and alerter's settings from the config.
 */
import { errorMessage, type Logger } from '../core/index.ts';
import type { ServerConfig } from './config.ts';

/** Parts to close, last started first. */
export interface CloserStack {
  push(c: { name: string; close: () => Promise<void> | void }): void;
  /** Closes every part pushed so far, newest first; a failing close is logged (warn) and the rest still close. */
  closeAll(): Promise<void>;
}

/** A new, empty {@link CloserStack} logging to `log`. */
export function closerStack(log: Logger): CloserStack {
  const closers: Array<{ name: string; close: () => Promise<void> | void }> = [];
  return {
    push: (c) => {
      closers.push(c);
    },
    async closeAll(): Promise<void> {
      while (closers.length > 0) {
        const c = closers.pop()!;
        try {
          await c.close();
        } catch (err) {
          log.warn(`closing ${c.name} failed`, { error: errorMessage(err) });
        }
      }
    },
  };
}

/** The diagnosis service's options set in `config.diagnoser` (unset ones keep the service's defaults). */
export function diagnoserSettings(config: ServerConfig): { windowMs?: number; stepMs?: number; sweepCron?: string; rediagnoseMs?: number } {
  const d = config.diagnoser;
  return {
    ...(d.windowMs !== undefined ? { windowMs: d.windowMs } : {}),
    ...(d.stepMs !== undefined ? { stepMs: d.stepMs } : {}),
    ...(d.sweepCron !== undefined ? { sweepCron: d.sweepCron } : {}),
    ...(d.rediagnoseMs !== undefined ? { rediagnoseMs: d.rediagnoseMs } : {}),
  };
}

/** The alerter's options set in `config.diagnoser` (`alertIntervalMs` → `intervalMs`). */
export function alerterSettings(config: ServerConfig): { intervalMs?: number } {
  return config.diagnoser.alertIntervalMs !== undefined ? { intervalMs: config.diagnoser.alertIntervalMs } : {};
}
