/**
 * The small expression language of map and filter vertices: filtrex (safe, compiled to JS
 * functions; `and`, `or`, `not`, comparisons, arithmetic, `x in (a, b)`, string literals in double
 * quotes). Record fields are variables.
 */
import { compileExpression } from 'filtrex';
import { StreamtuneError } from '../../core/index.ts';

/** A compiled expression: record → value. */
export type CompiledExpression = (record: Record<string, unknown>) => unknown;

/** Compiles `expr`; throws INVALID_SPEC naming `field` when it does not parse. */
export function compile(expr: string, field: string): CompiledExpression {
  try {
    const f = compileExpression(expr, {
      customProp: (name: string, get: (n: string) => unknown, obj: Record<string, unknown>) => obj[name] ?? null,
    }) as CompiledExpression;
    return (r) => {
      const v = f(r);
      if (v instanceof Error) throw v;
      return v;
    };
  } catch (err) {
    const shown = expr.length > 80 ? `${expr.slice(0, 80)}…` : expr;
    throw new StreamtuneError('INVALID_SPEC', `${field}: cannot compile expression '${shown}': ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
