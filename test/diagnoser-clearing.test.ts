/**
 * The evidence that a problem cleared (diagnoser/service.ts): a sweep diagnosis that finds no problem
 * is kept and published when the job had one open (the job's newest stored diagnosis found one, or
 * the `hasOpenProblem` option says so: the control plane's incident book), and only then; the job
 * here recovered: every vertex keeps up and its consumer group has no lag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../collector/store/index.ts';
import { createMemoryBus } from '../core/bus-memory.ts';
import type { MetricPoint } from '../core/points.ts';
import { createDiagnosisStore } from '../diagnoser/diagnosis-store.ts';
import { createDiagnosisService } from '../diagnoser/service.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const NOW = T0 + 195_000;
const JOB = 'job-ok';

/** A job that keeps up: enrich busy 200 ms/s, nothing back-pressured, the group committing at the log end. */
function healthyPoints(): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: JOB, job_name: 'orders' };
  for (let i = 0; i < 20; i++) {
    const t = T0 + i * 10_000;
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    for (const v of [{ id: 'v-src', name: 'Source: orders', busy: 100 }, { id: 'v-enrich', name: 'enrich', busy: 200 }]) {
      for (let s = 0; s < 2; s++) {
        const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.name, subtask_index: String(s) };
        out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { count: i * 1500, rate: 150 }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { count: i * 1500, rate: 150 }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: v.busy }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: 0 }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_idleTimeMsPerSecond', tags, fields: { value: 1000 - v.busy }, timestamp: t });
      }
    }
    for (let p = 0; p < 2; p++) {
      const tags = { group: 'orders-g', topic: 'orders', partition: String(p) };
      out.push({ measurement: 'streamtune_kafka_partition_lag', tags, fields: { value: 0 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_committedOffset', tags, fields: { value: 1000 + i * 1500 }, timestamp: t });
      out.push({ measurement: 'streamtune_kafka_partition_logEndOffset', tags, fields: { value: 1000 + i * 1500 }, timestamp: t });
    }
  }
  return out;
}

const jobs: ManagedJob[] = [{ job_id: JOB, name: 'orders', executor: 'bundled', state: 'RUNNING', consumerGroup: 'orders-g', topology: [
  { id: 'v-src', name: 'Source: orders', parallelism: 2, maxParallelism: 128, inputs: [], partitions: 8 },
  { id: 'v-enrich', name: 'enrich', parallelism: 2, maxParallelism: 128, inputs: ['v-src'] },
] }];
const catalog: JobCatalog = {
  list: () => jobs, get: (id) => jobs.find((j) => j.job_id === id),
  submit: () => Promise.reject(new Error('unused')), triggerSavepoint: () => Promise.reject(new Error('unused')), stop: () => Promise.reject(new Error('unused')),
  onChange: () => () => {},
};

async function setup(hasOpenProblem?: (jobId: string) => boolean) {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  await store.write(healthyPoints());
  const bus = createMemoryBus();
  const rules = new RuleSetManager(tempDir(), { watch: false });
  const diagnoses = await createDiagnosisStore({ dir: tempDir() });
  let now = NOW;
  const service = createDiagnosisService({ store, rules, bus, jobs: catalog, diagnoses, windowMs: 200_000, stepMs: 10_000, sweepCron: 'off', now: () => now, ...(hasOpenProblem ? { hasOpenProblem } : {}) });
  const published: Diagnosis[] = [];
  await bus.subscribe('diagnoses', (d) => { published.push(d); });
  return {
    diagnoses, service, published, later: () => (now += 60_000),
    async close() { await service.stop(); rules.close(); await bus.close(); await diagnoses.close(); await store.close(); },
  };
}

test('a clean sweep of a job whose last diagnosis found a problem is kept and published: the evidence it cleared; the next clean sweep is not', async () => {
  const s = await setup();
  try {
    await s.diagnoses.put(laggingDiagnosis({ id: 'was-lagging', job_id: JOB, createdAt: NOW - 300_000 }));
    const [d] = await s.service.sweep();
    assert.equal(d?.rootCause.kind, 'healthy', JSON.stringify(d?.findings));
    assert.equal(d.findings.length, 0);
    assert.deepEqual(s.published.map((x) => x.id), [d.id], 'published: the evidence');
    assert.equal(s.diagnoses.latest(JOB)?.id, d.id, 'stored, now the newest');
    s.later();
    await s.service.sweep();
    assert.equal(s.published.length, 1, 'a clean sweep of a job with no problem open is not kept');
  } finally {
    await s.close();
  }
});

test('with the incident book\'s answer: kept only while the job has an incident open', async () => {
  let open = false;
  const s = await setup(() => open);
  try {
    await s.diagnoses.put(laggingDiagnosis({ id: 'was-lagging', job_id: JOB, createdAt: NOW - 300_000 }));
    await s.service.sweep();
    assert.equal(s.published.length, 0, 'no incident open: nothing to clear');
    open = true;
    s.later();
    await s.service.sweep();
    assert.equal(s.published.length, 1);
    assert.equal(s.published[0]!.trigger.type, 'sweep');
  } finally {
    await s.close();
  }
});
