// test-runner: serial
/**
 * SIGTERM to the process the README starts (`npm start`, `npx streamtune run`), as systemd, a
 * container runtime or a CI runner sends it: to that one PID only. npm passes it to its `sh -c`, the
 * shell dies without passing it on, and the node process is orphaned; cli/parent-watch.ts makes it
 * notice and stop as on SIGTERM (jobs stopped with a savepoint, port freed, exit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './helpers/wait.ts';
import { REPO_ROOT } from '../platform/local/cache.ts';
import { watchParent, exitWithParentWanted } from '../cli/parent-watch.ts';

/** PID → parent PID and state of every process, from /proc (Linux). */
function processTable(): Map<number, { ppid: number; state: string; cmd: string }> {
  const out = new Map<number, { ppid: number; state: string; cmd: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      out.set(Number(name), { state: rest[0]!, ppid: Number(rest[1]), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `root` and all its descendants now, with their command lines. */
function tree(root: number): Array<{ pid: number; cmd: string }> {
  const table = processTable();
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, p] of table) if (p.ppid === pids[i]) pids.push(pid);
  return pids.filter((p) => table.has(p)).map((pid) => ({ pid, cmd: table.get(pid)!.cmd }));
}

/** Whether a PID still runs (a zombie nobody reaps counts as gone: PID 1 here may not reap). */
function running(pid: number): boolean {
  const p = processTable().get(pid);
  return p !== undefined && p.state !== 'Z';
}

function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string } {
  let out = '';
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { child, out: () => out };
}

/** Kills whatever is left of a process group (a failed test must not leave servers behind). */
function killGroup(pgid: number | undefined): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

test('watchParent fires once when the parent PID changes; exitWithParentWanted follows npm and the override', async () => {
  let ppid = 4242;
  let fired = 0;
  const stop = watchParent(() => fired++, { intervalMs: 10, ppid: () => ppid });
  ppid = 1;
  await waitFor(() => fired === 1, { what: 'the watch to fire' });
  stop();
  assert.equal(fired, 1);
  assert.equal(exitWithParentWanted({ npm_lifecycle_event: 'start' }), true);
  assert.equal(exitWithParentWanted({ npm_command: 'exec' }), true);
  assert.equal(exitWithParentWanted({}), false);
  assert.equal(exitWithParentWanted({ npm_lifecycle_event: 'start', STREAMTUNE_EXIT_WITH_PARENT: '0' }), false);
  assert.equal(exitWithParentWanted({ STREAMTUNE_EXIT_WITH_PARENT: 'true' }), true);
});

test('SIGTERM to `npm start` only: the orphaned server stops its job with a savepoint, frees the port, exits; --keep resumes from it', { timeout: 240_000 }, async (t) => {
  const dir = tempDir();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, STREAMTUNE_DATA_DIR: dir, STREAMTUNE_PORT: String(port) };
  delete env.STREAMTUNE_EXIT_WITH_PARENT;
  const npm = start('npm', ['start'], env);
  let resumed: ReturnType<typeof start> | undefined;
  try {
    await waitFor(() => /streamtune: job flight-delays-demo RUNNING/.test(npm.out()), { timeoutMs: 120_000, intervalMs: 200, what: `the demo job running:\n${npm.out()}` });
    const procs = tree(npm.child.pid!);
    t.diagnostic(`process tree: ${procs.map((p) => `${p.pid} ${p.cmd}`).join(' | ')}`);
    const server = procs.find((p) => /streamtune\.js demo/.test(p.cmd) && p.cmd.startsWith('node'));
    assert.ok(server, `a node process under npm: ${JSON.stringify(procs)}`);
    assert.equal(await portRefused(port), false, 'the server listens');

    process.kill(npm.child.pid!, 'SIGTERM'); // that one process, as systemd's KillMode=mixed or `docker stop` do
    await waitFor(() => procs.every((p) => !running(p.pid)), { timeoutMs: 120_000, intervalMs: 200, what: `every process of the tree to exit:\n${npm.out()}` });
    assert.equal(await portRefused(port), true, 'the port is free');
    assert.match(npm.out(), /parent process exited/);
    assert.match(npm.out(), /streamtune: closed/);
    const jobsDir = join(dir, 'demo', 'jobs');
    const [jobId] = readdirSync(jobsDir);
    const savepoints = readdirSync(join(jobsDir, jobId!, 'savepoints'));
    assert.equal(savepoints.length, 1, 'one savepoint written at the stop');
    assert.ok(existsSync(join(jobsDir, jobId!, 'savepoints', savepoints[0]!, '_metadata')));

    // the next start with --keep resumes the job from that savepoint
    resumed = start(process.execPath, ['bin/streamtune.js', 'demo', '--keep'], env);
    const line = await waitFor(() => resumed!.out().split('\n').find((l) => l.includes('started again')), { timeoutMs: 120_000, intervalMs: 200, what: `the job started again:\n${resumed.out()}` });
    assert.equal((JSON.parse(line) as { restored_from: string }).restored_from, join(jobsDir, jobId!, 'savepoints', savepoints[0]!));
    const exited = new Promise((r) => resumed!.child.once('exit', r));
    resumed.child.kill('SIGTERM');
    await exited;
  } finally {
    killGroup(npm.child.pid);
    killGroup(resumed?.child.pid);
  }
});

