import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import type { MetricPoint } from '../core/points.ts';
import { loadJobWindow, loadJobWindows, inferTopology, windowBatches } from '../diagnoser/load.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadRules } from '../rules/index.ts';
import { buildWindow } from './fixtures/diagnoser/build.ts';

const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const JOB = 'job-9';

/** Points of an under-provisioned job as the bundled runtime / Flink reporter would write them. */
function points(withTopology: boolean): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: JOB, job_name: 'orders' };
  const V = [
    { id: 'v-src', name: 'Source: orders', p: 2, in: 300, busy: 200, bp: 700, src: true },
    { id: 'v-enrich', name: 'enrich', p: 2, in: 300, busy: 1000, bp: 0, src: false },
  ];
  for (let i = 0; i < 20; i++) {
    const t = T0 + i * 10_000;
    if (withTopology) {
      out.push({ measurement: 'streamtune_job_vertex', tags: { ...jm, task_id: 'v-src', task_name: 'Source: orders' }, fields: { parallelism: 2, maxParallelism: 128, inputs: '', partitions: 8, keyed: 0 }, timestamp: t, intFields: ['parallelism', 'maxParallelism', 'partitions', 'keyed'] });
      out.push({ measurement: 'streamtune_job_vertex', tags: { ...jm, task_id: 'v-enrich', task_name: 'enrich' }, fields: { parallelism: 2, maxParallelism: 128, inputs: 'v-src', keyed: 1 }, timestamp: t, intFields: ['parallelism', 'maxParallelism', 'keyed'] });
      out.push({ measurement: 'jobmanager_job_streamtune_checkpointConfig', tags: jm, fields: { interval: 60000, timeout: 600000, minPause: 0, unaligned: 0 }, timestamp: t });
    }
    out.push({ measurement: 'jobmanager_job_numRestarts', tags: jm, fields: { value: 0 }, timestamp: t });
    out.push({ measurement: 'jobmanager_job_lastCheckpointDuration', tags: jm, fields: { value: 1200 }, timestamp: t });
    out.push({ measurement: 'taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond', tags: { host: 'h', tm_id: 'tm-1' }, fields: { count: i * 100, rate: 12 }, timestamp: t });
    out.push({ measurement: 'taskmanager_Status_JVM_Memory_Heap_Max', tags: { host: 'h', tm_id: 'tm-1' }, fields: { value: 1 << 30 }, timestamp: t });
    for (const v of V) {
      for (let s = 0; s < v.p; s++) {
        const tags = { ...jm, tm_id: 'tm-1', task_id: v.id, task_name: v.name, subtask_index: String(s) };
        out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags, fields: { count: i * 3000, rate: v.in / v.p }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_numRecordsOutPerSecond', tags, fields: { count: i * 3000, rate: v.in / v.p }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags, fields: { value: v.busy }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_backPressuredTimeMsPerSecond', tags, fields: { value: v.bp }, timestamp: t });
        out.push({ measurement: 'taskmanager_job_task_idleTimeMsPerSecond', tags, fields: { value: 1000 - v.busy - v.bp }, timestamp: t });
        if (v.src) out.push({ measurement: 'taskmanager_job_task_operator_pendingRecords', tags: { ...tags, operator_id: v.id, operator_name: 'Source: orders' }, fields: { value: 10_000 + i * 2000 }, timestamp: t });
        else out.push({ measurement: 'taskmanager_job_task_streamtune_keyGroupRecords', tags: { ...tags, key_group: String(s * 64) }, fields: { count: i * 100 }, timestamp: t });
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

test('loadJobWindow reads the runtime topology, task series, lag, checkpoints and JVM from the embedded store', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write(points(true));
    await store.writeLogs([{ timestamp: T0 + 5000, level: 'error', job_id: JOB, message: 'boom', exception_class: 'X' }]);
    const w = await loadJobWindow(store, JOB, T0, T0 + 190_000, T0 + 191_000, { consumerGroup: 'orders-g', topology: [{ id: 'v-src', inputs: [] }, { id: 'v-enrich', inputs: ['v-src'] }] });
    assert.deepEqual(w.vertices.map((v) => v.id), ['v-src', 'v-enrich']);
    const [src, enrich] = w.vertices;
    assert.equal(src!.isSource, true);
    assert.equal(src!.partitions, 8);
    assert.equal(enrich!.keyedInput, true);
    assert.equal(enrich!.maxParallelism, 128);
    assert.deepEqual(enrich!.inputs, ['v-src']);
    assert.equal(enrich!.subtasks.length, 2);
    assert.equal(enrich!.subtasks[1]!.busyTimeMsPerSecond.length, 20);
    assert.equal(enrich!.subtasks[0]!.recordsInPerSecond[0]!.v, 150);
    assert.equal(src!.pendingRecords!.at(-1)!.v, 2 * (10_000 + 19 * 2000));
    assert.deepEqual(enrich!.keyGroupRecords, { 0: 1900, 64: 1900 });
    assert.deepEqual(w.checkpoints.config, { interval: 60000, timeout: 600000, minPause: 0, unaligned: false });
    assert.equal(w.checkpoints.lastCheckpointDuration.length, 20);
    assert.equal(w.consumerLag!.partitions.length, 2);
    assert.equal(w.consumerLag!.partitions[0]!.committedOffset.length, 20);
    assert.equal(w.jvm.length, 1);
    assert.equal(w.jvm[0]!.gcTimeMsPerSecond[0]!.v, 12);
    assert.equal(w.jvm[0]!.otherJobs, undefined, 'tm-1 runs only this job');
    assert.equal(w.logs.length, 1);
    assert.equal(w.topologyInferred, false);
    const d = diagnose(loadRules(), w);
    assert.equal(d.rootCause.kind, 'under-provisioned');
    assert.equal(d.rootCause.vertex, 'enrich');
  } finally {
    await store.close();
  }
});

