/**
 * The tuner's guardrails as pure functions: the per-job {@link TuningPolicy} with its defaults and
 * validation, the key that identifies "the same action" across operations, the Dhalion-style
 * blacklist of actions found ineffective, and {@link checkGuardrails}, which decides whether an
 * operation may start now. Plain data in, plain data out; `now` is always passed in.
 *
 * Sources: Ververica Autopilot / Alibaba's variant (modes, cooldown, max parallelism, silent
 * periods), Dhalion (VLDB 2017: an action that did not help is not repeated), the Flink Kubernetes
 * operator's autoscaler (ineffective scale-up detection, `job.autoscaler.scaling.effectiveness.*`).
 * See docs/PRIOR-ART.md.
 */
import type { TuningAction } from '../diagnoser/index.ts';
import { StreamtuneError } from '../core/index.ts';
import { isTerminalOperationState, type BlockedAction, type Operation, type TuningPolicy } from './types.ts';

/** ms in one hour: the rolling window of {@link TuningPolicy.maxOperationsPerHour}. */
const HOUR_MS = 3_600_000;

/** Flink's largest max parallelism (`KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM`). */
const UPPER_BOUND_MAX_PARALLELISM = 32_768;

/**
 * The default policy: recommend-only (Ververica's MONITORING mode: nothing changes without a click),
 * cooldown 600,000 ms (10 min, Alibaba's Autopilot default), max parallelism 32, at most 2 auto
 * operations per rolling hour, no time-window restriction, verification 60,000 ms after the
 * restart, ineffective operations kept and marked (but rolled back when the lag grows faster than
 * before), and their action blocked for 3,600,000 ms (1 h).
 */
export const DEFAULT_POLICY: TuningPolicy = Object.freeze({
  mode: 'recommend',
  cooldownMs: 600_000,
  maxParallelism: 32,
  maxOperationsPerHour: 2,
  allowedWindows: Object.freeze([]) as unknown as string[],
  verifyAfterMs: 60_000,
  onIneffective: 'mark',
  onWorse: 'rollback',
  blockIneffectiveMs: 3_600_000,
}) as TuningPolicy;

const WINDOW_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

function invalid(field: string, rule: string, got: unknown): StreamtuneError {
  return new StreamtuneError('INVALID_CONFIG', `tuning policy: ${field} ${rule}, got ${JSON.stringify(got)}`, { details: { field, rule } });
}

function checkInt(p: TuningPolicy, field: 'cooldownMs' | 'maxParallelism' | 'maxOperationsPerHour' | 'verifyAfterMs' | 'blockIneffectiveMs', min: number, max = Number.MAX_SAFE_INTEGER): void {
  const v = p[field] as unknown;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw invalid(field, `must be an integer ${range}`, v);
  }
}

/**
 * Fills the defaults of {@link DEFAULT_POLICY} into `partial` (fields that are `undefined` take the
 * default) and validates the result. Returns a new object; `allowedWindows` is copied.
 *
 * Rules: `mode` is 'recommend' or 'auto'; `cooldownMs`, `verifyAfterMs`, `blockIneffectiveMs` and
 * `maxOperationsPerHour` are integers ≥ 0 (ms, ms, ms, operations); `maxParallelism` an integer in
 * [1, 32768]; `allowedWindows` an array of 'HH:MM-HH:MM' strings (24-hour local time; start > end
 * crosses midnight; start = end means the whole day); `onIneffective` is 'mark' or 'rollback'; `onWorse` is 'rollback' or 'mark';
 * no other fields.
 *
 * @throws StreamtuneError INVALID_CONFIG naming the field and the rule it breaks
 *   (`details.field`, `details.rule`).
 * @example resolvePolicy({ mode: 'auto', allowedWindows: ['22:00-06:00'] })
 */
export function resolvePolicy(partial: Partial<TuningPolicy> = {}): TuningPolicy {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) throw invalid('policy', 'must be an object', partial);
  const known = new Set(Object.keys(DEFAULT_POLICY));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw invalid(k, `is not a policy field (known: ${[...known].join(', ')})`, (partial as Record<string, unknown>)[k]);
  const p: TuningPolicy = { ...DEFAULT_POLICY, allowedWindows: [...DEFAULT_POLICY.allowedWindows] };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  if (p.mode !== 'recommend' && p.mode !== 'auto') throw invalid('mode', 'must be "recommend" or "auto"', p.mode);
  checkInt(p, 'cooldownMs', 0);
  checkInt(p, 'maxParallelism', 1, UPPER_BOUND_MAX_PARALLELISM);
  checkInt(p, 'maxOperationsPerHour', 0);
  checkInt(p, 'verifyAfterMs', 0);
  checkInt(p, 'blockIneffectiveMs', 0);
  if (p.onIneffective !== 'mark' && p.onIneffective !== 'rollback') throw invalid('onIneffective', 'must be "mark" or "rollback"', p.onIneffective);
  if (p.onWorse !== 'mark' && p.onWorse !== 'rollback') throw invalid('onWorse', 'must be "rollback" or "mark"', p.onWorse);
  if (!Array.isArray(p.allowedWindows)) throw invalid('allowedWindows', 'must be an array of "HH:MM-HH:MM" strings', p.allowedWindows);
  p.allowedWindows.forEach((w, i) => {
    if (typeof w !== 'string' || !WINDOW_RE.test(w)) throw invalid(`allowedWindows[${i}]`, 'must be "HH:MM-HH:MM" (24-hour local time, e.g. "22:00-06:00")', w);
  });
  p.allowedWindows = [...p.allowedWindows];
  return p;
}