test('SIGTERM to `npx streamtune run` only: the job stops with a savepoint, which a later run restores', { timeout: 240_000 }, async (t) => {
  const dir = tempDir();
  const spec = join(dir, 'job.yaml');
  writeFileSync(spec, [
    'name: parent-death',
    `checkpoints: { interval: 1s, dir: ${JSON.stringify(join(dir, 'ck'))} }`,
    'vertices:',
    '  - { name: "Source: events", type: generator-source, rate: 200, keys: 10, splits: 1 }',
    '  - { name: out, type: discard-sink }',
    'edges:',
    '  - { from: "Source: events", to: out }',
    '',
  ].join('\n'));
  const env: NodeJS.ProcessEnv = { ...process.env, STREAMTUNE_LOG_LEVEL: 'info' };
  delete env.STREAMTUNE_EXIT_WITH_PARENT;
  const npx = start('npx', ['streamtune', 'run', spec, '-q', '--savepoint-dir', join(dir, 'sp')], env);
  try {
    await waitFor(() => /job parent-death running/.test(npx.out()), { timeoutMs: 120_000, intervalMs: 200, what: `the job running:\n${npx.out()}` });
    const procs = tree(npx.child.pid!);
    t.diagnostic(`process tree: ${procs.map((p) => `${p.pid} ${p.cmd}`).join(' | ')}`);
    assert.ok(procs.some((p) => /streamtune run/.test(p.cmd) && p.cmd.startsWith('node')), JSON.stringify(procs));
    process.kill(npx.child.pid!, 'SIGTERM');
    await waitFor(() => procs.every((p) => !running(p.pid)), { timeoutMs: 120_000, intervalMs: 200, what: `every process of the tree to exit:\n${npx.out()}` });
    const path = /^savepoint: (.+)$/m.exec(npx.out())?.[1];
    assert.ok(path && existsSync(join(path, '_metadata')), npx.out());

    const again = start(process.execPath, ['bin/streamtune.js', 'run', spec, '-q', '--from-savepoint', path], env);
    try {
      const line = await waitFor(() => again.out().split('\n').find((l) => l.includes('job parent-death running')), { timeoutMs: 60_000, intervalMs: 200, what: `the restored run:\n${again.out()}` });
      assert.equal((JSON.parse(line) as { restored_from: string }).restored_from, path);
      const exited = new Promise<number | null>((r) => again.child.once('exit', (c) => r(c)));
      again.child.kill('SIGTERM');
      assert.equal(await exited, 0, again.out());
    } finally {
      killGroup(again.child.pid);
    }
  } finally {
    killGroup(npx.child.pid);
  }
});
