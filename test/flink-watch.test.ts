/**
 * streamtune watching a REAL Flink 1.20 cluster (test/helpers/real-flink-stack.ts: Kafka, InfluxDB
 * 1.6.7, a JobManager and a TaskManager with Flink's InfluxDB reporter) through the control plane's
 * `flink` section, with no consumer-group mapping: jobs listed from `/jobs/overview`, the graph from
 * `/plan` (keyed where the ship strategy is HASH), each source's partition count from the broker,
 * the consumer group discovered from the broker's committed offsets, exceptions and checkpoint
 * settings over REST into the store; metrics from Flink's own InfluxDB reporter, then from REST
 * alone with a bounded number of requests per round.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadJobWindows } from '../diagnoser/load.ts';
import type { AssembledControlPlane } from '../control-plane/assemble.ts';
import type { ManagedJob } from '../platform/index.ts';
import { FLIGHTS_PARTITIONS, FLIGHTS_TOPIC, startRealFlinkStack, type FlightProducer, type RealFlinkStack } from './helpers/real-flink-stack.ts';
import { waitFor } from './helpers/wait.ts';

const REPORTER_JOB = 'watch-reporter';
const REST_JOB = 'watch-rest';
/** the REST job's topic: 3 partitions, so its source's cap is not the default 8 */
const REST_TOPIC = 'flights-3';

/** The catalog's record of `jid` once its consumer group and source partitions are known. */
async function learnt(cp: AssembledControlPlane, jid: string): Promise<ManagedJob> {
  return waitFor(
    () => {
      const j = cp.jobs.get(jid);
      return j?.consumerGroup && j.topology.some((v) => v.partitions !== undefined) ? j : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: `the consumer group and partitions of job ${jid}` },
  );
}