/**
 * A stable key for "the same action" on one job, used to block actions found ineffective:
 * - set-parallelism → `set-parallelism:<JobVertexID>:up|down|same` (direction from `from` → `to`),
 *   e.g. 'set-parallelism:0a448493b4782967b150582570326227:up';
 * - set-checkpointing → 'set-checkpointing';
 * - set-memory → 'set-memory:up' (the action carries no previous size; the diagnoser only ever
 *   raises memory for memory pressure, so every set-memory is taken as an increase).
 */
export function actionKey(a: TuningAction): string {
  switch (a.type) {
    case 'set-parallelism':
      return `set-parallelism:${a.vertex.id}:${a.to > a.from ? 'up' : a.to < a.from ? 'down' : 'same'}`;
    case 'set-checkpointing':
      return 'set-checkpointing';
    case 'set-memory':
      return 'set-memory:up';
  }
}

/** ms since epoch when a terminal operation ended: `finishedAt`, else `updatedAt`. */
function endOf(op: Operation): number {
  return op.finishedAt ?? op.updatedAt;
}

/**
 * The block, if any, that keeps a recommendation's actions from being applied: of the blocks
 * matching one of `actions` by {@link actionKey}, the one that lasts longest; undefined when none.
 * Pure.
 */
export function blockOf(actions: readonly TuningAction[], blocked: readonly BlockedAction[]): BlockedAction | undefined {
  const keys = new Set(actions.map(actionKey));
  let out: BlockedAction | undefined;
  for (const b of blocked) if (keys.has(b.actionKey) && (!out || b.until > out.until)) out = b;
  return out;
}

/**
 * The actions blocked at `now`: every action of an operation that ended INEFFECTIVE, or
 * ROLLED_BACK because verification found it ineffective (`verification.effective === false`; a
 * rollback after a failed start blocks nothing), is blocked for the same job for
 * `policy.blockIneffectiveMs` ms after the operation ended (`finishedAt`, else `updatedAt`).
 * One entry per job and action key, the latest `until` kept.
 *
 * This is Dhalion's rule that a resolver whose action did not help is not invoked again, with the
 * Flink autoscaler's ineffective scale-up detection (`scaling.effectiveness.detection.enabled`,
 * which blocks further scale-ups of the vertex) deciding "did not help" (see tuner/verify.ts).
 */
export function blockedActions(history: readonly Operation[], policy: TuningPolicy, now: number): BlockedAction[] {
  const out = new Map<string, BlockedAction>();
  for (const op of history) {
    const ineffective = op.state === 'INEFFECTIVE' || (op.state === 'ROLLED_BACK' && op.verification?.effective === false);
    if (!ineffective) continue;
    const until = endOf(op) + policy.blockIneffectiveMs;
    if (until <= now) continue;
    const why = op.verification?.reason ? `: ${op.verification.reason}` : '';
    for (const a of op.actions) {
      const key = actionKey(a);
      const id = `${op.job_id}\u0000${key}`;
      const prev = out.get(id);
      if (prev && prev.until >= until) continue;
      out.set(id, { job_id: op.job_id, actionKey: key, until, operationId: op.id, reason: `operation ${op.id} was ${op.state === 'INEFFECTIVE' ? 'ineffective' : 'rolled back as ineffective'}${why}` });
    }
  }
  return [...out.values()];
}

/** The answer of {@link checkGuardrails}. `retryAfterMs` (ms) when waiting will lift the refusal. */
export type GuardrailResult =
  | { allowed: true }
  | { allowed: false; code: 'CONFLICT' | 'FORBIDDEN'; reason: string; retryAfterMs?: number };

/** Minutes since local midnight of `now` in `timeZone` (IANA name; default the process's). */
function localMinutes(now: number, timeZone: string | undefined): number {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) });
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `timeZone must be an IANA time zone name, got ${JSON.stringify(timeZone)}`, { cause: err, details: { field: 'timeZone' } });
  }
  const parts = fmt.formatToParts(new Date(now));
  const h = Number(parts.find((x) => x.type === 'hour')?.value ?? 0) % 24;
  const m = Number(parts.find((x) => x.type === 'minute')?.value ?? 0);
  return h * 60 + m;
}

