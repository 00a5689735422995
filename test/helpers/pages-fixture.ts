/**
 * A small control plane for page tests: the real embedded store (':memory:') with two minutes of a
 * lagging flights job's metrics and lag, the real diagnosis store with one diagnosis, the real
 * incident book (in memory) with its open incident `inc-1`, and an in-memory job catalog and tuner
 * (the parts the pages only read). `NOW` is the fixed clock.
 */
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { createEmbeddedStore } from '../../collector/store/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { MetricPoint } from '../../core/points.ts';
import { createDiagnosisStore } from '../../diagnoser/diagnosis-store.ts';
import type { Diagnosis } from '../../diagnoser/types.ts';
import type { ControlPlane } from '../../control-plane/control-plane.ts';
import { BundledExecutor, type JobCatalog, type ManagedJob } from '../../platform/index.ts';
import type { Operation, TunerService } from '../../tuner/types.ts';
import { DEFAULT_POLICY, blockedActions } from '../../tuner/policy.ts';
import { applicability } from '../../tuner/applicability.ts';
import { IncidentBook } from '../../notify/incident-book.ts';
import { tempDir } from './wait.ts';

/** A secret the pages must never render. */
export const SECRET = 'st-secret-token-9f8e7d6c5b4a';
/** The fixture job's id. */
export const JOB_ID = 'a'.repeat(32);
/** The fixture clock, ms. */
export const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

/** The lagging flights job. */
export const job: ManagedJob = {
  job_id: JOB_ID,
  name: 'flight-delays',
  executor: 'bundled',
  state: 'RUNNING',
  consumerGroup: 'flight-delays',
  topics: ['flights'],
  startedAt: NOW - 600_000,
  topology: [
    { id: 'flights', name: 'flights', parallelism: 1, maxParallelism: 128, inputs: [], partitions: 2 },
    { id: 'enrich', name: 'enrich', parallelism: 2, maxParallelism: 128, inputs: ['flights'] },
    { id: 'delay-by-origin', name: 'delay-by-origin', parallelism: 1, maxParallelism: 128, inputs: ['enrich'], keyedInput: true },
    { id: 'results', name: 'results', parallelism: 1, maxParallelism: 128, inputs: ['delay-by-origin'] },
  ],
};

/** Two minutes of metrics and lag ending at NOW, every 5 s. */
export function points(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jt = { job_id: JOB_ID, job_name: 'flight-delays' };
  for (let i = 0; i <= 24; i++) {
    const t = NOW - 120_000 + i * 5_000;
    for (const partition of ['0', '1']) {
      const tags = { group: 'flight-delays', topic: 'flights', partition };
      const lag = 1000 + i * (partition === '0' ? 400 : 100);
      const leo = 100_000 + i * 2_000;
      out.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: lag }, timestamp: t, intFields: ['value'] });
      out.push({ measurement: 'streamtune_kafka_partition_logEndOffset', tags, fields: { value: leo }, timestamp: t, intFields: ['value'] });
      out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags, fields: { value: leo - lag }, timestamp: t, intFields: ['value'] });
      // partition 0's oldest record is older than the collector's first sample: a lower bound
      out.push({ measurement: 'streamtune_kafka_partition_lagSeconds', tags, fields: { value: 2 + i * 0.5, lowerBound: partition === '0' ? 1 : 0 }, timestamp: t, intFields: ['lowerBound'] });
    }
    const task = (name: string, sub: number) => ({ ...jt, task_id: `id-${name}`, task_name: name, subtask_index: String(sub), host: 'h', tm_id: 'tm' });
    out.push({ measurement: 'taskmanager_job_task_numRecordsOut', tags: task('flights', 0), fields: { count: i * 1500 * 5 }, timestamp: t, intFields: ['count'] });
    out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags: task('flights', 0), fields: { value: 850 }, timestamp: t, intFields: ['value'] });
    out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: task('flights', 0), fields: { value: 100 }, timestamp: t });
    for (const sub of [0, 1]) {
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: task('enrich', sub), fields: { value: sub === 0 ? 990 : 400 }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags: task('enrich', sub), fields: { value: 0 }, timestamp: t, intFields: ['value'] });
      out.push({ measurement: 'taskmanager_job_task_numRecordsIn', tags: task('enrich', sub), fields: { count: i * (sub === 0 ? 6000 : 1500) }, timestamp: t, intFields: ['count'] });
    }
    out.push({ measurement: 'jobmanager_job_numberOfCompletedCheckpoints', tags: { ...jt, host: 'h' }, fields: { value: 7 }, timestamp: t, intFields: ['value'] });
    out.push({ measurement: 'jobmanager_job_lastCheckpointDuration', tags: { ...jt, host: 'h' }, fields: { value: 1234 }, timestamp: t, intFields: ['value'] });
  }
  return out;
}

