/**
 * Pure evaluation of alert rules (metric, window, condition, for-duration) over series read from
 * the store. Prometheus-style "for": an alert instance fires when its condition has held at every
 * observation of the last `forMs` (ending at the newest observation), and resolves at the first
 * evaluation where it no longer holds (or no data is left in the window).
 */
import type { Series, SeriesQuery } from '../collector/index.ts';
import type { AlertOp, AlertRule } from './types.ts';

/** One alert instance: a rule applied to one group of series (e.g. one consumer group). */
export interface AlertInstance {
  /** stable: ruleId + the group's tag values */
  key: string;
  ruleId: string;
  severity: AlertRule['severity'];
  /** the groupBy tags of the instance */
  labels: Record<string, string>;
  /** ms: the first observation of the current run where the condition held */
  since: number;
  /** the aggregated value at the newest observation */
  value: number;
  /** ms: the newest observation */
  at: number;
}

/** Result of {@link evaluateAlerts}. */
export interface AlertEvaluation {
  /** active now and not before (new incidents) */
  fired: AlertInstance[];
  /** active before, not any more (the instance as it was last seen, `at` = now) */
  resolved: AlertInstance[];
  /** every instance active now (fired ones included; continuing ones keep their `since`) */
  active: AlertInstance[];
  /** condition holds now but not yet for `forMs` */
  pending: AlertInstance[];
}

/**
 * The store query that gives {@link evaluateAlerts} what it needs for `rule` at `now`: raw points
 * of the window, split by `rule.groupBy` plus `splitBy` (the tags telling series of one group
 * apart, e.g. ['topic', 'partition'] for partition lag).
 */
export function alertQuery(rule: AlertRule, now: number, splitBy: readonly string[] = []): SeriesQuery {
  return {
    measurement: rule.metric,
    field: rule.field,
    start: now - rule.windowMs,
    end: now,
    where: rule.where,
    groupBy: [...new Set([...rule.groupBy, ...splitBy])],
  };
}

function test(op: AlertOp, v: number, th: number): boolean {
  switch (op) {
    case '>': return v > th;
    case '>=': return v >= th;
    case '<': return v < th;
    case '<=': return v <= th;
    case '==': return v === th;
    case '!=': return v !== th;
  }
}

/**
 * Combines the series of one group into one series: at every observation time, `aggregate` over
 * each series' newest value at or before that time (series not started yet are left out), so
 * series polled at slightly different times still add up.
 */
function combine(series: readonly Series[], aggregate: AlertRule['aggregate'], from: number, to: number): Array<{ t: number; v: number }> {
  const pts = series.map((s) => s.points.filter((p) => p.t >= from && p.t <= to));
  const times = [...new Set(pts.flatMap((p) => p.map((x) => x.t)))].sort((a, b) => a - b);
  const idx = pts.map(() => -1);
  const out: Array<{ t: number; v: number }> = [];
  for (const t of times) {
    const vals: number[] = [];
    pts.forEach((p, i) => {
      while (idx[i]! + 1 < p.length && p[idx[i]! + 1]!.t <= t) idx[i]!++;
      if (idx[i]! >= 0) vals.push(p[idx[i]!]!.v);
    });
    if (vals.length === 0) continue;
    let v: number;
    if (aggregate === 'sum') v = vals.reduce((a, b) => a + b, 0);
    else if (aggregate === 'max') v = Math.max(...vals);
    else if (aggregate === 'min') v = Math.min(...vals);
    else v = vals.reduce((a, b) => a + b, 0) / vals.length;
    out.push({ t, v });
  }
  return out;
}

/**
 * Evaluates alert rules at `now`.
 * @param rules the alert rules (RuleSet.alerts)
 * @param seriesByRule series per rule id, as read with {@link alertQuery}; a rule with no entry has no data
 * @param now ms since the epoch
 * @param previous the `active` list of the previous evaluation (default none)
 * @returns fired, resolved, active and pending instances; pure, no clock reads.
 */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  seriesByRule: Readonly<Record<string, readonly Series[]>>,
  now: number,
  previous: readonly AlertInstance[] = [],
): AlertEvaluation {
  const prevByKey = new Map(previous.map((a) => [a.key, a]));
  const active: AlertInstance[] = [];
  const pending: AlertInstance[] = [];
  for (const rule of rules) {
    const groups = new Map<string, { labels: Record<string, string>; series: Series[] }>();
    for (const s of seriesByRule[rule.id] ?? []) {
      const labels: Record<string, string> = {};
      for (const k of rule.groupBy) labels[k] = s.tags[k] ?? '';
      const key = `${rule.id}|${rule.groupBy.map((k) => `${k}=${labels[k]}`).join(',')}`;
      const g = groups.get(key) ?? { labels, series: [] };
      g.series.push(s);
      groups.set(key, g);
    }
    for (const [key, g] of groups) {
      const pts = combine(g.series, rule.aggregate, now - rule.windowMs, now);
      if (pts.length === 0) continue;
      const last = pts[pts.length - 1]!;
      if (!test(rule.condition.op, last.v, rule.condition.threshold)) continue;
      let since = last.t;
      for (let i = pts.length - 1; i >= 0 && test(rule.condition.op, pts[i]!.v, rule.condition.threshold); i--) since = pts[i]!.t;
      const prev = prevByKey.get(key);
      const inst: AlertInstance = { key, ruleId: rule.id, severity: rule.severity, labels: g.labels, since: prev ? Math.min(prev.since, since) : since, value: last.v, at: last.t };
      if (prev || last.t - since >= rule.forMs) active.push(inst);
      else pending.push(inst);
    }
  }
  const activeKeys = new Set(active.map((a) => a.key));
  return {
    fired: active.filter((a) => !prevByKey.has(a.key)),
    resolved: previous.filter((a) => !activeKeys.has(a.key)).map((a) => ({ ...a, at: now })),
    active,
    pending,
  };
}
