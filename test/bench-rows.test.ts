/**
 * `npm run bench [-- NAME ...]` replaces only the rows of the suites it ran in BENCHMARKS.md's
 * table of all rows; everything else in the file (hand-written sections, other suites) is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRows, TABLE_HEAD } from '../bench/_rows.ts';

const doc = [
  '# Benchmarks', '', 'intro', '', '<!-- rows:start -->', TABLE_HEAD,
  '| api | p99 | 18.00 | ms | < 50 ms | 2026-12-07 |',
  '| runtime | flights p1 | 946,105 | records/s |  | 2026-11-22 |',
  '| runtime | flights p2 | 898,550 | records/s |  | 2026-11-22 |',
  '<!-- rows:end -->', '', '## A hand-written section', '', 'kept as it is', '',
].join('\n');

test('the rows of a suite that ran replace its rows; other suites and the text around the table are kept', () => {
  const out = mergeRows(doc, [{ suite: 'runtime', line: '| runtime | cpu p2/p1 | 1.80 | ratio | >= 1.7 | 2026-12-08 |' }, { suite: 'burrow', line: '| burrow | agree | 100 | % |  | 2026-12-08 |' }], 'test machine');
  assert.ok(out.startsWith('# Benchmarks\n\nintro\n\n<!-- rows:start -->'));
  assert.ok(out.endsWith('<!-- rows:end -->\n\n## A hand-written section\n\nkept as it is\n'));
  const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| suite'));
  assert.deepEqual(rows.map((l) => l.split('|')[2]!.trim()), ['p99', 'agree', 'cpu p2/p1']);
  assert.match(out, /<!-- last run on test machine -->/);
  // running it again with the same rows changes nothing
  assert.equal(mergeRows(out, [{ suite: 'runtime', line: '| runtime | cpu p2/p1 | 1.80 | ratio | >= 1.7 | 2026-12-08 |' }, { suite: 'burrow', line: '| burrow | agree | 100 | % |  | 2026-12-08 |' }], 'test machine'), out);
});

test('without the markers the table is appended, the file otherwise unchanged', () => {
  const out = mergeRows('# Benchmarks\n\ntext\n', [{ suite: 'store', line: '| store | write | 1.00 | points/s |  | 2026-12-08 |' }], 'm');
  assert.ok(out.startsWith('# Benchmarks\n\ntext\n\n<!-- rows:start -->\n| suite |'));
  assert.match(out, /\| store \| write \|/);
});
