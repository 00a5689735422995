/**
 * The real-Flink runs of the accuracy benchmark (bench/accuracy.ts), all in one process:
 *   node --import tsx bench/_accuracy-flink-child.ts CASE_ID ...
 * Starts ONE real stack for all of them (test/helpers/real-flink-stack.ts: a Flink 1.20 session
 * cluster with 12 slots (two batches' worth), one Kafka broker, InfluxDB for Flink's InfluxDB reporter, the flight-delays
 * job jar), then runs the cases batch by batch (`run.batch` of bench/_accuracy-corpus.ts): the
 * batch's jobs are started side by side with their producers (`startScenarioJobs` of
 * test/helpers/flink-diagnosis.ts, as test/flink-diagnosis.test.ts), each is diagnosed once warm
 * (`diagnoseWhenWarm`: 65 s of warm-up, a 40 s window, by one control plane built with
 * `stack.controlPlane({ influxReporter: true })`), then the batch's producers stop and its jobs are
 * cancelled before the next batch starts. Prints one JSON line `{ "result": FlinkChildResult }`:
 * every case given has an entry, with its result or the error that stopped it (a stack that does
 * not start, e.g. no Java, is the error of every case). Progress goes to stderr.
 */
import type { AssembledControlPlane } from '../control-plane/assemble.ts';
import { diagnoseWhenWarm, startScenarioJobs, WINDOW_MS, type ScenarioJobs } from '../test/helpers/flink-diagnosis.ts';
import { flinkGet, type JobDetails } from '../test/helpers/flink-cluster.ts';
import { startRealFlinkStack, type RealFlinkStack } from '../test/helpers/real-flink-stack.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { corpus, type FlinkCase } from './_accuracy-corpus.ts';
import { summary, type AccuracyChildResult } from './_accuracy-result.ts';

/** What the child prints: one entry per case id given, in that order. */
export interface FlinkChildResult {
  results: Array<{ id: string; result?: AccuracyChildResult; error?: string }>;
}

const progress = (msg: string): void => {
  process.stderr.write(`accuracy flink: ${msg}\n`);
};
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 600);

/** Slots the scenario's job takes: its largest vertex parallelism (slot sharing). */
const slotsOf = (s: FlinkCase['run']['scenario']): number => (s.kind === 'skew' ? Math.max(1, s.windowParallelism) : 1);

/** `GET /overview`: free and total slots, and jobs running. */
async function clusterState(stack: RealFlinkStack): Promise<{ free: number; total: number; running: number }> {
  const o = await flinkGet<{ 'slots-available': number; 'slots-total': number; 'jobs-running': number }>(stack.flink, '/overview');
  return { free: o['slots-available'], total: o['slots-total'], running: o['jobs-running'] };
}

/** The cluster's slots and every job's state, for an error message; never throws. */
async function clusterReport(stack: RealFlinkStack): Promise<string> {
  try {
    const c = await clusterState(stack);
    const { jobs } = await flinkGet<{ jobs: Array<{ name: string; state: string }> }>(stack.flink, '/jobs/overview');
    return `cluster: ${c.free} of ${c.total} slots free; jobs: ${jobs.map((j) => `${j.name} ${j.state}`).join(', ')}`;
  } catch (err) {
    return `cluster state unknown: ${message(err)}`;
  }
}

/** Cancels the jobs (PATCH /jobs/:jid?mode=cancel) and waits until none is running. Never throws. */
async function cancelJobs(stack: RealFlinkStack, jids: Iterable<string>): Promise<void> {
  for (const jid of jids) {
    try {
      await fetch(`${stack.flink.restUrl}/jobs/${jid}?mode=cancel`, { method: 'PATCH', signal: AbortSignal.timeout(10_000) });
      await waitFor(async () => ['CANCELED', 'FAILED', 'FINISHED'].includes((await flinkGet<JobDetails>(stack.flink, `/jobs/${jid}`)).state), { timeoutMs: 60_000, intervalMs: 500, what: `job ${jid} to end` });
    } catch (err) {
      progress(`cancel of ${jid}: ${message(err)}`);
    }
  }
}

/** TaskManager slots: room for two batches of jobs (5 slots each). */
const SLOTS = 12;

