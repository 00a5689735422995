/** Remedies beyond parallelism (issue 17): checkpoint settings from duration, alignment and size; skew advice naming the hot key groups. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from '../diagnoser/diagnose.ts';
import { checkpointRemedy, operatorKind, skewRemedy } from '../diagnoser/remedies.ts';
import { loadRules } from '../rules/index.ts';
import type { TuningAction } from '../diagnoser/types.ts';
import { buildWindow } from './fixtures/diagnoser/build.ts';
import * as F from './fixtures/diagnoser/jobs.ts';

const rules = loadRules();
type SetCheckpointing = Extract<TuningAction, { type: 'set-checkpointing' }>;
const cpAction = (actions: TuningAction[]): SetCheckpointing | undefined => actions.find((a): a is SetCheckpointing => a.type === 'set-checkpointing');

test('a checkpoint taking most of its interval, with a growing state: a longer interval, no unaligned checkpoints without back-pressure', () => {
  const w = buildWindow({
    vertices: [{ id: 'src', source: true, p: 2, in: 500, busy: 300 }, { id: 'agg', p: 2, inputs: ['src'], keyed: true, in: 500, busy: 300 }],
    lag: () => 0,
    checkpoints: {
      durations: (i) => 35_000 + (i % 3) * 5000, // up to 45 s of a 60 s interval, far from the 10 min timeout
      sizes: (i) => 1e9 * (1 + i / 58), // +50% over the window
      config: { interval: 60_000, timeout: 600_000, minPause: 0 },
    },
  });
  const d = diagnose(rules, w);
  const f = d.findings.find((x) => x.ruleId === 'checkpoint.duration');
  assert.ok(f, 'a checkpoint at 75% of the interval is checkpoint trouble');
  assert.equal(f.severity, 'moderate');
  const act = cpAction(d.recommendations.flatMap((r) => r.actions));
  assert.ok(act, JSON.stringify(d.recommendations));
  // 45 s × 1.5 (the state grew 50%) = 67.5 s expected; at most half the interval → 135 s
  assert.equal(act.interval, 135_000);
  assert.equal(act.unaligned, undefined);
  assert.equal(act.timeout, undefined, 'far from the timeout');
  const rec = d.recommendations.find((r) => cpAction(r.actions))!;
  assert.match(rec.rationale, /size grew 50%/);
  assert.match(rec.rationale, /execution\.checkpointing\.interval/);
  assert.equal(rec.expected.durationToIntervalAfter, 0.5);
});

test('checkpoint remedy from alignment: under back-pressure, alignment most of the time → unaligned; alignment a small share → not, and the rationale says why', () => {
  const base = { config: { interval: 30_000, timeout: 60_000, minPause: 0 }, findings: [{ ruleId: 'checkpoint.duration', summary: 'slow' }], backpressured: true };
  const aligned = checkpointRemedy({ ...base, stats: { maxDuration: 40_000, durationRatio: 40 / 60, failures: 0, completed: 5, maxAlignment: 30_000 } })!;
  const a = cpAction(aligned.actions)!;
  assert.equal(a.unaligned, true);
  assert.equal(a.timeout, 80_000);
  assert.equal(a.interval, 80_000);
  assert.equal(a.minPause, undefined, 'the new interval leaves half of it to processing');
  const stateBound = checkpointRemedy({ ...base, stats: { maxDuration: 40_000, durationRatio: 40 / 60, failures: 0, completed: 5, maxAlignment: 2_000, sizeGrowth: 0.2 } })!;
  assert.equal(cpAction(stateBound.actions)!.unaligned, undefined);
  assert.match(stateBound.rationale, /alignment is only 5%.*writing the state/);
  // failed checkpoints ran into the timeout: twice the timeout
  const failed = checkpointRemedy({ ...base, backpressured: false, stats: { maxDuration: 20_000, durationRatio: 1 / 3, failures: 2, completed: 3 } })!;
  assert.equal(cpAction(failed.actions)!.timeout, 120_000);
});

test('skew advice names the hot key groups, says the keys are not reported and how to find them, fits the operator, and is no action', () => {
  const d = diagnose(rules, F.skewed());
  const rec = d.recommendations.find((r) => r.ruleId === 'skew.keyed')!;
  assert.deepEqual(rec.actions, []);
  assert.match(rec.rationale, /Hot key groups \(of 128\): 5 \(\d+% of the records, on subtask 0\)/);
  assert.match(rec.rationale, /not per key, so the keys are not named/);
  assert.match(rec.rationale, /murmurHash\(key\.hashCode\(\)\) % 128 = g/);
  assert.match(rec.rationale, /Salt the hot keys/);
  assert.ok(rec.expected.hottestKeyGroupShare! > 0.5);
  // an aggregation gets two-phase aggregation first
  const agg = skewRemedy({ skew: { vertexId: 'w', vertexName: 'Window(TumblingEventTimeWindows(3600000), EventTimeTrigger, CountAgg)', maxMinRatio: 4, skew: 0.5, hotSubtask: 1, hotSubtaskShare: 0.7, hotKeyGroups: [] }, parallelism: 4, maxParallelism: 128 });
  assert.match(agg.title, /two-phase \(local-global\) aggregation/);
  assert.match(agg.rationale, /looks like an aggregation: pre-aggregate per key before the keyBy/);
  assert.match(agg.rationale, /neither the hot key groups nor the keys can be named: subtask 1 is the hot one/);
  assert.equal(operatorKind('Join(orders, customers)'), 'join');
  assert.equal(operatorKind('delay-by-origin'), 'aggregation');
  assert.equal(operatorKind('enrich'), 'other');
});