/**
 * Whether `minutes` (since local midnight) is inside the window 'HH:MM-HH:MM': start inclusive, end
 * exclusive; start > end crosses midnight; start = end is the whole day.
 */
export function insideWindow(window: string, minutes: number): boolean {
  const m = WINDOW_RE.exec(window);
  if (!m) throw invalid('allowedWindows', 'must be "HH:MM-HH:MM"', window);
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  if (start === end) return true;
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

/**
 * Decides whether an operation with `actions` may start on a job at `now` (ms since epoch).
 * `history` holds this job's operations (any order). Checks, in order:
 * 1. an operation of the job is not terminal → CONFLICT (it owns the job);
 * 2. the last terminal operation (any origin, any outcome) ended less than `policy.cooldownMs` ms
 *    ago → CONFLICT with `retryAfterMs` = ms left;
 * 3. an action is blocked as ineffective ({@link blockedActions}) → FORBIDDEN with `retryAfterMs`;
 * 4. for `origin: 'auto'` only:
 *    - `policy.mode` is not 'auto' → FORBIDDEN;
 *    - a set-parallelism action targets more than `policy.maxParallelism` → FORBIDDEN;
 *    - `policy.maxOperationsPerHour` auto operations were created in the last rolling hour →
 *      FORBIDDEN with `retryAfterMs` until the oldest of them leaves the hour;
 *    - `policy.allowedWindows` is not empty and the local time of `now` in `timeZone` (IANA name,
 *      default the process's) is inside none of them → FORBIDDEN.
 *
 * @throws StreamtuneError INVALID_CONFIG for an unknown `timeZone` or a malformed window.
 */
export function checkGuardrails(input: {
  policy: TuningPolicy;
  origin: 'user' | 'auto';
  actions: TuningAction[];
  history: readonly Operation[];
  now: number;
  timeZone?: string;
}): GuardrailResult {
  const { policy, origin, actions, history, now } = input;
  const running = history.find((op) => !isTerminalOperationState(op.state));
  if (running) return { allowed: false, code: 'CONFLICT', reason: `operation ${running.id} is in progress (${running.state})` };

  let last: Operation | undefined;
  for (const op of history) if (!last || endOf(op) > endOf(last)) last = op;
  if (last) {
    const left = endOf(last) + policy.cooldownMs - now;
    if (left > 0) {
      return { allowed: false, code: 'CONFLICT', reason: `cooldown: operation ${last.id} ended ${Math.max(0, now - endOf(last))} ms ago, cooldown is ${policy.cooldownMs} ms`, retryAfterMs: left };
    }
  }

  const keys = new Set(actions.map(actionKey));
  const blocked = blockedActions(history, policy, now).filter((b) => keys.has(b.actionKey));
  if (blocked.length > 0) {
    const b = blocked.reduce((x, y) => (y.until > x.until ? y : x));
    return { allowed: false, code: 'FORBIDDEN', reason: `${b.actionKey} is blocked for this job until ${new Date(b.until).toISOString()}: ${b.reason}`, retryAfterMs: b.until - now };
  }

  if (origin === 'auto') {
    if (policy.mode !== 'auto') return { allowed: false, code: 'FORBIDDEN', reason: `policy mode is "${policy.mode}": automatic operations are off` };
    for (const a of actions) {
      if (a.type === 'set-parallelism' && a.to > policy.maxParallelism) {
        return { allowed: false, code: 'FORBIDDEN', reason: `parallelism ${a.to} for ${a.vertex.name} exceeds the policy's maxParallelism ${policy.maxParallelism}` };
      }
    }
    const recent = history.filter((op) => op.origin === 'auto' && op.createdAt > now - HOUR_MS).map((op) => op.createdAt).sort((a, b) => a - b);
    if (recent.length >= policy.maxOperationsPerHour) {
      const retry = policy.maxOperationsPerHour > 0 ? recent[recent.length - policy.maxOperationsPerHour]! + HOUR_MS - now : undefined;
      const r: GuardrailResult = { allowed: false, code: 'FORBIDDEN', reason: `${recent.length} automatic operations in the last hour, the policy allows ${policy.maxOperationsPerHour}` };
      if (retry !== undefined && retry > 0) r.retryAfterMs = retry;
      return r;
    }
    if (policy.allowedWindows.length > 0) {
      const minutes = localMinutes(now, input.timeZone);
      if (!policy.allowedWindows.some((w) => insideWindow(w, minutes))) {
        const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        return { allowed: false, code: 'FORBIDDEN', reason: `local time ${hhmm}${input.timeZone ? ` (${input.timeZone})` : ''} is outside the allowed windows ${policy.allowedWindows.join(', ')}` };
      }
    }
  }
  return { allowed: true };
}
