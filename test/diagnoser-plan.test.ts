import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planParallelism, type VertexPlanInput } from '../diagnoser/plan.ts';
import { DEFAULT_PLANNER } from '../rules/index.ts';
import { arrivalRate } from '../diagnoser/diagnose.ts';
import { emptyCheckpoints, type JobWindow } from '../diagnoser/window.ts';

const src = (o: Partial<VertexPlanInput> = {}): VertexPlanInput => ({
  id: 'src', name: 'src', parallelism: 1, maxParallelism: 128, inputs: [], isSource: true, keyedInput: false,
  processedRate: 500, outRate: 500, busyMaxMsPerSecond: 850, backlog: 2000, lagGrowthRate: 0, ...o,
});

test("Flink autoscaler's worked example (BacklogBasedScalingTest): 500 rec/s, busy 850, lag 2000, catch-up 2 s, restart 1 s, utilisation 0.8 → 4", () => {
  const [p] = planParallelism([src()], { ...DEFAULT_PLANNER, targetUtilization: 0.8, catchUpMs: 2000, restartMs: 1000 }, { lagging: true });
  assert.equal(Math.round(p!.trueRatePerSubtask!), 588);
  assert.equal(Math.round(p!.requiredCapacity!), 1875);
  assert.equal(p!.to, 4);
  assert.equal(p!.decision, 'scale-up');
});

test('downstream targets follow the edge output/input ratio; every vertex planned in one pass', () => {
  const plans = planParallelism([
    // the source's meters disagree a little (read vs emitted in a short window): it forwards what it reads
    src({ parallelism: 2, processedRate: 1000, outRate: 900, busyMaxMsPerSecond: 500, backlog: 0 }),
    { id: 'split', name: 'split', parallelism: 2, maxParallelism: 128, inputs: ['src'], isSource: false, keyedInput: false, processedRate: 1000, outRate: 2000, busyMaxMsPerSecond: 500 },
    { id: 'flat', name: 'flat', parallelism: 2, maxParallelism: 128, inputs: ['split'], isSource: false, keyedInput: true, processedRate: 2000, outRate: 2000, busyMaxMsPerSecond: 1000 },
  ], { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 }, { lagging: true });
  // split emits 2 records per input: flat must take 2000 rec/s; one subtask does 1000 → 2 needed: keep.
  assert.equal(plans[1]!.targetRate, 1000, 'the source forwards its whole target (ratio 1)');
  assert.equal(plans[2]!.targetRate, 2000);
  assert.equal(plans[2]!.to, 2);
  assert.equal(plans[1]!.to, 2);
  assert.equal(plans[0]!.to, 2);
});

test('no change inside the utilisation band when not lagging; scale-down below it', () => {
  const keep = planParallelism([src({ parallelism: 4, processedRate: 1000, busyMaxMsPerSecond: 600, backlog: 0 })], DEFAULT_PLANNER);
  assert.equal(keep[0]!.decision, 'keep');
  const down = planParallelism([src({ parallelism: 8, partitions: 8, processedRate: 800, busyMaxMsPerSecond: 100, backlog: 0, loadObservedMs: 3_600_000 })], { ...DEFAULT_PLANNER, maxScaleDownFactor: 1 });
  assert.equal(down[0]!.decision, 'scale-down');
  // 800 rec/s at 10% busy on 8 subtasks → 1000 rec/s per subtask; 800/0.85 + restart term → 2 (divides 8 partitions)
  assert.equal(down[0]!.to, 2);
  const lagging = planParallelism([src({ parallelism: 8, processedRate: 800, busyMaxMsPerSecond: 100, backlog: 0 })], DEFAULT_PLANNER, { lagging: true });
  assert.equal(lagging[0]!.to, 8, 'never scale down while lagging');
});

test('rounded up to divide the key groups, capped by partitions and max parallelism; skew held', () => {
  const v = (o: Partial<VertexPlanInput>): VertexPlanInput => ({ id: 'k', name: 'k', parallelism: 1, maxParallelism: 128, inputs: ['src'], isSource: false, keyedInput: true, processedRate: 100, outRate: 100, busyMaxMsPerSecond: 1000, ...o });
  const s = src({ processedRate: 700, outRate: 700, busyMaxMsPerSecond: 100, backlog: 0, parallelism: 1, partitions: 3 });
  const plans = planParallelism([s, v({})], { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 }, { lagging: true });
  assert.equal(plans[1]!.to, 8, '7 needed → 8 divides 128 key groups');
  const capped = planParallelism([src({ partitions: 3, processedRate: 1000, busyMaxMsPerSecond: 1000, lagGrowthRate: 4000, backlog: 0 })], DEFAULT_PLANNER, { lagging: true });
  assert.equal(capped[0]!.to, 3, 'a source never gets more subtasks than partitions');
  const small = planParallelism([s, v({ maxParallelism: 5 })], { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 }, { lagging: true });
  assert.equal(small[1]!.to, 5, 'capped by max parallelism');
  const held = planParallelism([s, v({ hold: 'skew' })], DEFAULT_PLANNER, { lagging: true });
  assert.equal(held[1]!.to, 1);
  assert.equal(held[1]!.decision, 'hold-skew');
});

