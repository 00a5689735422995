/**
 * One run of the accuracy benchmark (bench/accuracy.ts), in its own process:
 *   node --import tsx bench/_accuracy-child.ts CASE_ID
 * Runs the case of bench/_accuracy-corpus.ts on the bundled runtime with the scenario tests' runner
 * (test/helpers/scenario.ts: per-second metrics into an in-memory embedded store, the built-in rules
 * scaled for windows of seconds) and prints one JSON line `{ "result": AccuracyChildResult }`.
 *
 * Runs (see `CaseRun`): 'window' as `runScenario` (small buffers, the window opened once every subtask
 * runs: see {@link BUFFERS}, `windowRun`); 'transient' as test/scenarios/transient-spike;
 * 'stalled' as test/scenarios/consumer-stalled (librdkafka mock broker inside kcat); 'forecast': the
 * job lags until its backlog (the source's pendingRecords) passes `minutes` minutes of input, is
 * diagnosed over the last {@link FORECAST_WINDOW_MS} ms, and the recommendation with a
 * set-parallelism for the expected vertex is applied as the tuner applies it on the bundled runtime
 * (stop with savepoint, restore with the new parallelism). The measured time runs from the stop call
 * to the first sample (every {@link FORECAST_SAMPLE_MS} ms) of a backlog at or under one minute of
 * input (60 s × the rate), at most {@link FORECAST_MAX_MS} ms (then `measuredMs` is null).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaLagCollector } from '../collector/kafka/index.ts';
import type { MetricPoint } from '../core/points.ts';
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import { LocalJob } from '../runtime/job.ts';
import '../runtime/kafka-register.ts';
import { produce, startKafkaMock } from '../test/helpers/kafka.ts';
import { startScenario } from '../test/helpers/scenario.ts';
import { tempDir, uniqueName, waitFor } from '../test/helpers/wait.ts';
import { corpus, type BundledCase } from './_accuracy-corpus.ts';
import { summary, type AccuracyChildResult } from './_accuracy-result.ts';

export type { AccuracyChildResult } from './_accuracy-result.ts';

/** ms of metrics the forecast cases' diagnosis reads. */
export const FORECAST_WINDOW_MS = 12_000;
/** ms between backlog samples after applying. */
export const FORECAST_SAMPLE_MS = 250;
/** ms after applying a forecast case gives up waiting for the backlog to be under one minute of input. */
export const FORECAST_MAX_MS = 300_000;
/**
 * Small buffers (32 records × 4 per channel, as bench/_tuner-child.ts and the CPU-bound scenario): the
 * backlog shows as the source's pendingRecords within a second. The runtime's defaults (512 × 8 =
 * 4,096 records per channel, about what Flink's 32 KB buffers hold of small records) take 4–16 s to
 * fill at a surplus of 500–1,000 records/s: longer than a scenario's 6 s window, while in production
 * a 10-minute window hardly sees them fill.
 */
const BUFFERS = { channelCapacity: 2 } as const;
/** ms after every subtask processed its first record before a window may open. */
export const READY_SETTLE_MS = 1_000;

/**
 * The scenario runner's window, opened once the job really runs: `warmupMs` (default 2 s) after the
 * start, and at least {@link READY_SETTLE_MS} after every subtask processed its first record (a worker
 * TaskManager's subtasks start seconds after the job on a loaded machine; their zeros before would
 * halve a 6 s window's busy time and rates, which a 10-minute window in production does not see).
 */
async function windowRun(c: BundledCase, dir: string, run: Extract<BundledCase['run'], { type: 'window' }>): Promise<Diagnosis> {
  const sc = await startScenario(c.spec(dir), { job: { ...BUFFERS } });
  try {
    const ready = await waitFor(() => (everySubtaskRuns(sc.job) ? Date.now() : undefined), { timeoutMs: 60_000, intervalMs: 50, what: 'every subtask to process a record' })
      .catch(() => sc.startedAt);
    const from = Math.max(sc.startedAt + (run.warmupMs ?? 2000), ready + READY_SETTLE_MS);
    const until = from + (run.windowMs ?? 6000);
    await waitFor(() => Date.now() >= until, { timeoutMs: until - Date.now() + 30_000, intervalMs: 100, what: 'the window to fill' });
    return (await sc.diagnose(from)).diagnosis;
  } finally {
    await sc.stop();
  }
}

