/**
 * `streamtune diagnose` on a file written exactly the way Flink's InfluxDB reporter writes
 * (`test/fixtures/flink/influxdb-reporter-handmade.lp`): nanosecond timestamps, integer fields with
 * `i`, meters with `count` and `rate` fields, the reporter's full tag set (host, job_id, job_name,
 * subtask_index, task_attempt_id, task_attempt_num, task_id, task_name, tm_id), chained task names
 * such as `Source: orders -> Map`, JobVertexIDs as hex, and none of streamtune's own measurements
 * (no `streamtune_job_vertex` topology, no `streamtune_kafka_partition_*` lag). The incident: a
 * three-vertex job whose middle vertex `enrich` is saturated (busy ~980 ms/s, never
 * backpressured) while the source is backpressured and its pendingRecords grow, and the sink idles.
 * The diagnosis must name `enrich` under-provisioned and recommend more parallelism for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/wait.ts';
import { FLINK_REPORTER_SAMPLE } from './helpers/fixtures.ts';

const SAMPLE = FLINK_REPORTER_SAMPLE;
const JOB_ID = '7a3e5f1c9b2d4e6f8a0b1c2d3e4f5a6b';
const JOB_NAME = 'orders-enrichment';
const ATTEMPT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const TM = 'orders-enrichment-taskmanager-1-1';

interface FlinkVertex { id: string; name: string; parallelism: number }
const SOURCE: FlinkVertex = { id: 'cbc357ccb763df2852fee8c4fc7d55f2', name: 'Source: orders -> Map', parallelism: 2 };
const ENRICH: FlinkVertex = { id: '90bea66de1c231edf33913ecd54406c1', name: 'enrich', parallelism: 2 };
const SINK: FlinkVertex = { id: '6cdc5bb954874d922eaee11a8e7ca5be', name: 'Sink: enriched', parallelism: 2 };

/** Escapes a tag value as line protocol does (space, comma, equals sign). */
const esc = (v: string): string => v.replace(/([ ,=])/g, '\\$1');

/** The reporter's task tags, in the order the sample has them. */
function taskTags(v: FlinkVertex, subtask: number): string {
  return [
    'host=10.42.0.17', `job_id=${JOB_ID}`, `job_name=${JOB_NAME}`, `subtask_index=${subtask}`,
    `task_attempt_id=${ATTEMPT}_${v.id}_${subtask}_0`, 'task_attempt_num=0', `task_id=${v.id}`,
    `task_name=${esc(v.name)}`, `tm_id=${TM}`,
  ].join(',');
}

/** Ten minutes of reporter output every 10 s (Flink's default reporter interval). */
function reporterLines(end: number): string[] {
  const lines: string[] = [];
  const steps = 60;
  const count = new Map<string, number>();
  for (let i = 0; i <= steps; i++) {
    const tMs = end - (steps - i) * 10_000;
    const ns = `${BigInt(tMs) * 1_000_000n}`;
    const jitter = (k: number) => ((i * 7 + k * 13) % 5) - 2; // a small deterministic wobble
    const task = (v: FlinkVertex, s: number, busy: number, bp: number, rateIn: number, rateOut: number) => {
      const tags = taskTags(v, s);
      const key = `${v.id}/${s}`;
      const c = (count.get(key) ?? 0) + rateIn * 10;
      count.set(key, c);
      lines.push(`taskmanager_job_task_busyTimeMsPerSecond,${tags} value=${(busy + jitter(s)).toFixed(1)} ${ns}`);
      lines.push(`taskmanager_job_task_backPressuredTimeMsPerSecond,${tags} value=${Math.max(0, bp + jitter(s + 1))}i ${ns}`);
      lines.push(`taskmanager_job_task_idleTimeMsPerSecond,${tags} value=${Math.max(0, 1000 - busy - bp)}i ${ns}`);
      lines.push(`taskmanager_job_task_numRecordsIn,${tags} count=${c}i ${ns}`);
      lines.push(`taskmanager_job_task_numRecordsInPerSecond,${tags} count=${c}i,rate=${(rateIn + jitter(s) * 3).toFixed(2)} ${ns}`);
      lines.push(`taskmanager_job_task_numRecordsOutPerSecond,${tags} count=${c}i,rate=${(rateOut + jitter(s) * 3).toFixed(2)} ${ns}`);
      lines.push(`taskmanager_job_task_Shuffle_Netty_Output_Buffers_outPoolUsage,${tags} value=${bp > 500 ? '1.0' : '0.1'} ${ns}`);
      lines.push(`taskmanager_job_task_isBackPressured,${tags} value="${bp > 500 ? 'true' : 'false'}" ${ns}`);
    };
    for (let s = 0; s < SOURCE.parallelism; s++) {
      task(SOURCE, s, 240, 720, 2000, 2000);
      // the backlog of each source subtask grows by ~80 records/s: the job falls behind
      const opTags = `${taskTags(SOURCE, s)},operator_id=${SOURCE.id},operator_name=Source:\\ orders`;
      lines.push(`taskmanager_job_task_operator_pendingRecords,${opTags} value=${20_000 + i * 800 + s * 100}i ${ns}`);
      lines.push(`taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer_records-lag-max,${opTags} value=${(20_000 + i * 800).toFixed(1)} ${ns}`);
    }
    for (let s = 0; s < ENRICH.parallelism; s++) task(ENRICH, s, 982, 0, 2000, 2000);
    for (let s = 0; s < SINK.parallelism; s++) task(SINK, s, 90, 0, 2000, 0);
    const jm = `host=flink-jobmanager,job_id=${JOB_ID},job_name=${JOB_NAME}`;
    lines.push(`jobmanager_job_lastCheckpointDuration,${jm} value=${900 + jitter(0) * 10}i ${ns}`);
    lines.push(`jobmanager_job_numberOfFailedCheckpoints,${jm} value=0i ${ns}`);
    lines.push(`jobmanager_job_numberOfCompletedCheckpoints,${jm} value=${i}i ${ns}`);
    lines.push(`jobmanager_job_numRestarts,${jm} value=0i ${ns}`);
    const tm = `host=10.42.0.17,tm_id=${TM}`;
    lines.push(`taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond,${tm} count=${i * 120}i,rate=${(12 + jitter(2)).toFixed(1)} ${ns}`);
    lines.push(`taskmanager_Status_JVM_Memory_Heap_Used,${tm} value=${400_000_000 + ((i % 6) * 40_000_000)}i ${ns}`);
    lines.push(`taskmanager_Status_JVM_Memory_Heap_Max,${tm} value=2147483648i ${ns}`);
  }
  return lines;
}

