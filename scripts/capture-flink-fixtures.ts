/**
 * Captures fixtures from a REAL Flink cluster into test/fixtures/flink/ (see docs/flink-fixtures.md):
 * the InfluxDB line protocol Flink's own InfluxDB reporter writes (the raw POST /write bodies,
 * received by a small recording HTTP server standing in for InfluxDB), and REST responses of a
 * running flight-delays job (/jobs/:jid/plan, /jobs/:jid/vertices/:vid/subtasks/metrics), and what
 * Flink's Prometheus reporter serves on the TaskManager's and the JobManager's scrape URL (the
 * families streamtune maps, docs/METRICS.md "Prometheus: the name mapping").
 *
 * Usage: node --import tsx scripts/capture-flink-fixtures.ts  (needs Java 17 and Maven; ~2 minutes)
 */
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../core/logger.ts';
import { REPO_ROOT } from '../platform/local/cache.ts';
import { startFlinkCluster } from '../platform/local/flink.ts';
import { buildFlightDelaysJob } from '../platform/local/flink-job.ts';
import { startKafkaBroker } from '../platform/local/kafka.ts';
import { produceFlights } from '../platform/kafka/produce-flights.ts';
import { flightDelaysArgs, flinkGet, outputDir, runJar, stopWithSavepoint, type JobDetails } from '../test/helpers/flink-cluster.ts';
import { waitFor } from '../test/helpers/wait.ts';

/** Measurements kept in the sample (one report of each process), in this order. */
const KEEP = [
  /^taskmanager_job_task_busyTimeMsPerSecond$/,
  /^taskmanager_job_task_backPressuredTimeMsPerSecond$/,
  /^taskmanager_job_task_idleTimeMsPerSecond$/,
  /^taskmanager_job_task_numRecordsInPerSecond$/,
  /^taskmanager_job_task_numRecordsOutPerSecond$/,
  /^taskmanager_job_task_buffers_outPoolUsage$/,
  /^taskmanager_job_task_buffers_inPoolUsage$/,
  /^taskmanager_job_task_operator_numRecordsIn$/,
  /^taskmanager_job_task_operator_currentInputWatermark$/,
  /^taskmanager_job_task_operator_pendingRecords$/,
  /^taskmanager_job_task_operator_lookupMisses$/,
  /^taskmanager_job_task_operator_KafkaSourceReader_topic_partition_currentOffset$/,
  /^taskmanager_job_task_operator_KafkaSourceReader_topic_partition_committedOffset$/,
  /^jobmanager_job_lastCheckpointDuration$/,
  /^jobmanager_job_lastCheckpointSize$/,
  /^jobmanager_job_numberOfCompletedCheckpoints$/,
  /^jobmanager_job_numberOfFailedCheckpoints$/,
  /^jobmanager_job_numRestarts$/,
  /^taskmanager_Status_JVM_Memory_Heap_Used$/,
  /^taskmanager_Status_JVM_Memory_Heap_Max$/,
  /^taskmanager_Status_JVM_CPU_Load$/,
  /^taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Count$/,
  /^taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time$/,
];

/** Prometheus families kept from the scrapes (every sample of each, with its # HELP and # TYPE lines). */
const T = 'flink_taskmanager_job_task_';
const KEEP_PROMETHEUS = new Set([
  ...['busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond', 'isBackPressured', 'numRecordsIn', 'numRecordsOut', 'numRecordsInPerSecond',
    'numRecordsOutPerSecond', 'Shuffle_Netty_Input_Buffers_inPoolUsage', 'Shuffle_Netty_Output_Buffers_outPoolUsage', 'checkpointAlignmentTime',
    'checkpointStartDelayNanos', 'currentInputWatermark', 'operator_pendingRecords', 'operator_sourceIdleTime', 'operator_numLateRecordsDropped',
    'operator_KafkaSourceReader_KafkaConsumer_records_lag_max', 'operator_KafkaSourceReader_topic_partition_currentOffset',
    'operator_KafkaSourceReader_topic_partition_committedOffset', 'mailboxLatencyMs'].map((m) => T + m),
  ...['Memory_Heap_Used', 'Memory_Heap_Committed', 'Memory_Heap_Max', 'GarbageCollector_All_Count', 'GarbageCollector_All_Time', 'GarbageCollector_All_TimeMsPerSecond'].map((m) => `flink_taskmanager_Status_JVM_${m}`),
  ...['lastCheckpointDuration', 'lastCheckpointSize', 'numberOfCompletedCheckpoints', 'numberOfFailedCheckpoints', 'numberOfInProgressCheckpoints', 'numRestarts', 'uptime', 'runningTime'].map((m) => `flink_jobmanager_job_${m}`),
  'flink_jobmanager_numRegisteredTaskManagers',
]);

/** The lines of a text exposition whose family is kept (a summary's `_count` belongs to its family). */
function keptFamilies(text: string): string {
  return text
    .split('\n')
    .filter((l) => {
      const name = l.startsWith('#') ? (l.split(' ')[2] ?? '') : (/^[^{ ]+/.exec(l)?.[0] ?? '');
      return KEEP_PROMETHEUS.has(name) || KEEP_PROMETHEUS.has(name.replace(/_count$/, ''));
    })
    .join('\n') + '\n';
}

const log = createLogger({ level: 'info' });
const out = join(REPO_ROOT, 'test', 'fixtures', 'flink');
mkdirSync(out, { recursive: true });

// A recording stand-in for InfluxDB 1.x: keeps each POST /write body as the reporter sent it.
const bodies: Array<{ at: number; body: string }> = [];
const recorder = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    if (req.method === 'POST' && req.url?.startsWith('/write')) bodies.push({ at: Date.now(), body });
    res.statusCode = 204;
    res.end();
  });
});
await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;

