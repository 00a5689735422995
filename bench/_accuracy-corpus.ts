/**
 * The labelled corpus of the accuracy benchmark (bench/accuracy.ts): scenario runs on the bundled
 * runtime, each with the fault it injects and what a right diagnosis says. The fault kinds are those
 * the scenario tests cover (test/scenarios/*.test.ts): under-provisioned vertex, slow sink, slow
 * source, hot key, checkpoint timeouts, poison record, GC pressure, heap growth, over-provisioned,
 * transient spike, stalled consumer, healthy and CPU-bound, each at several magnitudes (rate,
 * latency, share, size) and parallelisms, some repeated.
 *
 * The generator source is deterministic (record j of split s is always the same), so "seeds" are the
 * data knobs that change which records flow (key count, the poison record's position, the hot key's
 * share) plus repeats, which differ by timing only.
 *
 * The smallest parallelism that keeps up is computed from the injected fault: a vertex paying L ms
 * per record (`faults.latencyMs`, a sleep: subtasks overlap) or burning C ms of CPU per record
 * (`faults.cpuMs`) processes at most 1000 / L (or 1000 / C) records/s per subtask, so with R records/s
 * arriving it needs ⌈R · L / 1000⌉ subtasks.
 *
 * Real-Flink runs (`platform: 'flink'`, ids `flink/...`): the scenarios of
 * test/flink-diagnosis.test.ts (test/helpers/flink-diagnosis.ts: the flight-delays job on a real
 * Flink 1.20 session cluster reading a real Kafka broker, diagnosed by the control plane from Flink's
 * InfluxDB reporter with the built-in rules, a 40 s window after 65 s of warm-up): enrich too slow
 * (under-provisioned vertex), a hot key, a poison record and a healthy job, the test's four and one
 * more magnitude of each, in two batches of four jobs side by side on one cluster and one broker
 * (bench/_accuracy-flink-child.ts). Their smallest parallelism that keeps up is computed the same way:
 * enrich's `--lookup-latency-ms` is a parked task thread (LatencyDebt.java), so ⌈R · L / 1000⌉
 * ({@link smallestThatKeepsUp}). `STREAMTUNE_BENCH_ACCURACY_FLINK=0` leaves them out of {@link corpus}.
 */
import type { RootCauseKind } from '../diagnoser/types.ts';
import type { JobSpec } from '../runtime/spec.ts';
import { HEALTHY, LAGGING, POISON, POISON_EXCEPTION, SKEW, smallestThatKeepsUp, type FlinkDiagnosisScenario } from '../test/helpers/flink-diagnosis.ts';

/** The fault a case injects (the rows of the report). */
export const FAULTS = [
  'under-provisioned vertex', 'slow sink', 'CPU-bound vertex', 'slow source', 'hot key', 'checkpoint timeouts', 'poison record',
  'GC pressure', 'heap growth', 'over-provisioned', 'transient spike', 'stalled consumer', 'healthy',
] as const;

/** One of {@link FAULTS}. */
export type Fault = (typeof FAULTS)[number];

/** How the child (bench/_accuracy-child.ts) runs a case on the bundled runtime. */
export type CaseRun =
  /** runScenario: start, warm up, one window, diagnose */
  | { type: 'window'; warmupMs?: number; windowMs?: number }
  /** stop with a savepoint, wait `downtimeMs`, restore: a backlog that drains (transient spike) */
  | { type: 'transient'; downtimeMs: number }
  /** a Kafka job on the librdkafka mock cancelled while records keep arriving (`producePerTick` records every 100 ms) */
  | { type: 'stalled'; producePerTick: number }
  /**
   * lag until the backlog is `minutes` × one minute of input, diagnose, apply the recommendation
   * (stop with savepoint, restore with its parallelism) and measure the time until the backlog is
   * back under one minute of input, against the recommendation's forecast `lagUnderOneMinuteMs`
   */
  | { type: 'forecast'; minutes: number; rate: number };

