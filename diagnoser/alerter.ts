/**
 * The alerting loop: every `intervalMs` it evaluates each alert rule of the rule set in force
 * (`rules/alerts.ts`, Prometheus-style `for`) over the metric store, maps the fired and resolved
 * alert instances to the jobs of the {@link JobCatalog} and publishes one {@link AnomalyEvent} per
 * instance and job on the bus topic 'anomalies'. The previous evaluation's active instances are
 * kept between runs (and across rule reloads), so an incident fires once and resolves once, as in
 * Burrow's incident model (docs/PRIOR-ART.md).
 *
 * Labels → jobs: a `group` label is a consumer group (ManagedJob.consumerGroup); a `job_id` label
 * is the job itself. Instances that match no known job are logged at debug level and not published.
 * When a rule's store query fails, its instances keep their state (no false "resolved"); when a
 * publish fails, the transition is retried at the next evaluation.
 */
import type { MetricStore, Series } from '../collector/index.ts';
import type { AnomalyEvent, DiagnoserEvents } from './types.ts';
import { errorMessage, type EventBus, type Logger, silentLogger } from '../core/index.ts';
import { type AlertInstance, alertQuery, type AlertRule, evaluateAlerts, type RuleSetManager } from '../rules/index.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';

/** Options of {@link createAlerter}. */
export interface AlerterOptions {
  /** the metric store the rules are evaluated over */
  store: MetricStore;
  /** the rule set in force (its `alerts`) */
  rules: RuleSetManager;
  /** where AnomalyEvents go (topic 'anomalies') */
  bus: EventBus<DiagnoserEvents>;
  /** the known jobs */
  jobs: JobCatalog;
  /** evaluation period, ms. Default 5,000. */
  intervalMs?: number;
  /** default silent */
  logger?: Logger;
  /** clock, ms since epoch. Default Date.now. */
  now?: () => number;
}

/** A running alerting loop. */
export interface Alerter {
  /** Starts evaluating every `intervalMs` (the first evaluation at once). Idempotent. */
  start(): void;
  /** Stops the loop and waits for a running evaluation to finish. */
  stop(): Promise<void>;
  /**
   * Evaluates every alert rule once at `now` (default the clock) and publishes the transitions.
   * Resolves with the events published. Never throws: store and bus failures are logged.
   */
  evaluateOnce(now?: number): Promise<AnomalyEvent[]>;
  /** The alert instances active after the last evaluation. */
  active(): AlertInstance[];
}

/**
 * Tags that tell apart the series of one alert group, by measurement (each series must be read
 * separately for `evaluateAlerts` to combine them): partitions for Kafka lag, subtasks for task
 * metrics, TaskManagers for JVM metrics.
 */
export function splitTagsFor(measurement: string): string[] {
  if (measurement.startsWith('streamtune_kafka_partition_')) return ['topic', 'partition'];
  if (measurement.startsWith('taskmanager_job_task_operator_')) return ['job_id', 'task_id', 'subtask_index', 'operator_id', 'topic', 'partition'];
  if (measurement.startsWith('taskmanager_job_task_')) return ['job_id', 'task_id', 'subtask_index'];
  if (measurement.startsWith('jobmanager_job_')) return ['job_id'];
  if (measurement.startsWith('taskmanager_')) return ['tm_id'];
  return [];
}

/** Known jobs an alert instance concerns, from its `job_id` and `group` labels. */
export function jobsForLabels(labels: Readonly<Record<string, string>>, jobs: readonly ManagedJob[]): ManagedJob[] {
  const out = new Map<string, ManagedJob>();
  if (labels.job_id) for (const j of jobs) if (j.job_id === labels.job_id) out.set(j.job_id, j);
  if (labels.group) for (const j of jobs) if (j.consumerGroup === labels.group) out.set(j.job_id, j);
  return [...out.values()];
}

/** Creates the alerting loop; see the module comment. Nothing runs until `start()` or `evaluateOnce()`. */
export function createAlerter(opts: AlerterOptions): Alerter {
  const log = (opts.logger ?? silentLogger).namespace('alerter');
  const intervalMs = opts.intervalMs ?? 5_000;
  const clock = opts.now ?? Date.now;
  let previous: AlertInstance[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<AnomalyEvent[]> | undefined;
  let stopped = true;

  const event = (inst: AlertInstance, job: ManagedJob, state: AnomalyEvent['state'], now: number): AnomalyEvent => {
    const e: AnomalyEvent = { alertId: inst.key, ruleId: inst.ruleId, severity: inst.severity, job_id: job.job_id, state, since: inst.since, at: now, value: inst.value, labels: { ...inst.labels } };
    if (job.name) e.job_name = job.name;
    return e;
  };

  const evaluate = async (now: number): Promise<AnomalyEvent[]> => {
    const rules: readonly AlertRule[] = opts.rules.current().alerts;
    const seriesByRule: Record<string, Series[]> = {};
    const failed = new Set<string>();
    await Promise.all(rules.map(async (rule) => {
      try {
        seriesByRule[rule.id] = await opts.store.query(alertQuery(rule, now, splitTagsFor(rule.metric)));
      } catch (err) {
        failed.add(rule.id);
        log.warn('alert rule not evaluated: store query failed', { ruleId: rule.id, error: errorMessage(err) });
      }
    }));
    const ev = evaluateAlerts(rules, seriesByRule, now, previous);
    // a rule whose data could not be read keeps its instances as they were
    const kept = previous.filter((a) => failed.has(a.ruleId));
    const resolved = ev.resolved.filter((a) => !failed.has(a.ruleId));
    let active = [...ev.active.filter((a) => !failed.has(a.ruleId)), ...kept];

    const jobs = opts.jobs.list();
    const published: AnomalyEvent[] = [];
    const retryFired = new Set<string>();
    const retryResolved: AlertInstance[] = [];
    const send = async (inst: AlertInstance, state: AnomalyEvent['state']): Promise<boolean> => {
      const targets = jobsForLabels(inst.labels, jobs);
      if (targets.length === 0) {
        log.debug('alert matches no known job', { alertId: inst.key, labels: inst.labels, state });
        return true;
      }
      let ok = true;
      for (const job of targets) {
        const e = event(inst, job, state, now);
        try {
          await opts.bus.publish('anomalies', e);
          published.push(e);
          log.info(state === 'fired' ? 'anomaly fired' : 'anomaly resolved', { alertId: e.alertId, job_id: e.job_id, value: e.value, since: e.since });
        } catch (err) {
          ok = false;
          log.warn('anomaly not published; retried at the next evaluation', { alertId: e.alertId, job_id: e.job_id, state, error: errorMessage(err) });
        }
      }
      return ok;
    };
    for (const inst of ev.fired) if (!(await send(inst, 'fired'))) retryFired.add(inst.key);
    for (const inst of resolved) if (!(await send(inst, 'resolved'))) retryResolved.push(inst);
    active = active.filter((a) => !retryFired.has(a.key));
    previous = [...active, ...retryResolved];
    return published;
  };

  const evaluateOnce = (now?: number): Promise<AnomalyEvent[]> => {
    const p = (running ?? Promise.resolve([])).catch(() => []).then(() => evaluate(now ?? clock())).catch((err: unknown) => {
      log.error('alert evaluation failed', { error: errorMessage(err) });
      return [] as AnomalyEvent[];
    });
    running = p;
    return p;
  };

  const tick = () => {
    if (stopped) return;
    void evaluateOnce().finally(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      log.info('alerting started', { intervalMs, rules: opts.rules.current().alerts.length });
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    evaluateOnce,
    active: () => [...previous],
  };
}
