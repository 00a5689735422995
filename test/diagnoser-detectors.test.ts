import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRules } from '../rules/index.ts';
import { grade, summarise } from '../diagnoser/detectors/common.ts';
import { detectBottleneck } from '../diagnoser/detectors/backpressure.ts';
import { detectSkew } from '../diagnoser/detectors/skew.ts';
import { subtaskForKeyGroup } from '../platform/index.ts';
import { detectCheckpoints } from '../diagnoser/detectors/checkpoint.ts';
import { detectRestarts, groupExceptions } from '../diagnoser/detectors/restarts.ts';
import { detectMemory, heapFloorTrend } from '../diagnoser/detectors/memory.ts';
import { detectInsufficientData, detectOverProvisioned, detectSourceBound } from '../diagnoser/detectors/capacity.ts';
import { detectStalled, detectTransientSpike, lagTrend } from '../diagnoser/detectors/lagtrend.ts';
import { evaluateGroupLag, lagInputsFromWindow } from '../diagnoser/detectors/lag.ts';
import { increaseOf } from '../diagnoser/series.ts';
import { emptyCheckpoints, type Points } from '../diagnoser/window.ts';
import { buildWindow } from './fixtures/diagnoser/build.ts';

const R = loadRules().detectors;
const pts = (vs: number[], t0 = 0, step = 10_000) => vs.map((v, i) => ({ t: t0 + i * step, v }));

test("grade: Dr. Elephant's five levels from four thresholds, both directions", () => {
  assert.equal(grade(0.01, [0.02, 0.1, 0.5, 0.8]), 'none');
  assert.equal(grade(0.02, [0.02, 0.1, 0.5, 0.8]), 'low');
  assert.equal(grade(0.6, [0.02, 0.1, 0.5, 0.8]), 'severe');
  assert.equal(grade(0.9, [0.02, 0.1, 0.5, 0.8]), 'critical');
  assert.equal(grade(0.25, [0.3, 0.2, 0.1, 0.05], 'lower'), 'low');
  assert.equal(grade(0.01, [0.3, 0.2, 0.1, 0.05], 'lower'), 'critical');
  assert.equal(grade(undefined, [1, 2, 3, 4]), 'none');
});

test('counter increase handles a reset after a restart and missing points', () => {
  assert.equal(increaseOf(pts([3, 5, 1, 2])), 2 + 1 + 1);
  assert.equal(increaseOf(pts([7])), 0);
  assert.equal(increaseOf([]), 0);
});

test('bottleneck: busy vertex with back-pressured upstream; not when itself back-pressured; none → source candidate', () => {
  const w = buildWindow({ vertices: [
    { id: 'src', source: true, p: 2, in: 100, busy: 100, bp: 600 },
    { id: 'a', p: 2, inputs: ['src'], in: 100, busy: 300, bp: 600 },
    { id: 'b', p: 2, inputs: ['a'], in: 100, busy: 950 },
  ] });
  const r = detectBottleneck(summarise(w), R['backpressure.bottleneck']!);
  assert.deepEqual(r.bottlenecks.map((b) => b.vertexId), ['b']);
  assert.equal(r.findings[0]!.severity, 'severe');
  assert.equal(r.findings[0]!.evidence.upstreamBackpressureLevel, 'high');
  // below Dhalion's 20 ms/s symptom: no bottleneck, the source is the candidate
  const quiet = buildWindow({ vertices: [
    { id: 'src', source: true, p: 1, in: 100, busy: 900, bp: 15 },
    { id: 'b', p: 1, inputs: ['src'], in: 100, busy: 950 },
  ] });
  const q = detectBottleneck(summarise(quiet), R['backpressure.bottleneck']!);
  assert.equal(q.bottlenecks.length, 0);
  assert.equal(q.sourceCandidate, 'src');
  // missing points on one subtask: the other subtask's data still counts
  const gaps = buildWindow({ vertices: [
    { id: 'src', source: true, p: 1, in: 100, busy: 100, bp: 500 },
    { id: 'b', p: 2, inputs: ['src'], in: 100, busy: (s) => (s === 0 ? undefined : 900) },
  ] });
  assert.deepEqual(detectBottleneck(summarise(gaps), R['backpressure.bottleneck']!).bottlenecks.map((b) => b.vertexId), ['b']);
});

