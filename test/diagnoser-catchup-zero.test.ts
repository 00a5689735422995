/** `catchUpDuration: 0` turns backlog handling off, as in the Flink autoscaler (issue 17). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planParallelism, type VertexPlanInput } from '../diagnoser/plan.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadRules } from '../rules/index.ts';
import * as F from './fixtures/diagnoser/jobs.ts';

const rules = loadRules();
const src = (o: Partial<VertexPlanInput> = {}): VertexPlanInput => ({
  id: 'src', name: 'src', parallelism: 2, maxParallelism: 128, inputs: [], isSource: true, keyedInput: false,
  processedRate: 1000, outRate: 1000, busyMaxMsPerSecond: 900, backlog: 50_000, lagGrowthRate: 200, ...o,
});
const enrich: VertexPlanInput = { id: 'enrich', name: 'enrich', parallelism: 2, maxParallelism: 128, inputs: ['src'], isSource: false, keyedInput: true, processedRate: 1000, outRate: 1000, busyMaxMsPerSecond: 1000 };

test('catch-up 0: the restart and backlog terms drop out (capacity = target / utilisation), nothing infinite, nothing at max parallelism', () => {
  for (const restartMs of [300_000, 0]) {
    const plans = planParallelism([src(), enrich], { ...rules.planner, catchUpMs: 0, restartMs, targetUtilization: 0.8 }, { lagging: true });
    for (const p of plans) {
      assert.ok(Number.isFinite(p.requiredCapacity!), `${p.id} restart ${restartMs}: required ${p.requiredCapacity}`);
      assert.equal(p.catchUpRate, 0);
      // target 1200 records/s (1000 read + 200 lag growth) / 0.8
      assert.equal(p.requiredCapacity, 1500, p.id);
      assert.ok(p.to < 128, `${p.id} → ${p.to}`);
    }
    // enrich does 500 records/s per subtask at full busy time: 1500 / 500 → 3 (4, which divides the
    // 128 key groups, is more than the 25% alignment overshoot away)
    assert.equal(plans[1]!.to, 3);
  }
});

test('catch-up 0 through diagnose: an under-provisioned job gets a finite recommendation', () => {
  const d = diagnose({ ...rules, planner: { ...rules.planner, catchUpMs: 0 } }, F.underProvisioned());
  assert.equal(d.rootCause.kind, 'under-provisioned');
  const json = JSON.stringify(d);
  assert.ok(!/null|NaN|Infinity/.test(JSON.stringify(d.recommendations.map((r) => r.expected))), json);
  const act = d.recommendations.flatMap((r) => r.actions).find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich');
  assert.ok(act && act.type === 'set-parallelism' && act.to < 128, JSON.stringify(d.recommendations));
});
