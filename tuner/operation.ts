/**
 * The operation runner: applies one decided {@link Operation} through a {@link JobExecutor}, the
 * realizer half of the Flink autoscaler's executor/realizer split (flink-kubernetes-operator, module flink-autoscaler).
 *
 *   PENDING → SAVEPOINTING (step 'savepoint': stop with savepoint) → STARTING (step 'start': start
 *   from it with the new parallelism / checkpointing; step 'wait-running': until RUNNING, at most
 *   `runningMs`) → VERIFYING (step 'verify': wait `verifyAfterMs`, then `verifyOperation`)
 *   → SUCCEEDED | INEFFECTIVE (kept; or with `onIneffective: 'rollback'` → ROLLING_BACK → ROLLED_BACK)
 *     | UNVERIFIED (kept: "not enough data" after VERIFY_ATTEMPTS looks, or the metrics could not be
 *       read; the user sees it needs a look — never SUCCEEDED without evidence)
 *     | ROLLING_BACK → ROLLED_BACK when the lag grows faster than before the change (verification's
 *       `worse`; policy `onWorse: 'rollback'`, the default)
 *
 * In place: when the job's executor rescales in place ({@link JobExecutor.rescalesInPlace}, Flink's
 * adaptive scheduler) and every action is a set-parallelism, there is no savepoint and no restart:
 *   PENDING → STARTING (step 'rescale': new parallelism requested, wait until the job runs with it)
 *   → VERIFYING → … as above; rollbacks rescale in place back to the previous parallelism.
 *   rescale refused → FAILED (the job keeps running unchanged); the job does not reach the new
 *   parallelism within `runningMs` → ROLLING_BACK (in place) → ROLLED_BACK, or FAILED when that fails.
 *
 *   savepoint fails or times out → FAILED (the job keeps running unchanged);
 *   start fails, or the job is not RUNNING within `runningMs` → ROLLING_BACK (start again from the
 *   same savepoint with the previous settings)
 *   → ROLLED_BACK, or FAILED when even that fails (the job needs a human; `error` says so).
 *
 * Every transition and step is journaled (fsync) BEFORE the step is taken and published on the bus
 * topic 'operations'. {@link recoverOperation} resumes or repairs an operation a crash interrupted,
 * from the journaled state and what the executor reports about the job now.
 */
import { randomBytes } from 'node:crypto';
import { errorMessage, isErrorCode, type EventBus, type Logger, StreamtuneError } from '../core/index.ts';
import type { MetricStore } from '../collector/index.ts';
import type { TuningAction } from '../diagnoser/index.ts';
import { findVertex, vertexRef, type CheckpointingSettings, type JobExecutor, type JobTopology, type ManagedJob } from '../platform/index.ts';
import type { OperationsJournal } from './journal.ts';
import { isTerminalOperationState, type Operation, type OperationState, type OperationStep, type TuningActionInput, type TuningPolicy, type TunerEvents } from './types.ts';
import { loadVerifyInput, VERIFY_SETTLE_MS, VERIFY_STEP_MS, verifyOperation } from './verify.ts';

/** Timeouts of the runner's executor calls, ms. */
export interface RunnerTimeouts {
  /** stop with savepoint. Default 120,000. */
  savepointMs: number;
  /** start → RUNNING. Default 60,000. */
  runningMs: number;
  /** wait for the first record after the start, for the downtime. Default 30,000. */
  firstRecordMs: number;
}

/** Verification attempts while the metrics are "not enough data" (each after max(5 s, verifyAfterMs / 2) more). */
export const VERIFY_ATTEMPTS = 3;

/** ms recovery keeps asking for a job that is not found, or found without its vertices yet (see `describeSettled`). */
export const SETTLE_MS = 60_000;

/** Default {@link RunnerTimeouts}. */
export const DEFAULT_RUNNER_TIMEOUTS: RunnerTimeouts = { savepointMs: 120_000, runningMs: 60_000, firstRecordMs: 30_000 };

/** What the runner works with. Everything is injected; `now` is the only clock. */
export interface RunnerContext {
  /** the executor of `kind` when given (the kind recorded with the operation), else of the job's kind (bundled runtime or Flink) */
  executorFor(jobId: string, kind?: 'bundled' | 'flink'): JobExecutor;
  journal: OperationsJournal;
  store: MetricStore;
  /** the job as the catalog knows it now (verification reads its topology and consumer group) */
  job(jobId: string): ManagedJob | undefined;
  /** the job's policy now */
  policy(jobId: string): TuningPolicy;
  bus?: EventBus<TunerEvents>;
  logger: Logger;
  /** ms since epoch */
  now(): number;
  timeouts: RunnerTimeouts;
  /** resolves after `ms` ms, or early (false) when the runner is being closed */
  sleep(ms: number): Promise<boolean>;
  /** called after each journaled change of an operation (a copy may be kept) */
  onSave?(op: Operation): void;
}