test('skew: Dhalion max/min and Flink MAD/mean; single subtask, zero input and non-keyed edges skipped', () => {
  const mk = (o: Record<string, unknown>) => summarise(buildWindow({ vertices: [{ id: 'k', p: 4, keyed: true, in: [400, 100, 100, 100], busy: [900, 200, 200, 200], ...o } as never] }));
  const r = detectSkew(mk({}), R['skew.keyed']!);
  assert.equal(r.skewed.length, 1);
  assert.equal(r.skewed[0]!.maxMinRatio, 4);
  assert.equal(r.skewed[0]!.skew, ((450 / 4) / 175));
  assert.equal(r.skewed[0]!.hotSubtask, 0);
  assert.equal(r.findings[0]!.evidence.moreParallelismHelps, false);
  assert.equal(detectSkew(mk({ in: 100 }), R['skew.keyed']!).skewed.length, 0, 'even input');
  assert.equal(detectSkew(mk({ p: 1, in: 400 }), R['skew.keyed']!).skewed.length, 0, 'one subtask');
  assert.equal(detectSkew(mk({ in: 0 }), R['skew.keyed']!).skewed.length, 0, 'zero input');
  assert.equal(detectSkew(mk({ keyed: false }), R['skew.keyed']!).skewed.length, 0, 'not keyed');
  const zero = detectSkew(mk({ in: [400, 0, 100, 100] }), R['skew.keyed']!);
  assert.equal(zero.findings[0]!.evidence.maxMinRatio, null, 'a subtask with nothing gives an infinite ratio');
  assert.equal(subtaskForKeyGroup(127, 4, 128), 3);
  assert.equal(subtaskForKeyGroup(31, 4, 128), 0);
});

test('checkpoints: duration vs timeout, failures with a counter reset, alignment only under back-pressure, size growth', () => {
  const cp = { ...emptyCheckpoints(), lastCheckpointDuration: pts([10_000, 55_000]), numberOfFailedCheckpoints: pts([2, 3, 0, 1]), alignmentMs: pts([100, 9000]), lastCheckpointSize: pts([100e6, 150e6, 300e6]), config: { interval: 60_000, timeout: 60_000 } };
  const rules = { 'checkpoint.duration': R['checkpoint.duration'], 'checkpoint.failures': R['checkpoint.failures'], 'checkpoint.alignment': R['checkpoint.alignment'], 'checkpoint.size-growth': R['checkpoint.size-growth'] };
  const r = detectCheckpoints(cp, true, rules);
  assert.equal(r.stats.failures, 2);
  assert.deepEqual(r.findings.map((f) => f.ruleId).sort(), ['checkpoint.alignment', 'checkpoint.duration', 'checkpoint.failures', 'checkpoint.size-growth']);
  assert.equal(r.findings.find((f) => f.ruleId === 'checkpoint.duration')!.severity, 'critical');
  assert.ok(!detectCheckpoints(cp, false, rules).findings.some((f) => f.ruleId === 'checkpoint.alignment'));
  const { config: _c, ...noCfg } = cp;
  assert.ok(!detectCheckpoints(noCfg, true, rules).findings.some((f) => f.ruleId === 'checkpoint.duration'), 'no timeout known');
  // the same growth of a small state (a job filling its windows): below minBytes, no finding
  const small = detectCheckpoints({ ...cp, lastCheckpointSize: pts([9534, 12000, 15690]) }, true, rules);
  assert.ok(!small.findings.some((f) => f.ruleId === 'checkpoint.size-growth'), 'kilobytes of state growing are warm-up');
  assert.ok(small.stats.sizeGrowth! > 0.6, 'the growth is still computed');
});

test('restarts: counted through a gauge reset; exceptions grouped by root cause with masked numbers', () => {
  const logs = [
    { timestamp: 5, level: 'error' as const, job_id: 'j', message: 'x', exception_class: 'A', stack: 'A: x\nCaused by: B: bad offset 17' },
    { timestamp: 9, level: 'error' as const, job_id: 'j', message: 'y', exception_class: 'A', stack: 'A: y\nCaused by: B: bad offset 99' },
    { timestamp: 7, level: 'warn' as const, job_id: 'j', message: 'slow' },
  ];
  const g = groupExceptions(logs);
  assert.equal(g.length, 1);
  assert.deepEqual([g[0]!.exceptionClass, g[0]!.count, g[0]!.firstSeen, g[0]!.lastSeen], ['B', 2, 5, 9]);
  const r = detectRestarts(pts([1, 2, 0, 1]), logs, R['restarts.crash-loop']!);
  assert.equal(r.restarts, 2);
  assert.equal(r.findings[0]!.severity, 'moderate');
  assert.equal(detectRestarts(pts([4, 4, 4]), logs, R['restarts.crash-loop']!).findings.length, 0, 'no increase, no finding');
});

