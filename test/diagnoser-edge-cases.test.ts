/**
 * Edge cases of the detectors and of diagnose() on hand-built series: missing points, counter
 * resets after a restart, a single subtask, zero input, a partition with no committed offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRules } from '../rules/index.ts';
import { summarise } from '../diagnoser/detectors/common.ts';
import { detectBottleneck } from '../diagnoser/detectors/backpressure.ts';
import { detectSkew } from '../diagnoser/detectors/skew.ts';
import { detectCheckpoints } from '../diagnoser/detectors/checkpoint.ts';
import { detectRestarts } from '../diagnoser/detectors/restarts.ts';
import { detectOverProvisioned } from '../diagnoser/detectors/capacity.ts';
import { detectTransientSpike, lagTrend } from '../diagnoser/detectors/lagtrend.ts';
import { evaluateGroupLag, lagInputsFromWindow } from '../diagnoser/detectors/lag.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { planParallelism } from '../diagnoser/plan.ts';
import { emptyCheckpoints } from '../diagnoser/window.ts';
import { buildWindow } from './fixtures/diagnoser/build.ts';

const rules = loadRules();
const R = rules.detectors;
const pts = (vs: number[], t0 = 0, step = 10_000) => vs.map((v, i) => ({ t: t0 + i * step, v }));

test('missing points: subtasks with gaps and a subtask without any busy-time point still give a bottleneck', () => {
  const w = buildWindow({ vertices: [
    { id: 'src', source: true, p: 1, in: 100, busy: 100, bp: 700 },
    // subtask 1 reports nothing; subtask 0 misses every other point
    { id: 'slow', p: 2, inputs: ['src'], in: (s, i) => (s === 1 || i % 2 ? undefined : 50), busy: (s, i) => (s === 1 || i % 2 ? undefined : 990) },
  ] });
  const stats = summarise(w);
  assert.equal(stats[1]!.subtasks[1]!.busy, undefined);
  const bn = detectBottleneck(stats, R['backpressure.bottleneck']!);
  assert.equal(bn.bottlenecks[0]?.vertexId, 'slow');
  const d = diagnose(rules, w);
  assert.notEqual(d.rootCause.kind, 'insufficient-data');
});

test('counter resets after a restart: failed checkpoints and restarts counted from zero after the reset', () => {
  const cp = { ...emptyCheckpoints(), numberOfFailedCheckpoints: pts([4, 5, 0, 1]), config: { interval: 10_000, timeout: 60_000 } };
  const r = detectCheckpoints(cp, false, { 'checkpoint.failures': R['checkpoint.failures'] });
  assert.equal(r.stats.failures, 1 + 0 + 1);
  const rr = detectRestarts(pts([2, 3, 0, 1]), [], R['restarts.crash-loop']!);
  assert.equal(rr.restarts, 1 + 0 + 1);
});

test('a single subtask: no skew (nothing to compare), over-provisioning needs more than one subtask', () => {
  const w = buildWindow({ vertices: [
    { id: 'src', source: true, p: 1, in: 10, busy: 5 },
    { id: 'agg', p: 1, inputs: ['src'], keyed: true, in: 10, busy: 5, idle: 995, keyGroupRecords: { 3: 1000 } },
  ] });
  const stats = summarise(w);
  assert.deepEqual(detectSkew(stats, R['skew.keyed']!).skewed, []);
  assert.deepEqual(detectOverProvisioned(stats, false, R['capacity.over-provisioned']!).vertices, []);
});

test('zero input: no skew, no bottleneck, the planner keeps parallelism, diagnose finds nothing to act on', () => {
  const w = buildWindow({ vertices: [
    { id: 'src', source: true, p: 2, in: 0, busy: 0 },
    { id: 'agg', p: 4, inputs: ['src'], keyed: true, in: 0, busy: 0, idle: 1000 },
  ] });
  const stats = summarise(w);
  assert.deepEqual(detectSkew(stats, R['skew.keyed']!).skewed, []);
  assert.deepEqual(detectBottleneck(stats, R['backpressure.bottleneck']!).bottlenecks, []);
  const plans = planParallelism(stats.map((s) => ({ id: s.vertex.id, name: s.vertex.name, parallelism: s.vertex.parallelism, maxParallelism: 128, inputs: s.vertex.inputs, isSource: s.vertex.isSource, keyedInput: s.vertex.keyedInput, processedRate: 0, outRate: 0, busyMaxMsPerSecond: 0 })), rules.planner);
  assert.ok(plans.every((p) => p.to === p.from && p.decision === 'no-data'));
  const d = diagnose(rules, w);
  assert.ok(!d.recommendations.flatMap((r) => r.actions).some((a) => a.type === 'set-parallelism' && a.to > a.from), JSON.stringify(d.recommendations));
});

test('a partition with no committed offset: Burrow says OK (nothing to judge) and reports its lag from the earliest offset', () => {
  const w = buildWindow({ vertices: [{ id: 's', source: true, p: 1, in: 50, busy: 100 }], lag: () => 400, lagPartitions: 2, committed: (i, p) => (p === 0 ? 1000 + i * 100 : undefined) });
  const g = evaluateGroupLag(lagInputsFromWindow(w.consumerLag), { now: w.now });
  const p1 = g.partitions.find((p) => p.partition === 1)!;
  assert.equal(p1.status, 'OK');
  assert.equal(p1.rule, 'no-committed-offset');
  assert.equal(p1.currentLag, 200);
  assert.equal(g.totalLag, 400);
  const d = diagnose(rules, w);
  assert.notEqual(d.rootCause.kind, 'consumer-stalled', 'a partition without commits is not a stall');
});

test('diagnose takes the lag status from Burrow: a committed offset frozen for the whole window with lag is ERR (STOP: no commit for longer than minStopSilenceMs), lag.burrow severe', () => {
  const w = buildWindow({ vertices: [{ id: 's', source: true, p: 1, in: 50, busy: 100 }], lag: (i) => 1000 + 10 * i, lagPartitions: 1, committed: () => 500 });
  const d = diagnose(rules, w);
  assert.equal(d.lagStatus, 'ERR');
  const f = d.findings.find((x) => x.ruleId === 'lag.burrow')!;
  assert.equal(f.severity, 'severe');
  // the broker polls saw one commit (the offset never changed in 290 s): no commit for 291 s > 120 s
  assert.equal((f.evidence.partitions as Array<{ status: string }>)[0]!.status, 'STOP');
  assert.equal(d.rootCause.kind, 'consumer-stalled');
});

test('transient spike: a saw-tooth backlog near its peak is not a spike; a backlog down by half from its peak and falling is', () => {
  const saw = lagTrend(pts([800, 240, 1060, 600, 800, 1390, 1300, 900], 0, 1000), 0, 7000);
  assert.deepEqual(detectTransientSpike(saw, 60_000, 0, R['lag.transient-spike']!), []);
  const draining = lagTrend(pts([8000, 7000, 6000, 5000, 4000, 3000], 0, 1000), 0, 5000);
  assert.equal(detectTransientSpike(draining, 60_000, 0, R['lag.transient-spike']!).length, 1);
});
