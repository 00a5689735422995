/**
 * Small generated functions for the per-record hot paths (record construction and field copies).
 * A loop like `o[names[c]] = v` makes V8 see many property names at one store site (a megamorphic
 * keyed store, and objects that grow one property at a time); a generated object literal with the
 * names written out builds each record in one allocation with one hidden class, which is also the
 * fast path of `JSON.stringify`. Flink generates code for the same reason (its Table runtime).
 *
 * Names are embedded as JSON string literals, so any field name is safe; `__proto__` (which would set
 * the prototype in an object literal) makes the generators return undefined and callers fall back to
 * their generic loop.
 */

/** A property name as a quoted JS literal, or undefined for `__proto__`. */
export function propLiteral(name: string): string | undefined {
  return name === '__proto__' ? undefined : JSON.stringify(name);
}

/**
 * Generates `function (params...) { return { name0: expr0, name1: expr1, ... }; }`, where each
 * expression is JS source over `params` and the names of `bound` (values the function closes over,
 * e.g. column arrays). Returns undefined when a name cannot be a literal key or names repeat.
 */
export function compileObjectBuilder<F extends (...args: never[]) => Record<string, unknown>>(
  bound: Record<string, unknown>,
  params: string[],
  fields: Array<[name: string, expr: string]>,
): F | undefined {
  if (new Set(fields.map(([n]) => n)).size !== fields.length) return undefined;
  const props: string[] = [];
  for (const [name, expr] of fields) {
    const lit = propLiteral(name);
    if (lit === undefined) return undefined;
    props.push(`${lit}: ${expr}`);
  }
  const names = Object.keys(bound);
  const factory = new Function(...names, `return function (${params.join(', ')}) { return { ${props.join(', ')} }; };`) as (...v: unknown[]) => F;
  return factory(...names.map((n) => bound[n]));
}

/**
 * Generates `function (r, row) { r.to0 = row === undefined ? null : (row.from0 ?? null); ... }`: copies
 * fields of a looked-up row into a record (the lookup join). Undefined when a name cannot be a literal.
 */
export function compileFieldCopy(pairs: Array<[to: string, from: string]>): ((r: Record<string, unknown>, row: Record<string, unknown> | undefined) => void) | undefined {
  const lines: string[] = [];
  for (const [to, from] of pairs) {
    const t = propLiteral(to);
    const f = propLiteral(from);
    if (t === undefined || f === undefined) return undefined;
    lines.push(`r[${t}] = row === undefined ? null : (row[${f}] ?? null);`);
  }
  return new Function('r', 'row', lines.join('\n')) as (r: Record<string, unknown>, row: Record<string, unknown> | undefined) => void;
}
