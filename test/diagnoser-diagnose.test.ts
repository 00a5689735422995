import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadRules } from '../rules/index.ts';
import type { RuleSet } from '../rules/types.ts';
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import * as F from './fixtures/diagnoser/jobs.ts';

const rules = loadRules();
/** the built-in rules with the scale-down delay off (`scaleDownInterval: 0s`): a fixture window alone can be over-provisioned */
const atOnce: RuleSet = { ...rules, planner: { ...rules.planner, scaleDownIntervalMs: 0 } };

function setParallelism(d: Diagnosis): Array<Extract<TuningAction, { type: 'set-parallelism' }>> {
  return d.recommendations.flatMap((r) => r.actions).filter((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism');
}

test('healthy job: no finding, root cause healthy, no recommendation', () => {
  const d = diagnose(rules, F.healthy());
  assert.equal(d.rootCause.kind, 'healthy');
  assert.deepEqual(d.findings, []);
  assert.deepEqual(d.recommendations, []);
  assert.equal(d.severity, 'none');
  assert.equal(d.lagStatus, 'OK');
});

test('under-provisioned: bottleneck enrich, set-parallelism within one of the smallest parallelism that keeps up', () => {
  const w = F.underProvisioned();
  // Smallest parallelism that processes the arrival rate and drains the final backlog within the catch-up target
  const backlog = F.UNDER.lag0 + 29 * 10 * F.UNDER.growth;
  const exact: RuleSet = { ...rules, planner: { ...rules.planner, targetUtilization: 1, restartMs: 0 } };
  const pMin = Math.ceil((F.UNDER.arrival + backlog / (exact.planner.catchUpMs / 1000)) / F.UNDER.trueRatePerSubtask);
  const d = diagnose(exact, w, { type: 'alert', alertId: 'a1', ruleId: 'lag.consumer-group' });
  assert.equal(d.rootCause.kind, 'under-provisioned');
  assert.equal(d.rootCause.vertex, 'enrich');
  assert.ok(d.findings.some((f) => f.ruleId === 'backpressure.bottleneck' && f.vertex === 'enrich'));
  assert.ok(d.findings.some((f) => f.ruleId === 'lag.burrow'));
  const act = setParallelism(d).find((a) => a.vertex.name === 'enrich');
  assert.ok(act, JSON.stringify(d.recommendations));
  assert.equal(act.from, 4);
  assert.ok(act.to >= pMin && act.to <= pMin + 1, `to ${act.to}, smallest that keeps up ${pMin}`);
  // with the default headroom it never recommends less than what keeps up
  const dflt = diagnose(rules, w);
  const a2 = setParallelism(dflt).find((a) => a.vertex.name === 'enrich')!;
  assert.ok(a2.to >= pMin);
  const rec = dflt.recommendations.find((r) => r.actions.length > 0)!;
  assert.ok(rec.expected.throughputRecordsPerSecond! >= F.UNDER.arrival);
  assert.match(rec.rationale, /records\/s/);
  // no scale-down of other vertices while lagging
  assert.ok(setParallelism(dflt).every((a) => a.to > a.from));
});

test('skew: data-skew root cause, the skew remedy, no set-parallelism for the skewed vertex', () => {
  const d = diagnose(rules, F.skewed());
  assert.equal(d.rootCause.kind, 'data-skew');
  assert.equal(d.rootCause.vertex, 'enrich');
  const f = d.findings.find((x) => x.ruleId === 'skew.keyed')!;
  assert.equal(f.evidence.hotSubtask, 0);
  assert.equal((f.evidence.hotKeyGroups as Array<{ keyGroup: number; subtask: number }>)[0]!.keyGroup, 5);
  assert.equal((f.evidence.hotKeyGroups as Array<{ keyGroup: number; subtask: number }>)[0]!.subtask, 0);
  assert.ok(!setParallelism(d).some((a) => a.vertex.name === 'enrich'));
  const rec = d.recommendations.find((r) => r.ruleId === 'skew.keyed')!;
  assert.deepEqual(rec.actions, []);
  assert.match(rec.title, /two-phase|salting/);
});

test('crash loop: the exception is named with count, first and last seen', () => {
  const d = diagnose(rules, F.crashLoop());
  assert.equal(d.rootCause.kind, 'crash-loop');
  assert.match(d.rootCause.explanation, /com\.acme\.PoisonRecordError/);
  assert.match(d.rootCause.explanation, /3 time\(s\)/);
  assert.equal(d.rootCause.vertex, 'enrich');
  const f = d.findings.find((x) => x.ruleId === 'restarts.crash-loop')!;
  assert.equal(f.evidence.restarts, 3);
  const groups = f.evidence.exceptions as Array<{ exceptionClass: string; count: number; firstSeen: number; lastSeen: number }>;
  assert.equal(groups[0]!.exceptionClass, 'com.acme.PoisonRecordError');
  assert.equal(groups[0]!.count, 3);
  assert.ok(groups[0]!.lastSeen > groups[0]!.firstSeen);
  assert.equal(setParallelism(d).length, 0);
  // the lag is what the restarts cause: marked as their consequence, not a second cause
  const lag = d.findings.find((x) => x.ruleId === 'lag.burrow');
  assert.equal(lag?.consequenceOf, 'restarts.crash-loop', d.findings.map((x) => x.summary).join('\n'));
  assert.match(lag.summary, /symptom of the crash loop/);
  assert.equal(f.consequenceOf, undefined);
});

test('crash loop on an idle, not lagging job: idle subtasks are no over-provisioning', () => {
  const idle = F.overProvisioned();
  assert.ok(diagnose(atOnce, idle).findings.some((f) => f.ruleId === 'capacity.over-provisioned'), 'the window alone reads as over-provisioned');
  const crash = F.crashLoop();
  const d = diagnose(atOnce, { ...idle, numRestarts: crash.numRestarts, logs: crash.logs });
  assert.equal(d.rootCause.kind, 'crash-loop');
  assert.deepEqual(d.findings.filter((f) => f.ruleId === 'capacity.over-provisioned'), []);
  assert.deepEqual(d.recommendations.flatMap((r) => r.actions), []);
});

test('over-provisioned: scale down enrich (scale-down delay off), a low cost finding, at most 60% fewer subtasks in one step', () => {
  const d = diagnose(atOnce, F.overProvisioned());
  assert.equal(d.rootCause.kind, 'over-provisioned');
  const a = setParallelism(d);
  assert.equal(a.length, 1);
  assert.equal(a[0]!.vertex.name, 'enrich');
  assert.equal(a[0]!.from, 8);
  assert.ok(a[0]!.to < 8 && a[0]!.to >= 4, `8 → ${a[0]!.to}`);
  const f = d.findings.find((x) => x.ruleId === 'capacity.over-provisioned')!;
  assert.equal(f.severity, 'low');
  assert.equal(f.category, 'cost');
  assert.equal(d.severity, 'low');
});

test('transient spike: reported, no action', () => {
  const d = diagnose(rules, F.transientSpike());
  assert.equal(d.rootCause.kind, 'transient-spike');
  assert.ok(d.findings.some((f) => f.ruleId === 'lag.transient-spike'));
  assert.equal(d.recommendations.flatMap((r) => r.actions).length, 0);
});

test('consumer stalled: frozen committed offsets with lag', () => {
  const d = diagnose(rules, F.consumerStalled());
  assert.equal(d.rootCause.kind, 'consumer-stalled');
  assert.equal(d.lagStatus, 'ERR');
  const f = d.findings.find((x) => x.ruleId === 'consumer.stalled')!;
  assert.equal((f.evidence.stalledPartitions as string[]).length, 4);
  assert.equal(setParallelism(d).length, 0);
});

test('checkpoint pressure: duration near timeout and failures → set-checkpointing', () => {
  const d = diagnose(rules, F.checkpointPressure());
  assert.equal(d.rootCause.kind, 'checkpoint-pressure');
  assert.ok(d.findings.some((f) => f.ruleId === 'checkpoint.duration'));
  assert.ok(d.findings.some((f) => f.ruleId === 'checkpoint.failures' && f.evidence.failedCheckpoints === 2));
  const act = d.recommendations.flatMap((r) => r.actions).find((a) => a.type === 'set-checkpointing');
  assert.ok(act && act.type === 'set-checkpointing');
  assert.ok((act.timeout ?? 0) > 60_000);
});

test('checkpoint pressure with slowly growing lag and spare capacity → checkpoint-pressure, not under-provisioned', () => {
  const d = diagnose(rules, F.checkpointPressureWithLag());
  assert.equal(d.rootCause.kind, 'checkpoint-pressure', d.rootCause.explanation);
  assert.equal(setParallelism(d).length, 0);
  assert.ok(d.recommendations.flatMap((r) => r.actions).some((a) => a.type === 'set-checkpointing'));
});

test('memory pressure: GC on the bottleneck → set-memory, not scale-up', () => {
  const d = diagnose(rules, F.memoryPressure());
  assert.equal(d.rootCause.kind, 'memory-pressure');
  assert.equal(d.rootCause.vertex, 'enrich');
  const act = d.recommendations.flatMap((r) => r.actions).find((a) => a.type === 'set-memory');
  assert.ok(act && act.type === 'set-memory' && act.heapBytes > 1024 * 1048576);
  assert.ok(d.findings.some((f) => f.ruleId === 'memory.heap'));
});

test('memory pressure on a task manager shared with other jobs: the findings say so, confidence is lower', () => {
  const alone = diagnose(rules, F.memoryPressure());
  const w = F.memoryPressure();
  w.jvm = w.jvm.map((j) => ({ ...j, otherJobs: [{ jobId: 'j-2', jobName: 'billing' }, { jobId: 'j-3' }] }));
  const d = diagnose(rules, w);
  assert.equal(d.rootCause.kind, 'memory-pressure');
  const mem = d.findings.filter((f) => f.ruleId.startsWith('memory.'));
  assert.ok(mem.length >= 2, 'GC and heap findings');
  for (const f of mem) {
    assert.equal(f.evidence.sharedTaskManager, true, f.ruleId);
    assert.deepEqual(f.evidence.otherJobs, [{ jobId: 'j-2', jobName: 'billing' }, { jobId: 'j-3' }]);
    assert.match(f.summary, /shared with 2 other job\(s\): billing, j-3/);
  }
  for (const f of alone.findings.filter((x) => x.ruleId.startsWith('memory.'))) assert.equal(f.evidence.sharedTaskManager, false);
  assert.ok(d.rootCause.confidence < alone.rootCause.confidence, `${d.rootCause.confidence} < ${alone.rootCause.confidence}`);
  assert.match(d.rootCause.explanation, /also runs billing, j-3/);
});

test('source-bound: source at one subtask per partition → add partitions, no set-parallelism', () => {
  const d = diagnose(rules, F.sourceBound());
  assert.equal(d.rootCause.kind, 'source-bound');
  assert.equal(d.rootCause.vertex, 'Source: orders');
  assert.equal(setParallelism(d).length, 0);
  assert.match(d.recommendations[0]!.title, /partitions/);
});

test('insufficient data is a normal outcome with no alert severity', () => {
  const d = diagnose(rules, F.noData());
  assert.equal(d.rootCause.kind, 'insufficient-data');
  assert.equal(d.severity, 'none');
  assert.deepEqual(d.recommendations, []);
});

test('diagnose is deterministic: same input, same id and output', () => {
  const a = diagnose(rules, F.underProvisioned(), { type: 'sweep' });
  const b = diagnose(rules, F.underProvisioned(), { type: 'sweep' });
  assert.deepEqual(a, b);
  assert.notEqual(a.id, diagnose(rules, F.underProvisioned(), { type: 'manual' }).id);
});

test('crash loop whose checkpoints fail with its tasks: the failures are symptoms, and no checkpoint action is recommended', async () => {
  const { buildWindow } = await import('./fixtures/diagnoser/build.ts');
  const base = F.crashLoop();
  // a real Flink job failing before each checkpoint completes: every checkpoint of the window fails
  const w = buildWindow({
    vertices: [{ id: 'src', name: 'Source: orders', source: true, p: 1, in: 300, busy: 300 }, { id: 'enrich', name: 'enrich', inputs: ['src'], p: 4, in: 75, busy: 300 }],
    numRestarts: (i) => Math.floor(i / 8),
    logs: base.logs,
    lag: (i) => 5000 + i * 1000,
    checkpoints: { failed: (i) => Math.floor(i / 4), config: { interval: 10_000, timeout: 60_000, minPause: 0 } },
  });
  const d = diagnose(rules, w);
  assert.equal(d.rootCause.kind, 'crash-loop');
  const failures = d.findings.find((f) => f.ruleId === 'checkpoint.failures');
  assert.ok(failures, 'the failed checkpoints are reported');
  assert.equal(failures.consequenceOf, 'restarts.crash-loop');
  assert.deepEqual(d.recommendations.flatMap((r) => r.actions), []);
});