test('the generated file has the shape of the Flink reporter sample: same tag keys per measurement, ns timestamps', () => {
  const keysOf = (line: string) => {
    const head = line.slice(0, line.search(/(?<!\\) /));
    const [measurement, ...tags] = head.split(/(?<!\\),/);
    return { measurement: measurement!, keys: tags.map((t) => t.slice(0, t.indexOf('='))).join(',') };
  };
  const sample = new Map(readFileSync(SAMPLE, 'utf8').trim().split('\n').map((l) => { const k = keysOf(l); return [k.measurement, k.keys]; }));
  const ours = reporterLines(Date.UTC(2026, 10, 20, 10, 15));
  let compared = 0;
  for (const l of ours) {
    const k = keysOf(l);
    const want = sample.get(k.measurement);
    if (want !== undefined) {
      // the sample's operator metrics put operator_id/operator_name in sorted position; compare as sets
      assert.deepEqual(k.keys.split(',').sort(), want.split(',').sort(), `${k.measurement}: tags differ from the Flink sample`);
      compared++;
    }
    assert.match(l, / \d{19}$/, 'nanosecond timestamp');
  }
  assert.ok(compared > 100, `only ${compared} lines share a measurement with the sample`);
});

test('diagnose on a Flink InfluxDB reporter file names the saturated vertex and recommends its parallelism', { timeout: 120_000 }, () => {
  const end = Date.UTC(2026, 10, 20, 10, 15);
  const file = join(tempDir(), 'incident.lp');
  writeFileSync(file, `${reporterLines(end).join('\n')}\n`);
  const r = spawnSync(process.execPath, ['bin/streamtune.js', 'diagnose', '--metrics', file, '--job', JOB_ID, '--at', new Date(end).toISOString(), '--window', '10m'], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as {
    job_id: string;
    rootCause: { kind: string; vertex?: string };
    findings: Array<{ ruleId: string; vertex?: string }>;
    recommendations: Array<{ actions: Array<{ type: string; vertex: { id: string; name: string }; from: number; to: number }> }>;
  };
  assert.equal(d.job_id, JOB_ID);
  const bottleneck = d.findings.find((f) => f.ruleId.startsWith('backpressure'));
  assert.ok(bottleneck, JSON.stringify(d.findings, null, 1));
  assert.ok(bottleneck.vertex === 'enrich' || bottleneck.vertex === ENRICH.id, `bottleneck ${bottleneck.vertex}`);
  assert.equal(d.rootCause.kind, 'under-provisioned', JSON.stringify(d.rootCause));
  const action = d.recommendations.flatMap((x) => x.actions).find((a) => a.type === 'set-parallelism' && (a.vertex.name === 'enrich' || a.vertex.id === ENRICH.id));
  assert.ok(action, JSON.stringify(d.recommendations));
  assert.equal(action.from, 2);
  assert.ok(action.to > 2, `to ${action.to}`);
  // nothing recommends scaling the idle sink up
  assert.ok(!d.recommendations.flatMap((x) => x.actions).some((a) => a.type === 'set-parallelism' && (a.vertex.id === SINK.id || a.vertex.name === 'Sink: enriched') && a.to > a.from));
});
