/** Stateless operators: map and filter (expressions or TypeScript functions). */
import type { MapSpec, FilterSpec } from '../spec.ts';
import { compile } from './expression.ts';
import type { Operator, Output, Rec } from './types.ts';

/** Map: computes the fields of `set` (or runs `fn`) and keeps only `fields` when given. */
export function createMap(spec: MapSpec): Operator {
  const setters = Object.entries(spec.set ?? {}).map(([k, e]) => [k, compile(e, `vertex '${spec.name}' set.${k}`)] as const);
  const keep = spec.fields;
  const fn = spec.fn;
  return {
    processBatch(values: Rec[], ts: number[], out: Output) {
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
