/**
 * How the operation runner ends an operation by what verification found (issue 16): an operation
 * that could not be verified (no lag after the restart, the store unreadable) ends UNVERIFIED — in
 * force, needing a look — never SUCCEEDED; a change after which the lag grows faster than before is
 * rolled back by default (`onWorse: 'rollback'`), and only marked INEFFECTIVE with `onWorse: 'mark'`.
 * The runner runs on a small in-memory executor and a store stub that serves crafted series, under a
 * virtual clock (sleeps advance it), so every case takes milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series, SeriesQuery, MetricStore } from '../collector/index.ts';
import { silentLogger } from '../core/logger.ts';
import type { JobExecutor, JobTopology, ManagedJob, StartRequest } from '../platform/index.ts';
import { openJournal } from '../tuner/journal.ts';
import { OperationRunner } from '../tuner/operation.ts';
import { blockedActions, resolvePolicy } from '../tuner/policy.ts';
import type { Operation, TuningPolicy } from '../tuner/types.ts';
import { tempDir } from './helpers/wait.ts';

const JOB = 'job-1';
const T0 = 1_700_000_000_000;

/** A job src → enrich on an executor that restarts instantly; `parallelism` is what it runs with. */
function fakeExecutor(emptyDescribes = 0): JobExecutor & { parallelism: Record<string, number>; starts: StartRequest[] } {
  const parallelism: Record<string, number> = { src: 1, enrich: 1 };
  let empty = emptyDescribes;
  const starts: StartRequest[] = [];
  let n = 0;
  return {
    kind: 'flink',
    parallelism,
    starts,
    async describe(): Promise<JobTopology> {
      // a job just submitted to Flink is found before its graph is known
      if (empty > 0) {
        empty--;
        return { jobId: JOB, name: 'j', state: 'INITIALIZING', maxParallelism: 128, vertices: [] };
      }
      return {
        jobId: JOB, name: 'j', state: 'RUNNING', maxParallelism: 128,
        vertices: [
          { id: 'src', name: 'src', parallelism: parallelism.src!, maxParallelism: 128, inputs: [] },
          { id: 'enrich', name: 'enrich', parallelism: parallelism.enrich!, maxParallelism: 128, inputs: ['src'] },
        ],
      };
    },
    async triggerSavepoint() { return { savepointPath: `file:///sp/${++n}` }; },
    async stopWithSavepoint() { return { savepointPath: `file:///sp/${++n}` }; },
    async start(req) {
      starts.push(req);
      Object.assign(parallelism, req.parallelism ?? {});
      return { jobId: JOB };
    },
    async waitUntilRunning() {},
    async cancel() {},
    supports: () => ({ ok: true }),
  };
}

/**
 * A store serving the sources' throughput (1,000 records/s) and the group's lag: growing
 * `before` records/s until `switchAt`, `after` records/s from then on (undefined: no lag points).
 */
function stubStore(clock: { t: number }, lag: { before: number; after: number | undefined; switchAt: () => number }, fail = false): MetricStore {
  const points = (q: SeriesQuery, f: (t: number) => number | undefined): Series[] => {
    const pts = [];
    for (let t = Math.ceil(q.start / 5000) * 5000; t <= Math.min(q.end, clock.t); t += 5000) {
      const v = f(t);
      if (v !== undefined) pts.push({ t, v });
    }
    return pts.length > 0 ? [{ tags: {}, points: pts }] : [];
  };
  return {
    async write() {},
    async writeLogs() {},
    async query(q) {
      if (fail) throw Object.assign(new Error('InfluxDB is down'), { code: 'STORE_UNAVAILABLE' });
      if (q.measurement === 'taskmanager_job_task_numRecordsOutPerSecond') return q.field === 'rate' ? points(q, () => 1000) : [];
      const s = lag.switchAt();
      return points(q, (t) => (t < s ? 10_000 + (lag.before * (t - T0)) / 1000 : lag.after === undefined ? undefined : 10_000 + (lag.before * (s - T0)) / 1000 + (lag.after * (t - s)) / 1000));
    },
    async tagValues() { return []; },
    async queryLogs() { return []; },
    async close() {},
  } as MetricStore;
}

async function runOne(opts: { policy?: Partial<TuningPolicy>; lagAfter: number | undefined; lagBefore?: number; storeFails?: boolean; action?: { from: number; to: number }; actions?: Operation['actions']; recoverFrom?: Operation['state']; emptyDescribes?: number }): Promise<{ op: Operation; ex: ReturnType<typeof fakeExecutor> }> {
  const dataDir = tempDir('streamtune-verify-outcomes-');
  const journal = await openJournal({ dataDir });
  const clock = { t: T0 + 120_000 };
  const ex = fakeExecutor(opts.emptyDescribes);
  const job: ManagedJob = {
    job_id: JOB, name: 'j', executor: 'flink', state: 'RUNNING', consumerGroup: 'g', topics: ['t'],
    topology: [
      { id: 'src', name: 'src', parallelism: 1, maxParallelism: 128, inputs: [] },
      { id: 'enrich', name: 'enrich', parallelism: 1, maxParallelism: 128, inputs: ['src'] },
    ],
  };
  let restartAt = Number.POSITIVE_INFINITY;
  const store = stubStore(clock, { before: opts.lagBefore ?? 100, after: opts.lagAfter, switchAt: () => restartAt }, opts.storeFails);
  const policy = resolvePolicy({ verifyAfterMs: 60_000, ...(opts.policy ?? {}) });
  const runner = new OperationRunner({
    executorFor: () => ex,
    journal,
    store,
    job: () => job,
    policy: () => policy,
    logger: silentLogger,
    now: () => clock.t,
    timeouts: { savepointMs: 10_000, runningMs: 10_000, firstRecordMs: 1_000 },
    sleep: async (ms) => {
      clock.t += ms;
      return true;
    },
    onSave: (o) => {
      if (o.steps.some((s) => s.name === 'wait-running' && s.status === 'succeeded') && restartAt === Number.POSITIVE_INFINITY) restartAt = clock.t;
    },
  });
  const { from, to } = opts.action ?? { from: 1, to: 2 };
  const op: Operation = {
    id: 'op-1', job_id: JOB, job_name: 'j', origin: 'user',
    actions: opts.actions ?? [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from, to }],
    previous: { parallelism: { src: 1, enrich: from } },
    state: 'PENDING', steps: [], createdAt: clock.t, updatedAt: clock.t,
  };
  ex.parallelism.enrich = from;
  if (opts.recoverFrom) op.state = opts.recoverFrom;
  const done = opts.recoverFrom ? await runner.recover(op) : await runner.run(op);
  await journal.close();
  return { op: done, ex };
}

