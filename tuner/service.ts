/**
 * The tuner service ({@link TunerService}): decides whether an operation may start (actions checked
 * against the job's topology, one operation per job, guardrails and blocked ineffective actions from
 * `tuner/policy.ts`), journals it, and hands it to the {@link OperationRunner} that applies it.
 * Auto mode (`policy.mode: 'auto'`) considers each diagnosis published on the bus topic 'diagnoses'.
 *
 * Per-job policies: the options' `policies` (keys: job id, job name or '*', most specific wins over
 * '*' < name < id) with the overrides set through {@link TunerService.setPolicy} on top, kept in
 * `<dataDir>/operations/policies.json`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, type EventBus, isErrorCode, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { MetricStore } from '../collector/index.ts';
import type { DiagnoserEvents, Diagnosis, DiagnosisStore, Recommendation, TuningAction } from '../diagnoser/index.ts';
import { applicability, type Applicability } from './applicability.ts';
import { findVertex, type JobCatalog, type JobExecutor, type JobTopology, type ManagedJob, type SnapshotRecord } from '../platform/index.ts';
import { openJournal, type OperationsJournal } from './journal.ts';
import { DEFAULT_RUNNER_TIMEOUTS, OperationRunner, resolveActions, targetSettings, type RunnerTimeouts } from './operation.ts';
import { actionKey, blockedActions, checkGuardrails, resolvePolicy } from './policy.ts';
import { isTerminalOperationState, type ApplyRequest, type BlockedAction, type Operation, type TunerEvents, type TunerService, type TuningPolicy } from './types.ts';

/** Options of {@link createTunerService}. */
export interface TunerServiceOptions {
  /** The executor of every job whose kind has none in `executors` (the bundled runtime's, usually). */
  executor: JobExecutor;
  /**
   * Executors by job kind ({@link ManagedJob.executor}: 'bundled' | 'flink'); each operation runs on
   * the executor of its job's kind, falling back to `executor`.
   */
  executors?: Partial<Record<ManagedJob['executor'], JobExecutor>>;
  jobs: JobCatalog;
  store: MetricStore;
  diagnoses: DiagnosisStore;
  bus: EventBus<TunerEvents & Pick<DiagnoserEvents, 'diagnoses'>>;
  /** the journal and policies live in `<dataDir>/operations/` */
  dataDir: string;
  /** policy per job id, job name or '*' (all jobs); unset fields take `DEFAULT_POLICY`'s */
  policies?: Record<string, Partial<TuningPolicy>>;
  logger?: Logger;
  /** ms since epoch. Default Date.now. */
  now?: () => number;
  /** timeouts of executor calls, ms (defaults in `DEFAULT_RUNNER_TIMEOUTS`) */
  timeouts?: Partial<RunnerTimeouts>;
  /** IANA time zone of `allowedWindows`. Default the process's. */
  timeZone?: string;
  /** subscribe to the bus topic 'diagnoses' and call `onDiagnosis` for each. Default true. */
  subscribeDiagnoses?: boolean;
}

/** The tuner service with what tests and the server need beyond {@link TunerService}. */
export interface TunerServiceImpl extends TunerService {
  /** Why auto mode skipped the latest diagnosis of each job (job id → reason), for the dashboards. */
  lastSkipped(jobId: string): { diagnosisId: string; at: number; reason: string } | undefined;
}

/**
 * Opens the journal under `dataDir` and returns the service. Call `recover()` once at start.
 * Throws INVALID_CONFIG for an invalid policy (naming the field) or an unusable `dataDir`.
 */
export async function createTunerService(opts: TunerServiceOptions): Promise<TunerServiceImpl> {
  const journal = await openJournal({ dataDir: opts.dataDir, logger: opts.logger });
  const svc = new Service(opts, journal);
  await svc.init();
  return svc;
}

class Service implements TunerServiceImpl {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly runner: OperationRunner;
  /** job id → operation running on it in this process */
  private readonly inFlight = new Map<string, { opId: string; done: Promise<Operation> }>();
  private readonly listeners = new Set<(op: Operation) => void>();
  private readonly sleepers = new Set<() => void>();
  private readonly overridesPath: string;
  private overrides: Record<string, Partial<TuningPolicy>> = {};
  private readonly skips = new Map<string, { diagnosisId: string; at: number; reason: string }>();
  private unsubs: Array<() => void | Promise<void>> = [];
  private closing = false;

