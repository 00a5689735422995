/**
 * The highest load of each vertex within the scale-down interval, from the window's
 * {@link LoadHistory}: what a scale-down must still carry (Flink autoscaler `JobVertexScaler.
 * applyScaleDownInterval` scales down to the highest parallelism recommended within
 * `scale-down.interval`; streamtune reads the load of that interval instead, see diagnoser/plan.ts).
 * Pure.
 */
import type { JobWindow, Points, VertexLoadHistory } from './window.ts';
import { counterRates } from './series.ts';

/** The load of one vertex over the history. */
export interface VertexLoadPeak {
  /** records/s: the highest processed rate of one history step (subtasks summed) */
  peakRate: number;
  /** ms from the first history step with a rate to the window's `now`: how long the load has been observed */
  observedMs: number;
}

/** A subtask's rate series: its meter where it has points, else its counter's per-step rate. */
function rates(meter: Points, counter: Points | undefined): Points {
  return meter.length > 0 ? meter : counterRates(counter);
}

/** Sums per timestamp. */
function sum(list: readonly Points[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of list) for (const x of p) m.set(x.t, (m.get(x.t) ?? 0) + x.v);
  return m;
}

/**
 * Processed records/s of a vertex at each history step (as diagnoser/detectors/common.ts
 * `processedRate`: records in, or for a source whose input is 0 its records out), subtasks summed.
 */
export function vertexRateHistory(v: VertexLoadHistory, isSource: boolean): Map<number, number> {
  const inRates = sum(v.subtasks.map((s) => rates(s.recordsInPerSecond, s.numRecordsIn)));
  if (!isSource) return inRates;
  const outRates = sum(v.subtasks.map((s) => rates(s.recordsOutPerSecond, s.numRecordsOut)));
  const out = new Map(inRates);
  for (const [t, v2] of outRates) if (!((out.get(t) ?? 0) > 0)) out.set(t, v2);
  return out;
}

/**
 * Per vertex id: the highest processed rate within the history and how long the history has
 * observed it. Vertices without any rate in the history are absent (no scale-down for them).
 */
export function loadPeaks(w: JobWindow): Map<string, VertexLoadPeak> {
  const out = new Map<string, VertexLoadPeak>();
  const h = w.loadHistory;
  if (!h) return out;
  const sources = new Set(w.vertices.filter((v) => v.isSource).map((v) => v.id));
  for (const v of h.vertices) {
    const series = vertexRateHistory(v, sources.has(v.id));
    if (series.size === 0) continue;
    const first = Math.min(...series.keys());
    out.set(v.id, { peakRate: Math.max(...series.values()), observedMs: Math.max(0, w.now - first) });
  }
  return out;
}
