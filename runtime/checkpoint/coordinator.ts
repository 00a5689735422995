/**
 * The checkpoint coordinator of one job attempt (Flink's `CheckpointCoordinator`, simplified to one
 * checkpoint at a time): triggers periodic checkpoints (interval, min pause), savepoints on request,
 * collects every subtask's acknowledgement, writes the checkpoint file, notifies completion, and
 * fails a checkpoint that exceeds its timeout (counted in numberOfFailedCheckpoints).
 *
 * The timeout is enforced twice: by a timer, and when the last acknowledgement arrives and again
 * after the checkpoint file is written. The timer alone is not enough in one process: while the
 * event loop is busy (the snapshots themselves run on it) the acks can all arrive before the timer
 * callback runs, and a checkpoint that took several times its timeout would complete. A checkpoint
 * whose duration exceeds its timeout therefore never completes (Flink's CheckpointCanceller
 * semantics: expired = not completed within `execution.checkpointing.timeout`).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type Logger, StreamtuneError } from '../../core/index.ts';
import type { OperatorSnapshot } from '../operators/types.ts';
import type { CheckpointAcker, CheckpointParticipant } from '../task.ts';
import { pruneCheckpoints, writeCheckpointDir, type CheckpointMetadata, type SubtaskState } from './storage.ts';

/** A completed checkpoint or savepoint. */
export interface CompletedCheckpoint {
  id: number;
  path: string;
  savepoint: boolean;
  /** ms epoch */
  timestamp: number;
  /** ms */
  duration: number;
  /** bytes */
  size: number;
}

/** Checkpoint counters and the last completed checkpoint, reported as Flink's job metrics. */
export interface CheckpointStats {
  numberOfCompletedCheckpoints: number;
  numberOfFailedCheckpoints: number;
  numberOfInProgressCheckpoints: number;
  /** ms */
  lastCheckpointDuration: number;
  /** bytes */
  lastCheckpointSize: number;
  lastCompleted: CompletedCheckpoint | undefined;
  /** every checkpoint and savepoint of the job, newest last (bounded to the last 100) */
  history: Array<CompletedCheckpoint | { id: number; savepoint: boolean; timestamp: number; failed: string }>;
}

/** Settings of the coordinator (compiled from the job spec). */
export interface CoordinatorSettings {
  /** ms, 0 = no periodic checkpoints */
  interval: number;
  /** ms */
  timeout: number;
  /** ms */
  minPause: number;
  retained: number;
  dir: string;
  /** periodic checkpoints unaligned (savepoints stay aligned, as in Flink). Default false. */
  unaligned?: boolean;
}

/** ms between attempts to trigger a due periodic checkpoint while not every subtask runs. */
const PERIODIC_RETRY_MS = 50;

interface Pending {
  id: number;
  savepoint: boolean;
  stop: boolean;
  targetDir: string | undefined;
  triggeredAt: number;
  acks: Map<CheckpointParticipant, OperatorSnapshot>;
  resolve: (c: CompletedCheckpoint) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Coordinates checkpoints of one attempt. Stats are shared across attempts of the job. */
export class CheckpointCoordinator implements CheckpointAcker {
  private pending: Pending | undefined;
  private queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  /** ms epoch the last checkpoint or savepoint ended (completed or failed) */
  private lastEnd = 0;
  /** ms epoch the last periodic checkpoint was triggered */
  private lastTrigger = 0;
  private periodic = false;
  private stopped = false;

  constructor(
    private readonly job: { name: string; id: string; maxParallelism: number },
    private readonly settings: CoordinatorSettings,
    private readonly subtasks: readonly CheckpointParticipant[],
    private readonly vertexParallelism: Record<string, number>,
    readonly stats: CheckpointStats,
    private nextId: () => number,
    private readonly logger: Logger,
    private readonly canCheckpoint: () => boolean,
  ) {}

  /**
   * Starts periodic checkpoints, as Flink's CheckpointCoordinator schedules them: the next one is
   * triggered `interval` ms after the previous periodic trigger, but never sooner than `minPause` ms
   * after the previous checkpoint or savepoint *ended* (completed or failed), and never while one is
   * in progress — so a checkpoint that completes in milliseconds is not followed by a second one in
   * the same interval.
   */
  start(): void {
    if (this.settings.interval <= 0) return;
    const now = Date.now();
    this.lastEnd = now;
    this.lastTrigger = now;
    this.periodic = true;
    this.arm();
  }

