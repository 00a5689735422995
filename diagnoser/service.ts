/**
 * The diagnoser as a service, after the Meituan flow (docs/PRIOR-ART.md): an alert service emits
 * anomaly events; the diagnosis service reads the job's metrics and logs over the anomaly window
 * and finds out why. Here:
 * - 'anomalies' (bus) → on `fired`: load the job's window from the metric store (consumer group
 *   and topology from the {@link JobCatalog}) → {@link diagnose} → store ({@link DiagnosisStore}) →
 *   publish on 'diagnoses'. While the anomaly stays active it is diagnosed again at most every
 *   `rediagnoseMs`; a duplicate `fired` (Kafka delivers at least once) within that time is dropped.
 * - on `resolved`: the job is diagnosed once more (trigger 'alert' with `resolved: true`) and that
 *   diagnosis is stored and published whatever it finds: the evidence that clears its incident (or
 *   keeps it open), notify/incident-book.ts.
 * - sweeps on a node-cron schedule (Cruise Control runs its anomaly detection every 5 min): every
 *   running job is diagnosed (trigger 'sweep') to catch over-provisioned and at-risk jobs; stored and
 *   published are the diagnoses with findings, and those that find no problem (`problemOf`,
 *   diagnoser/problem.ts) of a job that has one open (`hasOpenProblem`): a clean sweep is the
 *   evidence that a problem cleared, so a fixed crash loop's incident resolves.
 * - `diagnoseNow` for a user's request.
 * Errors never stop the loops: they are logged. "Not enough data yet" (root cause
 * `insufficient-data`) is a normal outcome, logged at debug level and not stored unless asked for
 * (as the Flink autoscaler treats a short metric history).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { MetricStore } from '../collector/index.ts';
import { errorMessage, type EventBus, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { RuleSetManager } from '../rules/index.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { diagnose } from './diagnose.ts';
import { isConclusive, problemOf } from './problem.ts';
import { loadJobWindows, windowBatches, type JobToLoad } from './load.ts';
import type { DiagnosisService, DiagnosisStore } from './store-types.ts';
import type { AnomalyEvent, Diagnosis, DiagnoserEvents } from './types.ts';
import { trimTaskSeries } from './window.ts';

/**
 * ms: the span of Flink's `*PerSecond` meters (`MeterView`, 60 s): a task's rate reads low for this
 * long after the task started. The diagnoser's window of a Flink job starts no earlier than this after
 * the job's execution last entered RUNNING.
 */
export const FLINK_METER_SPAN_MS = 60_000;

/** Options of {@link createDiagnosisService}. */
export interface DiagnosisServiceOptions {
  /** the metric store windows are read from */
  store: MetricStore;
  /** the rule set in force (detector thresholds) */
  rules: RuleSetManager;
  /** anomalies come in on 'anomalies'; diagnoses go out on 'diagnoses' */
  bus: EventBus<DiagnoserEvents>;
  /** the known jobs: consumer group and topology of each */
  jobs: JobCatalog;
  /** where diagnoses are kept */
  diagnoses: DiagnosisStore;
  /** ms of history a diagnosis looks at. Default 600,000 (10 min). */
  windowMs?: number;
  /** ms between points of the window. Default 5,000. */
  stepMs?: number;
  /** node-cron expression of the sweep; 'off' disables it. Default '*\/5 * * * *' (every 5 min). */
  sweepCron?: string;
  /** while an anomaly stays active, diagnose it again at most this often, ms. Default 60,000. */
  rediagnoseMs?: number;
  /** jobs whose windows a sweep reads together (one store query per measurement per batch). Default 100. */
  sweepBatch?: number;
  /**
   * Whether the job has a problem open (an open incident), so that a sweep diagnosis finding none is
   * kept as the evidence that it cleared. Default: the job's newest stored diagnosis finds a problem
   * (`problemOf`), for a process without the incident book (a `diagnoser` worker).
   */
  hasOpenProblem?: (jobId: string) => boolean;
  /** default silent */
  logger?: Logger;
  /** clock, ms since epoch. Default Date.now. */
  now?: () => number;
}

/** Job states a sweep diagnoses (others have no fresh metrics). */
const SWEPT_STATES = new Set(['RUNNING', 'RESTARTING', 'FAILING', 'INITIALIZING', 'CREATED']);

interface ActiveAnomaly {
  event: AnomalyEvent;
  /** ms (service clock) of the last diagnosis for it, 0 = none yet */
  lastDiagnosedAt: number;
  busy: boolean;
}

/**
 * Creates the service; nothing runs until `start()` (or a direct `diagnoseNow`/`sweep` call).
 * @throws StreamtuneError INVALID_CONFIG when `sweepCron` is not a valid node-cron expression.
 */