/** Target settings of an operation's actions, keyed by the executor's vertex ids. */
export interface TargetSettings {
  parallelism: Record<string, number>;
  checkpointing?: CheckpointingSettings;
}

/**
 * Resolves the vertex of every set-parallelism action against the job's topology: a {@link VertexRef}
 * by its id, a bare string by id, then by name. The result names each vertex by the topology's own
 * id and name. Other actions are copied.
 * @throws StreamtuneError INVALID_ARGUMENT naming `actions[i].vertex` for a vertex the job does not have.
 */
export function resolveActions(actions: readonly TuningActionInput[], topo: JobTopology): TuningAction[] {
  return actions.map((a, i) => {
    if (a.type !== 'set-parallelism') return structuredClone(a);
    const v = findVertex(topo.vertices, a.vertex);
    if (!v) {
      const asked = typeof a.vertex === 'string' ? a.vertex : `${a.vertex.name} (${a.vertex.id})`;
      throw new StreamtuneError('INVALID_ARGUMENT', `actions[${i}].vertex: job ${topo.name} has no vertex '${asked}' (vertices: ${topo.vertices.map((x) => x.name).join(', ')})`, { details: { field: `actions[${i}].vertex` } });
    }
    return { type: 'set-parallelism', vertex: vertexRef(v), from: a.from, to: a.to };
  });
}

/**
 * Maps actions onto the executor's topology: set-parallelism by vertex id → parallelism by the
 * executor's vertex id; set-checkpointing merged. Throws INVALID_ARGUMENT for an unknown vertex,
 * a parallelism outside [1, maxParallelism], or an action the executor cannot apply (set-memory).
 */
export function targetSettings(actions: readonly TuningAction[], topo: JobTopology): TargetSettings {
  const parallelism: Record<string, number> = {};
  let checkpointing: CheckpointingSettings | undefined;
  for (const [i, a] of actions.entries()) {
    if (a.type === 'set-parallelism') {
      const v = findVertex(topo.vertices, a.vertex);
      if (!v) {
        throw new StreamtuneError('INVALID_ARGUMENT', `actions[${i}].vertex: job ${topo.name} has no vertex '${a.vertex.name}' (${a.vertex.id}; vertices: ${topo.vertices.map((x) => x.name).join(', ')})`, { details: { field: `actions[${i}].vertex` } });
      }
      const max = v.maxParallelism > 0 ? v.maxParallelism : topo.maxParallelism > 0 ? topo.maxParallelism : 32768;
      if (!Number.isInteger(a.to) || a.to < 1 || a.to > max) {
        throw new StreamtuneError('INVALID_ARGUMENT', `actions[${i}].to: parallelism of '${v.name}' must be an integer in [1, ${max}] (its max parallelism), got ${a.to}`, { details: { field: `actions[${i}].to` } });
      }
      parallelism[v.id] = a.to;
    } else if (a.type === 'set-checkpointing') {
      const c: CheckpointingSettings = { ...(checkpointing ?? {}) };
      for (const k of ['interval', 'timeout', 'minPause'] as const) {
        const x = a[k];
        if (x === undefined) continue;
        if (!Number.isFinite(x) || x < 0) throw new StreamtuneError('INVALID_ARGUMENT', `actions[${i}].${k}: must be a non-negative number of ms, got ${x}`, { details: { field: `actions[${i}].${k}` } });
        c[k] = x;
      }
      if (a.unaligned !== undefined) c.unaligned = a.unaligned;
      checkpointing = c;
    } else {
      throw new StreamtuneError('INVALID_ARGUMENT', `actions[${i}]: '${a.type}' cannot be applied by a restart from savepoint (change the task manager's memory and restart the cluster)`, { details: { field: `actions[${i}].type` } });
    }
  }
  return checkpointing ? { parallelism, checkpointing } : { parallelism };
}

/** True when the job runs with every parallelism of `target` (vertex id → parallelism). */
export function runsWith(topo: JobTopology, target: Record<string, number>): boolean {
  return Object.entries(target).every(([id, p]) => findVertex(topo.vertices, id)?.parallelism === p);
}