test('no lag points after the restart: UNVERIFIED (in force, needs attention), never SUCCEEDED', async () => {
  const { op, ex } = await runOne({ lagAfter: undefined });
  assert.equal(op.state, 'UNVERIFIED', JSON.stringify(op.steps));
  assert.match(op.error ?? '', /applied, but not verified after 3 attempts: not enough data/);
  assert.deepEqual(op.steps.at(-1)?.name, 'verify');
  assert.equal(op.steps.at(-1)?.status, 'failed');
  assert.equal(ex.parallelism.enrich, 2, 'the change stays in force');
});

test('the metric store unreadable during verification: UNVERIFIED, the change kept', async () => {
  const { op, ex } = await runOne({ lagAfter: -500, storeFails: true });
  assert.equal(op.state, 'UNVERIFIED');
  assert.match(op.error ?? '', /applied, but not verified: InfluxDB is down/);
  assert.equal(ex.parallelism.enrich, 2);
});

test('the lag falls after a scale-up: SUCCEEDED', async () => {
  const { op } = await runOne({ lagAfter: -500 });
  assert.equal(op.state, 'SUCCEEDED', op.verification?.reason);
  assert.equal(op.verification?.effective, true);
});

test('the lag grows faster after the change: rolled back by default (onIneffective mark), the action blocked', async () => {
  // a scale-down 2 → 1 after which the lag grows 400 records/s instead of 100
  const { op, ex } = await runOne({ lagAfter: 400, action: { from: 2, to: 1 } });
  assert.equal(op.state, 'ROLLED_BACK', `${op.error} ${JSON.stringify(op.verification)}`);
  assert.equal(op.verification?.worse, true);
  assert.match(op.error ?? '', /^ineffective: worse: the lag grows faster than before the change/);
  assert.deepEqual(op.steps.map((s) => [s.name, s.status]), [['savepoint', 'succeeded'], ['start', 'succeeded'], ['wait-running', 'succeeded'], ['verify', 'succeeded'], ['rollback', 'succeeded'], ['rollback', 'succeeded']]);
  assert.equal(ex.parallelism.enrich, 2, 'back to the previous parallelism');
  assert.deepEqual(ex.starts.at(-1)?.parallelism, { src: 1, enrich: 2 });
  assert.deepEqual(blockedActions([op], resolvePolicy(), op.finishedAt!).map((b) => b.actionKey), ['set-parallelism:enrich:down']);
});

test('a scale-up after which the lag grows faster is rolled back too; with onWorse mark it is only INEFFECTIVE', async () => {
  const up = await runOne({ lagAfter: 400 });
  assert.equal(up.op.state, 'ROLLED_BACK');
  assert.match(up.op.error ?? '', /^ineffective: ineffective scale-up: the lag grows faster than before/);
  const marked = await runOne({ lagAfter: 400, policy: { onWorse: 'mark' } });
  assert.equal(marked.op.state, 'INEFFECTIVE');
  assert.equal(marked.ex.parallelism.enrich, 2, 'kept');
});

test('a lag that still grows, but not faster than before: INEFFECTIVE (kept), not rolled back', async () => {
  const { op } = await runOne({ lagAfter: 105 });
  assert.equal(op.state, 'INEFFECTIVE', op.verification?.reason);
  assert.equal(op.verification?.worse, undefined);
});

test('a restart for set-checkpointing alone asks for every vertex\'s current parallelism: a job rescaled in place (Flink adaptive scheduler) keeps it', async () => {
  // enrich runs at 3 (rescaled in place earlier), the job was submitted at 1: a savepoint restart that
  // names no parallelism would run it at its submitted 1 again (seen on a real Flink 1.20 cluster)
  const { op, ex } = await runOne({ lagAfter: -500, action: { from: 3, to: 3 }, actions: [{ type: 'set-checkpointing', interval: 30_000 }] });
  assert.equal(ex.starts.length, 1, JSON.stringify(op.steps));
  assert.deepEqual(ex.starts[0]!.parallelism, { src: 1, enrich: 3 });
  assert.deepEqual(ex.starts[0]!.checkpointing, { interval: 30_000 });
});

test('recovery waits for a job found without its vertices (just submitted) instead of failing to map the actions', async () => {
  // streamtune killed while STARTING: the job it asked for is INITIALIZING, its graph not known yet
  const { op } = await runOne({ lagAfter: -500, recoverFrom: 'STARTING', emptyDescribes: 2 });
  assert.ok(!op.steps.some((x) => /cannot map the actions/.test(x.message ?? '')), JSON.stringify(op.steps));
  assert.equal(op.state, 'SUCCEEDED', JSON.stringify(op.steps));
});