  constructor(
    private readonly opts: TunerServiceOptions,
    private readonly journal: OperationsJournal,
  ) {
    this.logger = (opts.logger ?? silentLogger).namespace('tuner');
    this.now = opts.now ?? Date.now;
    this.overridesPath = join(resolve(opts.dataDir), 'operations', 'policies.json');
    for (const [k, p] of Object.entries(opts.policies ?? {})) {
      try {
        resolvePolicy(p);
      } catch (err) {
        throw new StreamtuneError('INVALID_CONFIG', `policies.${k}: ${errorMessage(err)}`, { cause: err, details: { field: `policies.${k}` } });
      }
    }
    const timeouts = { ...DEFAULT_RUNNER_TIMEOUTS, ...(opts.timeouts ?? {}) };
    this.runner = new OperationRunner({
      executorFor: (id, kind) => (kind ? this.opts.executors?.[kind] : undefined) ?? this.executorFor(id),
      journal,
      store: opts.store,
      job: (id) => opts.jobs.get(id),
      policy: (id) => this.policy(id),
      bus: opts.bus,
      logger: this.logger,
      now: this.now,
      timeouts,
      sleep: (ms) => this.sleep(ms),
      onSave: (op) => {
        // a terminal operation no longer owns its job, even before its promise settles
        if (isTerminalOperationState(op.state) && this.inFlight.get(op.job_id)?.opId === op.id) this.inFlight.delete(op.job_id);
        for (const l of this.listeners) l(op);
      },
    });
  }

  async init(): Promise<void> {
    if (existsSync(this.overridesPath)) {
      try {
        this.overrides = JSON.parse(readFileSync(this.overridesPath, 'utf8')) as Record<string, Partial<TuningPolicy>>;
      } catch (err) {
        throw new StreamtuneError('INVALID_CONFIG', `${this.overridesPath}: not readable JSON: ${errorMessage(err)}`, { cause: err });
      }
    }
    const off = this.opts.jobs.onSnapshot?.((s) => {
      this.journal.addSnapshot(s).catch((err: unknown) => this.logger.error('recording a snapshot failed', { job_id: s.job_id, error: errorMessage(err) }));
    });
    if (off) this.unsubs.push(off);
    if (this.opts.subscribeDiagnoses ?? true) {
      const unsub = await this.opts.bus.subscribe('diagnoses', async (d) => {
        const r = await this.onDiagnosis(d);
        if (r.skipped) this.logger.debug(`auto mode skipped diagnosis ${d.id}: ${r.skipped}`, { job_id: d.job_id });
      });
      this.unsubs.push(unsub);
    }
  }

  // ---- TunerService -----------------------------------------------------------------------

