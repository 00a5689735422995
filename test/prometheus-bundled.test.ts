/**
 * The bundled runtime's Prometheus endpoint (runtime/metrics/prometheus.ts):
 * - its names and label names are those of Flink 1.20.3's PrometheusReporter for the same metrics,
 *   compared family by family with a scrape of a real cluster running the flight-delays job
 *   (test/fixtures/flink/prometheus-reporter-1.20.3-*.txt), and its label values go through Flink's
 *   filter (`Source: flights` → `Source:_flights`);
 * - a real Prometheus 2.42 scrapes it, and the Prometheus store reads back, under streamtune's
 *   measurement names, what the job reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { REPO_ROOT } from '../platform/local/cache.ts';
import { LocalJob } from '../runtime/job.ts';
import { prometheusExposition, startPrometheusReporter, type PrometheusReporter } from '../runtime/metrics/prometheus.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { startPrometheus, type PrometheusServer } from './helpers/prometheus.ts';
import { startVictoria } from './helpers/victoria.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

/** Metric families of a text exposition: name → label names of its samples (sorted, `quantile` left out). */
function families(text: string): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? /.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((x) => x[1]!).filter((l) => l !== 'quantile');
    const s = out.get(m[1]!) ?? new Set<string>();
    for (const l of labels) s.add(l);
    out.set(m[1]!, s);
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Label values of one family's samples, as label → values. */
function labelValues(text: string, family: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue;
    for (const [, k, v] of line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const s = out.get(k!) ?? new Set<string>();
      s.add(v!);
      out.set(k!, s);
    }
  }
  return out;
}

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'flink');
const flinkText = ['taskmanager', 'jobmanager'].map((p) => readFileSync(join(FIXTURES, `prometheus-reporter-1.20.3-${p}.txt`), 'utf8')).join('\n');

/** The flight-delays job's shape with the real job's vertex names, on generated flights. */
const spec = (): JobSpec => ({
  name: 'flight-delays',
  checkpoints: { interval: 300, dir: tempDir() },
  vertices: [
    { name: 'Source: flights', type: 'generator-source', rate: 2000, keys: 50, splits: 2, parallelism: 2 },
    { name: 'enrich', type: 'map', parallelism: 2, faults: { latencyMs: 0.2 } },
    { name: 'delay-by-origin', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { count: 'count' }, parallelism: 2 },
    { name: 'results: Writer -> results: Committer', type: 'discard-sink', parallelism: 2 },
  ],
  edges: [
    { from: 'Source: flights', to: 'enrich', partitioning: 'rebalance' },
    { from: 'enrich', to: 'delay-by-origin', partitioning: 'hash', key: 'key' },
    { from: 'delay-by-origin', to: 'results: Writer -> results: Committer', partitioning: 'rebalance' },
  ],
});

