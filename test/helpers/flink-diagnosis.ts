/**
 * The diagnosis scenarios of the REAL flight-delays job on a real Flink 1.20 cluster, shared by
 * test/flink-diagnosis.test.ts (which asserts on them) and the accuracy benchmark's real-Flink runs
 * (bench/_accuracy-flink-child.ts, which scores them): each scenario is one flight-delays job with one
 * fault of the job's knobs, on its own topic (named as the job) and consumer group (`<name>-group`),
 * fed by its own background producer, all jobs of a batch side by side on one
 * {@link RealFlinkStack} (test/helpers/real-flink-stack.ts: one Flink session cluster, one Kafka
 * broker, InfluxDB for Flink's InfluxDB reporter). Kinds:
 *
 * - 'lagging': enrich pays `latencyMs` per record (LatencyDebt in flink-jobs/flight-delays: a parked
 *   task thread, so one subtask handles 1000 / latency records/s and subtasks overlap) at `rate`
 *   records/s, parallelism 1 → under-provisioned at `enrich`; the smallest parallelism that keeps up
 *   is ⌈rate × latency / 1000⌉ ({@link smallestThatKeepsUp});
 * - 'skew': a share `hotKeyShare` of the flights rewritten to one origin (ORD), the keyed window
 *   `delay-by-origin` at `windowParallelism` paying `windowLatencyMs` per record → data skew there, no scale-up;
 * - 'poison': the `poisonAfter`-th record of every attempt of an enrich subtask throws (restarts never
 *   run out, 1 s apart) → crash loop at `enrich`, explained by the IllegalStateException;
 * - 'healthy': nothing injected → healthy, no action.
 *
 * Flink's `*PerSecond` meters average the last 60 s, so a diagnosis waits until its job has run
 * {@link WARMUP_MS} + {@link WINDOW_MS} and reads the {@link WINDOW_MS} before (the control plane's
 * `diagnoser.windowMs`).
 */
import type { AssembledControlPlane } from '../../control-plane/assemble.ts';
import type { Diagnosis } from '../../diagnoser/types.ts';
import { flinkGet, type JobDetails } from './flink-cluster.ts';
import type { FlightProducer, RealFlinkStack, StackJob } from './real-flink-stack.ts';
import { waitFor } from './wait.ts';

/** ms after a job's start before its window opens: Flink's rate meters span 60 s. */
export const WARMUP_MS = 65_000;
/** ms of metrics a diagnosis reads (`diagnoser.windowMs` of {@link RealFlinkStack.controlPlane}). */
export const WINDOW_MS = 40_000;

/** One scenario: a flight-delays job with one fault; see the module comment for the kinds. */
export type FlinkDiagnosisScenario =
  /** `latencyMs`: enrich's per-record latency, ms */
  | { kind: 'lagging'; name: string; rate: number; latencyMs: number }
  /** `hotKeyShare` 0..1; `windowLatencyMs` ms per record of the keyed window */
  | { kind: 'skew'; name: string; rate: number; hotKeyShare: number; windowParallelism: number; windowLatencyMs: number }
  /** `poisonAfter`: the record number (per attempt of a subtask) that throws */
  | { kind: 'poison'; name: string; rate: number; poisonAfter: number }
  | { kind: 'healthy'; name: string; rate: number };
/** A 'lagging' {@link FlinkDiagnosisScenario}. */
export type LaggingScenario = Extract<FlinkDiagnosisScenario, { kind: 'lagging' }>;

/**
 * enrich: 2.2 ms per record at 500 records/s → needs ceil(500 × 2.2 / 1000) = 2 subtasks; has 1.
 * 1.1 subtasks' worth of work: the plan (at 85 % target utilisation) stays within 2..3 as long as a
 * loaded machine slows a subtask and speeds the input up by less than a factor 2.3 together.
 */
export const LAGGING: LaggingScenario = { kind: 'lagging', name: 'diag-lagging', rate: 500, latencyMs: 2.2 };
/**
 * Half the flights become ORD: with the window at parallelism 2 one subtask gets ~75 % of 400
 * records/s. At 4 ms per record a window subtask handles 250 records/s: the hot one is the
 * bottleneck (300 > 250) while two even subtasks would have room (400 < 500).
 */
export const SKEW: FlinkDiagnosisScenario = { kind: 'skew', name: 'diag-skew', rate: 400, hotKeyShare: 0.5, windowParallelism: 2, windowLatencyMs: 4 };
/** The 2,000th record of every attempt throws. */
export const POISON: FlinkDiagnosisScenario = { kind: 'poison', name: 'diag-poison', rate: 300, poisonAfter: 2000 };
export const HEALTHY: FlinkDiagnosisScenario = { kind: 'healthy', name: 'diag-healthy', rate: 200 };

/** The exception a poison scenario's crash loop must be explained by (Enrich.java's message). */
export const POISON_EXCEPTION = /IllegalStateException: poison record in 'enrich'/;

/**
 * The smallest parallelism of `enrich` that keeps up with a 'lagging' scenario: ⌈rate × latency / 1000⌉
 * (one subtask handles at most 1000 / latency records/s).
 */
export function smallestThatKeepsUp(s: LaggingScenario): number {
  return Math.ceil((s.rate * s.latencyMs) / 1000 - 1e-9);
}

/**
 * False where the job never commits offsets, so no consumer group can be discovered on the broker:
 * a poison job fails before its first checkpoint completes.
 */