test('zero input and missing busy time keep parallelism (no data)', () => {
  const plans = planParallelism([src({ processedRate: 0, outRate: 0, backlog: 0 }), { ...src({ id: 'x', busyMaxMsPerSecond: undefined }), isSource: false, inputs: ['src'] }], DEFAULT_PLANNER);
  assert.equal(plans[0]!.decision, 'no-data');
  assert.equal(plans[1]!.decision, 'no-data');
  assert.equal(plans[1]!.to, 1);
});

test('a draining source is sized for its arrival rate (read rate + negative lag growth), not its catch-up read rate', () => {
  // Reads 3000 rec/s while the backlog shrinks by 1000 rec/s: 2000 rec/s arrive. No backlog left to plan for.
  const [p] = planParallelism([src({ parallelism: 4, processedRate: 3000, outRate: 3000, busyMaxMsPerSecond: 1000, backlog: 0, lagGrowthRate: -1000 })],
    { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 }, { lagging: true });
  assert.equal(p!.targetRate, 2000);
  // 750 rec/s per subtask → 2000 needs 3; never more than the current 4 while catching up.
  assert.ok(p!.to <= 4, `planned ${p!.to}`);
  assert.notEqual(p!.decision, 'scale-up');
  // Growing lag still adds to the target.
  const [g] = planParallelism([src({ processedRate: 1000, lagGrowthRate: 500, backlog: 0 })], { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 }, { lagging: true });
  assert.equal(g!.targetRate, 1500);
});

test('a source given its arrival rate (log-end offset growth) is sized for it, whatever the lag slope says', () => {
  // Reads 1500 rec/s at 100% busy; 5000 rec/s are produced; the window-long lag slope says only +2300
  // (the channels were still filling early in the window), which would give a target of 3800.
  const opts = { ...DEFAULT_PLANNER, targetUtilization: 1, restartMs: 0 };
  const [a] = planParallelism([src({ processedRate: 1500, busyMaxMsPerSecond: 1000, backlog: 0, lagGrowthRate: 2300, arrivalRate: 5000 })], opts, { lagging: true });
  assert.equal(a!.targetRate, 5000);
  assert.equal(a!.to, 4, '5000 / 1500 per subtask → 4');
  const [b] = planParallelism([src({ processedRate: 1500, busyMaxMsPerSecond: 1000, backlog: 0, lagGrowthRate: 2300 })], opts, { lagging: true });
  assert.equal(b!.targetRate, 3800, 'without it: read rate + lag growth');
});

test('arrivalRate sums the log-end offset slopes of the partitions; planInputs splits it over the sources', () => {
  const pts = (rate: number) => [0, 1, 2, 3].map((i) => ({ t: 1000 * i, v: 100 + rate * i }));
  const w: JobWindow = {
    jobId: 'j', start: 0, end: 3000, now: 3000, topologyInferred: false, vertices: [], checkpoints: emptyCheckpoints(), numRestarts: [], jvm: [], logs: [],
    consumerLag: { group: 'g', partitions: [
      { topic: 't', partition: 0, committedOffset: [], logEndOffset: pts(1000), lag: [] },
      { topic: 't', partition: 1, committedOffset: [], logEndOffset: pts(1500), lag: [] },
      { topic: 't', partition: 2, committedOffset: [], logEndOffset: [{ t: 0, v: 5 }], lag: [] },
    ] },
  };
  assert.equal(arrivalRate(w), 2500);
  assert.equal(arrivalRate({ ...w, consumerLag: undefined }), undefined);
  assert.equal(arrivalRate({ ...w, consumerLag: { group: 'g', partitions: [{ topic: 't', partition: 0, committedOffset: [], logEndOffset: [{ t: 0, v: 5 }], lag: [] }] } }), undefined);
});

test('arrivalRate leaves out a last point whose step runs past the window end', () => {
  // 1000 records/s, read with a 2 s step and `last` per step: full steps hold the offset at their end,
  // the partial last step (window ends 0.5 s into it) the offset 0.5 s in, under its start time.
  const leo = [{ t: 0, v: 2000 }, { t: 2000, v: 4000 }, { t: 4000, v: 6000 }, { t: 6000, v: 6500 }];
  const base = { jobId: 'j', start: 0, end: 6500, now: 6500, topologyInferred: false, vertices: [], checkpoints: emptyCheckpoints(), numRestarts: [], jvm: [], logs: [] };
  const w = (stepMs?: number): JobWindow => ({ ...base, ...(stepMs ? { stepMs } : {}), consumerLag: { group: 'g', partitions: [{ topic: 't', partition: 0, committedOffset: [], logEndOffset: leo, lag: [] }] } });
  assert.equal(arrivalRate(w(2000)), 1000);
  assert.ok(arrivalRate(w())! < 900, 'with every point the slope bends down');
});
