import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateAlerts, alertQuery, loadRules, type AlertRule } from '../rules/index.ts';
import type { Series } from '../collector/store/types.ts';

const rule: AlertRule = {
  id: 'lag.test', metric: 'streamtune_kafka_partition_lag', field: 'value', where: {}, groupBy: ['group'],
  aggregate: 'sum', windowMs: 600_000, condition: { op: '>', threshold: 100 }, forMs: 120_000, severity: 'severe',
  help: 'h', origin: { file: 'x', line: 1 },
};

function series(group: string, partition: string, pts: Array<[number, number]>): Series {
  return { tags: { group, partition }, points: pts.map(([t, v]) => ({ t, v })) };
}

test('fires only after the condition held for the for-duration, summing partitions of the group', () => {
  const t0 = 1_000_000;
  // each partition alone stays under 100, the group sum is above from t0+30s
  const s = [
    series('g1', '0', [[t0, 10], [t0 + 30_000, 60], [t0 + 60_000, 60], [t0 + 90_000, 60], [t0 + 150_000, 60]]),
    series('g1', '1', [[t0 + 1_000, 10], [t0 + 31_000, 60], [t0 + 61_000, 60], [t0 + 91_000, 60], [t0 + 151_000, 60]]),
    series('g2', '0', [[t0, 1], [t0 + 150_000, 1]]),
  ];
  let ev = evaluateAlerts([rule], { 'lag.test': s.map((x) => ({ ...x, points: x.points.filter((p) => p.t <= t0 + 91_000) })) }, t0 + 91_000);
  assert.equal(ev.fired.length, 0);
  assert.equal(ev.pending.length, 1);
  assert.equal(ev.pending[0]!.labels.group, 'g1');
  ev = evaluateAlerts([rule], { 'lag.test': s }, t0 + 151_000, ev.active);
  assert.equal(ev.fired.length, 1);
  assert.equal(ev.fired[0]!.value, 120);
  assert.equal(ev.fired[0]!.since, t0 + 31_000);
  const again = evaluateAlerts([rule], { 'lag.test': s }, t0 + 152_000, ev.active);
  assert.equal(again.fired.length, 0, 'not re-fired while active');
  assert.equal(again.active.length, 1);
  // lag drops: resolved
  const drop = s.map((x) => (x.tags.group === 'g1' ? { ...x, points: [...x.points, { t: t0 + 200_000, v: 0 }] } : x));
  const res = evaluateAlerts([rule], { 'lag.test': drop }, t0 + 200_000, again.active);
  assert.equal(res.resolved.length, 1);
  assert.equal(res.active.length, 0);
});

test('forMs 0 fires at once; no data in the window resolves', () => {
  const r0 = { ...rule, forMs: 0 };
  const ev = evaluateAlerts([r0], { 'lag.test': [series('g', '0', [[1000, 500]])] }, 1000);
  assert.equal(ev.fired.length, 1);
  const later = evaluateAlerts([r0], { 'lag.test': [series('g', '0', [[1000, 500]])] }, 1000 + 700_000, ev.active);
  assert.equal(later.resolved.length, 1);
});

test('alertQuery reads the window of the rule split by group and partition tags', () => {
  const q = alertQuery(loadRules().alerts.find((a) => a.id === 'lag.consumer-group')!, 1_000_000, ['topic', 'partition']);
  assert.equal(q.start, 1_000_000 - 600_000);
  assert.deepEqual(q.groupBy, ['group', 'topic', 'partition']);
});