test('memory: GC time per second and a rising heap floor; a flat floor is not reported', () => {
  const mk = (heap: number[], gc: number) => [{ tmId: 'tm', gcTimeMsPerSecond: pts(heap.map(() => gc)), heapUsed: pts(heap), heapCommitted: pts(heap.map(() => 1000)), heapMax: pts(heap.map(() => 1000)) }];
  const rising = [500, 900, 520, 920, 600, 950, 700, 980, 800, 990];
  // 90 s of samples: the built-in minSpanMinutes (3) does not project a trend that short
  assert.equal(detectMemory(mk(rising, 150), 0, 90_000, { 'memory.heap': R['memory.heap'] }).findings.length, 0, 'a 90 s trend is not projected 30 min ahead');
  const anySpan = { ...R['memory.heap']!, params: { ...R['memory.heap']!.params, minSpanMinutes: 0 } };
  const r = detectMemory(mk(rising, 150), 0, 90_000, { 'memory.gc': R['memory.gc'], 'memory.heap': anySpan });
  assert.equal(r.findings.find((f) => f.ruleId === 'memory.gc')!.severity, 'moderate');
  assert.ok(r.findings.some((f) => f.ruleId === 'memory.heap'));
  const flat = detectMemory(mk([500, 900, 500, 900, 500, 900, 500, 900, 500, 900], 10), 0, 90_000, { 'memory.gc': R['memory.gc'], 'memory.heap': anySpan });
  assert.equal(flat.findings.length, 0);
});

