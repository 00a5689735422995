import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../collector/store/index.ts';
import type { AnomalyEvent } from '../diagnoser/index.ts';
import { createMemoryBus } from '../core/bus-memory.ts';
import { isErrorCode } from '../core/errors.ts';
import type { MetricPoint } from '../core/points.ts';
import { createDiagnosisStore } from '../diagnoser/diagnosis-store.ts';
import { createDiagnosisService } from '../diagnoser/service.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const NOW = T0 + 195_000;
const JOB = 'job-9';

/** An under-provisioned job as Flink's reporter names it: `enrich` busy 1000 ms/s, the source backpressured, lag growing. */
function points(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: JOB, job_name: 'orders' };
  const V = [
    { id: 'v-src', name: 'Source: orders', p: 2, in: 300, busy: 200, bp: 700 },
    { id: 'v-enrich', name: 'enrich', p: 2, in: 300, busy: 1000, bp: 0 },
  ];
  for (let i = 0; i < 20; i++) {
    const t = T0 + i * 10_000;
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    for (const v of V) {
      for (let s = 0; s < v.p; s++) {
        const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.name, subtask_index: String(s) };
        out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { count: i * 3000, rate: v.in / v.p }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { count: i * 3000, rate: v.in / v.p }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: v.busy }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: v.bp }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_idleTimeMsPerSecond', tags, fields: { value: 1000 - v.busy - v.bp }, timestamp: t });
      }
    }
    for (let p = 0; p < 2; p++) {
      const tags = { group: 'orders-g', topic: 'orders', partition: String(p) };
      out.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: 10_000 + i * 2000 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags, fields: { value: 1000 + i * 1500 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_logEndOffset', tags, fields: { value: 11_000 + i * 3500 }, timestamp: t });
    }
  }
  return out;
}

const jobs: ManagedJob[] = [
  { job_id: JOB, name: 'orders', executor: 'bundled', state: 'RUNNING', consumerGroup: 'orders-g', topology: [
    { id: 'v-src', name: 'Source: orders', parallelism: 2, maxParallelism: 128, inputs: [], partitions: 8 },
    { id: 'v-enrich', name: 'enrich', parallelism: 2, maxParallelism: 128, inputs: ['v-src'], keyedInput: true },
  ] },
  { job_id: 'job-new', name: 'new', executor: 'bundled', state: 'RUNNING', topology: [] },
];
/** The service's input: a fixed list of jobs. */
const catalog: JobCatalog = {
  list: () => jobs, get: (id) => jobs.find((j) => j.job_id === id),
  submit: () => Promise.reject(new Error('unused')), triggerSavepoint: () => Promise.reject(new Error('unused')), stop: () => Promise.reject(new Error('unused')),
  onChange: () => () => {},
};
const fired: AnomalyEvent = { alertId: 'lag.consumer-group|group=orders-g', ruleId: 'lag.consumer-group', severity: 'severe', job_id: JOB, state: 'fired', since: T0 + 60_000, at: NOW, value: 48_000, labels: { group: 'orders-g' } };

async function setup(dir = tempDir(), sweepCron = 'off') {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  await store.write(points());
  const bus = createMemoryBus();
  const rules = new RuleSetManager(tempDir(), { watch: false });
  const diagnoses = await createDiagnosisStore({ dir });
  const service = createDiagnosisService({ store, rules, bus, jobs: catalog, diagnoses, windowMs: 200_000, stepMs: 10_000, sweepCron, now: () => NOW });
  const published: Diagnosis[] = [];
  await bus.subscribe('diagnoses', (d) => { published.push(d); });
  return {
    store, bus, rules, diagnoses, service, published, dir,
    async close() { await service.stop(); rules.close(); await bus.close(); await diagnoses.close(); await store.close(); },
  };
}