export function createDiagnosisService(opts: DiagnosisServiceOptions): DiagnosisService & {
  /** Handles one anomaly event as if it came from the bus (what the subscription calls). Never throws. */
  handleAnomaly(e: AnomalyEvent): Promise<Diagnosis | undefined>;
  /** Re-diagnoses the active anomalies whose last diagnosis is `rediagnoseMs` old (what the timer calls). */
  rediagnose(): Promise<Diagnosis[]>;
} {
  const log = (opts.logger ?? silentLogger).namespace('diagnoser');
  const windowMs = opts.windowMs ?? 600_000;
  const stepMs = opts.stepMs ?? 5_000;
  const sweepCron = opts.sweepCron ?? '*/5 * * * *';
  const rediagnoseMs = opts.rediagnoseMs ?? 60_000;
  const batchSize = Math.max(1, opts.sweepBatch ?? 100);
  const clock = opts.now ?? Date.now;
  if (sweepCron !== 'off' && !cron.validate(sweepCron)) {
    throw new StreamtuneError('INVALID_CONFIG', `diagnoser.sweepCron: '${sweepCron}' is not a valid cron expression (or 'off')`, { details: { field: 'diagnoser.sweepCron' } });
  }
  const hasOpenProblem = opts.hasOpenProblem ?? ((jobId: string) => problemOf(opts.diagnoses.latest(jobId)) !== undefined);
  const active = new Map<string, ActiveAnomaly>();
  const inFlight = new Set<Promise<unknown>>();
  let unsubscribe: (() => Promise<void>) | undefined;
  let task: ScheduledTask | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<Diagnosis[]> | undefined;

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };

  /**
   * Where a job's task and checkpoint series may start: `start`, or for a Flink job whose execution
   * (re)started later ({@link ManagedJob.runningSince}, else `startedAt`) {@link FLINK_METER_SPAN_MS}
   * after that, so that no rate read from Flink's meters averages over time before the tasks ran.
   * Restarts, exceptions and lag keep the whole window ({@link trimTaskSeries}): a
   * crash-looping job restarts within every minute, and its restarts are the evidence. (The Flink autoscaler
   * likewise ignores metrics for `job.autoscaler.stabilization.interval`, 5 min, after a start or a
   * rescale.)
   */
  const windowStart = (job: ManagedJob, start: number): number => {
    if (job.executor !== 'flink') return start;
    const since = job.runningSince ?? job.startedAt;
    return since === undefined ? start : Math.max(start, since + FLINK_METER_SPAN_MS);
  };

  const toLoad = (job: ManagedJob): JobToLoad => ({
    jobId: job.job_id,
    ...(job.consumerGroup ? { consumerGroup: job.consumerGroup } : {}),
    ...(job.topology.length > 0 ? { topology: job.topology } : {}),
  });

  /** Loads the window ending now and diagnoses; no storing. */
  const run = async (job: ManagedJob, trigger: Diagnosis['trigger']): Promise<Diagnosis> => {
    const now = clock();
    const start = now - windowMs;
    const loaded = (await loadJobWindows(opts.store, [toLoad(job)], start, now, now, { stepMs, historyMs: opts.rules.current().planner.scaleDownIntervalMs })).get(job.job_id)!;
    const window = trimTaskSeries(loaded, windowStart(job, start));
    if (!window.jobName) window.jobName = job.name;
    return diagnose(opts.rules.current(), window, trigger, job.restartTimeMs !== undefined ? { restartMs: job.restartTimeMs } : {});
  };

  const keep = async (d: Diagnosis): Promise<void> => {
    await opts.diagnoses.put(d);
    try {
      await opts.bus.publish('diagnoses', d);
    } catch (err) {
      log.warn('diagnosis stored but not published', { id: d.id, job_id: d.job_id, error: errorMessage(err) });
    }
    log.info('diagnosis', { id: d.id, job_id: d.job_id, trigger: d.trigger.type, rootCause: d.rootCause.kind, vertex: d.rootCause.vertex, severity: d.severity, recommendations: d.recommendations.length });
  };

  const diagnoseAnomaly = async (a: ActiveAnomaly): Promise<Diagnosis | undefined> => {
    const e = a.event;
    const job = opts.jobs.get(e.job_id);
    if (!job) {
      log.debug('anomaly for an unknown job ignored', { alertId: e.alertId, job_id: e.job_id });
      return undefined;
    }
    a.busy = true;
    a.lastDiagnosedAt = clock();
    try {
      const d = await run(job, { type: 'alert', alertId: e.alertId, ruleId: e.ruleId });
      if (d.rootCause.kind === 'insufficient-data') {
        log.debug('not enough data yet to diagnose the anomaly', { alertId: e.alertId, job_id: e.job_id, explanation: d.rootCause.explanation });
        return undefined;
      }
      await keep(d);
      return d;
    } catch (err) {
      log.error('diagnosis of an anomaly failed', { alertId: e.alertId, job_id: e.job_id, error: errorMessage(err) });
      return undefined;
    } finally {
      a.busy = false;
    }
  };

  /** The diagnosis made when an alert resolves: kept whatever it finds (not 'insufficient-data'). */
  const diagnoseResolved = async (e: AnomalyEvent): Promise<Diagnosis | undefined> => {
    const job = opts.jobs.get(e.job_id);
    if (!job) return undefined;
    try {
      const d = await run(job, { type: 'alert', alertId: e.alertId, ruleId: e.ruleId, resolved: true });
      if (!isConclusive(d)) {
        log.debug('not enough data to diagnose the resolved anomaly', { alertId: e.alertId, job_id: e.job_id });
        return undefined;
      }
      await keep(d);
      return d;
    } catch (err) {
      log.error('diagnosis of a resolved anomaly failed', { alertId: e.alertId, job_id: e.job_id, error: errorMessage(err) });
      return undefined;
    }
  };

  const handleAnomaly = (e: AnomalyEvent): Promise<Diagnosis | undefined> => track((async () => {
    const key = `${e.alertId}|${e.job_id}`;
    if (e.state === 'resolved') {
      active.delete(key);
      log.debug('anomaly resolved', { alertId: e.alertId, job_id: e.job_id });
      return diagnoseResolved(e);
    }
    let a = active.get(key);
    if (a && (a.busy || clock() - a.lastDiagnosedAt < rediagnoseMs)) {
      log.debug('anomaly already being diagnosed or diagnosed recently', { alertId: e.alertId, job_id: e.job_id });
      a.event = e;
      return undefined;
    }
    if (!a) {
      a = { event: e, lastDiagnosedAt: 0, busy: false };
      active.set(key, a);
    } else a.event = e;
    return diagnoseAnomaly(a);
  })());

  const rediagnose = (): Promise<Diagnosis[]> => track((async () => {
    const out: Diagnosis[] = [];
    for (const a of [...active.values()]) {
      if (a.busy || clock() - a.lastDiagnosedAt < rediagnoseMs) continue;
      const d = await diagnoseAnomaly(a);
      if (d) out.push(d);
    }
    return out;
  })());

  const sweepOnce = async (): Promise<Diagnosis[]> => {
    const jobs = opts.jobs.list().filter((j) => SWEPT_STATES.has(j.state));
    const made: Diagnosis[] = [];
    let failed = 0;
    // the windows of a batch are read together (~30 store queries per batch, not per job), the
    // next batch while this one is diagnosed; every batch over the window ending at the sweep's start
    const now = clock();
    const range = { start: now - windowMs, end: now, now };
    for await (const { offset, jobs: read, windows, error } of windowBatches(opts.store, jobs.map(toLoad), batchSize, range, { stepMs, historyMs: opts.rules.current().planner.scaleDownIntervalMs })) {
      const batch = jobs.slice(offset, offset + read.length);
      if (!windows) {
        failed += batch.length;
        log.warn('sweep: reading a batch of windows failed', { jobs: batch.length, error: errorMessage(error) });
        continue;
      }
      const rules = opts.rules.current();
      for (const job of batch) {
        try {
          // a Flink job (re)started within the window: its task series from a minute after that (see windowStart)
          const w = trimTaskSeries(windows.get(job.job_id)!, windowStart(job, range.start));
          if (!w.jobName) w.jobName = job.name;
          const d = diagnose(rules, w, { type: 'sweep' }, job.restartTimeMs !== undefined ? { restartMs: job.restartTimeMs } : {});
          made.push(d);
          // kept: findings, or the evidence that an open problem cleared
          if (isConclusive(d) && (d.findings.length > 0 || (problemOf(d) === undefined && hasOpenProblem(job.job_id)))) await keep(d);
        } catch (err) {
          failed++;
          log.warn('sweep: diagnosis failed', { job_id: job.job_id, error: errorMessage(err) });
        }
      }
    }
    log.info('sweep done', { jobs: jobs.length, withFindings: made.filter((d) => d.findings.length > 0).length, failed });
    return made;
  };

  /** One sweep at a time: a sweep asked for while one runs shares its result. */
  const sweep = (): Promise<Diagnosis[]> => {
    if (!sweeping) sweeping = track(sweepOnce()).finally(() => { sweeping = undefined; });
    return sweeping;
  };

  return {
    async diagnoseNow(jobId: string, trigger: Diagnosis['trigger'] = { type: 'manual' }): Promise<Diagnosis> {
      const job = opts.jobs.get(jobId);
      if (!job) throw new StreamtuneError('NOT_FOUND', `unknown job ${jobId}`, { details: { job_id: jobId } });
      const d = await track(run(job, trigger));
      await keep(d);
      return d;
    },
    sweep,
    handleAnomaly,
    rediagnose,
    async start(): Promise<void> {
      if (unsubscribe) return;
      unsubscribe = await opts.bus.subscribe('anomalies', (e) => { void handleAnomaly(e); });
      if (sweepCron !== 'off') {
        task = cron.createTask(sweepCron, () => { void sweep().catch((err: unknown) => log.error('sweep failed', { error: errorMessage(err) })); }, { name: 'streamtune-sweep', noOverlap: true });
        void task.start();
      }
      const tick = Math.max(1_000, Math.min(rediagnoseMs, 15_000));
      timer = setInterval(() => { void rediagnose(); }, tick);
      timer.unref();
      log.info('diagnoser started', { windowMs, stepMs, sweepCron, rediagnoseMs });
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      const t = task;
      task = undefined;
      if (t) {
        await t.stop();
        await t.destroy();
      }
      const off = unsubscribe;
      unsubscribe = undefined;
      await off?.();
      await Promise.allSettled([...inFlight]);
      active.clear();
    },
  };
}