test('memory.heap: least-squares slope over bucket floors, graded on the floor projected horizonMinutes ahead', () => {
  const MiB = 1048576;
  const max = 1000 * MiB;
  const jvm = (heap: Points, heapMax: Points = heap.map((p) => ({ t: p.t, v: max }))) => [{ tmId: 'tm-1', gcTimeMsPerSecond: [], heapUsed: heap, heapCommitted: heap.map((p) => ({ t: p.t, v: max })), heapMax }];
  // windows of 60 s here: the fit's mechanics, with the minimum span (minSpanMinutes, 3) off
  const heapRule = { ...R['memory.heap']!, params: { ...R['memory.heap']!.params, minSpanMinutes: 0 } };
  const heapOnly = { 'memory.heap': heapRule };
  // a leak of 1 MiB/s over a 60 s window (one point per 6 s, sawtooth of 50 MiB garbage above the floor)
  const leak = pts(Array.from({ length: 10 }, (_, i) => (100 + 6 * i + (i % 2) * 50) * MiB), 0, 6000);
  const r = detectMemory(jvm(leak), 0, 60_000, heapOnly);
  const f = r.findings.find((x) => x.ruleId === 'memory.heap');
  assert.ok(f, 'a rising floor is reported');
  const e = f.evidence as Record<string, number | boolean>;
  assert.ok(Math.abs((e.slopeBytesPerMinute as number) / MiB - 60) < 6, `slope ${String(e.slopeBytesPerMinute)} ≈ 60 MiB/min`);
  assert.ok((e.floorToMax as number) < 0.2, 'the floor itself is low');
  // 30 min at 60 MiB/min = 1.8 GiB more: past the 1000 MiB heap, critical although 15% used now
  assert.ok((e.projectedFloorToMax as number) > 1);
  assert.equal(f.severity, 'critical');
  assert.equal(r.stats.heapFloorSlope !== undefined && Math.round(r.stats.heapFloorSlope / MiB), Math.round((e.slopeBytesPerMinute as number) / MiB));
  // the same slope with a 1 min horizon: 15% + 6% → below the low threshold (0.6), nothing reported
  const shortHorizon = { ...heapRule, params: { ...heapRule.params, horizonMinutes: 1 } };
  assert.equal(detectMemory(jvm(leak), 0, 60_000, { 'memory.heap': shortHorizon }).findings.length, 0);

  // flat floor (sawtooth without growth), single point, no points: nothing
  const flat = pts(Array.from({ length: 10 }, (_, i) => (100 + (i % 2) * 50) * MiB), 0, 6000);
  assert.equal(detectMemory(jvm(flat), 0, 60_000, heapOnly).findings.length, 0, 'flat');
  assert.equal(detectMemory(jvm(pts([900 * MiB], 30_000)), 0, 60_000, heapOnly).findings.length, 0, 'single point');
  assert.equal(detectMemory(jvm([], []), 0, 60_000, heapOnly).findings.length, 0, 'no points');
  // growth of a few MiB (promoted garbage in a short window) stays under minRise (2% of max heap)
  const tiny = pts(Array.from({ length: 10 }, (_, i) => (100 + 2 * i) * MiB), 0, 6000);
  assert.equal(detectMemory(jvm(tiny), 0, 60_000, heapOnly).findings.length, 0, 'below minRise');

  // missing points: two buckets empty, the three left still give the slope
  const gappy = leak.filter((p) => p.t < 12_000 || p.t >= 36_000);
  const tg = heapFloorTrend(gappy, 0, 60_000, { buckets: 5, minPoints: 3, resetDrop: 0.5 });
  assert.equal(tg.floors.length, 3);
  assert.ok(detectMemory(jvm(gappy), 0, 60_000, heapOnly).findings.some((x) => x.ruleId === 'memory.heap'), 'gaps');
  // only two floors: below minPoints, no slope
  const two = leak.filter((p) => p.t < 12_000 || p.t >= 48_000);
  assert.equal(heapFloorTrend(two, 0, 60_000, { buckets: 5, minPoints: 3, resetDrop: 0.5 }).slopeBytesPerSecond, undefined);
  assert.equal(detectMemory(jvm(two), 0, 60_000, heapOnly).findings.length, 0, 'two floors');

  // restart: the heap empties mid-window; the floors before are not fitted
  const restart = pts([600, 700, 800, 900, 50, 52, 54, 56, 58, 60].map((v) => v * MiB), 0, 6000);
  const tr = heapFloorTrend(restart, 0, 60_000, { buckets: 5, minPoints: 3, resetDrop: 0.5 });
  assert.equal(tr.reset, true);
  assert.ok(tr.fitted.every((p) => p.v < 100 * MiB));
  // over the whole window the least-squares slope would be negative anyway; here the growth after the
  // restart is 10 MiB: too little to report
  assert.equal(detectMemory(jvm(restart), 0, 60_000, heapOnly).findings.length, 0, 'restart resets the fit');
  // a leak that restarts and leaks again is reported on the segment after the restart
  const releak = pts([600, 700, 800, 900, 50, 150, 250, 350, 450, 550].map((v) => v * MiB), 0, 6000);
  const rr = detectMemory(jvm(releak), 0, 60_000, heapOnly).findings[0];
  assert.equal((rr?.evidence as Record<string, unknown>).resetInWindow, true);
  assert.ok(((rr?.evidence as Record<string, number>).slopeBytesPerMinute) / MiB > 900);

  // Heap.Max -1 (JVM without a limit): the committed heap is the max
  const noMax = detectMemory(jvm(leak, leak.map((p) => ({ t: p.t, v: -1 }))), 0, 60_000, heapOnly).findings[0];
  assert.equal((noMax?.evidence as Record<string, number>).heapMaxBytes, max);
});

test('over-provisioned needs every subtask idle and no lag; single subtask never', () => {
  const s = summarise(buildWindow({ vertices: [{ id: 'a', p: 4, in: 10, busy: 50 }, { id: 'b', p: 1, in: 10, busy: 10 }, { id: 'c', p: 2, in: 10, busy: [50, 600] }] }));
  assert.deepEqual(detectOverProvisioned(s, false, R['capacity.over-provisioned']!).findings.map((f) => f.vertex), ['a']);
  assert.equal(detectOverProvisioned(s, true, R['capacity.over-provisioned']!).findings.length, 0);
});

test('source-bound: at partitions cap → finding; busy below cap → scalable source; back-pressure → nothing', () => {
  const mk = (p: number) => summarise(buildWindow({ vertices: [{ id: 's', source: true, partitions: 4, p, in: 100, busy: 950 }, { id: 'x', p: 2, inputs: ['s'], in: 100, busy: 200 }] }));
  assert.equal(detectSourceBound(mk(4), false, 300, R['source.bound']!).reason, 'partitions');
  assert.equal(detectSourceBound(mk(2), false, 300, R['source.bound']!).scalableSource, 's');
  assert.equal(detectSourceBound(mk(4), true, 300, R['source.bound']!).findings.length, 0);
  assert.equal(detectSourceBound(mk(4), false, -5, R['source.bound']!).findings.length, 0, 'lag not growing');
});

