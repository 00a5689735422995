/**
 * The fixtures captured from a real Flink 1.20.3 cluster (docs/flink-fixtures.md) are what
 * streamtune's readers expect: every reporter line parses, the tags are Flink's, and the REST
 * responses agree with the lines on the JobVertexIDs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseLineProtocol } from '../core/line-protocol.ts';

const dir = new URL('./fixtures/flink/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');

test('the InfluxDB reporter sample of Flink 1.20.3 parses line by line, with Flink tags', () => {
  const { points, errors } = parseLineProtocol(read('influxdb-reporter-sample.lp'), { source: 'influxdb-reporter-sample.lp' });
  assert.deepEqual(errors, []);
  assert.equal(points.length, read('influxdb-reporter-sample.lp').trim().split('\n').length);
  const job = JSON.parse(read('rest-1.20.3-job.json')) as { jid: string; vertices: Array<{ id: string; name: string }> };
  const task = points.filter((p) => p.measurement.startsWith('taskmanager_job_task_'));
  assert.ok(task.length > 0);
  for (const p of task) {
    assert.equal(p.tags.job_id, job.jid);
    assert.ok(job.vertices.some((v) => v.id === p.tags.task_id && v.name === p.tags.task_name), `${p.measurement} task ${p.tags.task_id}`);
    assert.match(p.tags.subtask_index ?? '', /^[01]$/);
    assert.equal(p.tags.task_attempt_id, undefined);
  }
  const busy = task.filter((p) => p.measurement === 'taskmanager_job_task_busyTimeMsPerSecond');
  assert.deepEqual(new Set(busy.map((p) => p.tags.task_id)), new Set(job.vertices.map((v) => v.id)));
  const offsets = task.filter((p) => p.measurement.endsWith('KafkaSourceReader_topic_partition_currentOffset'));
  assert.deepEqual(offsets.map((p) => p.tags.partition).sort(), ['0', '1', '2', '3']);
  assert.ok(points.some((p) => p.measurement === 'jobmanager_job_numberOfCompletedCheckpoints' && p.tags.job_id === job.jid));
});

test('the REST plan of Flink 1.20.3 names the same vertices as the job details', () => {
  const plan = JSON.parse(read('rest-1.20.3-job-plan.json')) as { plan: { jid: string; nodes: Array<{ id: string; parallelism: number }> } };
  const job = JSON.parse(read('rest-1.20.3-job.json')) as { jid: string; vertices: Array<{ id: string; parallelism: number }> };
  assert.equal(plan.plan.jid, job.jid);
  assert.deepEqual(new Set(plan.plan.nodes.map((n) => `${n.id}:${n.parallelism}`)), new Set(job.vertices.map((v) => `${v.id}:${v.parallelism}`)));
  const metrics = JSON.parse(read('rest-1.20.3-subtasks-metrics-enrich.json')) as Array<{ id: string; min: number; max: number; avg: number; sum: number }>;
  assert.deepEqual(metrics.map((m) => m.id), ['busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond', 'numRecordsInPerSecond']);
  for (const m of metrics) assert.ok(m.min <= m.avg && m.avg <= m.max && Math.abs(m.sum - 2 * m.avg) < 1e-6);
});