/** Applies journaled operations; one instance per tuner service. */
export class OperationRunner {
  constructor(private readonly ctx: RunnerContext) {}

  /** Runs a PENDING operation to a terminal state; never throws for an operation's failure (it is
   * recorded in the operation), only when the journal cannot be written. */
  async run(op: Operation): Promise<Operation> {
    if (op.state !== 'PENDING') throw new StreamtuneError('INVALID_ARGUMENT', `operation ${op.id} is ${op.state}, not PENDING`);
    if (this.inPlace(op)) return this.rescale(op);
    return this.fromSavepoint(op);
  }

  /**
   * Resumes or repairs an operation that a crash interrupted (any non-terminal state), recording a
   * 'repair' step that says what was found and done:
   * - PENDING: nothing was done; marked FAILED (a stale decision is not applied later).
   * - SAVEPOINTING: job running → the stop did not take (or the job was started again from its
   *   latest snapshot): take the savepoint again and go on; job stopped → start from the recorded
   *   savepoint (or the job's latest) with the new settings.
   * - STARTING: running with the new settings → verify; running otherwise → savepoint again and
   *   start with the new settings; stopped → start from the recorded savepoint.
   * - VERIFYING: running → verify again over a new window; stopped → start again, then verify.
   * - ROLLING_BACK: running with the previous settings → ROLLED_BACK; otherwise roll back again.
   */
  async recover(op: Operation): Promise<Operation> {
    if (isTerminalOperationState(op.state)) return op;
    let topo: JobTopology | undefined;
    try {
      topo = await this.describeSettled(op);
    } catch (err) {
      await this.repair(op, `job ${op.job_id} not found after a restart: ${errorMessage(err)}`);
      return this.finish(op, 'FAILED', `interrupted in ${op.state} and the job is gone: ${errorMessage(err)}`);
    }
    const running = topo.state === 'RUNNING' || topo.state === 'RESTARTING' || topo.state === 'INITIALIZING' || topo.state === 'CREATED';
    const wasIn = op.state;
    let target: TargetSettings;
    try {
      target = targetSettings(op.actions, topo);
    } catch (err) {
      await this.repair(op, `cannot map the actions onto the job any more: ${errorMessage(err)}`);
      return this.finish(op, 'FAILED', errorMessage(err));
    }
    switch (wasIn) {
      case 'PENDING':
        await this.repair(op, 'streamtune restarted before the operation began; the job was not touched');
        return this.finish(op, 'FAILED', 'interrupted before it began (streamtune restarted); nothing was changed');
      case 'SAVEPOINTING':
        if (running) {
          await this.repair(op, `interrupted while stopping with a savepoint; the job is ${topo.state} with its previous settings: taking the savepoint again`);
          return this.fromSavepoint(op);
        }
        return this.startStopped(op, target, 'interrupted while stopping with a savepoint; the job is stopped');
      case 'STARTING':
        if (running && runsWith(topo, target.parallelism)) {
          await this.repair(op, `interrupted while starting; the job is ${topo.state} with the new settings: verifying`);
          await this.executorOf(op).waitUntilRunning(current(op), this.ctx.timeouts.runningMs).catch(() => undefined);
          return this.verify(op);
        }
        if (running && this.wasInPlace(op) && this.inPlace(op)) {
          await this.repair(op, `interrupted while rescaling in place; the job is ${topo.state} with its previous parallelism: rescaling again`);
          return this.rescale(op);
        }
        if (running) {
          await this.repair(op, `interrupted while starting; the job is ${topo.state} with its previous settings: taking a savepoint again to apply the new ones`);
          return this.fromSavepoint(op);
        }
        return this.startStopped(op, target, 'interrupted while starting; the job is stopped');
      case 'VERIFYING':
        if (running) {
          await this.repair(op, `interrupted while verifying; the job is ${topo.state}: verifying again over a new window`);
          return this.verify(op);
        }
        return this.startStopped(op, target, 'interrupted while verifying; the job is stopped');
      case 'ROLLING_BACK': {
        const ineffective = op.verification?.effective === false;
        if (running && runsWith(topo, op.previous.parallelism)) {
          await this.repair(op, `interrupted while rolling back; the job is ${topo.state} with the previous settings`);
          return this.finish(op, 'ROLLED_BACK', op.error ?? (ineffective ? `ineffective: ${op.verification?.reason ?? ''}` : 'rolled back'));
        }
        if (running) {
          await this.repair(op, `interrupted while rolling back; the job is ${topo.state} with the new settings: rolling back again`);
          return this.rollbackRunning(op, op.error ?? 'rolled back');
        }
        await this.repair(op, 'interrupted while rolling back; the job is stopped: starting it with the previous settings');
        const sp = this.latestSavepoint(op);
        if (!sp) return this.finish(op, 'FAILED', 'the job is stopped and no savepoint or checkpoint is known: start it by hand');
        return this.rollbackFrom(op, sp, op.error ?? 'rolled back');
      }
      default:
        return op;
    }
  }