/**
 * True when every subtask has processed a record, or waits for its first one because its upstream
 * vertices emitted none yet (a sink behind an hour-long window).
 */
function everySubtaskRuns(job: LocalJob): boolean {
  const subs = job.currentSubtasks();
  const emitted = new Map<string, number>();
  for (const s of subs) emitted.set(s.vertex, (emitted.get(s.vertex) ?? 0) + s.metrics.numRecordsOut);
  const byId = new Map(job.vertices.map((v) => [v.id, v.name]));
  return job.vertices.every((v) => {
    const upstream = v.inputs.reduce((a, id) => a + (emitted.get(byId.get(id) ?? id) ?? 0), 0);
    return (v.inputs.length > 0 && upstream === 0) || subs.filter((s) => s.vertex === v.name).every((s) => s.metrics.numRecordsIn + s.metrics.numRecordsOut > 0);
  });
}

async function transientRun(c: BundledCase, dir: string, downtimeMs: number): Promise<Diagnosis> {
  const spec = c.spec(join(dir, 'chk'));
  const first = new LocalJob(spec, { metricsWindowMs: 1000 });
  await first.start();
  await waitFor(() => first.stats.numberOfCompletedCheckpoints >= 1, { what: 'a first checkpoint' });
  const sp = await first.stopWithSavepoint(join(dir, 'sp'));
  const stoppedAt = Date.now();
  await waitFor(() => Date.now() - stoppedAt >= downtimeMs, { intervalMs: 100, timeoutMs: downtimeMs + 20_000, what: 'the downtime' });
  const sc = await startScenario(spec, { job: { fromSavepoint: sp.path } });
  try {
    const pending = () => sc.job.metricPoints().filter((p) => p.measurement === 'taskmanager_job_task_operator_pendingRecords').reduce((a, p) => a + Number(p.fields.value), 0);
    const peak = await waitFor(() => pending() || undefined, { what: 'the backlog' });
    await waitFor(() => Date.now() - sc.startedAt >= 3500 && pending() < peak * 0.45, { timeoutMs: 60_000, intervalMs: 100, what: 'the backlog to drain' });
    return (await sc.diagnose(sc.startedAt)).diagnosis;
  } finally {
    await sc.stop();
  }
}

async function stalledRun(perTick: number, dir: string): Promise<Diagnosis> {
  const mock = await startKafkaMock({ brokers: 1 });
  const topic = uniqueName('orders');
  const group = uniqueName('acc-stalled');
  const lagPoints: MetricPoint[] = [];
  let committed = 0;
  const collector = new KafkaLagCollector({
    brokers: mock.bootstrap, intervalMs: 500, groups: [{ groupId: group, topics: [topic] }],
    sink: (p) => {
      lagPoints.push(...p);
      committed = Math.max(committed, ...p.filter((x) => x.measurement === 'streamtune_kafka_partition_committedOffset').map((x) => Number(x.fields.value)));
    },
  });
  let producing = true;
  let seq = 0;
  const producer = (async () => {
    while (producing) {
      await produce(mock.bootstrap, topic, Array.from({ length: perTick }, () => ({ key: `k${seq % 7}`, value: JSON.stringify({ seq: seq++ }) })));
      await sleep(100);
    }
  })();
  const sc = await startScenario({
    name: 'acc-stalled',
    checkpoints: { interval: 300, dir },
    vertices: [
      { name: 'orders', type: 'kafka-source', topic, groupId: group, brokers: mock.bootstrap, startFrom: 'earliest' },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [{ from: 'orders', to: 'out' }],
  }, { consumerGroup: group, extraPoints: () => lagPoints.splice(0) });
  try {
    collector.start();
    await waitFor(() => committed > 0, { timeoutMs: 60_000, what: 'the job to commit offsets to its group' });
    await sc.job.cancel();
    sc.stopJobMetrics();
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt >= 5000, { intervalMs: 100, timeoutMs: 30_000, what: 'lag observations after the stop' });
    return (await sc.diagnose(stoppedAt)).diagnosis;
  } finally {
    producing = false;
    await producer;
    await collector.stop();
    await sc.stop();
    await mock.stop();
  }
}