/** Its diagnosis: enrich under-provisioned. */
export const diagnosis: Diagnosis = {
  id: 'diag-1',
  job_id: JOB_ID,
  job_name: 'flight-delays',
  windowStart: NOW - 300_000,
  windowEnd: NOW,
  createdAt: NOW - 10_000,
  trigger: { type: 'alert', alertId: 'al-1', ruleId: 'lag.growing' },
  lagStatus: 'WARN',
  severity: 'severe',
  findings: [
    {
      ruleId: 'backpressure.bottleneck',
      severity: 'severe',
      summary: 'enrich is the bottleneck: busy 990 ms/s while flights is backpressured 850 ms/s',
      help: 'Raise the parallelism of the bottleneck vertex.',
      vertex: 'enrich',
      evidence: {
        busyMsPerSecond: 990,
        upstreamBackPressuredMsPerSecond: 850,
        lagSeries: [
          { t: NOW - 60_000, v: 1000 },
          { t: NOW - 30_000, v: 5000 },
          { t: NOW, v: 9000 },
        ],
        note: '<img src=x onerror=alert(1)>',
        partitions: [
          { topic: 'flights', partition: 0, status: 'WARN', lag: 10_600 },
          { topic: 'flights', partition: 1, status: 'WARN', lag: 3_400 },
        ],
      },
    },
  ],
  rootCause: { kind: 'under-provisioned', vertex: 'enrich', confidence: 0.87, explanation: 'enrich processes 1,500 records/s per subtask against an input of 7,500 records/s.' },
  recommendations: [
    {
      id: 'rec-1',
      ruleId: 'scale.parallelism',
      title: 'Raise the parallelism of enrich to 6',
      rationale: 'DS2: true rate 1,500 records/s per subtask, target 9,000 records/s.',
      expected: { throughputRecordsPerSecond: 9000, catchUpMs: 600_000 },
      actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 6 }],
    },
  ],
};

/** A finished operation. */
export const operation: Operation = {
  id: 'op-1',
  job_id: JOB_ID,
  job_name: 'flight-delays',
  diagnosisId: 'diag-1',
  recommendationId: 'rec-0',
  origin: 'user',
  actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 1, to: 2 }],
  previous: { parallelism: { enrich: 1 } },
  state: 'SUCCEEDED',
  steps: [
    { name: 'savepoint', status: 'succeeded', startedAt: NOW - 200_000, finishedAt: NOW - 199_000, message: '/data/savepoints/sp-1' },
    { name: 'start', status: 'succeeded', startedAt: NOW - 199_000, finishedAt: NOW - 198_500 },
    { name: 'verify', status: 'succeeded', startedAt: NOW - 198_000, finishedAt: NOW - 138_000, message: 'lag trend -300 records/s' },
  ],
  savepointPath: '/data/savepoints/sp-1',
  downtimeMs: 1_420,
  verification: { from: NOW - 198_000, to: NOW - 138_000, throughputBefore: 1500, throughputAfter: 2950, effective: true, reason: 'throughput 1,500 → 2,950 records/s; lag falling' },
  createdAt: NOW - 200_000,
  updatedAt: NOW - 138_000,
  finishedAt: NOW - 138_000,
};

