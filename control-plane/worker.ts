/**
 * Wires a `streamtune serve` process that does not run the jobs: roles `alerter` and/or `diagnoser`
 * only (config.ts `ROLES`). It opens the shared metric store (InfluxDB), the Kafka bus, the rule set,
 * its own diagnosis store, and a read-only mirror of the job catalog fed by the process with the
 * `jobs` role (platform/mirror-catalog.ts). It runs no collector, no tuner, no job and no HTTP server:
 * the alerter publishes 'anomalies', the diagnoser publishes 'diagnoses', which the `jobs` process
 * stores and serves.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStoreFromEnv } from '../collector/index.ts';
import type { ControlPlaneBus } from './events.ts';
import { createBus, errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { type Alerter, createAlerter, createDiagnosisService, createDiagnosisStore, type DiagnosisService, type DiagnosisStore } from '../diagnoser/index.ts';
import { BUILTIN_RULES_DIR, RuleSetManager } from '../rules/index.ts';
import { subscribeMirrorCatalog, type MirrorCatalog } from '../platform/index.ts';
import type { ServerConfig } from './config.ts';
import { alerterSettings, closerStack, diagnoserSettings } from './parts.ts';

/** A running worker process's parts. */
export interface Worker {
  bus: ControlPlaneBus;
  /** the mirror of the jobs process's catalog */
  jobs: MirrorCatalog;
  diagnoses: DiagnosisStore;
  /** present with the `diagnoser` role */
  diagnoser?: DiagnosisService;
  /** present with the `alerter` role */
  alerter?: Alerter;
  /** Stops everything in reverse order. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the alerter and/or diagnoser of `config.roles` (which must not contain `jobs`, `server` or
 * `notify`: those run in `createControlPlane`).
 * @throws StreamtuneError INVALID_CONFIG (roles, store), INVALID_RULES, STORE_UNAVAILABLE,
 *   BUS_UNAVAILABLE (the Kafka bus cannot subscribe). Whatever started is closed first.
 */
export async function createWorker(config: ServerConfig, opts: { logger?: Logger; now?: () => number } = {}): Promise<Worker> {
  const logger = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const log = logger.namespace('serve');
  const other = config.roles.filter((r) => r !== 'alerter' && r !== 'diagnoser');
  if (other.length > 0) throw new StreamtuneError('INVALID_CONFIG', `roles: ${other.join(', ')} run in the process with 'jobs' (createControlPlane), not in a worker`, { details: { field: 'roles' } });
  if (config.bus !== 'kafka' || !config.kafka) throw new StreamtuneError('INVALID_CONFIG', "bus: a process without the 'jobs' role needs bus 'kafka' with kafka.brokers", { details: { field: 'bus' } });
  log.info('starting', { roles: config.roles, runs: 'no jobs, no collector, no tuner, no HTTP server' });
  const closers = closerStack(log);
  const closeAll = (): Promise<void> => closers.closeAll();
  try {
    mkdirSync(config.dataDir, { recursive: true });
    const store = await createStoreFromEnv({}, { ...config.store, dataDir: config.dataDir, logger: logger.namespace('store') });
    closers.push({ name: 'store', close: () => store.close() });
    const bus = await createBus({ kafka: { ...config.kafka, clientId: config.kafka.clientId ?? 'streamtune' } }, logger.namespace('bus'));
    closers.push({ name: 'bus', close: () => bus.close() });
    const rules = new RuleSetManager(config.rules.dir ?? BUILTIN_RULES_DIR, { logger, watch: config.rules.watch });
    closers.push({ name: 'rules', close: () => rules.close() });
    const diagnoses = await createDiagnosisStore({ dir: join(config.dataDir, 'diagnoses'), logger });
    closers.push({ name: 'diagnoses', close: () => diagnoses.close() });
    const jobs = await subscribeMirrorCatalog(bus, { logger, now });
    closers.push({ name: 'jobs mirror', close: () => jobs.close() });

    let diagnoser: DiagnosisService | undefined;
    if (config.roles.includes('diagnoser')) {
      const d = createDiagnosisService({
        store, rules, bus, jobs, diagnoses, logger, now,
        ...diagnoserSettings(config),
      });
      await d.start();
      closers.push({ name: 'diagnoser', close: () => d.stop() });
      diagnoser = d;
    }
    let alerter: Alerter | undefined;
    if (config.roles.includes('alerter')) {
      const a = createAlerter({
        store, rules, bus, jobs, logger, now,
        ...alerterSettings(config),
      });
      a.start();
      closers.push({ name: 'alerter', close: () => a.stop() });
      alerter = a;
    }
    log.info('started', { roles: config.roles });
    let closed: Promise<void> | undefined;
    return {
      bus, jobs, diagnoses,
      ...(diagnoser ? { diagnoser } : {}),
      ...(alerter ? { alerter } : {}),
      close: () => (closed ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