describe("the bundled runtime's /metrics in Flink's Prometheus format", { timeout: 180_000 }, () => {
  let job: LocalJob;
  let reporter: PrometheusReporter;
  let prom: PrometheusServer;

  before(async () => {
    job = new LocalJob(spec(), { metricsWindowMs: 1000 });
    await job.start();
    reporter = await startPrometheusReporter({ port: 0, points: () => job.metricPoints() });
    prom = await startPrometheus({ targets: [reporter.url], jobNames: ['streamtune-bundled'], scrapeInterval: '1s' });
  });
  after(async () => {
    await prom?.close();
    await reporter?.close();
    await job?.cancel();
  });

  test('every family Flink 1.20.3 also exports has its name and exactly its label names', async () => {
    const ours = families(await prometheusExposition(job.metricPoints()));
    const flink = families(flinkText);
    const shared = [...ours.keys()].filter((n) => flink.has(n));
    // what the diagnoser reads of tasks, operators, sources, checkpoints, restarts and TaskManagers
    for (const n of [
      'flink_taskmanager_job_task_busyTimeMsPerSecond', 'flink_taskmanager_job_task_backPressuredTimeMsPerSecond', 'flink_taskmanager_job_task_idleTimeMsPerSecond',
      'flink_taskmanager_job_task_isBackPressured', 'flink_taskmanager_job_task_numRecordsIn', 'flink_taskmanager_job_task_numRecordsOut',
      'flink_taskmanager_job_task_numRecordsInPerSecond', 'flink_taskmanager_job_task_numRecordsOutPerSecond',
      'flink_taskmanager_job_task_Shuffle_Netty_Input_Buffers_inPoolUsage', 'flink_taskmanager_job_task_Shuffle_Netty_Output_Buffers_outPoolUsage',
      'flink_taskmanager_job_task_checkpointAlignmentTime', 'flink_taskmanager_job_task_checkpointStartDelayNanos', 'flink_taskmanager_job_task_currentInputWatermark',
      'flink_jobmanager_job_lastCheckpointDuration', 'flink_jobmanager_job_lastCheckpointSize', 'flink_jobmanager_job_numberOfCompletedCheckpoints',
      'flink_jobmanager_job_numberOfFailedCheckpoints', 'flink_jobmanager_job_numRestarts', 'flink_jobmanager_job_uptime',
      'flink_taskmanager_Status_JVM_Memory_Heap_Used', 'flink_taskmanager_Status_JVM_Memory_Heap_Committed', 'flink_taskmanager_Status_JVM_Memory_Heap_Max',
      'flink_taskmanager_Status_JVM_GarbageCollector_All_Count', 'flink_taskmanager_Status_JVM_GarbageCollector_All_Time', 'flink_taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond',
    ]) {
      assert.ok(ours.has(n), `the runtime exports ${n}`);
      assert.ok(flink.has(n), `Flink exports ${n}`);
    }
    for (const n of shared) assert.deepEqual(ours.get(n), flink.get(n), `label names of ${n}`);
    // the only families of ours Flink has not: the Node.js event loop (no JVM counterpart)
    assert.deepEqual([...ours.keys()].filter((n) => !flink.has(n)).filter((n) => !/operator_(pendingRecords|sourceIdleTime)$/.test(n)), ['flink_taskmanager_Status_NodeJS_EventLoop_Delay']);
    // pending records and idle time of a FLIP-27 source: the names Flink gives its Kafka source's
    assert.equal(flink.has('flink_taskmanager_job_task_operator_pendingRecords'), true);
    assert.deepEqual(ours.get('flink_taskmanager_job_task_operator_pendingRecords'), flink.get('flink_taskmanager_job_task_operator_pendingRecords'));
    // no streamtune measurement is exposed (Flink has none)
    assert.deepEqual([...ours.keys()].filter((n) => n.includes('streamtune')), []);
  });

  test("label values go through Flink's filter: the same task and job names as the real cluster's", async () => {
    const text = await prometheusExposition(job.metricPoints());
    const ours = labelValues(text, 'flink_taskmanager_job_task_busyTimeMsPerSecond');
    const flink = labelValues(flinkText, 'flink_taskmanager_job_task_busyTimeMsPerSecond');
    assert.deepEqual(ours.get('task_name'), flink.get('task_name'));
    assert.deepEqual(ours.get('job_name'), new Set(['flight_delays']));
    assert.deepEqual(ours.get('subtask_index'), flink.get('subtask_index'));
    for (const v of ours.get('tm_id')!) assert.match(v, /^streamtune_tm_[0-9_]+$/);
    // a counter is a gauge named without _total, a Boolean gauge is 1 or 0, as in Flink's scrape
    assert.match(text, /^# TYPE flink_taskmanager_job_task_numRecordsIn gauge$/m);
    assert.match(flinkText, /^# TYPE flink_taskmanager_job_task_numRecordsIn gauge$/m);
    assert.doesNotMatch(text, /_total[{ ]/);
    for (const line of text.split('\n').filter((l) => l.startsWith('flink_taskmanager_job_task_isBackPressured{'))) assert.match(line, / [01]$/);
    assert.match(text, /^# HELP flink_taskmanager_job_task_busyTimeMsPerSecond busyTimeMsPerSecond \(scope: taskmanager_job_task\)$/m);
    assert.match(flinkText, /^# HELP flink_taskmanager_job_task_busyTimeMsPerSecond busyTimeMsPerSecond \(scope: taskmanager_job_task\)$/m);
  });

  test('Prometheus 2.42 scrapes the endpoint; the store reads busy time, records in and checkpoints back by streamtune names', async () => {
    await prom.waitTargetsUp();
    const store = createPrometheusStore({ url: prom.url });
    const start = job.startedAt;
    const busy = await waitFor(
      async () => {
        const s = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start, end: Date.now(), where: { job_id: job.id, task_name: 'enrich' }, groupBy: ['subtask_index'], window: 1000, aggregate: 'last' });
        return s.length === 2 && s.every((x) => x.points.length >= 3) ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "enrich's records-in counters scraped three times" },
    );
    assert.deepEqual(busy.map((s) => s.tags), [{ subtask_index: '0' }, { subtask_index: '1' }]);
    for (const s of busy) for (let i = 1; i < s.points.length; i++) assert.ok(s.points[i]!.v >= s.points[i - 1]!.v, 'a counter does not go down');
    const rate = await store.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start, end: Date.now(), where: { job_id: job.id, task_name: 'enrich' }, window: 5000, aggregate: 'rate' });
    assert.ok(rate[0]!.points.some((p) => p.v > 1000 && p.v < 3000), `enrich reads ~2,000 records/s: ${JSON.stringify(rate)}`);
    const done = await store.query({ measurement: 'jobmanager_job_numberOfCompletedCheckpoints', field: 'value', start, end: Date.now(), where: { job_id: job.id }, window: 60_000, aggregate: 'max' });
    assert.ok(done[0]!.points.at(-1)!.v >= 1, 'checkpoints completed');
    assert.deepEqual(await store.tagValues('taskmanager_job_task_busyTimeMsPerSecond', 'task_id', start, Date.now(), { job_id: job.id }), job.vertices.map((v) => v.id).sort());
    const targets = await prom.targets();
    assert.equal(targets[0]!.job, 'streamtune-bundled');
    await store.close();
  });

  test('VictoriaMetrics scraping the endpoint (-promscrape.config) answers the same reads', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'scrape.yml');
    const u = new URL(reporter.url);
    writeFileSync(cfg, ['scrape_configs:', '  - job_name: streamtune-bundled', '    scrape_interval: 1s', '    static_configs:', `      - targets: ["${u.host}"]`, ''].join('\n'));
    const vm = await startVictoria({ args: [`-promscrape.config=${cfg}`, '-search.latencyOffset=0s'] });
    const store = createPrometheusStore({ url: vm.url });
    try {
      assert.equal(await store.rangeSelectorsClosed(), false);
      const read = (s: typeof store) => s.query({ measurement: 'taskmanager_job_task_numRecordsIn', field: 'count', start: Date.now() - 60_000, end: Date.now(), where: { job_id: job.id, task_name: 'enrich' }, groupBy: ['subtask_index'], window: 60_000, aggregate: 'max' });
      const fromVm = await waitFor(async () => {
        await vm.flush();
        const s = await read(store);
        return s.length === 2 ? s : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500, what: 'VictoriaMetrics to scrape enrich' });
      assert.deepEqual(fromVm.map((s) => s.tags), [{ subtask_index: '0' }, { subtask_index: '1' }]);
      assert.ok(fromVm.every((s) => s.points.at(-1)!.v > 0));
      assert.deepEqual(await store.tagValues('taskmanager_job_task_busyTimeMsPerSecond', 'task_name', Date.now() - 60_000, Date.now(), { job_id: job.id }),
        ['Source:_flights', 'delay_by_origin', 'enrich', 'results:_Writer____results:_Committer']);
    } finally {
      await store.close();
      await vm.close();
    }
  });
});

test('`streamtune run --prometheus-port 0` serves the job on a free port until it stops', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const f = join(dir, 'job.yaml');
  writeFileSync(f, [
    'name: cli-prom',
    `checkpoints: { interval: 1s, dir: ${JSON.stringify(join(dir, 'ck'))} }`,
    'vertices:',
    '  - { name: "Source: events", type: generator-source, rate: 200, keys: 10, splits: 1 }',
    '  - { name: out, type: discard-sink }',
    'edges:',
    '  - { from: "Source: events", to: out }',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, ['bin/streamtune.js', 'run', f, '--prometheus-port', '0', '-q', '--savepoint-dir', join(dir, 'sp')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const url = await waitFor(() => /^prometheus: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(out)?.[1], { timeoutMs: 60_000, intervalMs: 100, what: 'the printed Prometheus URL' });
    const text = await waitFor(async () => {
      const t = await (await fetch(url)).text();
      return t.includes('flink_taskmanager_job_task_numRecordsOut{') ? t : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'task metrics on the endpoint' });
    assert.match(text, /flink_taskmanager_job_task_numRecordsOut\{[^}]*task_name="Source:_events"/);
    assert.match(text, /job_name="cli_prom"/);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
  assert.match(out, /savepoint: /);
});