/** A catalog over a fixed list of jobs. */
export function fakeCatalog(jobs: ManagedJob[]): JobCatalog {
  return {
    list: () => jobs,
    get: (id) => jobs.find((j) => j.job_id === id),
    submit: () => Promise.reject(new Error('not in this test')),
    triggerSavepoint: () => Promise.reject(new Error('not in this test')),
    stop: () => Promise.reject(new Error('not in this test')),
    onChange: () => () => {},
  };
}

/** A tuner that only answers reads; `apply` is given by the test when needed. */
export function fakeTuner(ops: Operation[], apply?: TunerService['apply']): TunerService {
  return {
    apply: apply ?? (() => Promise.reject(new Error('not in this test'))),
    waitFor: () => Promise.reject(new Error('not in this test')),
    operation: (id) => ops.find((o) => o.id === id),
    operations: (f) => ops.filter((o) => !f?.job_id || o.job_id === f.job_id).slice(0, f?.limit ?? ops.length),
    recover: async () => [],
    policy: () => ({ ...DEFAULT_POLICY }),
    setPolicy: () => { throw new Error('not in this test'); },
    snapshots: (jobId) => (jobId === JOB_ID ? [{ job_id: JOB_ID, kind: 'savepoint', path: '/data/savepoints/sp-1', completedAt: NOW - 199_000, sizeBytes: 40_960, operationId: 'op-1' }] : []),
    blocked: (jobId) => blockedActions(ops.filter((o) => o.job_id === jobId), DEFAULT_POLICY, NOW),
    // the fixture job runs on the bundled runtime: its executor's own answer
    applicability: (_jobId, actions) => applicability(actions, { kind: 'bundled', supports: BundledExecutor.prototype.supports }),
    onDiagnosis: async () => ({ skipped: 'test' }),
    close: async () => {},
  };
}

/**
 * The fixture control plane; `close()` closes the stores.
 * @param ops operations the tuner knows (mutable: tests may push to it)
 */
export async function fixtureControlPlane(ops: Operation[] = [operation], apply?: TunerService['apply']): Promise<ControlPlane> {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  await store.write(points());
  await store.writeLogs([
    { timestamp: NOW - 30_000, level: 'error', job_id: JOB_ID, job_name: 'flight-delays', vertex: 'enrich', subtask_index: 1, message: 'lookup timed out for key LAX', exception_class: 'LookupTimeoutError', stack: 'LookupTimeoutError: ...' },
  ]);
  const diagnoses = await createDiagnosisStore({ dir: tempDir('pages-diag-') });
  await diagnoses.put(diagnosis);
  // the incident of that diagnosis: opened by it, its report decided and sent, op-1 applied and ended
  let ids = 0;
  const incidents = new IncidentBook({ now: () => NOW, newId: () => `inc-${++ids}` });
  const [opened] = incidents.observe(diagnosis);
  incidents.recordNotification(opened!.incident.id, { notification: 'report', status: 'queued' });
  incidents.recordNotification(opened!.incident.id, { notification: 'report', status: 'sent', channel: 'email' });
  for (const op of ops) if (op.diagnosisId === diagnosis.id) incidents.recordOperation(op, true);
  return {
    store,
    jobs: fakeCatalog([job]),
    diagnoses,
    incidents,
    tuner: fakeTuner(ops, apply),
    logger: silentLogger,
    now: () => NOW,
    async close() {
      await store.close();
      await diagnoses.close();
    },
  } as unknown as ControlPlane;
}

/**
 * Serves routers over the fixture on a free loopback port, with the session locals the pages read
 * (a CSRF token, not logged in). `mount` adds the routers; `close()` stops the server.
 */
export async function serveFixture(mount: (app: Express) => void): Promise<{ base: string; close(): Promise<void> }> {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.csrfToken = 'csrf-token-for-this-session';
    res.locals.loggedIn = false;
    // the pages show paths as the app allows them with publicReads (hidden paths: test/security.test.ts)
    res.locals.sensitiveReads = true;
    next();
  });
  mount(app);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