test('transient spike: falling lag that drains within catch-up; rising lag is not transient', () => {
  const falling = lagTrend(pts([50_000, 45_000, 40_000, 35_000, 30_000, 25_000]), 0, 50_000);
  assert.equal(detectTransientSpike(falling, 1_800_000, 0, R['lag.transient-spike']!).length, 1);
  assert.equal(detectTransientSpike(falling, 10_000, 0, R['lag.transient-spike']!).length, 0, 'too slow for a 10 s target');
  const rising = lagTrend(pts([1, 2, 3, 4, 5, 6]), 0, 50_000);
  assert.equal(detectTransientSpike(rising, 1_800_000, 0, R['lag.transient-spike']!).length, 0);
});

test('lag trend: with the step given, a partial last step is left out of the slopes, not out of the current lag', () => {
  // lag grows 100 records/s, read per 10 s step; the window ends 2 s into the last step, whose mean covers only 1 s
  const lag = [...pts([500, 1500, 2500, 3500]), { t: 40_000, v: 4100 }];
  const withStep = lagTrend(lag, 0, 42_000, 10_000);
  assert.equal(Math.round(withStep.growthRate!), 100);
  assert.equal(withStep.lag, 4100, 'the current lag is the newest point');
  assert.ok(lagTrend(lag, 0, 42_000).growthRate! < 95, 'with every point the slope bends down');
});

test('consumer stalled: frozen committed offsets; a partition with no committed offset is listed, not stalled', () => {
  const w = buildWindow({ vertices: [{ id: 's', source: true, p: 1, in: 50, busy: 100 }], lag: (i) => 1000 + i, lagPartitions: 2, committed: (i, p) => (p === 0 ? 77 : undefined) });
  const r = detectStalled(w, summarise(w), 1029, R['consumer.stalled']!);
  assert.deepEqual(r.stalledPartitions, ['orders/0']);
  assert.deepEqual(r.findings[0]!.evidence.partitionsWithoutCommit, ['orders/1']);
  const moving = buildWindow({ vertices: [{ id: 's', source: true, p: 1, in: 50, busy: 100 }], lag: (i) => 1000 + i });
  assert.equal(detectStalled(moving, summarise(moving), 1029, R['consumer.stalled']!).findings.length, 0);
  const st = evaluateGroupLag(lagInputsFromWindow(w.consumerLag), { now: w.now });
  assert.equal(st.status, 'ERR');
});

test('consumer stalled only after two commit cadences: a Flink job commits on completed checkpoints, which take long under back-pressure', () => {
  const base = { vertices: [{ id: 's', source: true, p: 1, in: 50, busy: 100 }], lag: (i: number) => 1000 + i, lagPartitions: 1, committed: () => 500, stepMs: 10_000 };
  // a 2 s interval whose aligned checkpoints take 30 s: offsets stand still up to ~32 s between commits
  const checkpoints = { config: { interval: 2000, timeout: 60_000, minPause: 0 }, durations: () => 30_000 };
  const short = buildWindow({ ...base, steps: 6, checkpoints });
  assert.deepEqual(detectStalled(short, summarise(short), 1005, R['consumer.stalled']!).findings, [], '61 s still < 2 × 32 s');
  const long = buildWindow({ ...base, steps: 12, checkpoints });
  assert.deepEqual(detectStalled(long, summarise(long), 1011, R['consumer.stalled']!).stalledPartitions, ['orders/0'], '121 s still');
  // without checkpoint settings every still series of two observations counts, as before
  const unknown = buildWindow({ ...base, steps: 6 });
  unknown.checkpoints.config = undefined;
  assert.deepEqual(detectStalled(unknown, summarise(unknown), 1005, R['consumer.stalled']!).stalledPartitions, ['orders/0']);
});