  // ---- steps ------------------------------------------------------------------------------

  /** The executor of the operation's job: of the kind recorded with the operation (the catalog may
   * not list a stopped Flink job after a restart of streamtune), else of the job's kind now. */
  private executorOf(op: Operation): JobExecutor {
    return this.ctx.executorFor(op.job_id, op.executor);
  }

  /** The operation can be applied in place: the executor rescales in place and only parallelism changes. */
  private inPlace(op: Operation): boolean {
    const ex = this.executorOf(op);
    return ex.rescalesInPlace === true && typeof ex.rescaleInPlace === 'function' && op.actions.every((a) => a.type === 'set-parallelism');
  }

  /** The operation changed the job in place (it has a 'rescale' step). */
  private wasInPlace(op: Operation): boolean {
    return op.steps.some((s) => s.name === 'rescale');
  }

  /** STARTING (step 'rescale'): new parallelism in place, wait until the job runs with it, then verify. */
  private async rescale(op: Operation): Promise<Operation> {
    const ex = this.executorOf(op);
    let target: TargetSettings;
    try {
      target = targetSettings(op.actions, await ex.describe(op.job_id));
    } catch (err) {
      return this.finish(op, 'FAILED', `cannot rescale: ${errorMessage(err)}; nothing was changed`);
    }
    const step = await this.begin(op, 'rescale', 'STARTING', `in place to ${JSON.stringify(target.parallelism)} (no savepoint, no restart from it)`);
    const requestedAt = this.ctx.now();
    try {
      await ex.rescaleInPlace!(op.job_id, target.parallelism);
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      return this.finish(op, 'FAILED', `rescale in place refused, the job keeps running with its previous parallelism: ${errorMessage(err)}`);
    }
    try {
      await this.untilRunningWith(op, target.parallelism);
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      return this.rollbackInPlace(op, `rescale in place did not take: ${errorMessage(err)}`);
    }
    await this.end(op, step, 'succeeded', `running with ${JSON.stringify(target.parallelism)}`);
    // the adaptive scheduler restarts the tasks from the latest checkpoint: the executor measures the
    // tasks' downtime where it can (Flink: RESTARTING → every subtask RUNNING), else request → running
    const measured = await ex.downtimeMs?.(op.job_id, this.ctx.timeouts.firstRecordMs).catch(() => undefined);
    op.downtimeMs = measured ?? Math.max(0, this.ctx.now() - requestedAt);
    return this.verify(op);
  }

  /** Polls the job until it is RUNNING with `parallelism` (vertex id → parallelism); throws OPERATION_FAILED after `runningMs`. */
  private async untilRunningWith(op: Operation, parallelism: Record<string, number>): Promise<void> {
    const jobId = op.job_id;
    const deadline = this.ctx.now() + this.ctx.timeouts.runningMs;
    let last = 'unknown';
    for (;;) {
      try {
        const topo = await this.executorOf(op).describe(jobId);
        if (topo.state === 'RUNNING' && runsWith(topo, parallelism)) return;
        last = `${topo.state}, parallelism ${JSON.stringify(Object.fromEntries(topo.vertices.map((v) => [v.id, v.parallelism])))}`;
      } catch (err) {
        // the job is being restarted by the scheduler: its description may be incomplete for a moment
        if (isErrorCode(err, 'NOT_FOUND')) throw err;
        last = errorMessage(err);
      }
      if (this.ctx.now() >= deadline) break;
      if (!(await this.ctx.sleep(Math.min(500, Math.max(1, deadline - this.ctx.now()))))) break;
    }
    throw new StreamtuneError('OPERATION_FAILED', `job ${jobId} not running with ${JSON.stringify(parallelism)} after ${this.ctx.timeouts.runningMs} ms (now ${last})`, {
      retriable: true,
      details: { reason: 'timeout', jobId },
    });
  }