/**
 * ms a job may take to be seen with every vertex RUNNING: longer than runJar's 120 s. A poison job
 * runs only seconds between its restarts (record 1,000 at 400 records/s: 2.5 s), and was seen RUNNING
 * 37–90 s after its submission, once not within 120 s (a whole batch lost); the warm-up counts from
 * when it was seen.
 */
const RUNNING_TIMEOUT_MS = 300_000;

const ids = process.argv.slice(2);
const all = corpus({ flink: true });
const cases: FlinkCase[] = [];
for (const id of ids) {
  const c = all.find((x) => x.id === id);
  if (!c || c.platform !== 'flink') {
    process.stderr.write(`usage: _accuracy-flink-child.ts CASE_ID ... (not a real-Flink case: '${id}')\n`);
    process.exit(2);
  }
  cases.push(c);
}

const outcome = new Map<string, { result?: AccuracyChildResult; error?: string }>();
const fail = (cs: readonly FlinkCase[], error: string): void => {
  for (const c of cs) if (!outcome.has(c.id)) outcome.set(c.id, { error });
};
let stack: RealFlinkStack | undefined;
let cp: AssembledControlPlane | undefined;
const t0 = Date.now();
try {
  progress(`starting the stack (Kafka, InfluxDB, Flink) for ${cases.length} runs`);
  // two batches' worth of slots: a batch never waits for the slots of the one before to be released
  stack = await startRealFlinkStack({ slots: SLOTS });
  progress(`stack up in ${Math.round((Date.now() - t0) / 1000)} s: Flink ${stack.flink.version} at ${stack.flink.restUrl}, Kafka ${stack.brokers}`);
  const batches = [...new Set(cases.map((c) => c.run.batch))].sort((a, b) => a - b);
  for (const b of batches) {
    const batch = cases.filter((c) => c.run.batch === b);
    const startedAt = Date.now();
    let jobs: ScenarioJobs | undefined;
    try {
      const needed = batch.reduce((a, c) => a + slotsOf(c.run.scenario), 0);
      const free = await waitFor(async () => {
        const c = await clusterState(stack!);
        return c.free >= needed ? c.free : undefined;
      }, { timeoutMs: 120_000, intervalMs: 1000, what: `${needed} free slots` });
      progress(`batch ${b}: ${free} slots free (${needed} needed); starting ${batch.map((c) => c.run.scenario.name).join(', ')}`);
      jobs = await startScenarioJobs(stack, batch.map((c) => c.run.scenario), { runningTimeoutMs: RUNNING_TIMEOUT_MS, log: (line) => progress(`batch ${b}: ${line}`) });
      cp ??= await stack.controlPlane({ influxReporter: true, diagnoserWindowMs: WINDOW_MS });
      progress(`batch ${b}: jobs running after ${Math.round((Date.now() - startedAt) / 1000)} s; diagnosing each once warm`);
      const control = cp;
      const started = jobs;
      await Promise.all(batch.map(async (c) => {
        try {
          const { diagnosis } = await diagnoseWhenWarm(control, started.jids.get(c.run.scenario.name)!, c.run.scenario, started.runningAt.get(c.run.scenario.name));
          outcome.set(c.id, { result: summary(c, diagnosis, startedAt) });
          progress(`${c.id}: ${diagnosis.rootCause.kind}${diagnosis.rootCause.vertex ? ` at ${diagnosis.rootCause.vertex}` : ''}`);
        } catch (err) {
          outcome.set(c.id, { error: `real Flink: ${message(err)}` });
          progress(`${c.id}: FAILED: ${message(err)}`);
        }
      }));
    } catch (err) {
      const why = `real Flink batch ${b}: ${message(err)} (${await clusterReport(stack)})`;
      fail(batch, why);
      progress(`batch ${b} FAILED: ${why}`);
    } finally {
      for (const p of jobs?.producers ?? []) await p.stop().catch(() => undefined);
      if (jobs) await cancelJobs(stack, jobs.jids.values());
    }
  }
} catch (err) {
  fail(cases, `real Flink stack did not start: ${message(err)}`);
  progress(`FAILED: ${message(err)}`);
} finally {
  await cp?.close().catch(() => undefined);
  await stack?.close().catch(() => undefined);
}
fail(cases, 'real Flink: no result');
const result: FlinkChildResult = { results: cases.map((c) => ({ id: c.id, ...outcome.get(c.id)! })) };
process.stdout.write(`${JSON.stringify({ result })}\n`);
process.exit(0);
