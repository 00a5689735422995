/**
 * Against a REAL Apache Flink 1.20 session cluster (JobManager and TaskManager as separate JVMs),
 * a real Kafka broker and a real InfluxDB 1.x: the cluster's shape, the flight-delays job jar
 * (flink-jobs/flight-delays) uploaded and run through the REST API, Flink's own InfluxDB and
 * Prometheus reporters (the latter scraped by a real Prometheus 2.42 that streamtune's Prometheus
 * store reads the job's window from), and the job's exactness (per origin airport and hour, against
 * DuckDB over the same flights), also across a stop-with-savepoint and a restore with other parallelisms.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { DuckDBInstance } from '@duckdb/node-api';
import { flightsSliceSql, produceFlights } from '../platform/kafka/produce-flights.ts';
import { committedRecords, duplicateWindows } from './helpers/flights.ts';
import {
  flightDelaysArgs,
  flinkGet,
  outputDir,
  runJar,
  startRealFlink,
  stopWithSavepoint,
  waitSourceRecords,
  type JobDetails,
  type RealFlink,
} from './helpers/flink-cluster.ts';
import { uniqueName, waitFor } from './helpers/wait.ts';
import { startPrometheus, type PrometheusServer } from './helpers/prometheus.ts';
import { createEmbeddedStore } from '../collector/store/embedded.ts';
import { createPrometheusStore } from '../collector/store/prometheus.ts';
import { createPrometheusRoutedStore } from '../collector/store/routed.ts';
import { loadJobWindow } from '../diagnoser/load.ts';

/** Per origin and window start: flights and the sum of their delays (minutes). */
type Truth = Map<string, { count: number; sumDelay: number }>;

async function groundTruth(limit: number, offset = 0): Promise<Truth> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const r = await con.runAndReadAll(
      `SELECT origin, strftime(time_bucket(INTERVAL 1 HOUR, date), '%Y-%m-%dT%H:%M:%S.000Z') AS w, count(*)::DOUBLE, sum(delay)::DOUBLE
       FROM (${flightsSliceSql({ limit, offset })}) GROUP BY origin, w`,
    );
    const m: Truth = new Map();
    for (const row of r.getRows()) m.set(`${String(row[0])}|${String(row[1])}`, { count: Number(row[2]), sumDelay: Number(row[3]) });
    return m;
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

function resultsByWindow(records: Array<Record<string, unknown>>): Truth {
  const m: Truth = new Map();
  for (const r of records) {
    const k = `${String(r.origin)}|${String(r.windowStart)}`;
    const e = m.get(k) ?? { count: 0, sumDelay: 0 };
    e.count += Number(r.count);
    e.sumDelay += Number(r.sumDelay);
    m.set(k, e);
  }
  return m;
}

function assertSameWindows(actual: Truth, expected: Truth): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const differ = [...expected.entries()].filter(([k, v]) => actual.has(k) && (actual.get(k)!.count !== v.count || actual.get(k)!.sumDelay !== v.sumDelay));
  assert.deepEqual(
    { missing: missing.slice(0, 5), extra: extra.slice(0, 5), differ: differ.slice(0, 5).map(([k, v]) => ({ k, expected: v, actual: actual.get(k) })) },
    { missing: [], extra: [], differ: [] },
  );
  assert.equal(actual.size, expected.size);
}

