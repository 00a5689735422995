/**
 * Issue 18, bad input (short version): at least 1,000 malformed InfluxDB line protocol texts and
 * 1,000 damaged savepoint files (truncated, bit-flipped, other format versions, re-checksummed
 * changes), made by fast-check (test/helpers/bad-input/). Line protocol: every bad line is reported
 * with the file and its line, the good ones kept, nothing thrown; `streamtune diagnose --metrics` on a
 * file of good and bad lines warns with FILE: line N and no stack trace. Savepoints: `readCheckpoint`
 * and a restore through `LocalJob` refuse with SAVEPOINT_CORRUPT / SAVEPOINT_MISSING /
 * INVALID_ARGUMENT naming the savepoint, and the job's committed output, retained checkpoints and
 * savepoints stay byte for byte as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeReport, runKind } from './helpers/bad-input/run.ts';
import { STACK_FRAME } from './helpers/bad-input/clear.ts';
import { tempDir } from './helpers/wait.ts';

for (const [kind, numRuns] of [['line-protocol', 1600], ['savepoint-file', 1250]] as const) {
  test(`${kind}: ${numRuns} inputs, at least 1,000 malformed, each refused clearly or valid after all`, { timeout: 900_000 }, async () => {
    const r = await runKind(kind, { numRuns });
    const report = describeReport(r);
    assert.equal(r.hung, undefined, report);
    assert.equal(r.unclear, 0, report);
    assert.equal(r.tried, numRuns, report);
    assert.ok(r.rejected >= 1000, `fewer than 1,000 malformed inputs: ${report}`);
  });
}

test('streamtune diagnose --metrics on a file of good and malformed lines: warnings name the file and line, no stack trace', { timeout: 120_000 }, () => {
  const dir = tempDir('bad-lp-cli-');
  const good = readFileSync(new URL('./fixtures/flink/influxdb-reporter-sample.lp', import.meta.url), 'utf8').trim().split('\n');
  const bad = ['m', 'm,t= f=1', 'm f=', 'm f="open', 'm f=1 12x', 'm f=99999999999999999999i', '\u0000\u0001', 'm f=1e999', ',x f=1', `m f=1 ${'9'.repeat(5000)}`];
  const lines = good.flatMap((l, i) => [l, bad[i % bad.length]!]);
  const file = join(dir, 'incident.lp');
  writeFileSync(file, lines.join('\n'));
  const job = /job_id=([0-9a-f]{32})/.exec(good[0]!)![1]!;
  const r = spawnSync(process.execPath, ['bin/streamtune.js', 'diagnose', '--metrics', file, '--job', job], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, STACK_FRAME, r.stderr);
  assert.doesNotMatch(r.stdout, STACK_FRAME);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  assert.ok(warnings.length >= Math.min(20, bad.length), r.stderr);
  for (const w of warnings) assert.match(w, new RegExp(`^warning: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(: line \\d+: |: \\d+ more bad lines)`), w);
  assert.ok(warnings.every((w) => w.length < 400), 'a warning echoes a whole line');
  assert.equal(JSON.parse(r.stdout).job_id, job);

  const garbage = join(dir, 'garbage.lp');
  writeFileSync(garbage, bad.join('\n'));
  const g = spawnSync(process.execPath, ['bin/streamtune.js', 'diagnose', '--metrics', garbage, '--job', job], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(g.status, 2, g.stderr);
  assert.doesNotMatch(g.stderr, STACK_FRAME);
  assert.match(g.stderr, new RegExp(`error: .*garbage\\.lp has no points with job_id=${job}`));
});
