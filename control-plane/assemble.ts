/**
 * Wires one `streamtune serve` process from a validated {@link ServerConfig}: metric store, event bus,
 * rule set, diagnosis store, bundled job catalog (with a Flink cluster's jobs beside it when the
 * config has a `flink` section, `assemble-flink.ts`), collector (watching every job execution as it
 * starts), the audit log (`<dataDir>/audit.jsonl`, with a 'config.change' entry when the config differs
 * from the last start's), diagnoser service and alerter, tuner (recovering its journal), the incident book (fed by
 * 'diagnoses' and 'operations'), notifications (deciding from the incidents' changes, with periodic
 * reminder checks and the digest's data), then the startup jobs.
 * `close()` stops everything in reverse order; running jobs are stopped with a savepoint and resume
 * from it at the next start.
 *
 * Roles (`config.roles`, see `ROLES` in config.ts): this is the process with the `jobs` role. Without
 * `alerter` it evaluates no alert rules; without `diagnoser` its diagnoser service diagnoses only on
 * request (the dashboard's Diagnose) and the diagnoses published by the diagnoser process are put
 * into this process's diagnosis store; without `notify` it sends nothing. When any role runs
 * elsewhere, the job catalog is announced on the bus topic 'jobs' (`announceCatalog`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createCollector, createStoreFromEnv } from '../collector/index.ts';
import { createBus, errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { type Alerter, createAlerter, createDiagnosisService, createDiagnosisStore, type Diagnosis } from '../diagnoser/index.ts';
import { BUILTIN_RULES_DIR, RuleSetManager } from '../rules/index.ts';
import { announceCatalog, CompositeCatalog, createBundledCatalog, isTerminalJobState, type BundledCatalog, type BundledCatalogOptions, type JobCatalog, type ManagedJob } from '../platform/index.ts';
import { createTunerService, isTerminalOperationState, type Operation, type TunerServiceImpl } from '../tuner/index.ts';
import { startPrometheusReporter, type PrometheusReporter } from '../runtime/index.ts';
import { createNotificationService, IncidentBook, type NotificationService } from '../notify/index.ts';
import { digestData } from './digest.ts';
import { createFlinkParts, type FlinkParts } from './assemble-flink.ts';
import { ROLES, type ServerConfig } from './config.ts';
import { alerterSettings, closerStack, diagnoserSettings } from './parts.ts';
import { openAuditLog, recordConfigChange, type AuditLog } from './audit.ts';
import type { ControlPlane } from './control-plane.ts';

/** Options of {@link createControlPlane}. */
export interface AssembleOptions {
  /** Root logger; each component gets a namespace. Default silent. */
  logger?: Logger;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** Extra options of the bundled catalog (tests: `jobOptions.metricsWindowMs`). */
  catalog?: Pick<BundledCatalogOptions, 'jobOptions' | 'snapshotPollMs'>;
  /** Submit `config.jobs` before resolving. Default true; `serve` says false, listens first, then calls `startJobs()`. */
  startJobs?: boolean;
  /**
   * Catalogs listed beside the bundled runtime's (and the Flink cluster's): the API, pages, alerter,
   * diagnoser and tuner see their jobs; the collector does not watch them (their metrics reach the
   * store some other way). For benchmarks (bench/_api-load-child.ts: a fleet of 1,000 jobs). Default none.
   */
  extraCatalogs?: readonly JobCatalog[];
}

/** The control plane with the parts beyond the {@link ControlPlane} contract that `serve` and tests use. */
export interface AssembledControlPlane extends ControlPlane {
  catalog: BundledCatalog;
  /** the Flink cluster's executor and catalog; undefined without a `flink` config section */
  flink: FlinkParts | undefined;
  tuner: TunerServiceImpl;
  alerter: Alerter;
  /** created always; runs (evaluates rules) only with the `alerter` role */
  alerterRunning: boolean;
  /** undefined when the config has no `notify` section or the process has no `notify` role */
  notifications: NotificationService | undefined;
  /** the bundled jobs' Prometheus endpoint (`config.prometheusReporter`), when configured */
  prometheusReporter: PrometheusReporter | undefined;
  /** jobs of `config.jobs`: submitted, or already running (resumed from their snapshot); filled by `startJobs()` */
  startupJobs: ManagedJob[];
  /**
   * Submits every spec of `config.jobs` unless a job of the same name is already running (the catalog
   * resumed it from its latest snapshot). Resolves with those jobs. Throws INVALID_SPEC / INVALID_CONFIG.
   */
  startJobs(): Promise<ManagedJob[]>;
  config: ServerConfig;
  /** `<dataDir>/audit.jsonl`: config changes and file-change rule reloads recorded here, the server's requests by the app */
  audit: AuditLog;
}