describe('streamtune against a real Flink cluster, configured with the flink section only', { timeout: 900_000 }, () => {
  let stack: RealFlinkStack;
  const producers: FlightProducer[] = [];
  let reporterJid: string;
  let restJid: string;

  before(async () => {
    stack = await startRealFlinkStack();
    await stack.createTopic(REST_TOPIC, 3);
    producers.push(stack.produce({ rate: 400 }), stack.produce({ rate: 400, topic: REST_TOPIC }));
    // one failover after 3,000 records: an exception in Flink's exception history
    // checkpoints (and offset commits) every 2 s: the groups appear on the broker soon
    reporterJid = await stack.submit({ name: REPORTER_JOB, checkpointIntervalMs: 2000, extra: ['--fail-after', '3000'] });
    restJid = await stack.submit({ name: REST_JOB, topic: REST_TOPIC, parallelism: 2, checkpointIntervalMs: 2000 });
  });
  after(async () => {
    for (const p of producers) await p.stop().catch(() => undefined);
    await stack?.close();
  });

  test("Flink's InfluxDB reporter as the metric source: graph, partitions, discovered group, exceptions and checkpoint settings reach the store and the diagnosis", async () => {
    const cp = await stack.controlPlane({ influxReporter: true });
    try {
      const job = await learnt(cp, reporterJid);
      assert.equal(job.name, REPORTER_JOB);
      assert.equal(job.executor, 'flink');
      // the graph from /jobs/:jid/plan: a chain, keyed only behind the keyBy (ship strategy HASH)
      assert.deepEqual(
        job.topology.map((v) => [v.name, v.parallelism, v.keyedInput, v.inputs.length]),
        [['Source: flights', 1, false, 0], ['enrich', 1, false, 1], ['delay-by-origin', 1, true, 1], ['results: Writer -> results: Committer', 1, false, 1]],
      );
      for (let i = 1; i < job.topology.length; i++) assert.deepEqual(job.topology[i]!.inputs, [job.topology[i - 1]!.id]);
      // no mapping: the group whose committed offsets cover what the KafkaSourceReader metrics name
      assert.equal(job.consumerGroup, `${REPORTER_JOB}-group`);
      assert.deepEqual(job.topics, [FLIGHTS_TOPIC]);
      // the source's partition count, from the broker's topic metadata
      assert.equal(job.topology[0]!.partitions, FLIGHTS_PARTITIONS);
      assert.deepEqual(job.topology.slice(1).map((v) => v.partitions), [undefined, undefined, undefined]);

      // the injected failure's exception, read from /jobs/:jid/exceptions into the store
      const logs = await waitFor(
        async () => {
          const l = await cp.store.queryLogs({ job_id: reporterJid, start: job.startedAt! - 60_000, end: Date.now() + 60_000, keyword: 'injected failure' });
          return l.length > 0 ? l : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1000, what: 'the exception in the store' },
      );
      assert.equal(logs[0]!.level, 'error');
      assert.equal(logs[0]!.exception_class, 'java.lang.IllegalStateException');
      assert.equal(logs[0]!.vertex, 'enrich');

      // the diagnoser's window: reporter task metrics (tm_id is a reporter tag REST cannot know),
      // the group's lag from the broker, checkpoint settings and the source's partitions
      const window = await waitFor(
        async () => {
          const now = Date.now();
          const w = (await loadJobWindows(cp.store, [{ jobId: reporterJid, consumerGroup: job.consumerGroup!, topology: cp.jobs.get(reporterJid)!.topology }], now - 60_000, now, now, { stepMs: 2000, historyMs: 0 })).get(reporterJid)!;
          const ready = w.vertices.every((v) => v.subtasks.length === 1 && v.subtasks[0]!.busyTimeMsPerSecond.length >= 3) && (w.consumerLag?.partitions.length ?? 0) === FLIGHTS_PARTITIONS && w.checkpoints.config;
          return ready ? w : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 2000, what: 'a window with reporter metrics, lag and checkpoint settings' },
      );
      assert.deepEqual(window.checkpoints.config, { interval: 2000, timeout: 60_000, minPause: 0, unaligned: false });
      assert.equal(window.vertices[0]!.partitions, FLIGHTS_PARTITIONS);
      assert.equal(window.topologyInferred, false);
      assert.ok(window.jvm.length === 1 && window.jvm[0]!.tmId === stack.flink.taskManagerId, `the reporter's TaskManager metrics: ${JSON.stringify(window.jvm.map((j) => j.tmId))}`);
      // the REST source wrote no task metrics in this mode: every busy-time series carries the reporter's tm_id
      const busy = await cp.store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: Date.now() - 60_000, end: Date.now(), where: { job_id: reporterJid }, groupBy: ['tm_id'] });
      assert.deepEqual(busy.map((s) => s.tags.tm_id), [stack.flink.taskManagerId]);

      // the diagnoser reads a Flink job's task metrics from a minute after its execution (re)started
      // (its rate meters average 60 s): until then a diagnosis says 'not enough data'
      const d = await waitFor(
        async () => {
          const x = await cp.diagnoser.diagnoseNow(reporterJid);
          return x.rootCause.kind === 'insufficient-data' ? undefined : x;
        },
        { timeoutMs: 150_000, intervalMs: 5000, what: 'a diagnosis with data (a minute after the job started)' },
      );
      assert.notEqual(d.lagStatus, 'UNKNOWN', 'the discovered group\'s lag is evaluated');
    } finally {
      await cp.close();
    }
  });

  test('REST alone as the metric source: every subtask\'s metrics from one request per vertex, the source capped at its 3 partitions', async (t) => {
    const cp = await stack.controlPlane({ influxReporter: false });
    try {
      const job = await learnt(cp, restJid);
      assert.equal(job.consumerGroup, `${REST_JOB}-group`);
      assert.deepEqual(job.topics, [REST_TOPIC]);
      assert.equal(job.topology[0]!.partitions, 3);
      // a round's REST requests: one per vertex and one job-level (exceptions only when restarts move)
      const jobs = cp.jobs.list().filter((j) => j.executor === 'flink' && j.state === 'RUNNING');
      const rounds = 3;
      const before = cp.flink!.restCollector.requestCount;
      for (let i = 0; i < rounds; i++) await cp.flink!.remoteSource.collect(Date.now());
      const perRound = (cp.flink!.restCollector.requestCount - before) / rounds;
      const vertices = jobs.reduce((a, j) => a + j.topology.length, 0);
      const subtasks = jobs.reduce((a, j) => a + j.topology.reduce((b, v) => b + v.parallelism, 0), 0);
      t.diagnostic(`${perRound} REST requests per round for ${jobs.length} jobs, ${vertices} vertices, ${subtasks} subtasks`);
      assert.ok(perRound <= vertices + 2 * jobs.length, `${perRound} requests per round for ${jobs.length} jobs, ${vertices} vertices, ${subtasks} subtasks`);

      const window = await waitFor(
        async () => {
          const now = Date.now();
          const w = (await loadJobWindows(cp.store, [{ jobId: restJid, consumerGroup: job.consumerGroup!, topology: cp.jobs.get(restJid)!.topology }], now - 60_000, now, now, { stepMs: 2000, historyMs: 0 })).get(restJid)!;
          return w.vertices.every((v) => v.subtasks.length === 2 && v.subtasks.every((s) => s.busyTimeMsPerSecond.length >= 3)) && (w.consumerLag?.partitions.length ?? 0) === 3 && w.checkpoints.config ? w : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 2000, what: 'a window of per-subtask REST metrics' },
      );
      assert.equal(window.vertices[0]!.partitions, 3);
      assert.deepEqual(window.vertices.map((v) => v.keyedInput), [false, false, true, false]);
      // nothing of the reporter in this store: REST cannot know tm_id
      const tms = await cp.store.query({ measurement: 'taskmanager_job_task_busyTimeMsPerSecond', field: 'value', start: Date.now() - 60_000, end: Date.now(), where: { job_id: restJid }, groupBy: ['tm_id'] });
      assert.deepEqual(tms.map((s) => s.tags.tm_id ?? ''), ['']);
      const src = window.vertices[0]!;
      assert.ok(src.pendingRecords && src.pendingRecords.length > 0, 'the source operator\'s pendingRecords over REST');

      // the diagnoser reads a Flink job's task metrics from a minute after its execution (re)started
      // (its rate meters average 60 s): until then a diagnosis says 'not enough data'
      const d = await waitFor(
        async () => {
          const x = await cp.diagnoser.diagnoseNow(restJid);
          return x.rootCause.kind === 'insufficient-data' ? undefined : x;
        },
        { timeoutMs: 150_000, intervalMs: 5000, what: 'a diagnosis with data (a minute after the job started)' },
      );
      assert.notEqual(d.lagStatus, 'UNKNOWN');
    } finally {
      await cp.close();
    }
  });
});
