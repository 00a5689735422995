/** Stateless operators: map and filter (expressions or TypeScript functions). */
import type { MapSpec, FilterSpec } from '../spec.ts';
import { compile } from './expression.ts';
import type { Operator, Output, Rec } from './types.ts';
import { compileObjectBuilder } from './codegen.ts';

/** Map: computes the fields of `set` (or runs `fn`) and keeps only `fields` when given. */
export function createMap(spec: MapSpec): Operator {
  const setters = Object.entries(spec.set ?? {}).map(([k, e]) => [k, compile(e, `vertex '${spec.name}' set.${k}`)] as const);
  const keep = spec.fields;
  const fn = spec.fn;
  // one new object per record: computed fields first (each sees the input record), then a copy
  // with them set — or, with `fields`, a generated literal of just the kept fields
  const fs = setters.map(([, f]) => f);
  const names = setters.map(([k]) => k);
  const computedAt = new Map(names.map((k, i) => [k, i]));
  const buildKept = keep
    ? compileObjectBuilder<(r: Rec, v: unknown[]) => Rec>({}, ['r', 'v'], keep.map((k) => [k, computedAt.has(k) ? `v[${computedAt.get(k)!}]` : `r[${JSON.stringify(k)}]`]))
    : undefined;
  const vals: unknown[] = new Array(setters.length);
  const fast = (r: Rec): Rec => {
    for (let j = 0; j < fs.length; j++) vals[j] = fs[j]!(r);
    if (buildKept) return buildKept(r, vals);
    const o: Rec = { ...r };
    for (let j = 0; j < names.length; j++) o[names[j]!] = vals[j];
    return o;
  };
  return {
    processBatch(values: Rec[], ts: number[], out: Output) {
      if (!keep || buildKept) {
        for (let i = 0; i < values.length; i++) {
          const r = fn ? fn(values[i]!) : values[i]!;
          out.emit(setters.length > 0 || buildKept ? fast(r) : r, ts[i]!);
        }
        return;
      }
      for (let i = 0; i < values.length; i++) {
        let r = values[i]!;
        if (fn) r = fn(r);
        if (setters.length > 0) {
          const computed: Rec = {};
          for (const [k, f] of setters) computed[k] = f(r);
          r = { ...r, ...computed };
        }
        if (keep) {
          const o: Rec = {};
          for (const k of keep) o[k] = r[k];
          r = o;
        }
        out.emit(r, ts[i]!);
      }
    },
  };
}

/** Filter: keeps records for which the condition (or `fn`) is truthy. */
export function createFilter(spec: FilterSpec): Operator {
  const cond = spec.fn ?? (spec.condition ? compile(spec.condition, `vertex '${spec.name}' condition`) : () => true);
  return {
    processBatch(values: Rec[], ts: number[], out: Output) {
      for (let i = 0; i < values.length; i++) if (cond(values[i]!)) out.emit(values[i]!, ts[i]!);
    },
  };
}