const jar = await buildFlightDelaysJob({ logger: log });
const kafka = await startKafkaBroker({ numPartitions: 4, properties: { 'log.retention.ms': -1 }, logger: log });
const flink = await startFlinkCluster({ influxdb: { url: recorderUrl, db: 'flink', intervalSeconds: 2 }, prometheus: true, config: { 'metrics.fetcher.update-interval': '2 s' }, logger: log });
try {
  const topic = 'flights';
  await kafka.createTopic(topic, 4);
  const producer = new Kafka({ clientId: 'capture', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await produceFlights({ producer, topic, limit: 100_000 });
  await producer.disconnect();
  const jarId = await flink.uploadJar(jar);
  // enrich at 0.5 ms per record and parallelism 2 keeps it busy for a while: non-zero busy time
  const args = flightDelaysArgs({ brokers: kafka.bootstrap.join(','), topic, groupId: 'flight-delays', output: outputDir(flink, 'capture'), parallelism: 2, lookupLatencyMs: 0.5 });
  const jid = await runJar(flink, jarId, args);
  await waitFor(async () => (await flinkGet<{ counts: { completed: number } }>(flink, `/jobs/${jid}/checkpoints`)).counts.completed >= 2, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: 'two completed checkpoints',
  });
  const job = await flinkGet<JobDetails>(flink, `/jobs/${jid}`);
  const enrich = job.vertices.find((v) => v.name === 'enrich')!;
  const metricsQuery = 'get=busyTimeMsPerSecond,backPressuredTimeMsPerSecond,idleTimeMsPerSecond,numRecordsInPerSecond&agg=min,max,avg,sum';
  // rates are meters (Flink's MeterView: updated every 5 s): wait until enrich shows a rate
  await waitFor(async () => (await flinkGet<Array<{ id: string; max?: number }>>(flink, `/jobs/${jid}/vertices/${enrich.id}/subtasks/metrics?${metricsQuery}`)).some((m) => m.id === 'numRecordsInPerSecond' && (m.max ?? 0) > 0), {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: 'subtask metrics of enrich in the REST metric store',
  });
  const version = flink.version;
  writeFileSync(join(out, `rest-${version}-job-plan.json`), `${JSON.stringify(await flinkGet(flink, `/jobs/${jid}/plan`), null, 2)}\n`);
  writeFileSync(join(out, `rest-${version}-job.json`), `${JSON.stringify(await flinkGet(flink, `/jobs/${jid}`), null, 2)}\n`);
  writeFileSync(
    join(out, `rest-${version}-subtasks-metrics-enrich.json`),
    `${JSON.stringify(await flinkGet(flink, `/jobs/${jid}/vertices/${enrich.id}/subtasks/metrics?${metricsQuery}`), null, 2)}\n`,
  );
  // a few reports after the checkpoints, then the newest report of each process
  const seen = bodies.length;
  await waitFor(() => bodies.length >= seen + 6, { timeoutMs: 60_000, intervalMs: 200, what: 'more reporter writes' });
  const lines: string[] = [];
  const newest = (pred: (l: string) => boolean) => [...bodies].reverse().find((b) => b.body.split('\n').some(pred));
  const tmReport = newest((l) => l.startsWith('taskmanager_job_task_busyTimeMsPerSecond,'));
  const jmReport = newest((l) => l.startsWith('jobmanager_job_numberOfCompletedCheckpoints,'));
  const tmJvmReport = newest((l) => l.startsWith('taskmanager_Status_JVM_Memory_Heap_Used,'));
  const all = [tmReport, jmReport, tmJvmReport].flatMap((b) => (b ? b.body.split('\n') : [])).filter((l) => l.length > 0);
  // every vertex's busy time and every partition's offsets; of the other measurements, 2 lines each
  for (const re of KEEP) {
    const max = /busyTimeMsPerSecond|KafkaSourceReader/.test(re.source) ? Infinity : 2;
    const mine = all.filter((l) => re.test(l.slice(0, l.indexOf(','))));
    const preferred = [...mine.filter((l) => l.includes('task_name=enrich')), ...mine.filter((l) => !l.includes('task_name=enrich'))];
    for (const l of preferred.slice(0, max)) if (!lines.includes(l)) lines.push(l);
  }
  writeFileSync(join(out, 'influxdb-reporter-sample.lp'), `${lines.join('\n')}\n`);
  // Flink's Prometheus reporter: the TaskManager's and the JobManager's scrape, once the Kafka reader's metrics are there
  const { taskManager, jobManager } = flink.prometheusTargets;
  const tmText = await waitFor(async () => {
    const t = await (await fetch(taskManager!)).text();
    return t.includes(`${T}operator_KafkaSourceReader_topic_partition_currentOffset{`) ? t : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500, what: "the Kafka reader's metrics on the TaskManager's scrape URL" });
  writeFileSync(join(out, `prometheus-reporter-${version}-taskmanager.txt`), keptFamilies(tmText));
  writeFileSync(join(out, `prometheus-reporter-${version}-jobmanager.txt`), keptFamilies(await (await fetch(jobManager!)).text()));
  log.info('fixtures written', { dir: out, lines: lines.length, reports: bodies.length, job_id: jid });
  await stopWithSavepoint(flink, jid, true);
} finally {
  await flink.stop();
  await kafka.close();
  recorder.close();
}