  async apply(req: ApplyRequest): Promise<Operation> {
    if (this.closing) throw new StreamtuneError('CONFLICT', 'the tuner is shutting down', { retriable: true });
    const job = this.opts.jobs.get(req.job_id);
    if (!job) throw new StreamtuneError('NOT_FOUND', `no job ${req.job_id}`);
    if (!Array.isArray(req.actions) || req.actions.length === 0) throw new StreamtuneError('INVALID_ARGUMENT', 'actions: at least one action is needed', { details: { field: 'actions' } });
    let topo: JobTopology;
    try {
      topo = await this.executorFor(req.job_id).describe(req.job_id);
    } catch (err) {
      if (isErrorCode(err, 'NOT_FOUND')) throw err;
      throw new StreamtuneError('JOB_STATE', `job ${job.name}: cannot read its topology: ${errorMessage(err)}`, { cause: err });
    }
    const actions = resolveActions(req.actions, topo); // INVALID_ARGUMENT naming the field
    const can = this.applicability(req.job_id, actions);
    if (!can.applicable) {
      const how = can.settings.length ? `; change by hand: ${can.settings.map((x) => `${x.key} = ${x.value}`).join(', ')}` : '';
      throw new StreamtuneError('INVALID_ARGUMENT', `actions: ${can.reason ?? 'not applicable'}${how}`, { details: { field: 'actions', reason: can.reason, settings: can.settings } });
    }
    targetSettings(actions, topo);
    const busy = this.inFlight.get(req.job_id) ?? this.inFlightOnLineage(req.job_id);
    if (busy) throw new StreamtuneError('CONFLICT', `operation ${busy.opId} is in progress on job ${job.name}`, { details: { operationId: busy.opId, reason: 'operation in progress' } });
    if (topo.state !== 'RUNNING') throw new StreamtuneError('JOB_STATE', `job ${job.name} is ${topo.state}, not RUNNING`);
    const now = this.now();
    const policy = this.policy(req.job_id);
    const g = checkGuardrails({ policy, origin: req.origin, actions, history: this.history(req.job_id), now, timeZone: this.opts.timeZone });
    if (!g.allowed) {
      throw new StreamtuneError(g.code, g.reason, { retriable: g.retryAfterMs !== undefined, details: { reason: g.reason, ...(g.retryAfterMs !== undefined ? { retryAfterMs: g.retryAfterMs } : {}) } });
    }
    const op: Operation = {
      id: randomUUID(),
      job_id: req.job_id,
      job_name: job.name,
      ...(req.diagnosisId ? { diagnosisId: req.diagnosisId } : {}),
      ...(req.recommendationId ? { recommendationId: req.recommendationId } : {}),
      origin: req.origin,
      executor: job.executor,
      actions,
      previous: {
        parallelism: Object.fromEntries(topo.vertices.map((v) => [v.id, v.parallelism])),
        ...(job.checkpointing ? { checkpointing: { ...job.checkpointing } as Record<string, number | boolean> } : {}),
      },
      state: 'PENDING',
      steps: [],
      ...(req.expected ? { expected: { ...req.expected } } : {}),
      createdAt: now,
      updatedAt: now,
    };
    // reserve the job before the first await so that a concurrent apply sees the conflict
    let release!: (o: Operation) => void;
    const done = new Promise<Operation>((r) => (release = r));
    this.inFlight.set(req.job_id, { opId: op.id, done });
    try {
      await this.journal.putOperation(op);
    } catch (err) {
      this.inFlight.delete(req.job_id);
      release(op);
      throw err;
    }
    await this.opts.bus.publish('operations', structuredClone(op)).catch((err: unknown) => this.logger.warn('publishing an operation failed', { error: errorMessage(err) }));
    if (req.recommendationId) {
      await this.opts.diagnoses
        .setRecommendationState(req.recommendationId, { status: 'applied', at: now, operationId: op.id })
        .catch((err: unknown) => this.logger.warn(`recommendation ${req.recommendationId} could not be marked applied`, { error: errorMessage(err) }));
    }
    this.logger.info(`operation ${op.id} on job ${job.name}: ${actions.map(actionKey).join(', ')}`, { operation_id: op.id, job_id: op.job_id, origin: op.origin });
    const result = structuredClone(op);
    this.track(req.job_id, op.id, this.runner.run(op), release);
    return result;
  }