  /** ROLLING_BACK in place: back to the previous parallelism without a savepoint. */
  private async rollbackInPlace(op: Operation, why: string): Promise<Operation> {
    const step = await this.begin(op, 'rollback', 'ROLLING_BACK', `${why}; rescaling in place back to the previous parallelism`);
    op.error = why;
    try {
      await this.executorOf(op).rescaleInPlace!(op.job_id, op.previous.parallelism);
      await this.untilRunningWith(op, op.previous.parallelism);
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      return this.finish(op, 'FAILED', `${why}; rollback failed too: ${errorMessage(err)} — check the job's resource requirements (GET /jobs/${op.job_id}/resource-requirements)`);
    }
    await this.end(op, step, 'succeeded', 'running with the previous parallelism');
    return this.finish(op, 'ROLLED_BACK', why);
  }

  /** SAVEPOINTING → (STARTING ...). */
  private async fromSavepoint(op: Operation): Promise<Operation> {
    const step = await this.begin(op, 'savepoint', 'SAVEPOINTING');
    let savepointPath: string;
    try {
      ({ savepointPath } = await this.executorOf(op).stopWithSavepoint(current(op), { timeoutMs: this.ctx.timeouts.savepointMs }));
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      const late = err instanceof StreamtuneError && err.details.reason === 'timeout'
        ? ' (should the stop still complete, the job is started again from that savepoint with its previous settings)'
        : '';
      return this.finish(op, 'FAILED', `stop with savepoint failed, the job keeps running unchanged${late}: ${errorMessage(err)}`);
    }
    const stoppedAt = this.ctx.now();
    op.savepointPath = savepointPath;
    await this.end(op, step, 'succeeded', savepointPath);
    await this.ctx.journal.addSnapshot({ job_id: current(op), kind: 'savepoint', path: savepointPath, completedAt: stoppedAt, operationId: op.id });
    return this.startNew(op, savepointPath, stoppedAt);
  }

  /** STARTING: start from `savepointPath` with the new settings; on failure roll back. */
  private async startNew(op: Operation, savepointPath: string, stoppedAt: number | undefined): Promise<Operation> {
    // the stopped job's graph; if Flink cannot show it, the vertices the operation recorded (the
    // actions were checked against the job's graph when the operation was applied)
    const topo = (await this.describeSettled(op).catch(() => undefined)) ?? recordedTopology(op);
    let target: TargetSettings;
    try {
      target = targetSettings(op.actions, topo);
    } catch (err) {
      return this.rollbackFrom(op, savepointPath, `start refused: ${errorMessage(err)}`);
    }
    // a new job id is picked and journaled (with the step) before the start is asked for
    const from = current(op);
    const runAs = this.newJobId(op);
    const step = await this.begin(op, 'start', 'STARTING', `from ${savepointPath} with ${JSON.stringify(target)}${runAs ? ` as job ${runAs}` : ''}`);
    try {
      // every vertex's parallelism, not only the changed ones: Flink runs a vertex the restart does not
      // name at the parallelism the job was submitted with, which undoes an earlier rescale in place
      const parallelism = { ...op.previous.parallelism, ...target.parallelism };
      await this.executorOf(op).start({ jobId: from, savepointPath, parallelism, checkpointing: target.checkpointing, ...(runAs ? { runAs } : {}) });
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      return this.rollbackFrom(op, savepointPath, `start with the new settings failed: ${errorMessage(err)}`);
    }
    await this.end(op, step, 'succeeded', `started from ${savepointPath} with ${JSON.stringify(target)}${runAs ? ` as job ${runAs}` : ''}`);
    const wait = await this.begin(op, 'wait-running', 'STARTING', `until RUNNING, at most ${this.ctx.timeouts.runningMs} ms`);
    try {
      await this.executorOf(op).waitUntilRunning(current(op), this.ctx.timeouts.runningMs);
    } catch (err) {
      await this.end(op, wait, 'failed', errorMessage(err));
      return this.rollbackFrom(op, savepointPath, `the job did not run with the new settings: ${errorMessage(err)}`);
    }
    const runningAt = this.ctx.now();
    await this.end(op, wait, 'succeeded', `running, from ${savepointPath} with ${JSON.stringify(target)}`);
    const measured = await this.executorOf(op).downtimeMs?.(current(op), this.ctx.timeouts.firstRecordMs).catch(() => undefined);
    op.downtimeMs = measured ?? (stoppedAt !== undefined ? Math.max(0, runningAt - stoppedAt) : undefined);
    return this.verify(op);
  }