test('an anomaly from the bus is diagnosed, stored and published; a duplicate is dropped; the diagnosis survives a restart', async () => {
  const s = await setup();
  let id: string;
  try {
    await s.service.start();
    await s.bus.publish('anomalies', fired);
    await waitFor(() => s.diagnoses.list({ job_id: JOB }).length === 1 && s.published.length === 1, { what: 'the diagnosis' });
    const d = s.diagnoses.list({ job_id: JOB })[0]!;
    id = d.id;
    assert.deepEqual(d.trigger, { type: 'alert', alertId: fired.alertId, ruleId: fired.ruleId });
    assert.equal(d.rootCause.kind, 'under-provisioned');
    assert.equal(d.rootCause.vertex, 'enrich');
    assert.equal(d.windowStart, NOW - 200_000);
    assert.ok(d.recommendations.some((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich')));
    assert.deepEqual(s.published[0], d);
    // at-least-once delivery: the same event again within rediagnoseMs is not diagnosed twice
    assert.equal(await s.service.handleAnomaly(fired), undefined);
    // resolved: diagnosed once more and kept whatever it finds (the evidence for the incident)
    const onResolve = await s.service.handleAnomaly({ ...fired, state: 'resolved' });
    assert.deepEqual(onResolve?.trigger, { type: 'alert', alertId: fired.alertId, ruleId: fired.ruleId, resolved: true });
    assert.equal(s.diagnoses.get(onResolve!.id)?.id, onResolve!.id);
    assert.ok(s.published.some((p) => p.id === onResolve!.id));
    // fired again: diagnosed again (the same window and trigger: the same id)
    assert.equal((await s.service.handleAnomaly(fired))?.id, id);
  } finally {
    await s.close();
  }
  const again = await createDiagnosisStore({ dir: s.dir });
  try {
    assert.equal(again.get(id)?.rootCause.kind, 'under-provisioned');
    assert.equal(again.list().length, 2, 'the alert\'s (same id when fired again) and the one made when it resolved');
  } finally {
    await again.close();
  }
});

test('a sweep diagnoses every running job and keeps only diagnoses with findings; unknown job is NOT_FOUND', async () => {
  const s = await setup();
  try {
    const made = await s.service.sweep();
    assert.deepEqual(made.map((d) => d.job_id).sort(), ['job-9', 'job-new']);
    assert.equal(made.find((d) => d.job_id === 'job-new')!.rootCause.kind, 'insufficient-data');
    const kept = s.diagnoses.list();
    assert.deepEqual(kept.map((d) => [d.job_id, d.trigger.type]), [['job-9', 'sweep']]);
    assert.deepEqual(s.published.map((d) => d.id), kept.map((d) => d.id));
    await assert.rejects(s.service.diagnoseNow('nope'), (e) => isErrorCode(e, 'NOT_FOUND'));
    const manual = await s.service.diagnoseNow(JOB);
    assert.deepEqual(manual.trigger, { type: 'manual' });
    assert.equal(s.diagnoses.get(manual.id)?.rootCause.kind, 'under-provisioned');
  } finally {
    await s.close();
  }
});

test('a store failure is logged and the service keeps handling events', async () => {
  const s = await setup();
  try {
    await s.store.close(); // every read now fails
    assert.equal(await s.service.handleAnomaly(fired), undefined);
    assert.deepEqual(await s.service.sweep(), []);
    assert.equal(s.diagnoses.list().length, 0);
  } finally {
    await s.close().catch(() => undefined);
  }
});

test('an invalid sweep schedule is a config error', () => {
  assert.throws(() => createDiagnosisService({ store: undefined as never, rules: undefined as never, bus: createMemoryBus(), jobs: catalog, diagnoses: undefined as never, sweepCron: 'every minute' }), (e) => isErrorCode(e, 'INVALID_CONFIG'));
});

test('start() runs the sweep on its node-cron schedule', async () => {
  const s = await setup(tempDir(), '* * * * * *'); // every second
  try {
    await s.service.start();
    await waitFor(() => s.diagnoses.list().some((d) => d.trigger.type === 'sweep'), { what: 'a scheduled sweep' });
  } finally {
    await s.close();
  }
});
