/**
 * Keyed tumbling event-time window aggregation (Flink's `keyBy(...).window(TumblingEventTimeWindows)
 * .aggregate(...)`): windows [start, start + size) aligned to the epoch, fired when the watermark
 * reaches `end - 1` (Flink's `window.maxTimestamp()`), late records (at or before the watermark)
 * dropped and counted. State is keyed: each key's open windows live in the key group of the key,
 * so a restore with another parallelism moves whole key groups. The state is columnar
 * (`window-state.ts`): typed arrays per window, no object per key.
 */
import { parseDuration, type WindowAggregateSpec } from '../spec.ts';
import { compileObjectBuilder } from './codegen.ts';
import type { Operator, OperatorContext, OperatorSnapshot, Output, Rec, RestoredState } from './types.ts';
import { WindowSlots, keyGroupOfHash, keyHash, restoreKeyGroup, restoredSizes, snapshotSlots } from './window-state.ts';

type AggKind = 'count' | 'sum' | 'avg' | 'min' | 'max';
interface AggDef {
  out: string;
  kind: AggKind;
  field: string | undefined;
}

function parseAggs(spec: WindowAggregateSpec): AggDef[] {
  return Object.entries(spec.aggregations).map(([out, e]) => {
    if (e === 'count') return { out, kind: 'count', field: undefined };
    const m = /^(sum|avg|min|max)\(([A-Za-z0-9_]+)\)$/.exec(e)!;
    return { out, kind: m[1] as AggKind, field: m[2] };
  });
}

const SUM = 0;
const MIN = 1;
const MAX = 2;

