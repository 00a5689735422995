#!/usr/bin/env node
// Runs every test file under test/ (files ending in .test.ts) with Node's own test runner and tsx.
// Usage: node scripts/run-tests.js [substring ...]  — only files whose path contains a substring.
// Files that need the machine's cores to themselves (a CPU-bound scenario, several processes that
// must keep up) say so with a line `// test-runner: serial`: they run after the others, one at a time.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test').sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.STREAMTUNE_TEST_CONCURRENCY ?? '2';
const serial = files.filter((f) => /^\/\/ test-runner: serial$/m.test(readFileSync(f, 'utf8')));
const parallel = files.filter((f) => !serial.includes(f));
// A test file whose process never exits (a thread or server left running) would hold the run until
// CI kills it; the whole run gets a deadline instead (ms, default 60 min: a fresh 2-core machine runs the suite in about 40).
const deadline = Date.now() + Number(process.env.STREAMTUNE_TEST_DEADLINE_MS ?? 60 * 60_000);
let status = 0;
for (const [group, c] of [[parallel, concurrency], [serial, '1']]) {
  if (group.length === 0) continue;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${c}`, '--test-reporter=spec', ...group], {
    stdio: 'inherit', timeout: Math.max(1, deadline - Date.now()), killSignal: 'SIGKILL',
  });
  if (r.error || r.signal) console.error(`test run stopped: ${r.error?.message ?? r.signal} (deadline STREAMTUNE_TEST_DEADLINE_MS)`);
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
}
process.exit(status);