async function produce(env: RealFlink, topic: string, limit: number, offset = 0): Promise<void> {
  const kafka = new Kafka({ clientId: 'flink-real-test', brokers: env.kafka.bootstrap, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const r = await produceFlights({ producer, topic, limit, offset });
    assert.equal(r.records, limit);
  } finally {
    await producer.disconnect();
  }
}

async function influxQuery(env: RealFlink, q: string): Promise<{ columns: string[]; values: unknown[][] } | undefined> {
  const res = await fetch(`${env.influx!.url}/query?${new URLSearchParams({ db: env.influxDb!, q })}`);
  const body = (await res.json()) as { results: Array<{ series?: Array<{ columns: string[]; values: unknown[][] }> }> };
  return body.results[0]?.series?.[0];
}

describe('real Flink 1.20 session cluster', { timeout: 900_000 }, () => {
  let env: RealFlink;
  /** scrapes the JobManager's and the first TaskManager's Prometheus reporters every second */
  let prom: PrometheusServer;
  /** the exactness job, left running for the reporter tests */
  let jid: string;
  const rows = 30_000;

  before(async () => {
    // a killed TaskManager is declared lost after 2 failed heartbeat RPCs: 2 × 2 s instead of 2 × 10 s
    env = await startRealFlink({ influxdb: true, prometheus: true, cluster: { config: { 'heartbeat.interval': '2 s' } } });
    const { jobManager, taskManager } = env.flink.prometheusTargets;
    prom = await startPrometheus({ targets: [jobManager!, taskManager!], jobNames: ['flink-jobmanager', 'flink-taskmanager'], scrapeInterval: '1s' });
  });
  after(async () => {
    await prom?.close();
    await env?.close();
  });

  test('one TaskManager with 8 slots; JobManager and TaskManager are separate JVMs', async () => {
    const o = await flinkGet<{ taskmanagers: number; 'slots-total': number; 'flink-version': string }>(env.flink, '/overview');
    assert.equal(o.taskmanagers, 1);
    assert.equal(o['slots-total'], 8);
    assert.equal(o['flink-version'], '1.20.3');
    const jm = env.flink.jobManager;
    const tm = env.flink.taskManager!;
    assert.ok(jm.running && tm.running);
    assert.notEqual(jm.pid, tm.pid);
    const cmd = (pid: number) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
    assert.match(cmd(jm.pid), /StandaloneSessionClusterEntrypoint/);
    assert.match(cmd(tm.pid), /TaskManagerRunner/);
    const tms = await flinkGet<{ taskmanagers: Array<{ id: string; slotsNumber: number }> }>(env.flink, '/taskmanagers');
    assert.deepEqual(tms.taskmanagers.map((t) => [t.id, t.slotsNumber]), [[env.flink.taskManagerId, 8]]);
  });

  test('the uploaded job jar runs through POST /jars/:jarid/run with the bundled runtime vertex names', async () => {
    const topic = uniqueName('flights');
    await env.kafka.createTopic(topic, 4);
    await produce(env, topic, rows);
    jid = await runJar(env.flink, env.jarId, flightDelaysArgs({ brokers: env.kafka.bootstrap.join(','), topic, groupId: uniqueName('g'), output: outputDir(env.flink, 'exact'), parallelism: 2 }));
    const j = await flinkGet<JobDetails>(env.flink, `/jobs/${jid}`);
    assert.equal(j.name, 'flight-delays');
    assert.deepEqual(
      j.vertices.map((v) => [v.name, v.parallelism]),
      [['Source: flights', 2], ['enrich', 2], ['delay-by-origin', 2], ['results: Writer -> results: Committer', 2]],
    );
    await waitSourceRecords(env.flink, jid, rows);
  });

  test("Flink's InfluxDB reporter writes task metrics with Flink's tags", async () => {
    const j = await flinkGet<JobDetails>(env.flink, `/jobs/${jid}`);
    const series = await waitFor(
      async () => influxQuery(env, `SELECT * FROM "taskmanager_job_task_busyTimeMsPerSecond" WHERE job_id = '${jid}'`),
      { timeoutMs: 60_000, intervalMs: 1000, what: 'taskmanager_job_task_busyTimeMsPerSecond in InfluxDB' },
    );
    for (const tag of ['host', 'job_id', 'job_name', 'subtask_index', 'task_id', 'task_name', 'tm_id', 'value']) assert.ok(series.columns.includes(tag), `column ${tag} in ${series.columns.join(',')}`);
    // scope.variables.excludes drops the attempt tags
    assert.ok(!series.columns.includes('task_attempt_id'));
    const col = (name: string) => series.values.map((v) => v[series.columns.indexOf(name)]);
    assert.deepEqual(new Set(col('task_id')), new Set(j.vertices.map((v) => v.id)));
    assert.deepEqual(new Set(col('subtask_index')), new Set(['0', '1']));
    assert.deepEqual(new Set(col('job_name')), new Set(['flight-delays']));
    const enrich = j.vertices.find((v) => v.name === 'enrich')!;
    assert.ok(col('task_name').includes('enrich'));
    assert.ok(series.values.some((v) => v[series.columns.indexOf('task_id')] === enrich.id));
    // the source's Kafka reader metrics, per topic and partition
    const kafkaSeries = await waitFor(
      async () => influxQuery(env, `SELECT * FROM "taskmanager_job_task_operator_KafkaSourceReader_topic_partition_currentOffset" WHERE job_id = '${jid}'`),
      { timeoutMs: 60_000, intervalMs: 1000, what: 'KafkaSourceReader currentOffset in InfluxDB' },
    );
    assert.ok(kafkaSeries.columns.includes('partition') && kafkaSeries.columns.includes('topic'));
  });

  test("Flink's Prometheus reporter serves flink_taskmanager_job_task_busyTimeMsPerSecond", async () => {
    const { taskManager, jobManager } = env.flink.prometheusTargets;
    const text = await waitFor(
      async () => {
        const t = await (await fetch(taskManager!)).text();
        return t.includes(`flink_taskmanager_job_task_busyTimeMsPerSecond{`) && t.includes(`job_id="${jid}"`) ? t : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'busyTimeMsPerSecond on the TaskManager scrape URL' },
    );
    const line = text.split('\n').find((l) => l.startsWith('flink_taskmanager_job_task_busyTimeMsPerSecond{') && l.includes(`job_id="${jid}"`))!;
    assert.match(line, /task_name="[^"]+"/);
    assert.match(line, /subtask_index="[01]"/);
    const jmText = await (await fetch(jobManager!)).text();
    assert.match(jmText, /^flink_jobmanager_numRegisteredTaskManagers(\{[^}]*\})? 1\.0$/m);
  });

  test("Prometheus 2.42 scrapes the reporters; streamtune's Prometheus store loads the job's window from it", async () => {
    await prom.waitTargetsUp();
    const j = await flinkGet<JobDetails>(env.flink, `/jobs/${jid}`);
    const store = createPrometheusRoutedStore({ prometheus: createPrometheusStore({ url: prom.url }), local: await createEmbeddedStore({ path: ':memory:' }) });
    try {
      // task names from the REST plan find the reporter's filtered labels (Source: flights → Source:_flights)
      const source = j.vertices.find((v) => v.name === 'Source: flights')!;
      const busy = await waitFor(
        async () => {
          const s = await store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: Date.now() - 60_000, end: Date.now(), where: { job_id: jid, task_name: source.name }, groupBy: ['task_id', 'task_name', 'subtask_index'], window: 5000, aggregate: 'mean' });
          return s.length === 2 ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: "the source's busy time scraped" },
      );
      assert.deepEqual(busy.map((s) => s.tags), [0, 1].map((i) => ({ task_id: source.id, task_name: 'Source:_flights', subtask_index: String(i) })));
      const now = Date.now();
      const w = await waitFor(
        async () => {
          const x = await loadJobWindow(store, jid, now - 60_000, now, now, { stepMs: 5000, historyMs: 0 });
          return x.vertices.length === 4 && x.jvm.length === 1 && x.checkpoints.numberOfCompletedCheckpoints.length > 0 ? x : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1000, what: "the job's window from Prometheus" },
      );
      assert.deepEqual(new Set(w.vertices.map((v) => v.id)), new Set(j.vertices.map((v) => v.id)));
      for (const v of w.vertices) {
        assert.deepEqual(v.subtasks.map((s) => s.subtask), [0, 1], v.name);
        for (const s of v.subtasks) assert.ok(s.busyTimeMsPerSecond.length > 0 && s.idleTimeMsPerSecond.length > 0, `${v.name}/${s.subtask} busy and idle time`);
      }
      // without the plan the source is told by its pending records (the Kafka source's pendingRecords gauge)
      assert.equal(w.vertices[0]!.id, source.id);
      assert.ok(w.vertices[0]!.isSource && w.vertices[0]!.pendingRecords !== undefined);
      assert.ok(w.vertices.flatMap((v) => v.subtasks).some((s) => s.numRecordsIn !== undefined || s.recordsInPerSecond.length > 0));
      assert.equal(w.jvm[0]!.tmId, 'streamtune_tm_1');
      assert.ok(w.jvm[0]!.heapUsed.length > 0 && w.jvm[0]!.heapMax.length > 0 && w.jvm[0]!.gcTimeMsPerSecond.length > 0);
      assert.ok(w.checkpoints.numberOfCompletedCheckpoints.at(-1)!.v >= 1);
      assert.equal(w.numRestarts.at(-1)?.v, 0);
    } finally {
      await store.close();
    }
  });

  test('stop with drain: per origin and hour, counts and delay sums equal DuckDB over the same flights', async () => {
    await stopWithSavepoint(env.flink, jid, true);
    const records = committedRecords(outputDir(env.flink, 'exact'));
    assert.deepEqual(duplicateWindows(records), []);
    assertSameWindows(resultsByWindow(records), await groundTruth(rows));
  });

  test('stop-with-savepoint in the middle, restore with other parallelisms (vertex overrides): still exact', async () => {
    const topic = uniqueName('flights');
    const groupId = uniqueName('g');
    const output = outputDir(env.flink, 'rescaled');
    const half = 20_000;
    await env.kafka.createTopic(topic, 4);
    await produce(env, topic, half);
    const args = flightDelaysArgs({ brokers: env.kafka.bootstrap.join(','), topic, groupId, output, parallelism: 1 });
    const first = await runJar(env.flink, env.jarId, args);
    await waitSourceRecords(env.flink, first, half);
    // a checkpoint with some output committed before the savepoint
    await waitFor(async () => committedRecords(output).length > 0, { timeoutMs: 60_000, intervalMs: 500, what: 'committed output of the first run' });
    const vertices = (await flinkGet<JobDetails>(env.flink, `/jobs/${first}`)).vertices;
    const savepoint = await stopWithSavepoint(env.flink, first, false);

    await produce(env, topic, half, half);
    const id = (name: string) => vertices.find((v) => v.name === name)!.id;
    const overrides = `${id('Source: flights')}:2,${id('enrich')}:3,${id('delay-by-origin')}:2,${id('results: Writer -> results: Committer')}:1`;
    const second = await runJar(env.flink, env.jarId, args, { savepointPath: savepoint, flinkConfiguration: { 'pipeline.jobvertex-parallelism-overrides': overrides } });
    const j = await flinkGet<JobDetails>(env.flink, `/jobs/${second}`);
    // uids make the JobVertexIDs stable across runs, so the overrides found every vertex
    assert.deepEqual(
      j.vertices.map((v) => [v.id, v.parallelism]),
      vertices.map((v) => [v.id, { 'Source: flights': 2, enrich: 3, 'delay-by-origin': 2 }[v.name] ?? 1]),
    );
    await waitSourceRecords(env.flink, second, half);
    await stopWithSavepoint(env.flink, second, true);
    const records = committedRecords(output);
    assert.deepEqual(duplicateWindows(records), []);
    assertSameWindows(resultsByWindow(records), await groundTruth(2 * half));
  });

  test('a TaskManager killed under a running job: it restarts on a new TaskManager from its last checkpoint, still exact', async () => {
    const topic = uniqueName('flights');
    const groupId = uniqueName('g');
    const output = outputDir(env.flink, 'failover');
    const n = 10_000;
    await env.kafka.createTopic(topic, 4);
    await produce(env, topic, n);
    // enrich at 1 ms per record and parallelism 1: ~1,000 records/s, so the kill lands mid-stream
    const args = flightDelaysArgs({ brokers: env.kafka.bootstrap.join(','), topic, groupId, output, parallelism: 1, lookupLatencyMs: 1 });
    const job = await runJar(env.flink, env.jarId, args);
    await waitFor(
      async () => (await flinkGet<{ counts: { completed: number } }>(env.flink, `/jobs/${job}/checkpoints`)).counts.completed >= 1 && (await committedOffset(env, groupId, topic)) > 0,
      { timeoutMs: 60_000, intervalMs: 250, what: 'a completed checkpoint with committed offsets' },
    );
    const lost = env.flink.taskManagerId;
    await env.flink.killTaskManager();
    // the ResourceManager declares it lost (failed heartbeat RPCs) and the job fails over
    await waitFor(async () => (await flinkGet<{ taskmanagers: Array<{ id: string }> }>(env.flink, '/taskmanagers')).taskmanagers.every((t) => t.id !== lost), {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: `the JobManager to drop TaskManager ${lost}`,
    });
    await env.flink.startTaskManager();
    assert.notEqual(env.flink.taskManagerId, lost);
    await waitFor(
      async () => {
        const j = await flinkGet<JobDetails>(env.flink, `/jobs/${job}`);
        if (j.state === 'FAILED') throw new Error(`job ${job} FAILED`);
        return j.state === 'RUNNING' && j.vertices.every((v) => v.status === 'RUNNING');
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the job RUNNING again on the new TaskManager' },
    );
    await waitFor(async () => Number((await flinkGet<Array<{ id: string; value: string }>>(env.flink, `/jobs/${job}/metrics?get=numRestarts`))[0]?.value) >= 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'numRestarts ≥ 1',
    });
    // every flight read and its offset committed (on a checkpoint after the restart)
    await waitFor(async () => (await committedOffset(env, groupId, topic)) === n, { timeoutMs: 120_000, intervalMs: 500, what: `group ${groupId} at the topic's end` });
    await stopWithSavepoint(env.flink, job, true);
    const records = committedRecords(output);
    assert.deepEqual(duplicateWindows(records), []);
    assertSameWindows(resultsByWindow(records), await groundTruth(n));
  });

  test('a poison record crash-loops the job until its restart attempts are spent: FAILED with the cause', async () => {
    const topic = uniqueName('flights');
    await env.kafka.createTopic(topic, 4);
    await produce(env, topic, 2_000);
    const args = flightDelaysArgs({
      brokers: env.kafka.bootstrap.join(','),
      topic,
      groupId: uniqueName('g'),
      output: outputDir(env.flink, 'poison'),
      parallelism: 1,
      extra: ['--poison-after', '500', '--restart-attempts', '2', '--restart-delay-ms', '200'],
    });
    const { jobid } = await (
      await fetch(`${env.flink.restUrl}/jars/${env.jarId}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ programArgsList: args }) })
    ).json() as { jobid: string };
    await waitFor(async () => (await flinkGet<JobDetails>(env.flink, `/jobs/${jobid}`)).state === 'FAILED', { timeoutMs: 120_000, intervalMs: 250, what: `job ${jobid} FAILED` });
    const ex = await flinkGet<{ 'root-exception': string; exceptionHistory: { entries: unknown[] } }>(env.flink, `/jobs/${jobid}/exceptions`);
    assert.match(ex['root-exception'], /poison record in 'enrich'/);
    // the first failure and one per restart attempt
    assert.equal(ex.exceptionHistory.entries.length, 3);
  });
});

/** The consumer group's committed offsets on `topic`, summed over partitions (−1s count as 0). */
async function committedOffset(env: RealFlink, groupId: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'flink-real-test-admin', brokers: env.kafka.bootstrap, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (t?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}