/**
 * A real-Flink run (bench/_accuracy-flink-child.ts): the scenario's job submitted with the others of
 * its `batch` (1, 2, ...) on the shared cluster, diagnosed once warm (test/helpers/flink-diagnosis.ts).
 */
export interface FlinkRun {
  type: 'flink';
  scenario: FlinkDiagnosisScenario;
  batch: number;
}

/** What a right diagnosis of a case says. */
export interface Expected {
  rootCause: RootCauseKind;
  /** the vertex the root cause names; absent where it names none (checkpoints, heap, spikes, healthy) */
  vertex?: string;
  /** for scale-ups: the smallest parallelism of `vertex` that keeps up (from the injected fault) */
  minParallelism?: number;
  /** the parallelism `vertex` runs at */
  parallelism?: number;
  /** the root cause's explanation must match (e.g. the exception of a crash loop) */
  explanation?: RegExp;
  /** no set-parallelism that raises a vertex's parallelism may be recommended (a hot key) */
  noScaleUp?: boolean;
}

/** What every labelled run has. */
interface CaseBase {
  /** unique, e.g. 'under-provisioned/r1000-l2-p1#1' */
  id: string;
  fault: Fault;
  /** the magnitude in words, for the report */
  label: string;
  expected: Expected;
  /** runs alone (CPU- or memory-heavy): no other case at the same time */
  exclusive?: boolean;
}

/** A labelled run on the bundled runtime. */
export interface BundledCase extends CaseBase {
  platform?: undefined;
  /** the job, given a fresh temp directory for its checkpoints */
  spec(dir: string): JobSpec;
  run: CaseRun;
}

/** A labelled run on the real Flink cluster; all of them run in one child, alone. */
export interface FlinkCase extends CaseBase {
  platform: 'flink';
  run: FlinkRun;
}

/** One labelled run. */
export type AccuracyCase = BundledCase | FlinkCase;

/** The per-fault row a case counts in: real-Flink runs have rows of their own. */
export function faultRow(c: AccuracyCase): string {
  return c.platform === 'flink' ? `${c.fault} (real Flink)` : c.fault;
}

/** True unless `STREAMTUNE_BENCH_ACCURACY_FLINK` is `0` (or `false`/`no`/`off`). */
export function flinkRunsWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !['0', 'false', 'no', 'off'].includes((env.STREAMTUNE_BENCH_ACCURACY_FLINK ?? '').trim().toLowerCase());
}

const pipeline = (name: string, dir: string, source: Record<string, unknown>, middle: Record<string, unknown>, sink: Record<string, unknown> = {}, opts: { interval?: number; partitioning?: 'rebalance' | 'forward'; taskManagers?: number } = {}): JobSpec => ({
  name,
  ...(opts.taskManagers ? { taskManagers: opts.taskManagers } : {}),
  checkpoints: { interval: opts.interval ?? 0, dir },
  vertices: [
    { name: 'orders', type: 'generator-source', keys: 100, splits: 4, ...source } as JobSpec['vertices'][number],
    { name: 'enrich', type: 'map', ...middle } as JobSpec['vertices'][number],
    { name: 'out', type: 'discard-sink', ...sink } as JobSpec['vertices'][number],
  ],
  edges: [
    { from: 'orders', to: 'enrich', partitioning: opts.partitioning ?? 'rebalance' },
    { from: 'enrich', to: 'out', partitioning: sink.parallelism || middle.parallelism ? 'rebalance' : 'forward' },
  ],
});

const pmin = (rate: number, msPerRecord: number): number => Math.ceil((rate * msPerRecord) / 1000 - 1e-9);

/**
 * Builds the corpus; see the module comment. `flink` (default {@link flinkRunsWanted}): with the
 * real-Flink runs, last.
 */