  /** (Re-)arms the periodic timer for the next due time; a no-op while a checkpoint is in progress (its end re-arms). */
  private arm(retryMs = 0): void {
    if (!this.periodic || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending || this.queue.length > 0) return;
    const due = Math.max(this.lastTrigger + this.settings.interval, this.lastEnd + this.settings.minPause, Date.now() + retryMs) - Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped || this.pending || this.queue.length > 0) return;
      // not every subtask runs yet (starting, restarting): try again shortly
      if (!this.canCheckpoint()) return this.arm(PERIODIC_RETRY_MS);
      this.lastTrigger = Date.now();
      this.trigger({ savepoint: false, stop: false }).catch(() => {});
    }, Math.max(0, due));
    this.timer.unref();
  }

  /** Stops periodic checkpoints and fails a pending one. */
  stop(reason = 'job stopping'): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pending) this.fail(this.pending, reason, false);
    for (const q of this.queue) q();
    this.queue = [];
  }

  /**
   * Triggers a checkpoint or savepoint; resolves when it completed and every subtask was notified.
   * Rejects with CHECKPOINT_TIMEOUT or CHECKPOINT_FAILED.
   */
  trigger(req: { savepoint: boolean; stop: boolean; targetDir?: string }): Promise<CompletedCheckpoint> {
    if (this.stopped) return Promise.reject(new StreamtuneError('JOB_STATE', 'the job is not running'));
    if (this.pending) {
      // one at a time: run after the pending one
      return new Promise<void>((r) => this.queue.push(r)).then(() => this.trigger(req));
    }
    const id = this.nextId();
    const triggeredAt = Date.now();
    return new Promise<CompletedCheckpoint>((resolve, reject) => {
      const p: Pending = {
        id,
        savepoint: req.savepoint,
        stop: req.stop,
        targetDir: req.targetDir,
        triggeredAt,
        acks: new Map(),
        resolve,
        reject,
        timer: setTimeout(() => this.fail(p, this.expiryReason(id), true), this.settings.timeout),
      };
      p.timer.unref();
      this.pending = p;
      this.stats.numberOfInProgressCheckpoints = 1;
      for (const s of this.subtasks) {
        if (s.kind === 'source') s.trigger({ checkpointId: id, savepoint: req.savepoint, stop: req.stop, triggeredAt, unaligned: !req.savepoint && (this.settings.unaligned ?? false) });
      }
    });
  }

  /** Completes a checkpoint of a finished job directly from every subtask's final state. */
  async finalCheckpoint(): Promise<CompletedCheckpoint> {
    const id = this.nextId();
    const acks = new Map<CheckpointParticipant, OperatorSnapshot>();
    for (const s of this.subtasks) acks.set(s, await s.snapshotNow(id));
    return this.complete({ id, savepoint: false, targetDir: undefined, triggeredAt: Date.now(), acks });
  }

  ack(checkpointId: number, subtask: CheckpointParticipant, snapshot: OperatorSnapshot): void {
    const p = this.pending;
    if (!p || p.id !== checkpointId) return; // late ack of a failed checkpoint
    p.acks.set(subtask, snapshot);
    if (p.acks.size === this.subtasks.length) {
      if (this.expired(p)) return;
      this.complete(p).then(p.resolve, (err) => {
        p.reject(err as Error);
      });
    }
  }

  decline(checkpointId: number, subtask: CheckpointParticipant, reason: string): void {
    const p = this.pending;
    if (p && p.id === checkpointId) this.fail(p, `declined by ${subtask.vertex}#${subtask.index}: ${reason}`, true);
  }

  private fail(p: Pending, reason: string, count: boolean): void {
    if (this.pending !== p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    this.stats.numberOfInProgressCheckpoints = 0;
    if (count) this.stats.numberOfFailedCheckpoints++;
    this.stats.history.push({ id: p.id, savepoint: p.savepoint, timestamp: p.triggeredAt, failed: reason });
    if (this.stats.history.length > 100) this.stats.history.shift();
    this.lastEnd = Date.now();
    this.logger.warn(`${p.savepoint ? 'savepoint' : 'checkpoint'} ${p.id} failed: ${reason}`, { checkpoint_id: p.id });
    if (p.stop) for (const s of this.subtasks) if (s.kind === 'source') s.resume();
    p.reject(new StreamtuneError(reason.includes('expired') ? 'CHECKPOINT_TIMEOUT' : 'CHECKPOINT_FAILED', reason, { retriable: true }));
    this.next();
  }

  /** Fails the pending checkpoint `p` as expired when it has run longer than the timeout; true if it did. */
  private expired(p: Pending): boolean {
    if (Date.now() - p.triggeredAt <= this.settings.timeout) return false;
    this.fail(p, this.expiryReason(p.id), true);
    return true;
  }

  private expiryReason(id: number): string {
    return `checkpoint ${id} expired before completing (timeout ${this.settings.timeout} ms)`;
  }

  /** Runs the next queued trigger, or re-arms the periodic timer when none waits. */
  private next(): void {
    const q = this.queue.shift();
    if (q) q();
    else this.arm();
  }

  private async complete(p: Pick<Pending, 'id' | 'savepoint' | 'targetDir' | 'triggeredAt' | 'acks'> & { timer?: NodeJS.Timeout }): Promise<CompletedCheckpoint> {
    if (p.timer) clearTimeout(p.timer);
    const vertices: CheckpointMetadata['vertices'] = {};
    for (const [v, par] of Object.entries(this.vertexParallelism)) vertices[v] = { parallelism: par, subtasks: new Array<SubtaskState>(par) };
    for (const [s, snap] of p.acks) {
      vertices[s.vertex]!.subtasks[s.index] = { list: snap.list ?? [], keyed: snap.keyed ? [...snap.keyed.entries()] : [] };
      for (const b of snap.inflight ?? []) {
        if (b.values.length === 0) continue;
        const v = vertices[b.vertex]!;
        (v.inflight ??= []).push({ edge: b.edge, values: b.values, ts: b.ts });
      }
    }
    const meta: CheckpointMetadata = {
      jobName: this.job.name,
      jobId: this.job.id,
      checkpointId: p.id,
      timestamp: p.triggeredAt,
      savepoint: p.savepoint,
      maxParallelism: this.job.maxParallelism,
      vertices,
    };
    const path = p.savepoint
      ? join(p.targetDir ?? join(this.settings.dir, 'savepoints'), `savepoint-${this.job.id.slice(0, 6)}-${p.id}-${randomBytes(4).toString('hex')}`)
      : join(this.settings.dir, `chk-${p.id}`);
    let size: number;
    try {
      size = writeCheckpointDir(path, meta);
    } catch (err) {
      const reason = `writing ${path} failed: ${(err as Error).message}`;
      if (this.pending === p) this.fail(this.pending, reason, true);
      throw new StreamtuneError('CHECKPOINT_FAILED', reason, { cause: err, retriable: true });
    }
    if (this.pending === p && this.expired(this.pending)) {
      rmSync(path, { recursive: true, force: true });
      throw new StreamtuneError('CHECKPOINT_TIMEOUT', this.expiryReason(p.id), { retriable: true });
    }
    const done: CompletedCheckpoint = { id: p.id, path, savepoint: p.savepoint, timestamp: p.triggeredAt, duration: Date.now() - p.triggeredAt, size };
    if (!p.savepoint) pruneCheckpoints(this.settings.dir, this.settings.retained);
    this.stats.numberOfCompletedCheckpoints++;
    this.stats.numberOfInProgressCheckpoints = 0;
    this.stats.lastCheckpointDuration = done.duration;
    this.stats.lastCheckpointSize = size;
    this.stats.lastCompleted = done;
    this.stats.history.push(done);
    if (this.stats.history.length > 100) this.stats.history.shift();
    if (this.pending === p) this.pending = undefined;
    this.lastEnd = Date.now();
    for (const s of this.subtasks) await s.notifyComplete(p.id);
    this.logger.info(`${p.savepoint ? 'savepoint' : 'checkpoint'} ${p.id} completed`, { checkpoint_id: p.id, path, duration_ms: done.duration, size_bytes: size });
    this.next();
    return done;
  }
}