  /** The job is stopped in the middle of an operation: start it from the recorded savepoint. */
  private async startStopped(op: Operation, _target: TargetSettings, found: string): Promise<Operation> {
    const sp = this.latestSavepoint(op);
    if (!sp) {
      await this.repair(op, `${found}, and no savepoint or checkpoint is known`);
      return this.finish(op, 'FAILED', 'the job is stopped and no savepoint or checkpoint is known: start it by hand');
    }
    await this.repair(op, `${found}: starting it from ${sp} with the new settings`);
    return this.startNew(op, sp, undefined);
  }

  /** VERIFYING: wait `verifyAfterMs` after the restart, then compare. */
  private async verify(op: Operation): Promise<Operation> {
    const policy = this.ctx.policy(op.job_id);
    if (policy.verifyAfterMs <= 0) {
      const s = await this.begin(op, 'verify', 'VERIFYING');
      await this.end(op, s, 'skipped', 'verification disabled (verifyAfterMs 0)');
      return this.finish(op, 'SUCCEEDED');
    }
    const step = await this.begin(op, 'verify', 'VERIFYING', `comparing after ${policy.verifyAfterMs} ms${op.downtimeMs !== undefined ? `; downtime was ${op.downtimeMs} ms` : ''}`);
    // never before two lag steps after the settle time can exist: a shorter verifyAfterMs would spend
    // its looks on a window that cannot hold the two points a verdict needs, and end UNVERIFIED
    let wakeAt = step.startedAt + Math.max(policy.verifyAfterMs, VERIFY_SETTLE_MS + 2 * VERIFY_STEP_MS);
    let effective = true;
    // "not enough data" is no evidence either way: look again, up to VERIFY_ATTEMPTS times
    for (let attempt = 1; ; attempt++) {
      const left = wakeAt - this.ctx.now();
      if (left > 0 && !(await this.ctx.sleep(left))) return op; // closing: resumed by recover() later
      const now = this.ctx.now();
      const job = this.ctx.job(current(op)) ?? this.ctx.job(op.job_id);
      try {
        if (!job) throw new StreamtuneError('NOT_FOUND', `job ${current(op)} is not in the catalog`);
        const input = await loadVerifyInput(this.ctx.store, job, op, now);
        const v = verifyOperation(input, input.afterWindow);
        if (!v.effective && v.reason.startsWith('not enough data') && attempt < VERIFY_ATTEMPTS) {
          wakeAt = now + Math.max(5_000, policy.verifyAfterMs / 2);
          continue;
        }
        if (!v.effective && v.reason.startsWith('not enough data')) {
          op.verification = v;
          await this.end(op, step, 'failed', `could not verify: ${v.reason}`);
          return this.finish(op, 'UNVERIFIED', `applied, but not verified after ${attempt} attempts: ${v.reason}`);
        }
        op.verification = v;
        effective = v.effective;
        await this.end(op, step, 'succeeded', v.reason);
        break;
      } catch (err) {
        // no data to judge: keep the change, say so
        await this.end(op, step, 'failed', `could not verify: ${errorMessage(err)}`);
        return this.finish(op, 'UNVERIFIED', `applied, but not verified: ${errorMessage(err)}`);
      }
    }
    if (effective) return this.finish(op, 'SUCCEEDED');
    if (op.verification?.worse && policy.onWorse === 'rollback') return this.rollbackRunning(op, `ineffective: ${op.verification.reason}`);
    if (policy.onIneffective === 'rollback') return this.rollbackRunning(op, `ineffective: ${op.verification?.reason ?? ''}`);
    return this.finish(op, 'INEFFECTIVE', `ineffective: ${op.verification?.reason ?? ''}`);
  }

  /** ROLLING_BACK a running job (ineffective): stop with a new savepoint, start with the previous settings. */
  private async rollbackRunning(op: Operation, why: string): Promise<Operation> {
    if (this.wasInPlace(op) && this.inPlace(op)) return this.rollbackInPlace(op, why);
    const step = await this.begin(op, 'rollback', 'ROLLING_BACK', why);
    const sp = await this.executorOf(op)
      .stopWithSavepoint(current(op), { timeoutMs: this.ctx.timeouts.savepointMs })
      .catch((err: unknown) => err as Error);
    if (sp instanceof Error) {
      await this.end(op, step, 'failed', `stop with savepoint failed: ${errorMessage(sp)}`);
      // no checkpoint completed since the operation's savepoint (e.g. the new execution never got all
      // its tasks running): that savepoint still is the job's latest state, so restoring it loses and
      // repeats nothing
      const latest = this.ctx.journal.snapshots(current(op))[0];
      if (op.savepointPath && (!latest || latest.path === op.savepointPath)) return this.rollbackFrom(op, op.savepointPath, why);
      // still running with the new settings: the change stays
      return this.finish(op, 'INEFFECTIVE', `${why}; rollback not possible (stop with savepoint failed: ${errorMessage(sp)}), kept`);
    }
    await this.ctx.journal.addSnapshot({ job_id: current(op), kind: 'savepoint', path: sp.savepointPath, completedAt: this.ctx.now(), operationId: op.id });
    await this.end(op, step, 'succeeded', `savepoint ${sp.savepointPath}`);
    return this.rollbackFrom(op, sp.savepointPath, why);
  }