/**
 * Builds and starts every service of one process. On a failure half-way, what was started is
 * closed again before the error is rethrown.
 * @throws StreamtuneError INVALID_CONFIG (store, dirs, policies, sweep cron), INVALID_RULES (the
 *   rules folder), INVALID_SPEC (a startup job spec, naming file:line/field), STORE_UNAVAILABLE.
 */
export async function createControlPlane(config: ServerConfig, opts: AssembleOptions = {}): Promise<AssembledControlPlane> {
  const logger = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const log = logger.namespace('serve');
  const closers = closerStack(log);
  const closeAll = (): Promise<void> => closers.closeAll();
  const roles = new Set(config.roles);
  if (!roles.has('jobs')) throw new StreamtuneError('INVALID_CONFIG', `createControlPlane runs the 'jobs' role; roles ${config.roles.join(', ')} run with createWorker (control-plane/worker.ts)`, { details: { field: 'roles' } });
  log.info('starting', { roles: config.roles });
  try {
    mkdirSync(config.dataDir, { recursive: true });
    const audit = openAuditLog(config.dataDir, { now, logger });
    closers.push({ name: 'audit', close: () => audit.close() });
    recordConfigChange(audit, config, config.dataDir, config.source);
    const store = await createStoreFromEnv({}, { ...config.store, dataDir: config.dataDir, logger: logger.namespace('store') });
    closers.push({ name: 'store', close: () => store.close() });

    const bus = await createBus(config.bus === 'kafka' && config.kafka ? { kafka: { ...config.kafka, clientId: config.kafka.clientId ?? 'streamtune' } } : {}, logger.namespace('bus'));
    closers.push({ name: 'bus', close: () => bus.close() });

    const rules = new RuleSetManager(config.rules.dir ?? BUILTIN_RULES_DIR, { logger, watch: config.rules.watch });
    closers.push({ name: 'rules', close: () => rules.close() });
    // reloads on a file change are streamtune's own doing; the API's are audited with their caller
    const offRulesOk = rules.onChange((rs, trigger) => {
      if (trigger === 'file-change') audit.record({ action: 'rules.reload', outcome: 'ok', actor: { via: 'system' }, details: { trigger, files: rs.files.length, alerts: rs.alerts.length } });
    });
    const offRulesBad = rules.onError((errors, trigger) => {
      if (trigger === 'file-change') audit.record({ action: 'rules.reload', outcome: 'refused', actor: { via: 'system' }, details: { trigger, errors: errors.length, first: errors[0] ? `${errors[0].file}:${errors[0].line}: ${errors[0].reason.slice(0, 200)}` : '' } });
    });
    closers.push({ name: 'rules audit', close: () => { offRulesOk(); offRulesBad(); } });

    const diagnoses = await createDiagnosisStore({ dir: join(config.dataDir, 'diagnoses'), logger });
    closers.push({ name: 'diagnoses', close: () => diagnoses.close() });

    // the incidents, kept whatever the roles: the API and pages read them, notifications build on them
    const incidents = new IncidentBook({ dir: join(config.dataDir, 'incidents'), logger, now });
    closers.push({ name: 'incidents', close: () => incidents.close() });

    const flink = config.flink ? createFlinkParts(config.flink, { logger, ...(config.kafka ? { kafka: config.kafka } : {}) }) : undefined;
    const collector = createCollector({
      store, intervalMs: config.collector.intervalMs, logger, now,
      ...(flink ? { remoteSources: [flink.remoteSource] } : {}),
      ...(config.kafka ? { kafka: { brokers: config.kafka.brokers, clientId: config.kafka.clientId ?? 'streamtune-lag' } } : {}),
      ...(config.collector.maxBufferedPoints !== undefined ? { maxBufferedPoints: config.collector.maxBufferedPoints } : {}),
    });
    closers.push({ name: 'collector', close: () => collector.stop() });

    const catalog = await createBundledCatalog({ dataDir: config.dataDir, logger, now, ...(opts.catalog ?? {}) });
    closers.push({ name: 'jobs', close: () => catalog.close() });
    const watchedGroups = new Set<string>();
    const watch = (managed: ManagedJob): void => {
      const local = catalog.localJob(managed.job_id);
      if (local) collector.watchJob(local, managed);
      if (config.kafka && managed.consumerGroup && managed.topics?.length) {
        const key = `${managed.consumerGroup}\u0000${managed.topics.join(',')}`;
        if (!watchedGroups.has(key)) {
          watchedGroups.add(key);
          collector.watchGroup(managed.consumerGroup, managed.topics);
        }
      }
    };
    const offStarted = catalog.onJobStarted((_local, managed) => watch(managed));
    const offChange = catalog.onChange((job) => {
      if (isTerminalJobState(job.state)) collector.unwatchJob(job.job_id);
    });
    closers.push({ name: 'job listeners', close: () => { offStarted(); offChange(); } });
    // jobs the catalog resumed while it opened started before the listener existed
    for (const j of catalog.list()) if (j.state === 'RUNNING') watch(j);
    if (flink) {
      const offFlink = flink.catalog.onChange((j) => j.state === 'RUNNING' && watch(j)); // consumer groups of Flink jobs
      closers.push({ name: 'flink', close: async () => { offFlink(); await flink.close(); } });
      await flink.start();
      for (const j of flink.catalog.list()) if (j.state === 'RUNNING') watch(j);
    }
    const parts: JobCatalog[] = [catalog, ...(flink ? [flink.catalog] : []), ...(opts.extraCatalogs ?? [])];
    const jobs: JobCatalog = parts.length > 1 ? new CompositeCatalog(parts) : catalog;
    collector.start();

    // the bundled jobs' metrics for a Prometheus to scrape, as Flink's reporter serves a TaskManager's
    let prometheusReporter: PrometheusReporter | undefined;
    if (config.prometheusReporter) {
      const r = await startPrometheusReporter({
        port: config.prometheusReporter.port, host: config.prometheusReporter.host, logger,
        points: () => {
          const t = now();
          return catalog.list().filter((j) => j.state === 'RUNNING').flatMap((j) => catalog.localJob(j.job_id)?.metricPoints(t) ?? []);
        },
      });
      prometheusReporter = r;
      closers.push({ name: 'prometheus reporter', close: () => r.close() });
    } else if (config.store.prometheusUrl && !['job-metrics', 'all'].includes(config.store.prometheusRemoteWrite ?? 'none')) {
      log.warn("Flink metrics are read from Prometheus, but bundled jobs are not exposed to it: set prometheusReporter.port (--prometheus-port) and scrape it, or store.prometheusRemoteWrite: job-metrics");
    }

    const diagnoser = createDiagnosisService({
      store, rules, bus, jobs, diagnoses, logger, now,
      // a clean sweep of a job with an open incident is kept: the evidence that resolves it
      hasOpenProblem: (jobId) => incidents.openIncidents(jobId).length > 0,
      ...diagnoserSettings(config),
    });
    if (roles.has('diagnoser')) {
      await diagnoser.start();
      closers.push({ name: 'diagnoser', close: () => diagnoser.stop() });
    } else {
      // the diagnoser runs in another process: keep its diagnoses here, for the dashboard and Apply
      const off = await bus.subscribe('diagnoses', (d) => diagnoses.put(d));
      closers.push({ name: 'diagnoses subscription', close: off });
    }

    const tuner = await createTunerService({
      executor: catalog.executor, jobs, store, diagnoses, bus, dataDir: config.dataDir,
      policies: config.tuner.policies, logger, now, ...(flink ? { executors: { flink: flink.executor } } : {}),
      ...(config.tuner.timeouts ? { timeouts: config.tuner.timeouts } : {}),
    });
    flink?.setLastDowntime((id) => tuner.operations({ job_id: id }).find((o) => o.downtimeMs !== undefined)?.downtimeMs);
    closers.push({ name: 'tuner', close: () => tuner.close() });
    const recovered = await tuner.recover();
    if (recovered.length > 0) log.info('tuner operations recovered', { operations: recovered.map((o) => `${o.id} ${o.state}`) });

    const alerter = createAlerter({
      store, rules, bus, jobs, logger, now,
      ...alerterSettings(config),
    });
    if (roles.has('alerter')) {
      alerter.start();
      closers.push({ name: 'alerter', close: () => alerter.stop() });
    }
    if (!ROLES.every((r) => roles.has(r))) {
      const stop = announceCatalog(bus, jobs, `${hostname()}-${process.pid}`, { logger, now });
      closers.push({ name: 'jobs announcements', close: stop });
    }

    let notifications: NotificationService | undefined;
    const cpPartial = { store, collector, bus, rules, jobs, diagnoses, diagnoser, tuner, incidents, logger, now, audit };
    if (config.notify && roles.has('notify')) {
      const { reminderCheckMs, ...notifyConfig } = config.notify;
      const digestProvider = () => digestData({ ...cpPartial, close: async () => {} }, incidents.openIncidents(), now());
      const applicability = (d: Diagnosis) => Object.fromEntries(d.recommendations.map((r) => [r.id, tuner.applicability(d.job_id, r.actions)]));
      const n = createNotificationService({ ...notifyConfig, dataDir: notifyConfig.dataDir ?? join(config.dataDir, 'notify') }, { logger, now, digestProvider, book: incidents, applicability });
      notifications = n;
      n.start();
      closers.push({ name: 'notifications', close: () => n.stop() });
      const timer = setInterval(() => n.checkReminders(), reminderCheckMs ?? 60_000);
      timer.unref();
      closers.push({ name: 'reminder timer', close: () => clearInterval(timer) });
    }
    // every diagnosis (made here or published by a diagnoser process) goes to the incidents; with
    // notifications through their tracker, which decides what to send from the incidents' changes
    const offIncidents = await bus.subscribe('diagnoses', (d) => {
      if (notifications) notifications.onDiagnosis(d);
      else incidents.observe(d);
    });
    closers.push({ name: 'incident subscription', close: offIncidents });
    // tuner operations on a job go on its incidents' timelines (applied, ended)
    const offOps = await bus.subscribe('operations', (op) => {
      incidents.recordOperation(op, isTerminalOperationState(op.state));
    });
    closers.push({ name: 'operation subscription', close: offOps });

    const startupJobs: ManagedJob[] = [];
    const startJobs = async (): Promise<ManagedJob[]> => {
      for (const j of config.jobs) {
        let text: string;
        try {
          text = readFileSync(j.path, 'utf8');
        } catch (err) {
          throw new StreamtuneError('INVALID_CONFIG', `jobs: cannot read job spec ${j.path}: ${errorMessage(err)}`, { details: { field: 'jobs', file: j.path }, cause: err });
        }
        let name: unknown;
        try {
          name = (parseYaml(text) as { name?: unknown } | null)?.name;
        } catch {
          name = undefined; // submit() reports the syntax error with its line
        }
        const running = typeof name === 'string' ? catalog.list().find((m) => m.name === name && !isTerminalJobState(m.state)) : undefined;
        if (running) {
          log.info('startup job already running (resumed from its latest snapshot)', { job: running.name, job_id: running.job_id });
          startupJobs.push(running);
          continue;
        }
        const job = await catalog.submit(text, { source: j.path, ...(j.parallelism ? { parallelism: j.parallelism } : {}) });
        log.info('startup job submitted', { job: job.name, job_id: job.job_id, file: j.path });
        startupJobs.push(job);
      }
      return startupJobs;
    };
    if (opts.startJobs !== false) await startJobs();

    let closed: Promise<void> | undefined;
    return {
      ...cpPartial,
      catalog, flink, tuner, alerter, alerterRunning: roles.has('alerter'), notifications, startupJobs, config, startJobs, prometheusReporter,
      close() {
        closed ??= closeAll();
        return closed;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