test('without a plan the topology is inferred: sources first, a linear chain', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write(points(false));
    const w = await loadJobWindow(store, JOB, T0, T0 + 190_000, T0 + 191_000);
    assert.equal(w.topologyInferred, true);
    assert.deepEqual(w.vertices.map((v) => [v.id, v.isSource, v.inputs]), [['v-src', true, []], ['v-enrich', false, ['v-src']]]);
    assert.equal(w.vertices[1]!.maxParallelism, 128, "Flink's default max parallelism");
    assert.equal(w.consumerLag, undefined);
  } finally {
    await store.close();
  }
});

test('inferTopology puts sinks last and chains the rest by falling records-in rate', () => {
  const w = buildWindow({ vertices: [
    { id: 'b', name: 'Sink: out', p: 1, in: 10, busy: 1 },
    { id: 'c', name: 'Filter', p: 1, in: 100, busy: 1 },
    { id: 'a', name: 'Source: x', p: 1, in: 100, busy: 1, source: true },
    { id: 'd', name: 'Window', p: 1, in: 50, busy: 1 },
  ] });
  assert.deepEqual(inferTopology(w.vertices).map((v) => [v.id, v.inputs.join()]), [['a', ''], ['c', 'a'], ['d', 'c'], ['b', 'd']]);
});

/** A diamond (src → a, src → b, a + b → sink) as the runtime writes it: edges in the `inputs` tag. */
function diamond(job: string, withInputsTag: boolean): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: 'h', job_id: job, job_name: `diamond-${job}` };
  const V = [
    { id: 'src', name: 'Source: s', inputs: '' , rate: 400 },
    { id: 'a', name: 'a', inputs: 'src', rate: 300 },
    { id: 'b', name: 'b', inputs: 'src', rate: 200 },
    { id: 'sink', name: 'Sink: k', inputs: 'a,b', rate: 100 },
  ];
  for (let i = 0; i < 6; i++) {
    const t = T0 + i * 10_000;
    for (const v of V) {
      const tags: Record<string, string> = { ...jm, task_id: v.id, task_name: v.name };
      if (withInputsTag) tags.inputs = v.inputs;
      out.push({ measurement: 'streamtune_job_vertex', tags, fields: { parallelism: 1, maxParallelism: 128, inputs: v.inputs }, timestamp: t, intFields: ['parallelism', 'maxParallelism'] });
      const st = { ...jm, tm_id: `tm-${job}`, task_id: v.id, task_name: v.name, subtask_index: '0' };
      out.push({ measurement: 'taskmanager_job_task_numRecordsInPerSecond', tags: st, fields: { rate: v.rate }, timestamp: t });
      out.push({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', tags: st, fields: { value: 100 + i }, timestamp: t });
    }
  }
  return out;
}

test('edges come from the inputs tag of streamtune_job_vertex when no plan is given; inference stays the fallback', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write([...diamond('j-tag', true), ...diamond('j-plain', false)]);
    const w = await loadJobWindow(store, 'j-tag', T0, T0 + 60_000, T0 + 60_000);
    assert.equal(w.topologyInferred, false);
    const edges = Object.fromEntries(w.vertices.map((v) => [v.id, v.inputs.join()]));
    assert.deepEqual(edges, { src: '', a: 'src', b: 'src', sink: 'a,b' });
    assert.equal(w.vertices[0]!.id, 'src');
    assert.equal(w.vertices.at(-1)!.id, 'sink');
    assert.equal(w.vertices.find((v) => v.id === 'src')!.isSource, true);
    const plain = await loadJobWindow(store, 'j-plain', T0, T0 + 60_000, T0 + 60_000);
    assert.equal(plain.topologyInferred, true);
    assert.deepEqual(plain.vertices.map((v) => [v.id, v.inputs.join()]), [['src', ''], ['a', 'src'], ['b', 'a'], ['sink', 'b']]);
  } finally {
    await store.close();
  }
});