export function corpus(opts: { flink?: boolean } = {}): AccuracyCase[] {
  const out: AccuracyCase[] = [];
  const add = (c: BundledCase, repeats = 1): void => {
    for (let i = 1; i <= repeats; i++) out.push({ ...c, id: `${c.id}#${i}` });
  };

  // under-provisioned: enrich pays L ms per record (a blocking call) at parallelism P
  for (const [r, l, p, n] of [[1000, 2, 1, 2], [1000, 3, 1, 2], [1500, 2, 1, 2], [2000, 1.5, 1, 2], [2000, 2, 2, 2], [800, 5, 2, 1], [1200, 2.5, 1, 1]] as const) {
    add({
      id: `under-provisioned/r${r}-l${l}-p${p}`, fault: 'under-provisioned vertex', label: `${r} records/s, ${l} ms/record, parallelism ${p}`,
      expected: { rootCause: 'under-provisioned', vertex: 'enrich', minParallelism: pmin(r, l), parallelism: p },
      spec: (dir) => pipeline('acc-under', dir, { rate: r }, { parallelism: p, faults: { latencyMs: l } }),
      run: { type: 'window' },
    }, n);
  }
  // slow sink: the sink pays L ms per record
  for (const [r, l, p, n] of [[1000, 2, 1, 2], [1000, 3, 1, 1], [1500, 2, 2, 1], [600, 5, 1, 1], [2000, 1.5, 2, 1]] as const) {
    add({
      id: `slow-sink/r${r}-l${l}-p${p}`, fault: 'slow sink', label: `${r} records/s, ${l} ms/record, parallelism ${p}`,
      expected: { rootCause: 'under-provisioned', vertex: 'out', minParallelism: pmin(r, l), parallelism: p },
      spec: (dir) => pipeline('acc-sink', dir, { rate: r }, { set: { doubled: 'value * 2' } }, { parallelism: p, faults: { latencyMs: l } }, { partitioning: 'forward' }),
      run: { type: 'window' },
    }, n);
  }
  // CPU-bound: parse burns C ms of CPU per record, in a chain (test/scenarios/cpu-bound.test.ts), on 2 TaskManagers
  for (const [r, c] of [[1100, 1], [1500, 1], [800, 1.5]] as const) {
    add({
      id: `cpu-bound/r${r}-c${c}`, fault: 'CPU-bound vertex', label: `${r} records/s, ${c} ms CPU/record, parallelism 1`,
      expected: { rootCause: 'under-provisioned', vertex: 'parse', minParallelism: pmin(r, c), parallelism: 1 },
      spec: (dir) => ({
        name: 'acc-cpu', taskManagers: 2, checkpoints: { interval: 1000, dir },
        vertices: [
          { name: 'orders', type: 'generator-source', rate: r, keys: 100, splits: 4 },
          { name: 'valid', type: 'filter', condition: 'value >= 0' },
          { name: 'parse', type: 'map', faults: { cpuMs: c } },
          { name: 'per-key', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
          { name: 'out', type: 'discard-sink' },
        ],
        edges: [
          { from: 'orders', to: 'valid' },
          { from: 'valid', to: 'parse', partitioning: 'rebalance' },
          { from: 'parse', to: 'per-key', partitioning: 'hash', key: 'key' },
          { from: 'per-key', to: 'out' },
        ],
      }),
      run: { type: 'window', warmupMs: 3000, windowMs: 8000 },
      exclusive: true,
    });
  }
  // slow source: one split read by one subtask paying L ms per record
  for (const [r, l, n] of [[2000, 1, 2], [1500, 1, 1], [3000, 0.5, 1], [1200, 1.5, 1]] as const) {
    add({
      id: `slow-source/r${r}-l${l}`, fault: 'slow source', label: `${r} records/s arriving, ${l} ms/record read, 1 split`,
      expected: { rootCause: 'source-bound', vertex: 'orders' },
      spec: (dir) => pipeline('acc-source', dir, { rate: r, splits: 1, faults: { latencyMs: l } }, { set: { doubled: 'value * 2' } }, {}, { partitioning: 'forward' }),
      run: { type: 'window' },
    }, n);
  }
  // hot key: a share H of the records carries one key; `count` (keyed, P subtasks, 1 ms/record) could take the load if it were spread
  for (const [h, p, r, keys] of [[0.7, 4, 2000, 100], [0.8, 4, 2000, 50], [0.6, 4, 2000, 200], [0.7, 2, 1500, 100], [0.5, 4, 2000, 1000]] as const) {
    add({
      id: `hot-key/h${h}-p${p}-r${r}-k${keys}`, fault: 'hot key', label: `${Math.round(h * 100)}% on one key, ${keys} keys, ${r} records/s, parallelism ${p}`,
      expected: { rootCause: 'data-skew', vertex: 'count', noScaleUp: true },
      spec: (dir) => ({
        name: 'acc-skew', checkpoints: { interval: 0, dir },
        vertices: [
          { name: 'orders', type: 'generator-source', rate: r, keys, hotKeyShare: h, splits: 4 },
          { name: 'count', type: 'map', parallelism: p, faults: { latencyMs: 1 } },
          { name: 'out', type: 'discard-sink' },
        ],
        edges: [
          { from: 'orders', to: 'count', partitioning: 'hash', key: 'key' },
          { from: 'count', to: 'out', partitioning: 'rebalance' },
        ],
      }),
      run: { type: 'window' },
    });
  }
  // checkpoint timeouts: a keyed window holding K keys, checkpoint timeout T ms
  for (const [keys, timeout, r] of [[100_000, 5, 4000], [50_000, 5, 4000], [100_000, 10, 4000], [200_000, 20, 3000]] as const) {
    add({
      id: `checkpoint-timeouts/k${keys}-t${timeout}`, fault: 'checkpoint timeouts', label: `${keys.toLocaleString('en-US')} keys of window state, timeout ${timeout} ms`,
      expected: { rootCause: 'checkpoint-pressure' },
      spec: (dir) => ({
        name: 'acc-checkpoint', checkpoints: { interval: 300, timeout, dir },
        vertices: [
          { name: 'orders', type: 'generator-source', rate: r, keys, splits: 4 },
          { name: 'per-key', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count', total: 'sum(value)' } },
          { name: 'out', type: 'discard-sink' },
        ],
        edges: [
          { from: 'orders', to: 'per-key', partitioning: 'hash', key: 'key' },
          { from: 'per-key', to: 'out' },
        ],
      }),
      run: { type: 'window', windowMs: 7000 },
    });
  }
  // poison record: parse throws on record `seq == N`; every restart replays it
  for (const [seq, r] of [[1500, 1000], [3000, 2000], [800, 1000], [5000, 1500]] as const) {
    add({
      id: `poison-record/seq${seq}-r${r}`, fault: 'poison record', label: `record ${seq} of ${r} records/s`,
      expected: { rootCause: 'crash-loop', vertex: 'parse' },
      spec: (dir) => ({
        name: 'acc-crash', checkpoints: { interval: 200, dir },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delay: 300 },
        vertices: [
          { name: 'orders', type: 'generator-source', rate: r, keys: 100, splits: 4 },
          { name: 'parse', type: 'map', faults: { failOnRecord: `seq == ${seq}` } },
          { name: 'out', type: 'discard-sink' },
        ],
        edges: [
          { from: 'orders', to: 'parse' },
          { from: 'parse', to: 'out' },
        ],
      }),
      run: { type: 'window', warmupMs: 500 },
    });
  }
  // GC pressure: enrich allocates A bytes per record and keeps 40 KB (test/scenarios/gc-pressure.test.ts)
  for (const [alloc, retain, n] of [[400_000, 40_000, 2], [600_000, 40_000, 1]] as const) {
    add({
      id: `gc-pressure/a${alloc}-k${retain}`, fault: 'GC pressure', label: `${alloc / 1000} KB allocated, ${retain / 1000} KB kept per record, 2,000 records/s`,
      expected: { rootCause: 'memory-pressure', vertex: 'enrich' },
      spec: (dir) => pipeline('acc-gc', dir, { rate: 2000 }, { faults: { allocBytes: alloc, retainBytes: retain } }, {}, { partitioning: 'forward' }),
      run: { type: 'window' },
      exclusive: true,
    }, n);
  }
  // heap growth: enrich keeps K bytes per record on the heap (a leak), nothing short-lived
  for (const [r, retain] of [[2000, 20_000], [1000, 40_000], [3000, 15_000]] as const) {
    add({
      id: `heap-growth/r${r}-k${retain}`, fault: 'heap growth', label: `${r} records/s × ${retain / 1000} KB kept`,
      expected: { rootCause: 'memory-pressure' },
      spec: (dir) => pipeline('acc-heap', dir, { rate: r }, { faults: { retainBytes: retain } }, {}, { partitioning: 'forward' }),
      run: { type: 'window', windowMs: 8000 },
      exclusive: true,
    });
  }
  // over-provisioned: P subtasks of enrich for a load one handles with ease
  for (const [r, p] of [[200, 4], [100, 6], [300, 4], [200, 8]] as const) {
    add({
      id: `over-provisioned/r${r}-p${p}`, fault: 'over-provisioned', label: `${r} records/s, parallelism ${p}`,
      expected: { rootCause: 'over-provisioned', vertex: 'enrich', minParallelism: 1, parallelism: p },
      spec: (dir) => pipeline('acc-over', dir, { rate: r }, { parallelism: p, set: { doubled: 'value * 2' } }, { parallelism: 1 }),
      run: { type: 'window' },
    });
  }
  // transient spike: stopped for D ms with a savepoint and restored (a deploy); enrich drains at up to 2× the input
  for (const [r, l, down] of [[1000, 0.5, 8000], [800, 0.5, 10_000], [1500, 0.3, 8000]] as const) {
    add({
      id: `transient-spike/r${r}-l${l}-d${down}`, fault: 'transient spike', label: `${r} records/s, ${down / 1000} s stopped, ${l} ms/record`,
      expected: { rootCause: 'transient-spike' },
      spec: (dir) => pipeline('acc-transient', dir, { rate: r }, { faults: { latencyMs: l } }, {}, { interval: 500 }),
      run: { type: 'transient', downtimeMs: down },
    });
  }
  // stalled consumer: a Kafka job cancelled while records keep arriving
  for (const perTick of [40, 80]) {
    add({
      id: `stalled-consumer/${perTick * 10}`, fault: 'stalled consumer', label: `~${perTick * 10} records/s produced after the stop`,
      expected: { rootCause: 'consumer-stalled', vertex: 'orders' },
      spec: () => ({ name: 'acc-stalled', vertices: [], edges: [] }), // built by the child (needs the broker)
      run: { type: 'stalled', producePerTick: perTick },
    });
  }
  // healthy: loads every vertex handles, at parallelism 1 or (with 1 ms/record) at a parallelism the
  // load needs (utilisation 60%, inside the planner's band [40%, 100%]): neither lagging nor over-provisioned
  for (const [r, p, interval, l] of [[300, 1, 1000, 0], [1200, 2, 1000, 1], [100, 1, 0, 0], [1000, 1, 500, 0.5], [50, 1, 200, 0]] as const) {
    add({
      id: `healthy/r${r}-p${p}-c${interval}-l${l}`, fault: 'healthy', label: `${r} records/s, parallelism ${p}${l ? `, ${l} ms/record` : ''}, checkpoints ${interval ? `every ${interval} ms` : 'off'}`,
      expected: { rootCause: 'healthy' },
      spec: (dir) => pipeline('acc-healthy', dir, { rate: r }, { ...(p > 1 ? { parallelism: p } : {}), ...(l ? { faults: { latencyMs: l } } : { set: { doubled: 'value * 2' } }) }, {}, { interval }),
      run: { type: 'window' },
    });
  }
  // forecast: under-provisioned long enough for the backlog to pass one minute of input, then applied
  for (const [r, l, minutes] of [[1000, 3, 1.15], [1000, 2.5, 1.15], [1500, 2, 1.2], [800, 4, 1.15]] as const) {
    add({
      id: `forecast/r${r}-l${l}`, fault: 'under-provisioned vertex', label: `${r} records/s, ${l} ms/record, parallelism 1, backlog ${minutes} min of input, applied`,
      expected: { rootCause: 'under-provisioned', vertex: 'enrich', minParallelism: pmin(r, l), parallelism: 1 },
      spec: (dir) => pipeline('acc-forecast', dir, { rate: r }, { faults: { latencyMs: l } }, {}, { interval: 1000 }),
      run: { type: 'forecast', minutes, rate: r },
    });
  }
  if (opts.flink ?? flinkRunsWanted()) out.push(...flinkCases());
  return out;
}

/**
 * The real-Flink runs: batch 1 is test/flink-diagnosis.test.ts' four scenarios as they are, batch 2
 * one more magnitude of each (enrich needing 3 subtasks: 500 records/s × 4.4 ms; 60 % of the flights
 * on ORD; the 1,000th record poisoned at 400 records/s; a healthy job at 400 records/s). Job, topic
 * and consumer group names carry the batch, so no two runs share them on the cluster.
 */
function flinkCases(): FlinkCase[] {
  const batches: FlinkDiagnosisScenario[][] = [
    [LAGGING, SKEW, POISON, HEALTHY],
    [
      { kind: 'lagging', name: 'lagging', rate: 500, latencyMs: 4.4 },
      { kind: 'skew', name: 'skew', rate: 400, hotKeyShare: 0.6, windowParallelism: 2, windowLatencyMs: 4 },
      { kind: 'poison', name: 'poison', rate: 400, poisonAfter: 1000 },
      { kind: 'healthy', name: 'healthy', rate: 400 },
    ],
  ];
  return batches.flatMap((scenarios, b) => scenarios.map((base): FlinkCase => {
    const batch = b + 1;
    const scenario = { ...base, name: `acc-flink-${base.kind}-${batch}` };
    const run: FlinkRun = { type: 'flink', scenario, batch };
    const common = { platform: 'flink' as const, run, exclusive: true };
    switch (scenario.kind) {
      case 'lagging':
        return {
          ...common, id: `flink/under-provisioned/r${scenario.rate}-l${scenario.latencyMs}-p1`, fault: 'under-provisioned vertex',
          label: `flight-delays on Flink, ${scenario.rate} records/s, enrich ${scenario.latencyMs} ms/record, parallelism 1`,
          expected: { rootCause: 'under-provisioned', vertex: 'enrich', minParallelism: smallestThatKeepsUp(scenario), parallelism: 1 },
        };
      case 'skew':
        return {
          ...common, id: `flink/hot-key/h${scenario.hotKeyShare}-p${scenario.windowParallelism}-r${scenario.rate}`, fault: 'hot key',
          label: `flight-delays on Flink, ${Math.round(scenario.hotKeyShare * 100)}% of flights on ORD, ${scenario.rate} records/s, window parallelism ${scenario.windowParallelism}, ${scenario.windowLatencyMs} ms/record`,
          expected: { rootCause: 'data-skew', vertex: 'delay-by-origin', noScaleUp: true },
        };
      case 'poison':
        return {
          ...common, id: `flink/poison-record/seq${scenario.poisonAfter}-r${scenario.rate}`, fault: 'poison record',
          label: `flight-delays on Flink, record ${scenario.poisonAfter} of every attempt throws, ${scenario.rate} records/s`,
          expected: { rootCause: 'crash-loop', vertex: 'enrich', explanation: POISON_EXCEPTION },
        };
      case 'healthy':
        return {
          ...common, id: `flink/healthy/r${scenario.rate}`, fault: 'healthy',
          label: `flight-delays on Flink, ${scenario.rate} records/s, parallelism 1`,
          expected: { rootCause: 'healthy' },
        };
    }
  }));
}
