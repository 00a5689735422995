/**
 * `RuleSetManager`: holds the rule set in force and reloads it without a restart, on file changes
 * (fs.watch on the folder, debounced) or on an explicit `reload()`. An invalid edit never takes
 * effect: the last valid set stays in force and the problems (file, line, reason) are reported
 * through the logger, the `onError` listeners and `lastErrors`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { loadRules, type LoadRulesOptions } from './loader.ts';
import type { RuleError, RuleSet } from './types.ts';

/** What started a reload: an explicit `reload()` (the API, a test) or a change in the watched folder. */
export type ReloadTrigger = 'request' | 'file-change';

/** Outcome of a reload. */
export type ReloadResult = { ok: true; rules: RuleSet } | { ok: false; errors: RuleError[] };

/** Options of {@link RuleSetManager}. */
export interface RuleSetManagerOptions extends LoadRulesOptions {
  /** Default silentLogger. */
  logger?: Logger;
  /** Watch the folder and reload on changes. Default true. */
  watch?: boolean;
  /** Quiet time after the last file event before reloading, ms. Default 200. */
  debounceMs?: number;
}

/** Keeps the rule set of a folder current. See the module comment. */
export class RuleSetManager {
  private rules: RuleSet;
  private errors: RuleError[] = [];
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly log: Logger;
  private readonly changeListeners = new Set<(r: RuleSet, trigger: ReloadTrigger) => void>();
  private readonly errorListeners = new Set<(e: RuleError[], trigger: ReloadTrigger) => void>();
  private generationCount = 1;

  /**
   * Loads the folder at once. Throws StreamtuneError INVALID_RULES when the initial set is invalid
   * (there is no last valid set to keep yet).
   */
  constructor(readonly dir: string, private readonly opts: RuleSetManagerOptions = {}) {
    this.log = (opts.logger ?? silentLogger).namespace('rules');
    this.rules = loadRules(resolve(dir), opts);
    if (opts.watch !== false) {
      this.watcher = watch(resolve(dir), () => this.schedule());
      this.watcher.on('error', (err) => this.log.warn('rules folder watch failed', { dir, error: errorMessage(err) }));
    }
  }

  /** The rule set in force. */
  current(): RuleSet {
    return this.rules;
  }

  /** How many valid sets have been in force (1 after construction; +1 per successful reload). */
  generation(): number {
    return this.generationCount;
  }

  /** Problems of the last failed reload (empty after a successful one). */
  lastErrors(): RuleError[] {
    return this.errors;
  }

  /** Re-reads the folder now. On errors the previous set stays in force. `trigger` is passed to the listeners. */
  reload(trigger: ReloadTrigger = 'request'): ReloadResult {
    try {
      const next = loadRules(resolve(this.dir), this.opts);
      this.rules = next;
      this.errors = [];
      this.generationCount++;
      this.log.info('rules reloaded', { dir: this.dir, files: next.files.length, alerts: next.alerts.length });
      for (const l of this.changeListeners) this.safe(() => l(next, trigger));
      return { ok: true, rules: next };
    } catch (err) {
      const errors: RuleError[] =
        err instanceof StreamtuneError && Array.isArray(err.details.errors)
          ? (err.details.errors as RuleError[])
          : [{ file: this.dir, line: 0, column: 0, reason: errorMessage(err) }];
      this.errors = errors;
      for (const e of errors) this.log.error('invalid rules; keeping the last valid set', { file: e.file, line: e.line, reason: e.reason });
      for (const l of this.errorListeners) this.safe(() => l(errors, trigger));
      return { ok: false, errors };
    }
  }

  /** Calls `fn` with every new valid set and what started the reload. Returns an unsubscribe function. */
  onChange(fn: (r: RuleSet, trigger: ReloadTrigger) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Calls `fn` with the problems of every failed reload and what started it. Returns an unsubscribe function. */
  onError(fn: (e: RuleError[], trigger: ReloadTrigger) => void): () => void {
    this.errorListeners.add(fn);
    return () => this.errorListeners.delete(fn);
  }

  /** Stops watching. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.watcher) this.reload('file-change');
    }, this.opts.debounceMs ?? 200);
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn('rules listener failed', { error: errorMessage(err) });
    }
  }
}
