/**
 * Scale-down after the Flink autoscaler (`scale-down.interval`, `scale-down.max-factor`), issue 17:
 * recommended only once the load stayed low for the interval (1 h), planned for the highest load
 * within it, at most 60% fewer subtasks per step, and a cost finding of severity low.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, planInputs } from '../diagnoser/diagnose.ts';
import { loadPeaks } from '../diagnoser/history.ts';
import { planParallelism } from '../diagnoser/plan.ts';
import { summarise } from '../diagnoser/detectors/common.ts';
import { loadRules } from '../rules/index.ts';
import type { Diagnosis, TuningAction } from '../diagnoser/types.ts';
import type { JobWindow, LoadHistory } from '../diagnoser/window.ts';
import * as F from './fixtures/diagnoser/jobs.ts';

const rules = loadRules();
const HOUR = 3_600_000;

/** enrich's actions */
const enrichTo = (d: Diagnosis): number | undefined =>
  d.recommendations.flatMap((r) => r.actions).find((a): a is Extract<TuningAction, { type: 'set-parallelism' }> => a.type === 'set-parallelism' && a.vertex.name === 'enrich')?.to;

/**
 * Load history of `w`'s vertices over `spanMs` before `w.now`, one point a minute per subtask: the
 * rate each subtask has in the window, times `factor(minutesAgo)`.
 */
function withHistory(w: JobWindow, spanMs: number, factor: (minutesAgo: number) => number = () => 1): JobWindow {
  const stepMs = 60_000;
  const first = Math.floor((w.now - spanMs) / stepMs) * stepMs;
  const history: LoadHistory = {
    start: first, stepMs,
    vertices: w.vertices.map((v) => ({
      id: v.id,
      subtasks: v.subtasks.map((s) => {
        const rin = s.recordsInPerSecond[0]?.v ?? 0;
        const rout = s.recordsOutPerSecond[0]?.v ?? 0;
        const series = (r: number) => {
          const out = [];
          for (let t = first; t <= w.now; t += stepMs) out.push({ t, v: r * factor(Math.round((w.now - t) / 60_000)) });
          return out;
        };
        return { subtask: s.subtask, recordsInPerSecond: series(rin), recordsOutPerSecond: series(rout) };
      }),
    })),
  };
  return { ...w, loadHistory: history };
}

test('no scale-down from one window: without an hour of load history the plan delays it and nothing is recommended', () => {
  for (const w of [F.overProvisioned(), withHistory(F.overProvisioned(), 30 * 60_000)]) {
    const d = diagnose(rules, w);
    assert.equal(enrichTo(d), undefined, JSON.stringify(d.recommendations));
    assert.deepEqual(d.findings.filter((f) => f.ruleId === 'capacity.over-provisioned'), []);
    assert.notEqual(d.rootCause.kind, 'over-provisioned');
    const stats = summarise(w);
    const plan = planParallelism(planInputs(w, stats, 0, 0, new Set(), undefined, loadPeaks(w)), rules.planner).find((p) => p.id === 'enrich')!;
    assert.equal(plan.decision, 'scale-down-delayed', plan.reason);
    assert.equal(plan.to, 8);
  }
});

test('after an hour of low load: scale down by at most 60% per step (8 → 4, not 8 → 1), a low cost finding', () => {
  const d = diagnose(rules, withHistory(F.overProvisioned(), HOUR));
  assert.equal(d.rootCause.kind, 'over-provisioned', d.rootCause.explanation);
  // 1000 records/s at 2500 records/s per subtask needs 1, but one step removes at most 60% of 8
  assert.equal(enrichTo(d), 4);
  const f = d.findings.find((x) => x.ruleId === 'capacity.over-provisioned')!;
  assert.equal(f.severity, 'low');
  assert.equal(f.category, 'cost');
  assert.equal(d.severity, 'low');
  assert.equal(f.evidence.peakRecordsPerSecond, 1000);
  assert.ok((f.evidence.loadObservedMs as number) >= HOUR);
  // without the step bound it goes to the smallest parallelism that carries the load
  const unbounded = diagnose({ ...rules, planner: { ...rules.planner, maxScaleDownFactor: 1 } }, withHistory(F.overProvisioned(), HOUR));
  assert.equal(enrichTo(unbounded), 1);
});

test('the scale-down plans for the highest load within the interval, not the current one', () => {
  // 40 min ago enrich received 8× today's 1000 records/s for a few minutes
  const peak = (x: number) => (m: number) => (m >= 38 && m <= 42 ? x : 1);
  const d = diagnose({ ...rules, planner: { ...rules.planner, maxScaleDownFactor: 1 } }, withHistory(F.overProvisioned(), HOUR, peak(8)));
  // 8000 records/s: 8000·(5 min / 30 min) + 8000 / 0.85 = 10,745 records/s at 2500 per subtask → 5
  assert.equal(enrichTo(d), 5);
  // a peak that needed all 8 subtasks: no scale-down, no finding
  const busyPeak = diagnose(rules, withHistory(F.overProvisioned(), HOUR, peak(16)));
  assert.equal(enrichTo(busyPeak), undefined);
  assert.deepEqual(busyPeak.findings.filter((f) => f.ruleId === 'capacity.over-provisioned'), []);
});

test('over-provisioning is never above low, even at 5% busy (it was critical)', () => {
  const d = diagnose({ ...rules, planner: { ...rules.planner, scaleDownIntervalMs: 0 } }, F.overProvisioned());
  const f = d.findings.find((x) => x.ruleId === 'capacity.over-provisioned')!;
  assert.equal(f.evidence.busyMaxMsPerSecond, 50);
  assert.equal(f.severity, 'low');
});
