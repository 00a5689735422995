/**
 * A missing meter is never 0 records/s (issue 17): rates come from the numRecordsIn/numRecordsOut
 * counters when the meters are missing; without either the vertex is "no data"; and no plan
 * moves a vertex above the target utilisation measured against its own input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarise, measuredRate } from '../diagnoser/detectors/common.ts';
import { planParallelism, type VertexPlanInput } from '../diagnoser/plan.ts';
import { diagnose } from '../diagnoser/diagnose.ts';
import { loadRules } from '../rules/index.ts';
import type { RuleSet } from '../rules/types.ts';
import type { TuningAction } from '../diagnoser/types.ts';
import { buildWindow } from './fixtures/diagnoser/build.ts';

const rules = loadRules();
const atOnce: RuleSet = { ...rules, planner: { ...rules.planner, scaleDownIntervalMs: 0 } };
const pts = (vs: Array<[number, number]>) => vs.map(([t, v]) => ({ t, v }));

test('rates come from the counters where the meters are missing, a counter reset (restart) counting from zero', () => {
  const w = buildWindow({ vertices: [{ id: 'src', source: true, p: 1, in: 100, busy: 200 }, { id: 'map', p: 1, inputs: ['src'], in: () => undefined, out: () => undefined, busy: 200 }] });
  const sub = w.vertices[1]!.subtasks[0]!;
  // 0 → 1000 → 2000, restart, 500 → 1500 over 40 s: 1000 + 1000 + 500 + 1000 records
  sub.numRecordsIn = pts([[0, 0], [10_000, 1000], [20_000, 2000], [30_000, 500], [40_000, 1500]]);
  sub.numRecordsOut = pts([[0, 0], [40_000, 8000]]);
  const [, map] = summarise(w);
  assert.equal(map!.subtasks[0]!.inRate, 87.5);
  assert.equal(map!.subtasks[0]!.outRate, 200);
  assert.equal(map!.subtasks[0]!.rateFrom, 'counter');
  assert.equal(map!.inRateKnown, true);
  assert.equal(measuredRate(map!), 87.5);
});

test('neither meter nor counter: the vertex is "no data", never 0 records/s, and is not planned down', () => {
  const w = buildWindow({
    vertices: [
      { id: 'src', source: true, p: 2, in: 2500, busy: 300 },
      { id: 'blind', p: 8, inputs: ['src'], in: () => undefined, out: () => undefined, busy: 50 },
    ],
    lag: () => 0,
  });
  const [, blind] = summarise(w);
  assert.equal(blind!.inRateKnown, false);
  assert.equal(measuredRate(blind!), undefined);
  const d = diagnose(atOnce, w);
  assert.ok(!d.recommendations.flatMap((r) => r.actions).some((a) => a.type === 'set-parallelism' && a.vertex.name === 'blind'), JSON.stringify(d.recommendations));
});

test("an upstream vertex without numRecordsOutPerSecond does not make the downstream target 0: the sink keeps enough subtasks for its own input", () => {
  // enrich reports no output rate at all; the sink measures 5000 records/s in on 10 subtasks at
  // 300 ms/s busy (1667 records/s per subtask): one subtask would be 300% busy
  const w = buildWindow({
    vertices: [
      { id: 'src', name: 'Source: flights', source: true, p: 2, partitions: 8, in: 2500, busy: 400 },
      { id: 'enrich', p: 4, inputs: ['src'], in: 1250, out: () => undefined, busy: 500 },
      { id: 'sink', p: 10, inputs: ['enrich'], in: 500, busy: 300 },
    ],
    lag: () => 0,
  });
  const d = diagnose(atOnce, w);
  const sink = d.recommendations.flatMap((r) => r.actions).find((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism' && a.vertex.name === 'sink');
  const perSubtask = 5000 / 0.3 / 10;
  const to = sink?.to ?? 10;
  assert.ok(5000 / (perSubtask * to) <= atOnce.planner.targetUtilization, `sink ${10} → ${to}: ${Math.round((5000 / (perSubtask * to)) * 100)}% busy`);
  assert.ok(to >= 4, `never 1 subtask for 5000 records/s: ${to}`);
});

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('invariant over 500 random chains with missing rates: no changed vertex ends above the target utilisation against its own input (unless capped)', () => {
  const r = rng(17);
  const settings = { ...rules.planner, scaleDownIntervalMs: 0 };
  for (let n = 0; n < 500; n++) {
    const len = 2 + Math.floor(r() * 4);
    const vs: VertexPlanInput[] = [];
    let rate = 500 + r() * 5000;
    for (let i = 0; i < len; i++) {
      const p = 1 + Math.floor(r() * 16);
      const out = rate * (0.5 + r());
      const v: VertexPlanInput = {
        id: `v${i}`, name: `v${i}`, parallelism: p, maxParallelism: 128, inputs: i === 0 ? [] : [`v${i - 1}`], isSource: i === 0, keyedInput: i > 0 && r() < 0.5,
        busyMaxMsPerSecond: 20 + r() * 980, backlog: 0, lagGrowthRate: 0,
      };
      if (r() > 0.2) v.processedRate = rate;
      if (r() > 0.3) v.outRate = out;
      vs.push(v);
      rate = out;
    }
    const plans = planParallelism(vs, settings, { lagging: r() < 0.3 });
    plans.forEach((pl, i) => {
      const v = vs[i]!;
      assert.ok(Number.isFinite(pl.to) && pl.to >= 1, `chain ${n} ${pl.id}: to ${pl.to}`);
      if (v.processedRate === undefined) assert.equal(pl.to, pl.from, `chain ${n} ${pl.id}: no data, yet planned ${pl.from} → ${pl.to}`);
      if (pl.to === pl.from || !pl.trueRatePerSubtask || pl.to >= 128) return;
      const own = v.processedRate! / (pl.trueRatePerSubtask * pl.to);
      assert.ok(own <= settings.targetUtilization + 1e-9, `chain ${n} ${pl.id} ${pl.from} → ${pl.to} (${pl.decision}): ${Math.round(own * 100)}% of its own input — ${pl.reason}`);
    });
  }
});