/** Creates the operator. */
export function createWindowAggregate(spec: WindowAggregateSpec): Operator {
  const size = parseDuration(spec.size, `vertex '${spec.name}' size`, 0);
  const defs = parseAggs(spec);
  const startField = spec.windowStartField ?? 'windowStart';
  const endField = spec.windowEndField ?? 'windowEnd';
  const iso = (spec.timeFormat ?? 'iso') === 'iso';
  const keyField = spec.key;
  // the non-count aggregations own a column each ("valued"); valued[j] = index in defs
  const valued: number[] = [];
  defs.forEach((d, i) => {
    if (d.kind !== 'count') valued.push(i);
  });
  const V = valued.length;
  const vField = valued.map((i) => defs[i]!.field!);
  const vOp = valued.map((i) => (defs[i]!.kind === 'min' ? MIN : defs[i]!.kind === 'max' ? MAX : SUM));
  const init = new Float64Array(valued.map((i) => (defs[i]!.kind === 'min' ? Number.POSITIVE_INFINITY : defs[i]!.kind === 'max' ? Number.NEGATIVE_INFINITY : 0)));
  /** column of each def (−1 for counts) */
  const col = defs.map((_, i) => valued.indexOf(i));

  /** the output record of one slot as a generated object literal (undefined: names clash, generic loop) */
  const build = compileObjectBuilder<(k: unknown, ws: unknown, we: unknown, c: Float64Array, v: Float64Array, n: Float64Array, s: number) => Rec>({}, ['k', 'ws', 'we', 'c', 'v', 'n', 's'], [
    [keyField, 'k'],
    [startField, 'ws'],
    [endField, 'we'],
    ...defs.map((d, i): [string, string] => {
      if (d.kind === 'count') return [d.out, 'c[s]'];
      const at = `s * ${V} + ${col[i]!}`;
      if (d.kind === 'avg') return [d.out, `(n[${at}] > 0 ? v[${at}] / n[${at}] : null)`];
      if (d.kind === 'sum') return [d.out, `v[${at}]`];
      return [d.out, `(n[${at}] > 0 ? v[${at}] : null)`];
    }),
  ]);
  /** windowStart → slots */
  const windows = new Map<number, WindowSlots>();
  let ctx: OperatorContext;
  let maxP = 128;
  let watermark = Number.NEGATIVE_INFINITY;
  let counts: Float64Array;
  let lastStart = Number.NaN;
  let lastWin: WindowSlots | undefined;

  /** keys of the last window created: the next one likely holds about as many (fewer regrowths) */
  let sizeHint = 16;
  const windowFor = (start: number): WindowSlots => {
    let w = windows.get(start);
    if (!w) {
      if (lastWin) sizeHint = Math.max(16, Math.min(1 << 16, lastWin.size));
      windows.set(start, (w = new WindowSlots(start, V, init, sizeHint)));
    }
    return w;
  };

  function fire(upTo: number, out: Output): void {
    if (windows.size === 0) return;
    const due = [...windows.keys()].filter((s) => s + size - 1 <= upTo).sort((a, b) => a - b);
    for (const start of due) {
      const w = windows.get(start)!;
      windows.delete(start);
      if (w === lastWin) {
        lastWin = undefined;
        lastStart = Number.NaN;
      }
      const end = start + size;
      const startOut = iso ? new Date(start).toISOString() : start;
      const endOut = iso ? new Date(end).toISOString() : end;
      const keys = w.keys;
      const order = Array.from({ length: w.size }, (_, i) => i);
      const str = keys.map((k) => String(k));
      order.sort((a, b) => (str[a]! < str[b]! ? -1 : str[a]! > str[b]! ? 1 : 0));
      if (build) {
        for (const s of order) out.emit(build(keys[s], startOut, endOut, w.counts, w.vals, w.ns, s), end - 1);
        continue;
      }
      for (const s of order) {
        const r: Rec = { [keyField]: keys[s], [startField]: startOut, [endField]: endOut };
        for (let i = 0; i < defs.length; i++) {
          const d = defs[i]!;
          if (d.kind === 'count') {
            r[d.out] = w.counts[s];
            continue;
          }
          const j = col[i]!;
          const n = w.ns[s * V + j]!;
          const v = w.vals[s * V + j]!;
          if (d.kind === 'avg') r[d.out] = n > 0 ? v / n : null;
          else if (d.kind === 'sum') r[d.out] = v;
          else r[d.out] = n > 0 ? v : null;
        }
        out.emit(r, end - 1);
      }
    }
  }

  return {
    open(c: OperatorContext, restored: RestoredState | undefined) {
      ctx = c;
      maxP = c.maxParallelism;
      counts = new Float64Array(c.maxParallelism);
      c.metrics.keyGroupRecords = counts;
      if (!restored) return;
      // size each window once for all its restored keys (no rehash while growing)
      const sizes = new Map<number, number>();
      for (const raw of restored.keyed.values()) for (const [start, n] of restoredSizes(raw)) sizes.set(start, (sizes.get(start) ?? 0) + n);
      for (const [start, n] of sizes) windows.set(start, new WindowSlots(start, V, init, n));
      for (const [kg, raw] of restored.keyed) restoreKeyGroup(raw, kg, V, valued, windowFor);
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
        let w = lastWin;
        if (start !== lastStart || w === undefined) {
          w = windowFor(start);
          lastWin = w;
          lastStart = start;
        }
        const h = keyHash(key);
        let s = w.find(key, h);
        if (s < 0) s = w.insert(key, h, keyGroupOfHash(h, maxP));
        counts[w.kgs[s]!]!++;
        w.counts[s]!++;
        for (let j = 0; j < V; j++) {
          const raw = r[vField[j]!];
          if (raw === null || raw === undefined) continue;
          const v = typeof raw === 'number' ? raw : Number(raw);
          if (!Number.isFinite(v)) continue;
          const at = s * V + j;
          w.ns[at]!++;
          const op = vOp[j];
          if (op === SUM) w.vals[at]! += v;
          else if (op === MIN) {
            if (v < w.vals[at]!) w.vals[at] = v;
          } else if (v > w.vals[at]!) w.vals[at] = v;
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
      return { keyed: snapshotSlots(windows.values(), V) as Map<number, unknown>, list: [{ watermark }] };
    },
    close() {
      // the state lives on in the checkpoint; release it so a restored attempt does not pay for it
      windows.clear();
      lastWin = undefined;
      lastStart = Number.NaN;
    },
  };
}