function backlog(job: LocalJob): number {
  return job.currentSubtasks().filter((s) => s.vertex === 'orders').reduce((a, s) => a + (s.metrics.pendingRecords ?? 0), 0);
}

async function forecastRun(c: BundledCase, dir: string, minutes: number, rate: number): Promise<{ d: Diagnosis; forecast?: AccuracyChildResult['forecast'] }> {
  const spec = c.spec(join(dir, 'chk'));
  const minute = 60 * rate;
  const sc = await startScenario(spec, { job: { ...BUFFERS } });
  let next: LocalJob | undefined;
  try {
    const target = minutes * minute;
    let lastReport = 0;
    await waitFor(() => {
      const b = backlog(sc.job);
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        process.stderr.write(`accuracy child ${c.id}: backlog ${Math.round(b)} of ${Math.round(target)} records\n`);
      }
      return b >= target;
    }, { timeoutMs: 400_000, intervalMs: 250, what: `the backlog to reach ${minutes} min of input` });
    const { diagnosis: d } = await sc.diagnose(Date.now() - FORECAST_WINDOW_MS);
    const rec = d.recommendations.find((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === c.expected.vertex && a.to > a.from));
    if (!rec) return { d };
    const overrides: Record<string, number> = {};
    for (const a of rec.actions) if (a.type === 'set-parallelism') overrides[a.vertex.name] = a.to;
    const old = sc.job;
    const backlogAtApply = backlog(old);
    const t0 = Date.now();
    const sp = await old.stopWithSavepoint(join(dir, 'sp'));
    next = new LocalJob(spec, { ...BUFFERS, metricsWindowMs: 1000, jobId: old.id, parallelism: { ...Object.fromEntries(old.vertices.map((v) => [v.name, v.parallelism])), ...overrides }, fromSavepoint: sp.path });
    await next.start();
    const restartMs = Date.now() - t0;
    let measuredMs: number | null = null;
    for (;;) {
      const now = Date.now();
      if (backlog(next) <= minute) {
        measuredMs = now - t0;
        break;
      }
      if (now - t0 > FORECAST_MAX_MS) break;
      await sleep(FORECAST_SAMPLE_MS);
    }
    const act = rec.actions.find((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism' && a.vertex.name === c.expected.vertex)!;
    return { d, forecast: { from: act.from, to: act.to, backlogAtApply, minuteRecords: minute, forecastMs: rec.lagUnderOneMinuteMs ?? null, measuredMs, restartMs } };
  } finally {
    await next?.cancel();
    await sc.stop();
  }
}

const id = process.argv[2];
const found = corpus({ flink: false }).find((x) => x.id === id);
if (!found || found.platform === 'flink') {
  process.stderr.write(`usage: _accuracy-child.ts CASE_ID (unknown case '${id ?? ''}'; real-Flink cases run in bench/_accuracy-flink-child.ts)\n`);
  process.exit(2);
}
const c: BundledCase = found;
const dir = tempDir('streamtune-accuracy-');
const startedAt = Date.now();
try {
  let result: AccuracyChildResult;
  const run = c.run;
  if (run.type === 'window') result = summary(c, await windowRun(c, dir, run), startedAt);
  else if (run.type === 'transient') result = summary(c, await transientRun(c, dir, run.downtimeMs), startedAt);
  else if (run.type === 'stalled') result = summary(c, await stalledRun(run.producePerTick, dir), startedAt);
  else {
    const { d, forecast } = await forecastRun(c, dir, run.minutes, run.rate);
    result = summary(c, d, startedAt);
    if (forecast) result.forecast = forecast;
  }
  process.stdout.write(`${JSON.stringify({ result })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
