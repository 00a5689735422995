import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { AnomalyEvent } from '../diagnoser/index.ts';
import { createMemoryBus } from '../core/bus-memory.ts';
import type { MetricPoint } from '../core/points.ts';
import { createAlerter, jobsForLabels } from '../diagnoser/alerter.ts';
import { RuleSetManager } from '../rules/manager.ts';
import type { JobCatalog, ManagedJob } from '../platform/index.ts';
import { tempDir } from './helpers/wait.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

/** The system's input: a fixed list of jobs (submit/stop are not used by the alerter). */
function staticCatalog(jobs: ManagedJob[]): JobCatalog {
  const no = () => Promise.reject(new Error('not supported by this catalog'));
  return { list: () => jobs, get: (id) => jobs.find((j) => j.job_id === id), submit: no, triggerSavepoint: no, stop: no, onChange: () => () => {} };
}

const job = (id: string, group?: string): ManagedJob => ({ job_id: id, name: `job ${id}`, executor: 'bundled', state: 'RUNNING', topology: [], ...(group ? { consumerGroup: group } : {}) });

function rulesDir(threshold: number, forS: number): string {
  const dir = tempDir();
  writeRules(dir, threshold, forS);
  return dir;
}
function writeRules(dir: string, threshold: number, forS: number): void {
  writeFileSync(join(dir, 'alerts.yaml'), `alerts:
  - id: lag.test
    metric: streamtune_kafka_partition_lag
    groupBy: [group]
    aggregate: sum
    window: 1m
    condition: "> ${threshold}"
    for: ${forS}s
    severity: severe
    help: lag
  - id: restarts.test
    metric: jobmanager_job_numRestarts
    groupBy: [job_id]
    aggregate: max
    window: 1m
    condition: "> 0"
    for: 0s
    severity: critical
    help: restarts
`);
}

/** Lag of group `group` on two partitions, 600 records each (1200 total) from `from` to `to`, 10 before and after; both partitions polled at the same time. */
function lagPoints(group: string, from: number, to: number, until: number): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let t = T0; t <= until; t += 5000) {
    for (const p of ['0', '1']) out.push({ measurement: 'streamtune_kafka_partition_lag', tags: { group, topic: 'orders', partition: p }, fields: { value: t >= from && t < to ? 600 : 10 }, timestamp: t });
  }
  return out;
}

test('the alerter fires once per incident, maps group and job_id labels to known jobs, resolves, and survives a reload', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const bus = createMemoryBus();
  const dir = rulesDir(1000, 10);
  const rules = new RuleSetManager(dir, { extendBuiltin: false, watch: false });
  const got: AnomalyEvent[] = [];
  await bus.subscribe('anomalies', (e) => { got.push(e); });
  try {
    await store.write([
      ...lagPoints('g-a', T0 + 20_000, T0 + 60_000, T0 + 90_000),
      ...lagPoints('g-unknown', T0 + 20_000, T0 + 90_001, T0 + 90_000),
      { measurement: 'jobmanager_job_numRestarts', tags: { job_id: 'job-b' }, fields: { value: 2 }, timestamp: T0 + 30_000 },
    ]);
    const alerter = createAlerter({ store, rules, bus, jobs: staticCatalog([job('job-a', 'g-a'), job('job-b')]), now: () => T0 });
    const byStep: Record<number, AnomalyEvent[]> = {};
    for (let t = T0; t <= T0 + 70_000; t += 5000) {
      if (t === T0 + 40_000) {
        writeRules(dir, 900, 10); // a reload in the middle of the incident changes nothing for it
        assert.equal(rules.reload().ok, true);
      }
      byStep[t - T0] = await alerter.evaluateOnce(t);
    }
    // lag sum 1200 > 1000 from +20 s; held for 10 s at +30 s → fired at +30 s
    assert.deepEqual(byStep[25_000], []);
    const fired = byStep[30_000]!.filter((e) => e.ruleId === 'lag.test');
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0], {
      alertId: 'lag.test|group=g-a', ruleId: 'lag.test', severity: 'severe', job_id: 'job-a', job_name: 'job job-a',
      state: 'fired', since: T0 + 20_000, at: T0 + 30_000, value: 1200, labels: { group: 'g-a' },
    });
    const restarts = byStep[30_000]!.filter((e) => e.ruleId === 'restarts.test');
    assert.deepEqual(restarts.map((e) => [e.job_id, e.state, e.value]), [['job-b', 'fired', 2]]);
    // lag back to 20 at +60 s → resolved then, once
    const lagEvents = got.filter((e) => e.ruleId === 'lag.test');
    assert.deepEqual(lagEvents.map((e) => [e.state, e.at - T0]), [['fired', 30_000], ['resolved', 60_000]]);
    assert.ok(!got.some((e) => e.labels.group === 'g-unknown'), 'a group of no known job is not published');
    assert.deepEqual(got, Object.values(byStep).flat(), 'evaluateOnce returns what it published');
  } finally {
    rules.close();
    await bus.close();
    await store.close();
  }
});

test('a failed publish is retried at the next evaluation', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const inner = createMemoryBus();
  let fail = true;
  const bus = { ...inner, kind: 'memory' as const, publish: (async (topic, e) => { if (fail) throw new Error('broker down'); await inner.publish(topic, e); }) as typeof inner.publish };
  const rules = new RuleSetManager(rulesDir(1000, 0), { extendBuiltin: false, watch: false });
  try {
    await store.write(lagPoints('g-a', T0, T0 + 60_000, T0 + 30_000));
    const alerter = createAlerter({ store, rules, bus, jobs: staticCatalog([job('job-a', 'g-a')]) });
    assert.deepEqual(await alerter.evaluateOnce(T0 + 10_000), []);
    fail = false;
    const ev = await alerter.evaluateOnce(T0 + 15_000);
    assert.deepEqual(ev.map((e) => [e.state, e.since - T0]), [['fired', 0]]);
    assert.deepEqual(await alerter.evaluateOnce(T0 + 20_000), []);
  } finally {
    rules.close();
    await store.close();
  }
});

test('jobsForLabels maps a consumer group and a job id to known jobs only', () => {
  const jobs = [job('a', 'g1'), job('b', 'g2')];
  assert.deepEqual(jobsForLabels({ group: 'g2' }, jobs).map((j) => j.job_id), ['b']);
  assert.deepEqual(jobsForLabels({ job_id: 'a' }, jobs).map((j) => j.job_id), ['a']);
  assert.deepEqual(jobsForLabels({ group: 'zz', job_id: 'zz' }, jobs), []);
});

test('start() evaluates on its interval until stop()', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  const bus = createMemoryBus();
  const rules = new RuleSetManager(rulesDir(1000, 0), { extendBuiltin: false, watch: false });
  const got: AnomalyEvent[] = [];
  await bus.subscribe('anomalies', (e) => { got.push(e); });
  try {
    await store.write(lagPoints('g-a', T0, T0 + 60_000, T0 + 30_000));
    const alerter = createAlerter({ store, rules, bus, jobs: staticCatalog([job('job-a', 'g-a')]), intervalMs: 20, now: () => T0 + 30_000 });
    alerter.start();
    const { waitFor } = await import('./helpers/wait.ts');
    await waitFor(() => got.length === 1, { what: 'the first evaluation' });
    await alerter.stop();
    assert.equal(got[0]!.state, 'fired');
    assert.equal(alerter.active().length, 1);
  } finally {
    rules.close();
    await bus.close();
    await store.close();
  }
});
