/** In-memory collect sink (tests) and discard sink (benchmarks). */
import type { Operator, OperatorContext, Output, Rec } from '../operators/types.ts';

/** Appends every record to the job's `collected` list (at-least-once across restarts). */
export function createCollectSink(): Operator {
  let out: Rec[] = [];
  return {
    open(ctx: OperatorContext) {
      out = ctx.collected;
    },
    processBatch(values: Rec[], ts: number[], o: Output) {
      void ts;
      void o;
      for (const v of values) out.push(v);
    },
  };
}

/** Drops every record. */
export function createDiscardSink(): Operator {
  return { processBatch() {} };
}
