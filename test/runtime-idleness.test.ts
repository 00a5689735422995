/**
 * Idle sources (Flink's `withIdleness` and `WatermarkStatus.IDLE`) against a real Kafka broker: a
 * 4-partition topic where, after a first round on every partition, only partition 0 receives records.
 * Event-time windows must keep firing:
 * - with source parallelism 2, subtask 1 (partitions 1 and 3) reads nothing and marks itself idle, so
 *   the aggregation's combined watermark advances without it; subtask 0's quiet partition 2 stops
 *   holding its reader's watermark (split idleness);
 * - with source parallelism 1, the quiet partitions 1..3 of the one reader are idle splits;
 * and an idle input that reads again counts again: its record is not dropped as late, and it goes
 * idle once more afterwards (Flink's `sourceIdleTime` metric shows it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../runtime/kafka.ts';
import { testKafkaBroker, produce, type ProduceMessage } from './helpers/kafka-broker.ts';
import { uniqueName, waitFor, tempDir } from './helpers/wait.ts';
import { LocalJob } from '../runtime/job.ts';
import { parseJobSpecYaml, type JobSpec } from '../runtime/spec.ts';

const msg = (partition: number, ts: number): ProduceMessage => ({ partition, value: JSON.stringify({ k: 'a', ts }) });

/** count per window start in the collected output */
function counts(job: LocalJob): Map<number, number> {
  return new Map(job.collected.map((r) => [Number(r.windowStart), Number(r.n)]));
}

function recordsIn(job: LocalJob, vertex: string, subtask: number): number {
  return job.currentSubtasks().find((s) => s.vertex === vertex && s.index === subtask)?.metrics.numRecordsIn ?? 0;
}

test('idleTimeout is a source setting in YAML specs; a bad value names its line and field', () => {
  const yaml = (t: string) => `name: j
vertices:
  - name: gen
    type: generator-source
    idleTimeout: ${t}
  - name: out
    type: discard-sink
edges:
  - { from: gen, to: out }
`;
  assert.equal(parseJobSpecYaml(yaml('5s')).vertices[0]!.type, 'generator-source');
  assert.throws(() => parseJobSpecYaml(yaml('soon'), 'j.yaml'), /j\.yaml:5.*idleTimeout/);
});

for (const sourceParallelism of [2, 1]) {
  test(`idle Kafka source (source parallelism ${sourceParallelism}): windows fire while only partition 0 has records; a reactivated input counts again`, { timeout: 180_000 }, async () => {
    const mock = await testKafkaBroker();
    const topic = uniqueName('idle');
    const spec: JobSpec = {
      name: uniqueName('idle-job'),
      checkpoints: { dir: tempDir(), interval: 0 },
      vertices: [
        { name: 'src', type: 'kafka-source', topic, groupId: uniqueName('g'), brokers: mock.bootstrap, startFrom: 'earliest', eventTime: 'ts', idleTimeout: '300ms', parallelism: sourceParallelism },
        { name: 'agg', type: 'window-aggregate', key: 'k', size: '1s', timeFormat: 'epoch-ms', aggregations: { n: 'count' } },
        { name: 'out', type: 'collect-sink' },
      ],
      edges: [
        { from: 'src', to: 'agg', partitioning: 'hash', key: 'k' },
        { from: 'agg', to: 'out' },
      ],
    } as JobSpec;
    const job = new LocalJob(spec);
    try {
      // round 1: every partition, event times in [0, 1 s)
      await produce(mock.bootstrap, topic, [0, 1, 2, 3].map((p) => msg(p, 100 + p * 100)));
      await job.start();
      await waitFor(() => recordsIn(job, 'agg', 0) >= 4, { what: 'round 1 read', timeoutMs: 60_000 });
      // every partition quiet long enough to be idle before round 2 (on a real broker round 2 can be
      // read within idleTimeout of round 1; partition 0 would then go idle with the others)
      await waitFor(() => job.currentSubtasks().filter((s) => s.vertex === 'src').every((s) => s.metrics.sourceIdle), { what: 'the source idle after round 1', timeoutMs: 30_000 });
      // round 2: partition 0 only, one record per 500 ms of event time up to 10 s
      const round2: ProduceMessage[] = [];
      for (let t = 1000; t <= 10_000; t += 500) round2.push(msg(0, t));
      await produce(mock.bootstrap, topic, round2);
      await waitFor(() => counts(job).has(8000), { what: 'window [8 s, 9 s) fired with partitions 1-3 quiet', timeoutMs: 60_000 });
      const c = counts(job);
      assert.equal(c.get(0), 4);
      for (let w = 1000; w <= 8000; w += 1000) assert.equal(c.get(w), 2, `window ${w}`);

      // round 3: partition 1 wakes up (read before partition 0 moves on), then partition 0 moves on
      const before = recordsIn(job, 'agg', 0);
      await produce(mock.bootstrap, topic, [msg(1, 12_500)]);
      await waitFor(() => recordsIn(job, 'agg', 0) > before, { what: 'partition 1 record read', timeoutMs: 60_000 });
      await produce(mock.bootstrap, topic, [msg(0, 12_500), msg(0, 12_600), msg(0, 14_000)]);
      // partition 0 keeps receiving records (event time 14 s and on) while partition 1 goes idle again:
      // had both gone quiet within one watermark interval, the source would be idle as a whole and
      // hold its watermark, and nothing would fire
      let next = 14_100;
      await waitFor(
        async () => {
          if (counts(job).has(12_000)) return true;
          await produce(mock.bootstrap, topic, [msg(0, next)]);
          next += 100;
          return false;
        },
        { what: 'window [12 s, 13 s) fired after partition 1 went idle again', timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.equal(counts(job).get(12_000), 3, 'the reactivated partition\'s record is in its window, not dropped as late');
      assert.equal(job.currentSubtasks().find((s) => s.vertex === 'agg')!.metrics.lateRecordsDropped, 0);
      if (sourceParallelism === 2) {
        const idleSubtask = job.currentSubtasks().find((s) => s.vertex === 'src' && s.index === 1)!;
        await waitFor(() => idleSubtask.metrics.sourceIdle, { what: 'source subtask 1 idle', timeoutMs: 30_000 });
        const idleTime = job.metricPoints().find((pt) => pt.measurement === 'taskmanager_job_task_operator_sourceIdleTime' && pt.tags.task_name === 'src' && pt.tags.subtask_index === '1');
        assert.ok(Number(idleTime?.fields.value) >= 300, `sourceIdleTime of the idle subtask: ${String(idleTime?.fields.value)}`);
      }
    } finally {
      await job.cancel();
      await mock.stop();
    }
  });
}
