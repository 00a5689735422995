/**
 * BENCHMARKS.md's table of all rows: each bench run replaces the rows of the suites it ran.
 */
/** Markers of BENCHMARKS.md's table of all rows, the only part this rewrites. */
const ROWS_START = '<!-- rows:start -->';
const ROWS_END = '<!-- rows:end -->';
/** The header of the table of all rows (the *run* column: the date its suite last ran). */
export const TABLE_HEAD = '| suite | measurement | value | unit | target | run |\n|---|---|---:|---|---|---|';

/**
 * BENCHMARKS.md with the rows of the suites just run replacing that suite's rows between
 * {@link ROWS_START} and {@link ROWS_END} (other suites' rows, and everything outside the markers,
 * kept as they are; suites in alphabetical order). Without the markers, the table is appended.
 * `machine` goes into the comment line under the table (the last run's machine).
 */
export function mergeRows(markdown: string, fresh: ReadonlyArray<{ suite: string; line: string }>, machine: string): string {
  const a = markdown.indexOf(ROWS_START);
  const b = markdown.indexOf(ROWS_END);
  const inside = a >= 0 && b > a ? markdown.slice(a + ROWS_START.length, b) : '';
  const suiteOf = (l: string) => l.split('|')[1]?.trim() ?? '';
  const ran = new Set(fresh.map((r) => r.suite));
  const kept = inside.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| suite |') && !ran.has(suiteOf(l)));
  const all = [...kept.map((line) => ({ suite: suiteOf(line), line })), ...fresh];
  // stable: within a suite, rows stay in the order they were written
  const order = [...new Set(all.map((r) => r.suite))].sort();
  const lines = order.flatMap((s) => all.filter((r) => r.suite === s).map((r) => r.line));
  const block = `${ROWS_START}\n${TABLE_HEAD}\n${lines.join('\n')}\n<!-- last run on ${machine} -->\n${ROWS_END}`;
  if (a >= 0 && b > a) return `${markdown.slice(0, a)}${block}${markdown.slice(b + ROWS_END.length)}`;
  return `${markdown.trimEnd()}\n\n${block}\n`;
}