  async waitFor(operationId: string, timeoutMs: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const op = this.journal.operation(operationId);
      if (!op) throw new StreamtuneError('NOT_FOUND', `no operation ${operationId}`);
      if (isTerminalOperationState(op.state)) return op;
      if (Date.now() > deadline) throw new StreamtuneError('OPERATION_FAILED', `operation ${operationId} still ${op.state} after ${timeoutMs} ms`, { retriable: true, details: { reason: 'timeout', state: op.state } });
      await new Promise<void>((r) => {
        const t = setTimeout(done, 100);
        function done() {
          clearTimeout(t);
          listeners.delete(onSave);
          r();
        }
        const listeners = this.listeners;
        const onSave = (o: Operation) => {
          if (o.id === operationId) done();
        };
        listeners.add(onSave);
      });
    }
  }

  operation(id: string): Operation | undefined {
    return this.journal.operation(id);
  }

  operations(filter: { job_id?: string; limit?: number } = {}): Operation[] {
    let ops = this.journal.operations();
    if (filter.job_id) ops = this.history(filter.job_id);
    return filter.limit !== undefined ? ops.slice(0, Math.max(0, filter.limit)) : ops;
  }

  /**
   * Resumes or repairs every non-terminal operation (see `OperationRunner.recover`). Resolves once
   * each is terminal or VERIFYING with its job running again, with their states then.
   */
  async recover(): Promise<Operation[]> {
    const pending = this.journal.operations().filter((o) => !isTerminalOperationState(o.state)).reverse();
    const out: Operation[] = [];
    for (const op of pending) {
      if (this.inFlight.has(op.job_id)) continue;
      this.logger.warn(`operation ${op.id} on job ${op.job_name ?? op.job_id} was interrupted in ${op.state}; recovering`, { operation_id: op.id });
      let release!: (o: Operation) => void;
      const done = new Promise<Operation>((r) => (release = r));
      this.inFlight.set(op.job_id, { opId: op.id, done });
      // settled: terminal, or verifying again after the repair
      const settled = new Promise<void>((r) => {
        const l = (o: Operation) => {
          if (o.id !== op.id) return;
          const repairAt = o.steps.findIndex((s, i) => s.name === 'repair' && i >= op.steps.length);
          const verifying = repairAt >= 0 && o.steps.some((s, i) => s.name === 'verify' && i > repairAt);
          if (isTerminalOperationState(o.state) || verifying) {
            this.listeners.delete(l);
            r();
          }
        };
        this.listeners.add(l);
        void done.then(() => {
          this.listeners.delete(l);
          r();
        });
      });
      this.track(op.job_id, op.id, this.runner.recover(op), release);
      await settled;
      out.push(this.journal.operation(op.id)!);
    }
    return out;
  }

  policy(jobId: string): TuningPolicy {
    const p = this.opts.policies ?? {};
    const name = this.opts.jobs.get(jobId)?.name;
    return resolvePolicy({ ...(p['*'] ?? {}), ...(name ? (p[name] ?? {}) : {}), ...(p[jobId] ?? {}), ...(this.overrides[jobId] ?? {}) });
  }

  setPolicy(jobId: string, policy: Partial<TuningPolicy>): TuningPolicy {
    if (!this.opts.jobs.get(jobId)) throw new StreamtuneError('NOT_FOUND', `no job ${jobId}`);
    const next = { ...(this.overrides[jobId] ?? {}), ...policy };
    const p = this.opts.policies ?? {};
    const name = this.opts.jobs.get(jobId)?.name;
    const resolved = resolvePolicy({ ...(p['*'] ?? {}), ...(name ? (p[name] ?? {}) : {}), ...(p[jobId] ?? {}), ...next }); // INVALID_CONFIG naming the field
    this.overrides[jobId] = next;
    const tmp = `${this.overridesPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.overrides, null, 2));
    renameSync(tmp, this.overridesPath);
    return resolved;
  }

  blocked(jobId: string): BlockedAction[] {
    return blockedActions(this.history(jobId), this.policy(jobId), this.now());
  }

  snapshots(jobId: string): SnapshotRecord[] {
    return this.journal.snapshots(jobId);
  }

  /**
   * Auto mode: under the job's policy, picks the first recommendation of `d` whose actions apply to
   * the job as it runs now (known vertices, `from` = current parallelism, not blocked as ineffective,
   * within the guardrails) and applies it with origin 'auto'. Otherwise returns why none was, and
   * keeps that reason ({@link TunerServiceImpl.lastSkipped}). Idempotent per diagnosis id.
   */
  async onDiagnosis(d: Diagnosis): Promise<{ operation?: Operation; skipped?: string }> {
    const skip = (reason: string) => {
      this.skips.set(d.job_id, { diagnosisId: d.id, at: this.now(), reason });
      this.logger.info(`auto mode: diagnosis ${d.id} of job ${d.job_name ?? d.job_id} not applied: ${reason}`, { job_id: d.job_id, diagnosis_id: d.id });
      return { skipped: reason };
    };
    const job = this.opts.jobs.get(d.job_id);
    if (!job) return skip(`unknown job ${d.job_id}`);
    const policy = this.policy(d.job_id);
    if (policy.mode !== 'auto') return { skipped: `policy mode is '${policy.mode}'` };
    const history = this.history(d.job_id);
    const already = history.find((o) => o.diagnosisId === d.id);
    if (already) return { operation: already, skipped: `diagnosis ${d.id} was already applied by operation ${already.id}` };
    const busy = this.inFlight.get(d.job_id) ?? this.inFlightOnLineage(d.job_id);
    if (busy) return skip(`operation ${busy.opId} is in progress`);
    const candidates = d.recommendations.filter((r) => r.actions.length > 0);
    if (candidates.length === 0) return skip(d.recommendations.length === 0 ? 'no recommendation' : 'no recommendation with machine-applicable actions');
    let topo: JobTopology;
    try {
      topo = await this.executorFor(d.job_id).describe(d.job_id);
    } catch (err) {
      return skip(`cannot read the job's topology: ${errorMessage(err)}`);
    }
    if (topo.state !== 'RUNNING') return skip(`job is ${topo.state}, not RUNNING`);
    const now = this.now();
    const blocked = new Map(blockedActions(history, policy, now).map((b) => [b.actionKey, b]));
    const reasons: string[] = [];
    for (const rec of candidates) {
      const why = this.notApplicable(rec, topo, blocked);
      if (why) {
        reasons.push(`${rec.id}: ${why}`);
        continue;
      }
      const g = checkGuardrails({ policy, origin: 'auto', actions: rec.actions, history, now, timeZone: this.opts.timeZone });
      if (!g.allowed) {
        reasons.push(`${rec.id}: ${g.reason}`);
        continue;
      }
      try {
        const op = await this.apply({ job_id: d.job_id, actions: rec.actions, diagnosisId: d.id, recommendationId: rec.id, expected: rec.expected, origin: 'auto' });
        this.skips.delete(d.job_id);
        return { operation: op };
      } catch (err) {
        reasons.push(`${rec.id}: ${errorMessage(err)}`);
      }
    }
    return skip(reasons.join('; '));
  }

  applicability(jobId: string, actions: readonly TuningAction[]): Applicability {
    return applicability(actions, this.executorFor(jobId));
  }

  lastSkipped(jobId: string): { diagnosisId: string; at: number; reason: string } | undefined {
    return this.skips.get(jobId);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    for (const u of this.unsubs) await u();
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    await this.journal.close();
  }

  // ---- internals --------------------------------------------------------------------------

  /** The executor of the job's kind; `opts.executor` for a kind without one (or a job not in the catalog). */
  private executorFor(jobId: string): JobExecutor {
    const kind = this.opts.jobs.get(jobId)?.executor;
    return (kind ? this.opts.executors?.[kind] : undefined) ?? this.opts.executor;
  }

  /**
   * The operations of the job `jobId` and of the executions it continues: a job restarted under a
   * new id (`Operation.restartedAs`, Flink) keeps its predecessors' history, so cooldown, rate
   * limits and blocked actions carry over. Newest first.
   */
  private history(jobId: string): Operation[] {
    const all = this.journal.operations();
    const ids = new Set([jobId]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const o of all) {
        if (o.restartedAs !== undefined && ids.has(o.restartedAs) && !ids.has(o.job_id)) {
          ids.add(o.job_id);
          grew = true;
        }
      }
    }
    return all.filter((o) => ids.has(o.job_id) || (o.restartedAs !== undefined && ids.has(o.restartedAs)));
  }

  /** An operation in flight on an execution the job `jobId` continues (or continued by it). */
  private inFlightOnLineage(jobId: string): { opId: string; done: Promise<Operation> } | undefined {
    for (const o of this.history(jobId)) {
      const f = this.inFlight.get(o.job_id);
      if (f?.opId === o.id) return f;
    }
    return undefined;
  }

  private notApplicable(rec: Recommendation, topo: JobTopology, blocked: Map<string, { until: number; reason: string }>): string | undefined {
    const can = this.applicability(topo.jobId, rec.actions);
    if (!can.applicable) return `not applicable: ${can.reason ?? ''}`;
    try {
      targetSettings(rec.actions, topo);
    } catch (err) {
      return `not applicable: ${errorMessage(err)}`;
    }
    for (const a of rec.actions) {
      if (a.type === 'set-parallelism') {
        const v = findVertex(topo.vertices, a.vertex)!;
        if (v.parallelism !== a.from) return `stale: ${v.name} runs at parallelism ${v.parallelism}, the recommendation assumed ${a.from}`;
        if (a.to === a.from) return `no change for ${v.name}`;
      }
      const b = blocked.get(actionKey(a));
      if (b) return `${actionKey(a)} is blocked until ${new Date(b.until).toISOString()}: ${b.reason}`;
    }
    return undefined;
  }

  private track(jobId: string, opId: string, run: Promise<Operation>, release: (o: Operation) => void): void {
    void run
      .catch((err: unknown) => {
        this.logger.error(`operation ${opId} stopped: ${errorMessage(err)}`, { operation_id: opId, job_id: jobId });
        return this.journal.operation(opId)!;
      })
      .then((o) => {
        if (this.inFlight.get(jobId)?.opId === opId) this.inFlight.delete(jobId);
        release(o);
      });
  }

  private sleep(ms: number): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return new Promise<boolean>((r) => {
      const wake = () => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        r(false);
      };
      const t = setTimeout(() => {
        this.sleepers.delete(wake);
        r(true);
      }, ms);
      this.sleepers.add(wake);
    });
  }
}
