/**
 * A Flink job's execution (re)started within the diagnosis window (diagnoser/service.ts,
 * `trimTaskSeries` in diagnoser/window.ts): its task series are read from a minute after the restart
 * (Flink's rate meters average 60 s), but its restarts and exceptions keep the whole window, so a
 * crash-looping job, whose execution always started seconds ago, is a crash loop and not "not enough
 * data" (seen on a real Flink 1.20 cluster with a poison record).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../collector/store/index.ts';
import { createMemoryBus } from '../core/bus-memory.ts';
import type { MetricPoint } from '../core/points.ts';
import { createDiagnosisStore } from '../diagnoser/diagnosis-store.ts';
import { createDiagnosisService } from '../diagnoser/service.ts';
import { trimTaskSeries, type JobWindow } from '../diagnoser/window.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const NOW = T0 + 195_000;
const JOB = 'a'.repeat(32);

/** 20 rounds 10 s apart: a restart every 20 s with the poison record's exception, task metrics while it runs. */
function crashLoopPoints(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: JOB, job_name: 'orders' };
  for (let i = 0; i < 20; i++) {
    const t = T0 + i * 10_000;
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: Math.floor(i / 2) }, timestamp: t });
    for (const v of [{ id: 'v-src', name: 'Source: orders' }, { id: 'v-enrich', name: 'enrich' }]) {
      const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.name, subtask_index: '0' };
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: 50 }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { count: 100, rate: 5 }, timestamp: t });
    }
  }
  return out;
}

const jobs: ManagedJob[] = [{
  job_id: JOB, name: 'orders', executor: 'flink', state: 'RUNNING', startedAt: T0 - 600_000, runningSince: NOW - 5_000,
  topology: [
    { id: 'v-src', name: 'Source: orders', parallelism: 1, maxParallelism: 128, inputs: [] },
    { id: 'v-enrich', name: 'enrich', parallelism: 1, maxParallelism: 128, inputs: ['v-src'] },
  ],
}];
const catalog: JobCatalog = {
  list: () => jobs, get: (id) => jobs.find((j) => j.job_id === id),
  submit: () => Promise.reject(new Error('unused')), triggerSavepoint: () => Promise.reject(new Error('unused')), stop: () => Promise.reject(new Error('unused')),
  onChange: () => () => {},
};

test('a crash-looping Flink job restarted 5 s ago is diagnosed a crash loop from the whole window, by diagnoseNow and by the sweep', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  await store.write(crashLoopPoints());
  await store.writeLogs([{ timestamp: T0 + 50_000, level: 'error', job_id: JOB, job_name: 'orders', vertex: 'enrich', message: 'poison record', exception_class: 'java.lang.IllegalStateException' }]);
  const bus = createMemoryBus();
  const rules = new RuleSetManager(tempDir(), { watch: false });
  const diagnoses = await createDiagnosisStore({ dir: tempDir() });
  const service = createDiagnosisService({ store, rules, bus, jobs: catalog, diagnoses, windowMs: 200_000, stepMs: 10_000, sweepCron: 'off', now: () => NOW });
  try {
    const d = await service.diagnoseNow(JOB);
    assert.equal(d.rootCause.kind, 'crash-loop', JSON.stringify(d.rootCause));
    const [swept] = await service.sweep();
    assert.equal(swept?.rootCause.kind, 'crash-loop', JSON.stringify(swept?.rootCause));
  } finally {
    await service.stop(); rules.close(); await bus.close(); await diagnoses.close(); await store.close();
  }
});

test('trimTaskSeries cuts every subtask series and pendingRecords, and keeps the job-level series', () => {
  const pts = (ts: number[]) => ts.map((t) => ({ t, v: 1 }));
  const w = {
    jobId: 'j', start: 0, end: 100, now: 100, topologyInferred: false,
    vertices: [{ id: 'v', name: 'v', parallelism: 1, maxParallelism: 128, inputs: [], isSource: true, keyedInput: false, pendingRecords: pts([0, 50, 90]), subtasks: [{ subtask: 0, busyTimeMsPerSecond: pts([0, 50, 90]), recordsInPerSecond: pts([10, 60]) }] }],
    checkpoints: { lastCheckpointDuration: pts([0, 90]), numberOfFailedCheckpoints: [], numberOfCompletedCheckpoints: [], lastCheckpointSize: [], alignmentMs: [] },
    numRestarts: pts([0, 50, 90]), jvm: [], logs: [],
  } as unknown as JobWindow;
  const t = trimTaskSeries(w, 50);
  const s = t.vertices[0]!.subtasks[0]!;
  assert.deepEqual([s.busyTimeMsPerSecond.map((p) => p.t), s.recordsInPerSecond.map((p) => p.t), t.vertices[0]!.pendingRecords!.map((p) => p.t)], [[50, 90], [60], [50, 90]]);
  assert.deepEqual([t.numRestarts.length, t.checkpoints.lastCheckpointDuration.length], [3, 1]);
  assert.equal(w.vertices[0]!.subtasks[0]!.busyTimeMsPerSecond.length, 3, 'the input window is not changed');
  assert.equal(trimTaskSeries(w, 0), w);
});

test('a Flink job started 20 s ago is not sized from its first meters: not enough data, no recommendation, until a minute has passed', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const jm = { host: 'h', job_id: JOB, job_name: 'orders' };
  const pts: MetricPoint[] = [];
  for (let i = 0; i < 20; i++) {
    const t = NOW - 190_000 + i * 10_000;
    pts.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    for (const v of [{ id: 'v-src', name: 'Source: orders', busy: 100, bp: 900 }, { id: 'v-enrich', name: 'enrich', busy: 1000, bp: 0 }]) {
      const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.name, subtask_index: '0' };
      pts.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: v.busy }, timestamp: t });
      pts.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: v.bp }, timestamp: t });
      pts.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { count: i * 20, rate: 2 }, timestamp: t });
    }
  }
  await store.write(pts);
  const young: ManagedJob[] = [{ ...jobs[0]!, runningSince: NOW - 20_000 }];
  const cat: JobCatalog = { ...catalog, list: () => young, get: (id) => young.find((j) => j.job_id === id) };
  const bus = createMemoryBus();
  const rules = new RuleSetManager(tempDir(), { watch: false });
  const diagnoses = await createDiagnosisStore({ dir: tempDir() });
  let now = NOW;
  const service = createDiagnosisService({ store, rules, bus, jobs: cat, diagnoses, windowMs: 200_000, stepMs: 10_000, sweepCron: 'off', now: () => now });
  try {
    const d = await service.diagnoseNow(JOB);
    assert.equal(d.rootCause.kind, 'insufficient-data', JSON.stringify(d.rootCause));
    assert.deepEqual(d.recommendations, []);
    // once its meters span a minute after the start (and a few steps of them were read), they count
    now = NOW + 90_000;
    await store.write(pts.map((p) => ({ ...p, timestamp: p.timestamp + 90_000 })));
    const later = await service.diagnoseNow(JOB);
    assert.notEqual(later.rootCause.kind, 'insufficient-data', JSON.stringify(later.rootCause));
  } finally {
    await service.stop(); rules.close(); await bus.close(); await diagnoses.close(); await store.close();
  }
});

