/** Each recommendation forecasts the time until lag is back under one minute of input (issue 17). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagUnderOneMinuteMs, jobCapacity } from '../diagnoser/forecast.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadRules } from '../rules/index.ts';
import type { RuleSet } from '../rules/types.ts';
import * as F from './fixtures/diagnoser/jobs.ts';

const rules = loadRules();
const atOnce: RuleSet = { ...rules, planner: { ...rules.planner, scaleDownIntervalMs: 0 } };

test('the forecast model: restart, then the spare capacity drains the lag down to one minute of input', () => {
  // 120,000 records behind at 1000 records/s in: one minute of input is 60,000 records. A 60 s
  // restart adds 60,000; then 1500 − 1000 = 500 records/s drain the 120,000 over it in 240 s.
  assert.equal(lagUnderOneMinuteMs({ lag: 120_000, inputRate: 1000, capacity: 1500, restartMs: 60_000 }), 300_000);
  assert.equal(lagUnderOneMinuteMs({ lag: 10_000, inputRate: 1000, capacity: 1500, restartMs: 30_000 }), 0, 'under a minute through the restart');
  // a restart longer than a minute pushes an idle lag over it, and back
  assert.equal(lagUnderOneMinuteMs({ lag: 0, inputRate: 1000, capacity: 2000, restartMs: 300_000 }), 300_000 + 240_000);
  assert.equal(lagUnderOneMinuteMs({ lag: 120_000, inputRate: 1000, capacity: 1000, restartMs: 0 }), null, 'never drains');
  assert.equal(lagUnderOneMinuteMs({ lag: Number.NaN, inputRate: 1000, capacity: 2000, restartMs: 0 }), null);
  // the job's capacity is its tightest vertex, in source records
  const plans = [
    { id: 's', name: 's', from: 2, to: 2, decision: 'keep' as const, trueRatePerSubtask: 1000, targetRate: 1000, catchUpRate: 0, reason: '' },
    { id: 'x', name: 'x', from: 2, to: 4, decision: 'scale-up' as const, trueRatePerSubtask: 300, targetRate: 2000, catchUpRate: 0, reason: '' },
  ];
  assert.equal(jobCapacity(plans, 1000), 300);
  assert.equal(jobCapacity(plans, 1000, (p) => p.to), 600);
});

test('every recommendation carries lagUnderOneMinuteMs; a scale-up forecasts the drain, advice on a lagging job cannot', () => {
  const under = diagnose(rules, F.underProvisioned());
  const up = under.recommendations.find((r) => r.actions.some((a) => a.type === 'set-parallelism'))!;
  assert.equal(typeof up.lagUnderOneMinuteMs, 'number');
  assert.ok(up.lagUnderOneMinuteMs! > rules.planner.restartMs, `${up.lagUnderOneMinuteMs} ms`);
  assert.equal(up.expected.lagUnderOneMinuteMs, up.lagUnderOneMinuteMs);
  const skew = diagnose(rules, F.skewed()).recommendations.find((r) => r.ruleId === 'skew.keyed')!;
  assert.equal(skew.lagUnderOneMinuteMs, null, 'a code change: effect not computed');
  // scaling down a job with no lag: the 5 min restart puts it 5 min behind, then it drains
  const down = diagnose(atOnce, F.overProvisioned()).recommendations.find((r) => r.actions.length > 0)!;
  assert.ok(down.lagUnderOneMinuteMs! > rules.planner.restartMs && Number.isFinite(down.lagUnderOneMinuteMs!), `${down.lagUnderOneMinuteMs}`);
  for (const w of [F.underProvisioned(), F.skewed(), F.crashLoop(), F.checkpointPressure(), F.memoryPressure(), F.sourceBound(), F.consumerStalled()]) {
    for (const r of diagnose(rules, w).recommendations) assert.ok('lagUnderOneMinuteMs' in r, `${r.ruleId}: ${r.title}`);
  }
  // checkpoint settings on a job without lag: the restart (5 min) is the time over a minute of input
  const cp = diagnose(rules, F.checkpointPressure()).recommendations.find((r) => r.actions.some((a) => a.type === 'set-checkpointing'))!;
  assert.equal(typeof cp.lagUnderOneMinuteMs, 'number');
});