  /** ROLLING_BACK a stopped job: start from `savepointPath` with the previous settings. */
  private async rollbackFrom(op: Operation, savepointPath: string, why: string): Promise<Operation> {
    const from = current(op);
    const runAs = this.newJobId(op);
    const step = await this.begin(op, 'rollback', 'ROLLING_BACK', `${why}; starting from ${savepointPath} with the previous settings${runAs ? ` as job ${runAs}` : ''}`);
    op.error = why;
    try {
      await this.cancelOwnExecutions(op);
      await this.executorOf(op).start({ jobId: from, savepointPath, parallelism: op.previous.parallelism, checkpointing: op.previous.checkpointing as CheckpointingSettings | undefined, ...(runAs ? { runAs } : {}) });
      await this.executorOf(op).waitUntilRunning(current(op), this.ctx.timeouts.runningMs);
    } catch (err) {
      await this.end(op, step, 'failed', errorMessage(err));
      return this.finish(op, 'FAILED', `${why}; rollback failed too: ${errorMessage(err)} — the job is stopped; its savepoint is ${savepointPath}`);
    }
    await this.end(op, step, 'succeeded', 'running with the previous settings');
    return this.finish(op, 'ROLLED_BACK', why);
  }

  /**
   * For an executor that starts a job under a new id: a fresh JobID (32 hex digits), set as
   * `op.restartedAs` so that the journal record of the step about to begin carries it. Else undefined.
   */
  private newJobId(op: Operation): string | undefined {
    if (!this.executorOf(op).restartsUnderNewJobId) return undefined;
    op.restartedAs = randomBytes(16).toString('hex');
    op.startedJobIds = [...(op.startedJobIds ?? []), op.restartedAs];
    return op.restartedAs;
  }

  /**
   * Cancels every execution of the job this operation knows of — the job as applied to, and each
   * start it asked for — that is still running or waiting for resources (e.g. a start with more
   * subtasks than the cluster has slots, left behind by a crash during its rollback), so the start
   * about to be asked for gets the slots. Executions not found are skipped.
   */
  private async cancelOwnExecutions(op: Operation): Promise<void> {
    const ex = this.executorOf(op);
    for (const id of new Set([op.job_id, ...(op.startedJobIds ?? [])])) {
      const topo = await ex.describe(id).catch((err: unknown) => {
        if (isErrorCode(err, 'NOT_FOUND')) return undefined;
        throw err;
      });
      if (topo && (topo.state === 'RUNNING' || topo.state === 'INITIALIZING' || topo.state === 'RESTARTING' || topo.state === 'CREATED')) {
        this.ctx.logger.info(`operation ${op.id}: cancelling execution ${id} (${topo.state}) before starting the job again`, { operation_id: op.id, job_id: id });
        await ex.cancel(id);
      }
    }
  }