export function hasConsumerGroup(s: FlinkDiagnosisScenario): boolean {
  return s.kind !== 'poison';
}

/** The job {@link RealFlinkStack.submit} runs for a scenario (its own topic, named as the job). */
export function scenarioJob(s: FlinkDiagnosisScenario): StackJob {
  const base = { name: s.name, topic: s.name };
  switch (s.kind) {
    case 'lagging':
      return { ...base, lookupLatencyMs: s.latencyMs };
    case 'skew':
      return { ...base, hotKeyShare: s.hotKeyShare, extra: ['--window-parallelism', String(s.windowParallelism), '--window-latency-ms', String(s.windowLatencyMs)] };
    case 'poison':
      // restarts never run out during a run
      return { ...base, extra: ['--poison-after', String(s.poisonAfter), '--restart-attempts', '100000', '--restart-delay-ms', '1000'] };
    case 'healthy':
      return base;
  }
}

/** What {@link startScenarioJobs} started. */
export interface ScenarioJobs {
  /** job name → JobID */
  jids: Map<string, string>;
  /** job name → epoch ms when every vertex was seen RUNNING */
  runningAt: Map<string, number>;
  producers: FlightProducer[];
}

/** Options of {@link startScenarioJobs}. */
export interface StartScenarioJobsOptions {
  /**
   * ms to wait for each job to have every vertex RUNNING after its submission. Default: what
   * {@link RealFlinkStack.submit} waits (120 s).
   */
  runningTimeoutMs?: number;
  /** Called with a line of progress (topics created, each job RUNNING, with seconds). */
  log?: (line: string) => void;
}

/**
 * For each scenario, in order: creates its topic (8 partitions), starts producing flights to it at its
 * rate, and submits its job, waiting until every vertex is RUNNING. The producers are also
 * registered with the stack: its `close` stops them, also after a failure here.
 * @throws what {@link RealFlinkStack.createTopic} throws, or an Error naming the job whose submission
 *   failed or that was not RUNNING in time (the original error as the cause)
 */
export async function startScenarioJobs(stack: RealFlinkStack, scenarios: readonly FlinkDiagnosisScenario[], opts: StartScenarioJobsOptions = {}): Promise<ScenarioJobs> {
  const out: ScenarioJobs = { jids: new Map(), runningAt: new Map(), producers: [] };
  const t0 = Date.now();
  const secs = (): string => `${Math.round((Date.now() - t0) / 1000)} s`;
  for (const s of scenarios) {
    await stack.createTopic(s.name);
    out.producers.push(stack.produce({ topic: s.name, rate: s.rate }));
  }
  opts.log?.(`topics created and producers started after ${secs()}`);
  for (const s of scenarios) {
    try {
      if (opts.runningTimeoutMs === undefined) out.jids.set(s.name, await stack.submit(scenarioJob(s)));
      else {
        const jid = await stack.submit({ ...scenarioJob(s), waitRunning: false });
        out.jids.set(s.name, jid);
        await waitFor(async () => {
          const j = await flinkGet<JobDetails>(stack.flink, `/jobs/${jid}`);
          if (j.state === 'FAILED') throw new Error(`job ${jid} failed`);
          return j.state === 'RUNNING' && j.vertices.length > 0 && j.vertices.every((v) => v.status === 'RUNNING');
        }, { timeoutMs: opts.runningTimeoutMs, intervalMs: 250, what: `job ${jid} RUNNING with all vertices` });
      }
      out.runningAt.set(s.name, Date.now());
      opts.log?.(`${s.name} RUNNING after ${secs()}`);
    } catch (err) {
      throw new Error(`submitting ${s.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return out;
}

/**
 * Diagnoses the scenario's job (`jid`) with `cp.diagnoser.diagnoseNow` once it has run
 * {@link WARMUP_MS} + {@link WINDOW_MS} (counted from its start time in Flink, or from `runningAt`,
 * epoch ms when every vertex ran, when that is later) and, where it commits offsets ({@link hasConsumerGroup}), the
 * control plane's catalog knows its consumer group (discovered from the broker: there is no mapping).
 * @returns the diagnosis and the consumer group the catalog has for the job (undefined when none)
 * @throws Error when the group is not discovered within 120 s or the job does not run long enough
 */
export async function diagnoseWhenWarm(cp: AssembledControlPlane, jid: string, s: FlinkDiagnosisScenario, runningAt = 0): Promise<{ diagnosis: Diagnosis; consumerGroup?: string }> {
  const group = hasConsumerGroup(s);
  const job = await waitFor(() => (cp.jobs.get(jid)?.consumerGroup || !group ? cp.jobs.get(jid) : undefined), { timeoutMs: 120_000, intervalMs: 500, what: `the consumer group of ${s.name}` });
  const startedAt = Math.max(job.startedAt!, runningAt);
  await waitFor(() => Date.now() >= startedAt + WARMUP_MS + WINDOW_MS, { timeoutMs: WARMUP_MS + WINDOW_MS + 60_000, intervalMs: 1000, what: `${s.name} to run ${(WARMUP_MS + WINDOW_MS) / 1000} s` });
  const diagnosis = await cp.diagnoser.diagnoseNow(jid);
  return { diagnosis, ...(job.consumerGroup ? { consumerGroup: job.consumerGroup } : {}) };
}