test('loadJobWindows reads many jobs with one query per measurement and gives what loadJobWindow gives for each', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    const second = points(true).map((p) => ({
      ...p,
      tags: Object.fromEntries(Object.entries(p.tags ?? {}).map(([k, v]) => [k, k === 'job_id' && v === JOB ? 'job-10' : k === 'group' ? 'other-g' : v])),
      fields: Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, typeof v === 'number' && k !== 'parallelism' ? v * 2 : v])),
    }));
    await store.write([...points(true), ...second, ...diamond('j-tag', true)]);
    await store.writeLogs([
      { timestamp: T0 + 5000, level: 'error', job_id: JOB, message: 'boom', exception_class: 'X' },
      { timestamp: T0 + 6000, level: 'warn', job_id: 'job-10', message: 'slow' },
      { timestamp: T0 + 7000, level: 'info', job_id: 'job-10', message: 'quiet' },
    ]);
    const jobs = [
      { jobId: JOB, consumerGroup: 'orders-g' },
      { jobId: 'job-10', consumerGroup: 'other-g', topology: [{ id: 'v-src', inputs: [] }, { id: 'v-enrich', inputs: ['v-src'] }] },
      { jobId: 'j-tag' },
      { jobId: 'no-data', consumerGroup: 'nobody' },
    ];
    let queries = 0;
    const counting = new Proxy(store, { get: (target, key) => (key === 'query' ? (q: Parameters<typeof store.query>[0]) => { queries++; return target.query(q); } : Reflect.get(target, key, target)) });
    const many = await loadJobWindows(counting, jobs, T0, T0 + 190_000, T0 + 191_000, { stepMs: 10_000 });
    const batchQueries = queries;
    assert.deepEqual([...many.keys()], [JOB, 'job-10', 'j-tag', 'no-data']);
    for (const j of jobs) {
      const alone = await loadJobWindow(store, j.jobId, T0, T0 + 190_000, T0 + 191_000, { stepMs: 10_000, ...(j.consumerGroup ? { consumerGroup: j.consumerGroup } : {}), ...(j.topology ? { topology: j.topology } : {}) });
      assert.deepEqual(many.get(j.jobId), alone, j.jobId);
    }
    assert.equal(many.get('job-10')!.vertices[1]!.subtasks[0]!.busyTimeMsPerSecond[0]!.v, 2000);
    assert.equal(many.get('job-10')!.logs.length, 1);
    assert.equal(many.get('no-data')!.vertices.length, 0);
    // job-9 and job-10 ran on the same TaskManager: each window names the other job there
    assert.deepEqual(many.get(JOB)!.jvm.map((j) => [j.tmId, j.otherJobs]), [['tm-1', [{ jobId: 'job-10', jobName: 'orders' }]]]);
    assert.deepEqual(many.get('job-10')!.jvm[0]!.otherJobs, [{ jobId: JOB, jobName: 'orders' }]);
    // ~30 for the window, 2 counters (rates where the meters are missing), 4 for the load history
    assert.ok(batchQueries <= 42, `one query per measurement and field, not per job (${batchQueries})`);
  } finally {
    await store.close();
  }
});

