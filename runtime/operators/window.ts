/**
 * Keyed tumbling event-time window aggregation (Flink's `keyBy(...).window(TumblingEventTimeWindows)
 * .aggregate(...)`): windows [start, start + size) aligned to the epoch, fired when the watermark
 * reaches `end - 1` (Flink's `window.maxTimestamp()`), late records (at or before the watermark)
 * dropped and counted. State is keyed: each key's open windows live in the key group of the key,
 * so a restore with another parallelism moves whole key groups.
 */
import { parseDuration, type WindowAggregateSpec } from '../spec.ts';
import { KeyGroupCache } from '../keygroups.ts';
import type { Operator, OperatorContext, OperatorSnapshot, Output, Rec, RestoredState } from './types.ts';

type AggKind = 'count' | 'sum' | 'avg' | 'min' | 'max';
interface AggDef {
  out: string;
  kind: AggKind;
  field: string | undefined;
}

/** Accumulator of one (key, window): count + per-aggregation sums/mins/maxes, index-aligned with the defs. */
interface Acc {
  key: unknown;
  kg: number;
  count: number;
  vals: number[];
  /** non-null values seen per def (for avg) */
  ns: number[];
}

/** The snapshot format of one key group: [key, windowStart, count, vals, ns] tuples. */
type KgState = Array<[unknown, number, number, number[], number[]]>;

function parseAggs(spec: WindowAggregateSpec): AggDef[] {
  return Object.entries(spec.aggregations).map(([out, e]) => {
    if (e === 'count') return { out, kind: 'count', field: undefined };
    const m = /^(sum|avg|min|max)\(([A-Za-z0-9_]+)\)$/.exec(e)!;
    return { out, kind: m[1] as AggKind, field: m[2] };
  });
}

/** Creates the operator. */
export function createWindowAggregate(spec: WindowAggregateSpec): Operator {
  const size = parseDuration(spec.size, `vertex '${spec.name}' size`, 0);
  const defs = parseAggs(spec);
  const startField = spec.windowStartField ?? 'windowStart';
  const endField = spec.windowEndField ?? 'windowEnd';
  const iso = (spec.timeFormat ?? 'iso') === 'iso';
  const keyField = spec.key;
  /** windowStart → (key → acc) */
  const windows = new Map<number, Map<unknown, Acc>>();
  let ctx: OperatorContext;
  let kgCache: KeyGroupCache;
  let watermark = Number.NEGATIVE_INFINITY;
  let counts: Float64Array;

  const initVals = () =>
    defs.map((d) => (d.kind === 'min' ? Number.POSITIVE_INFINITY : d.kind === 'max' ? Number.NEGATIVE_INFINITY : 0));

  function fire(upTo: number, out: Output): void {
    if (windows.size === 0) return;
    const due = [...windows.keys()].filter((s) => s + size - 1 <= upTo).sort((a, b) => a - b);
    for (const start of due) {
      const byKey = windows.get(start)!;
      windows.delete(start);
      const end = start + size;
      const startOut = iso ? new Date(start).toISOString() : start;
      const endOut = iso ? new Date(end).toISOString() : end;
      const keys = [...byKey.keys()].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
      for (const k of keys) {
        const acc = byKey.get(k)!;
        const r: Rec = { [keyField]: acc.key, [startField]: startOut, [endField]: endOut };
        defs.forEach((d, i) => {
          if (d.kind === 'count') r[d.out] = acc.count;
          else if (d.kind === 'avg') r[d.out] = acc.ns[i]! > 0 ? acc.vals[i]! / acc.ns[i]! : null;
          else if (d.kind === 'sum') r[d.out] = acc.vals[i];
          else r[d.out] = acc.ns[i]! > 0 ? acc.vals[i] : null;
        });
        out.emit(r, end - 1);
      }
    }
  }

  return {
    open(c: OperatorContext, restored: RestoredState | undefined) {
      ctx = c;
      kgCache = new KeyGroupCache(c.maxParallelism);
      counts = new Float64Array(c.maxParallelism);
      c.metrics.keyGroupRecords = counts;
      if (!restored) return;
      for (const [kg, raw] of restored.keyed) {
        for (const [key, start, count, vals, ns] of raw as KgState) {
          let byKey = windows.get(start);
          if (!byKey) windows.set(start, (byKey = new Map()));
          byKey.set(key, { key, kg, count, vals: vals.map((v) => (v === null ? Number.NaN : v)), ns });
        }
      }
    },
    processBatch(values: Rec[], ts: number[], out: Output) {
      void out;
      for (let i = 0; i < values.length; i++) {
        const t = ts[i]!;
        if (t <= watermark) {
          ctx.metrics.lateRecordsDropped++;
          continue;
        }
        const r = values[i]!;
        const key = r[keyField] ?? null;
        const start = t - (((t % size) + size) % size);
        let byKey = windows.get(start);
        if (!byKey) windows.set(start, (byKey = new Map()));
        let acc = byKey.get(key);
        if (!acc) {
          const kg = kgCache.get(key);
          acc = { key, kg, count: 0, vals: initVals(), ns: defs.map(() => 0) };
          byKey.set(key, acc);
        }
        counts[acc.kg]!++;
        acc.count++;
        for (let d = 0; d < defs.length; d++) {
          const def = defs[d]!;
          if (def.kind === 'count') continue;
          const raw = r[def.field!];
          if (raw === null || raw === undefined) continue;
          const v = typeof raw === 'number' ? raw : Number(raw);
          if (!Number.isFinite(v)) continue;
          acc.ns[d]!++;
          if (def.kind === 'sum' || def.kind === 'avg') acc.vals[d]! += v;
          else if (def.kind === 'min') acc.vals[d] = Math.min(acc.vals[d]!, v);
          else acc.vals[d] = Math.max(acc.vals[d]!, v);
        }
      }
    },
    processWatermark(wm: number, out: Output) {
      if (wm <= watermark) return watermark;
      watermark = wm;
      fire(wm, out);
      return wm;
    },
    endInput(out: Output) {
      fire(Number.POSITIVE_INFINITY, out);
    },
    snapshot(): OperatorSnapshot {
      const keyed = new Map<number, KgState>();
      for (const [start, byKey] of windows) {
        for (const acc of byKey.values()) {
          let s = keyed.get(acc.kg);
          if (!s) keyed.set(acc.kg, (s = []));
          s.push([acc.key, start, acc.count, acc.vals.slice(), acc.ns.slice()]);
        }
      }
      return { keyed: keyed as Map<number, unknown>, list: [{ watermark }] };
    },
  };
}