  /**
   * The job as it runs now: under `op.restartedAs` when the journal names one and it runs (a start
   * that never ran is forgotten), else under `op.job_id`; asking again for up to {@link SETTLE_MS}
   * while the job is not found: right
   * after a stop-with-savepoint completes, Flink can answer 404 for the stopped job, and a run that
   * was asked for just before a crash submits its job only once the jar's main() has run in the
   * JobManager (seconds on a loaded machine; both seen at recovery on the real cluster).
   */
  private async describeSettled(op: Operation): Promise<JobTopology> {
    const ex = this.executorOf(op);
    const settle = async (id: string): Promise<JobTopology | undefined> => {
      const deadline = this.ctx.now() + SETTLE_MS;
      for (;;) {
        try {
          const t = await ex.describe(id);
          // a Flink job just submitted (INITIALIZING) is found before its graph is known: no vertices
          // to map the actions onto yet (seen killing streamtune right after the jar run on a real cluster)
          if (t.vertices.length > 0 || this.ctx.now() >= deadline || !(await this.ctx.sleep(1000))) return t;
        } catch (err) {
          if (!isErrorCode(err, 'NOT_FOUND')) throw err;
          if (this.ctx.now() >= deadline || !(await this.ctx.sleep(1000))) return undefined;
        }
      }
    };
    // the execution the journal names first: it may be on its way (never start a second one beside it)
    const journaled = op.restartedAs;
    if (op.restartedAs !== undefined) {
      const t = await settle(op.restartedAs);
      if (t) return t;
      op.restartedAs = undefined; // the start under that id never ran: the job is where it was
    }
    const t = await settle(op.job_id);
    if (t) return t;
    throw new StreamtuneError('NOT_FOUND', `no job ${op.job_id}${journaled ? ` nor ${journaled}` : ''} within ${SETTLE_MS} ms`, { details: { jobId: op.job_id } });
  }

  // ---- journal ----------------------------------------------------------------------------

  /** Where to start a stopped job from: the operation's savepoint while the new execution has not
   * run yet (SAVEPOINTING, STARTING, ROLLING_BACK), else the job's latest recorded snapshot. */
  private latestSavepoint(op: Operation): string | undefined {
    const latest = (this.ctx.journal.snapshots(current(op))[0] ?? this.ctx.journal.snapshots(op.job_id)[0])?.path;
    return op.state === 'VERIFYING' ? (latest ?? op.savepointPath) : (op.savepointPath ?? latest);
  }

  private async save(op: Operation): Promise<void> {
    op.updatedAt = this.ctx.now();
    await this.ctx.journal.putOperation(op);
    this.ctx.onSave?.(structuredClone(op));
    if (this.ctx.bus) {
      await this.ctx.bus.publish('operations', structuredClone(op)).catch((err: unknown) => this.ctx.logger.warn('publishing an operation failed', { operation_id: op.id, error: errorMessage(err) }));
    }
  }

  /** Journals a step as started (with the state it belongs to) before it is taken. */
  private async begin(op: Operation, name: string, state: OperationState, message?: string): Promise<OperationStep> {
    const step: OperationStep = { name, status: 'started', startedAt: this.ctx.now(), ...(message ? { message } : {}) };
    op.state = state;
    op.steps.push(step);
    await this.save(op);
    this.ctx.logger.info(`operation ${op.id}: ${state} (${name})`, { operation_id: op.id, job_id: op.job_id, state, step: name });
    return step;
  }

  private async end(op: Operation, step: OperationStep, status: OperationStep['status'], message?: string): Promise<void> {
    step.status = status;
    step.finishedAt = this.ctx.now();
    if (message !== undefined) step.message = message;
    await this.save(op);
  }

  private async repair(op: Operation, message: string): Promise<void> {
    const now = this.ctx.now();
    op.steps.push({ name: 'repair', status: 'succeeded', startedAt: now, finishedAt: now, message });
    await this.save(op);
    this.ctx.logger.warn(`operation ${op.id}: repair: ${message}`, { operation_id: op.id, job_id: op.job_id });
  }

  private async finish(op: Operation, state: OperationState, error?: string): Promise<Operation> {
    op.state = state;
    if (error !== undefined && state !== 'SUCCEEDED') op.error = error;
    op.finishedAt = this.ctx.now();
    await this.save(op);
    const log = state === 'SUCCEEDED' ? this.ctx.logger.info : this.ctx.logger.warn;
    log.call(this.ctx.logger, `operation ${op.id}: ${state}${error ? `: ${error}` : ''}`, { operation_id: op.id, job_id: op.job_id, state, downtime_ms: op.downtimeMs ?? null });
    return op;
  }
}

/** The id the operation's job runs under now: `op.restartedAs` (set at its latest start), else `op.job_id`. */
export function current(op: Pick<Operation, 'job_id' | 'restartedAs'>): string {
  return op.restartedAs ?? op.job_id;
}

/** A topology of the vertices `op.previous` recorded (ids only), for mapping its actions when the job cannot be described. */
function recordedTopology(op: Operation): JobTopology {
  return {
    jobId: current(op), name: op.job_name ?? op.job_id, state: 'FINISHED', maxParallelism: -1,
    vertices: Object.entries(op.previous.parallelism).map(([id, parallelism]) => ({ id, name: id, parallelism, maxParallelism: Number.MAX_SAFE_INTEGER, inputs: [] })),
  };
}