test('windowBatches reads batch by batch in input order, the next batch while the caller handles this one, and yields a failed read instead of throwing', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    await store.write([...points(true), ...diamond('j-tag', true)]);
    const jobs = [{ jobId: JOB, consumerGroup: 'orders-g' }, { jobId: 'j-tag' }, { jobId: 'no-data' }, { jobId: 'fails' }, { jobId: 'after' }];
    // the store sees which jobs each query asks for; queries for the job 'fails' are refused
    const asked: string[][] = [];
    const watching = new Proxy(store, {
      get: (target, key) => (key === 'query'
        ? (q: Parameters<typeof store.query>[0]) => {
          const w = q.where?.job_id;
          const ids = w === undefined ? [] : typeof w === 'string' ? [w] : [...w];
          if (ids.length) asked.push(ids);
          return ids.includes('fails') ? Promise.reject(new Error('store down')) : target.query(q);
        }
        : Reflect.get(target, key, target)),
    });
    const range = { start: T0, end: T0 + 190_000, now: T0 + 191_000 };
    const seen: Array<{ offset: number; ids: string[]; ok: boolean; readAhead: boolean }> = [];
    for await (const b of windowBatches(watching, jobs, 2, range, { stepMs: 10_000 })) {
      await new Promise((r) => setImmediate(r));
      // while this batch is handled, the store has already been asked for the next one
      const next = jobs.slice(b.offset + 2, b.offset + 4).map((j) => j.jobId);
      const readAhead = next.length === 0 || asked.some((ids) => next.every((id) => ids.includes(id)));
      seen.push({ offset: b.offset, ids: b.jobs.map((j) => j.jobId), ok: b.windows !== undefined, readAhead });
      if (b.windows) {
        for (const j of b.jobs) assert.deepEqual(b.windows.get(j.jobId), (await loadJobWindows(store, [j], T0, T0 + 190_000, T0 + 191_000, { stepMs: 10_000 })).get(j.jobId), j.jobId);
      } else {
        assert.match(String(b.error), /store down/);
      }
    }
    assert.deepEqual(seen, [
      { offset: 0, ids: [JOB, 'j-tag'], ok: true, readAhead: true },
      { offset: 2, ids: ['no-data', 'fails'], ok: false, readAhead: true },
      { offset: 4, ids: ['after'], ok: true, readAhead: true },
    ]);
  } finally {
    await store.close();
  }
});

test('windowBatches reads TaskManager-wide series once per sweep when the batches\' jobs share the TaskManagers, with the same windows as reading each job alone', async () => {
  const store = await createEmbeddedStore({ path: ':memory:', retentionDays: 0 });
  try {
    const twin = points(true).map((p) => ({ ...p, tags: Object.fromEntries(Object.entries(p.tags ?? {}).map(([k, v]) => [k, k === 'job_id' && v === JOB ? 'job-twin' : v])) }));
    await store.write([...points(true), ...twin]);
    const asked = new Map<string, number>();
    const counting = new Proxy(store, {
      get: (target, key) => (key === 'query'
        ? (q: Parameters<typeof store.query>[0]) => {
          asked.set(q.measurement, (asked.get(q.measurement) ?? 0) + 1);
          return target.query(q);
        }
        : Reflect.get(target, key, target)),
    });
    const jobs = [{ jobId: JOB, consumerGroup: 'orders-g' }, { jobId: 'job-twin', consumerGroup: 'orders-g' }];
    const range = { start: T0, end: T0 + 190_000, now: T0 + 191_000 };
    const got = new Map<string, unknown>();
    for await (const b of windowBatches(counting, jobs, 1, range, { stepMs: 10_000 })) for (const [id, w] of b.windows!) got.set(id, w);
    // both jobs ran on tm-1: its heap and GC series were read for the first batch and reused for the second
    assert.equal(asked.get('taskmanager_Status_JVM_Memory_Heap_Max'), 1);
    assert.equal(asked.get('taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond'), 1);
    assert.equal(asked.get('taskmanager_job_task_busyTimeMsPerSecond'), 1 + 2 * 2, 'one tm-wide read, plus the per-job reads of each batch');
    for (const j of jobs) {
      const alone = await loadJobWindow(store, j.jobId, range.start, range.end, range.now, { stepMs: 10_000, consumerGroup: j.consumerGroup });
      assert.deepEqual(got.get(j.jobId), alone, j.jobId);
    }
    assert.deepEqual((got.get('job-twin') as { jvm: Array<{ otherJobs?: unknown }> }).jvm[0]!.otherJobs, [{ jobId: JOB, jobName: 'orders' }]);
  } finally {
    await store.close();
  }
});
