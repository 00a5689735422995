/**
 * Bad input to `streamtune run` ends with a clear message naming the problem and a non-zero exit,
 * and nothing already written (checkpoints, committed output) is damaged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/wait.ts';
import { encodeCheckpoint } from '../runtime/checkpoint/storage.ts';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/streamtune.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('invalid job spec: file, line and field named; exit non-zero', () => {
  const dir = tempDir();
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, ['name: bad', 'vertices:', '  - name: src', '    type: generator-source', '    parallelism: 0', '  - name: out', '    type: discard-sink', 'edges:', '  - { from: src, to: nowhere }', ''].join('\n'));
  const r = cli('run', f);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.yaml:5: vertices\[0\]\.parallelism: must be >= 1/);
  const r2 = cli('run', join(dir, 'missing.yaml'));
  assert.equal(r2.code, 2);
  assert.match(r2.err, /cannot read job spec .*missing\.yaml/);
  writeFileSync(f, ['name: bad', 'vertices:', '  - name: src', '    type: generator-source', 'edges:', '  - { from: src, to: out }', '  - [broken', ''].join('\n'));
  const r3 = cli('run', f);
  assert.equal(r3.code, 2);
  assert.match(r3.err, /bad\.yaml:\d+:/);
});

test('unknown vertex or parallelism above max parallelism in --parallelism', () => {
  const r = cli('run', 'jobs/flight-delays.yaml', '--parallelism', 'nosuch=2');
  assert.equal(r.code, 2);
  assert.match(r.err, /has no vertex 'nosuch'/);
  const r2 = cli('run', 'jobs/flight-delays.yaml', '--parallelism', 'delay-by-origin=129');
  assert.equal(r2.code, 2);
  assert.match(r2.err, /parallelism 129 of vertex 'delay-by-origin' is above the job's max parallelism 128/);
  const r3 = cli('run', 'jobs/flight-delays.yaml', '--parallelism', 'delay-by-origin');
  assert.notEqual(r3.code, 0);
  assert.match(r3.err, /expected VERTEX=N/);
});

test('missing or corrupt savepoint: clear message, and committed output and checkpoints untouched', () => {
  const out = tempDir();
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'part-old-0-0.jsonl'), '{"origin":"SFO","count":1}\n');
  const r = cli('run', 'jobs/flight-delays.yaml', '--output', out, '--from-savepoint', join(out, 'no-such-savepoint'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no savepoint or checkpoint at .*no-such-savepoint/);

  const sp = join(tempDir(), 'savepoint-x');
  mkdirSync(sp);
  const good = encodeCheckpoint({ jobName: 'flight-delays', jobId: 'x', checkpointId: 1, timestamp: 0, savepoint: true, maxParallelism: 128, vertices: {} });
  writeFileSync(join(sp, '_metadata'), good.subarray(0, good.length - 3));
  const backup = join(tempDir(), 'backup');
  cpSync(sp, backup, { recursive: true });
  const r2 = cli('run', 'jobs/flight-delays.yaml', '--output', out, '--from-savepoint', sp);
  assert.equal(r2.code, 2);
  assert.match(r2.err, /is corrupt: checksum mismatch/);
  assert.deepEqual(readdirSync(out), ['part-old-0-0.jsonl']);
  assert.equal(readFileSync(join(out, 'part-old-0-0.jsonl'), 'utf8'), '{"origin":"SFO","count":1}\n');
  assert.deepEqual(readFileSync(join(sp, '_metadata')), readFileSync(join(backup, '_metadata')));
});

test('--help on every command', () => {
  for (const args of [['--help'], ['run', '--help'], ['demo', '--help']]) {
    const r = cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    assert.match(r.out, /Usage: streamtune/);
  }
});