test('transient spike: a lag saw-tooth of one commit cadence (offsets committed on checkpoints) is no spike', () => {
  // a healthy real Flink job: 200 records/s, checkpoints every 2 s taking ~100 ms; the broker sees
  // up to ~2 s of input uncommitted between two commits, falling at each commit
  const trend = { lag: 40, recentRate: -32, peak: 500 };
  assert.equal(detectTransientSpike(trend, 1_800_000, 0, R['lag.transient-spike']!, 200).length, 1, 'without the cadence: a spike');
  assert.deepEqual(detectTransientSpike(trend, 1_800_000, 0, R['lag.transient-spike']!, 200, 2100), [], 'peak 500 < (2 s + 2.1 s) × 200');
  assert.equal(detectTransientSpike({ lag: 400, recentRate: -50, peak: 5000 }, 1_800_000, 0, R['lag.transient-spike']!, 200, 2100).length, 1, 'a peak of 25 s of input is one');
});

test('insufficient data: coverage below the minimum', () => {
  const w = buildWindow({ steps: 2, vertices: [{ id: 's', source: true, p: 2, in: 1, busy: 1 }] });
  const r = detectInsufficientData(summarise(w), R['data.insufficient']!);
  assert.equal(r.insufficient, true);
  assert.equal(r.findings[0]!.severity, 'none');
  assert.equal(detectInsufficientData(summarise(buildWindow({ vertices: [{ id: 's', source: true, p: 2, in: 1, busy: 1 }] })), R['data.insufficient']!).insufficient, false);
});

test('memory.heap over a 60 min window: a floor that rose in warm-up and levelled off is no leak; a steady leak, and a leak after warm-up, are', () => {
  const MiB = 1048576;
  const max = 1000 * MiB;
  const W = 60 * 60_000;
  // heap used sampled every 10 s: the floor plus garbage that builds up 0 → 200 MiB over 30 s, then a GC
  const heap = (floorMiB: (min: number) => number): Points =>
    Array.from({ length: W / 10_000 }, (_, i) => {
      const t = i * 10_000;
      const noise = ((i * 7919) % 11) - 5; // ±5 MiB, deterministic
      return { t, v: (floorMiB(t / 60_000) + noise + ((i % 3) * 100)) * MiB };
    });
  const jvm = (h: Points) => [{ tmId: 'tm-1', gcTimeMsPerSecond: [], heapUsed: h, heapCommitted: h.map((p) => ({ t: p.t, v: max })), heapMax: h.map((p) => ({ t: p.t, v: max })) }];
  const heapOnly = { 'memory.heap': R['memory.heap'] };
  const warmUp = (m: number) => (m < 10 ? 100 + 50 * m : 600); // caches and state fill in 10 min, then flat
  const leak = (m: number) => 100 + 10 * m; // 10 MiB/min all along
  const warmThenLeak = (m: number) => (m < 10 ? 100 + 30 * m : 400 + 10 * (m - 10));

  const flat = detectMemory(jvm(heap(warmUp)), 0, W, heapOnly);
  assert.equal(flat.findings.length, 0, 'warm-up plateau');
  // the gate is what keeps it out: without it the least-squares slope over the window reads as a leak
  const noGate = { ...R['memory.heap']!, params: { ...R['memory.heap']!.params, minRecentShare: 0 } };
  assert.ok(detectMemory(jvm(heap(warmUp)), 0, W, { 'memory.heap': noGate }).findings.some((f) => f.ruleId === 'memory.heap'), 'reported without the still-rising check');
  const tr = heapFloorTrend(heap(warmUp), 0, W, { buckets: 5, minPoints: 3, resetDrop: 0.5 });
  assert.ok(tr.slopeBytesPerSecond! > 0 && Math.abs(tr.recentSlopeBytesPerSecond!) < 0.1 * tr.slopeBytesPerSecond!, 'levelled off');

  for (const [name, f] of [['steady leak', leak], ['leak after warm-up', warmThenLeak]] as const) {
    const r = detectMemory(jvm(heap(f)), 0, W, heapOnly);
    const finding = r.findings.find((x) => x.ruleId === 'memory.heap');
    assert.ok(finding, name);
    const e = finding.evidence as Record<string, number>;
    // the fit spans the window: after a warm-up it also carries some of the warm-up's rise
    const slope = e.slopeBytesPerMinute! / MiB;
    assert.ok(name === 'steady leak' ? Math.abs(slope - 10) < 3 : slope >= 9 && slope < 16, `${name}: slope ${slope} MiB/min`);
    assert.ok(e.projectedFloorToMax! > 0.85, `${name}: projected ${e.projectedFloorToMax}`);
  }
});
