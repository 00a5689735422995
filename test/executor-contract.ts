/**
 * The one contract suite every {@link JobExecutor} passes (`platform/executor.ts`), run from one test
 * file per implementation with a factory, like store-contract.ts. Not itself a test file.
 *
 * The factory starts ONE running job shaped source → … → keyed window → sink; the suite then drives
 * that job through the executor in order — describe, savepoint, stop with savepoint, start from it
 * with a parallelism override, a start that fails, cancel — so its tests share the job and run in
 * the order written (node:test runs the tests of a `describe` one after another).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { StreamtuneError, type ErrorCode } from '../core/errors.ts';
import { isTerminalJobState, type JobExecutor, type JobTopology, type TopologyVertex } from '../platform/index.ts';
import { waitFor } from './helpers/wait.ts';

/** What the factory gives the suite. */
export interface ExecutorUnderTest {
  executor: JobExecutor;
  /** A RUNNING job: one or more sources → … → a vertex with keyed input (`windowVertex`) → … → sink. */
  jobId: string;
  /** The name of the vertex whose input is partitioned by key (the window). */
  windowVertex: string;
  /** ms given to every savepoint, stop, wait-until-running and the polls of the suite. */
  timeoutMs: number;
  /**
   * Makes the next start fail at start, the implementation's way: returns the executor whose next
   * `start()` submits an execution that ends FAILED before it runs (the bundled runtime: fault
   * `failNextRun`; the fake Flink: `runStates`; a real Flink cluster: the job run with arguments that
   * fail every attempt while its tasks open).
   */
  failNextStart(): JobExecutor;
  /** Checked after every test (the fake Flink: no request or response outside Flink's OpenAPI spec). */
  check?(): void;
  /** Stops what the factory started. */
  cleanup?(): Promise<void>;
}

/** Options of {@link runExecutorContract}. */
export interface ExecutorContractOptions {
  /** ms for the whole suite, factory included. Default 300 000. */
  timeoutMs?: number;
}

/** A JobID or JobVertexID: 32 lower-case hex characters (Flink's `AbstractID.toString()`). */
export const HEX32 = /^[0-9a-f]{32}$/;

/** An assertion for `assert.rejects`: a StreamtuneError with this code (the message says what came instead). */
export function isCode(code: ErrorCode): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof StreamtuneError, `expected StreamtuneError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

/**
 * The job graph every executor and catalog reports: vertices with JobVertexIDs and names, each
 * unique; parallelism an integer in [1, the vertex's maxParallelism] (and the job's, when it reports
 * one); inputs naming other vertices of the job; sources (no inputs) not keyed; every vertex reached
 * from a source; at least one sink (no vertex reads it); the vertex named `windowVertex` has keyed
 * input and an upstream vertex.
 */
export function assertTopology(vertices: readonly TopologyVertex[], windowVertex: string, jobMaxParallelism = -1): void {
  assert.ok(vertices.length >= 3, `source, window and sink at least; got ${vertices.map((v) => v.name).join(', ')}`);
  const ids = new Set(vertices.map((v) => v.id));
  assert.equal(ids.size, vertices.length, 'vertex ids are unique');
  assert.equal(new Set(vertices.map((v) => v.name)).size, vertices.length, 'vertex names are unique');
  for (const v of vertices) {
    assert.match(v.id, HEX32, `vertex ${v.name}: id is a JobVertexID`);
    assert.ok(typeof v.name === 'string' && v.name.length > 0, `vertex ${v.id} has a name`);
    assert.ok(Number.isInteger(v.maxParallelism) && v.maxParallelism >= 1, `vertex ${v.name}: maxParallelism ${v.maxParallelism}`);
    if (jobMaxParallelism !== -1) assert.ok(v.maxParallelism <= jobMaxParallelism, `vertex ${v.name}: maxParallelism ${v.maxParallelism} ≤ the job's ${jobMaxParallelism}`);
    assert.ok(Number.isInteger(v.parallelism) && v.parallelism >= 1 && v.parallelism <= v.maxParallelism, `vertex ${v.name}: parallelism ${v.parallelism} in [1, ${v.maxParallelism}]`);
    for (const i of v.inputs) {
      assert.ok(ids.has(i), `vertex ${v.name}: input ${i} is a vertex of the job`);
      assert.notEqual(i, v.id, `vertex ${v.name} does not read itself`);
    }
  }
  const sources = vertices.filter((v) => v.inputs.length === 0);
  assert.ok(sources.length >= 1, 'at least one source (a vertex without inputs)');
  for (const s of sources) assert.ok(!s.keyedInput, `source ${s.name} has no keyed input`);
  const reached = new Set(sources.map((s) => s.id));
  for (let grew = true; grew; ) {
    grew = false;
    for (const v of vertices) {
      if (!reached.has(v.id) && v.inputs.some((i) => reached.has(i))) {
        reached.add(v.id);
        grew = true;
      }
    }
  }
  assert.deepEqual(vertices.filter((v) => !reached.has(v.id)).map((v) => v.name), [], 'every vertex is reached from a source');
  const read = new Set(vertices.flatMap((v) => v.inputs));
  assert.ok(vertices.some((v) => !read.has(v.id)), 'at least one sink (a vertex no other reads)');
  const win = vertices.find((v) => v.name === windowVertex);
  assert.ok(win, `a vertex named ${windowVertex} among ${vertices.map((v) => v.name).join(', ')}`);
  assert.ok(win.inputs.length > 0, `${windowVertex} has an upstream vertex`);
  assert.equal(win.keyedInput, true, `${windowVertex} has keyed input`);
}

function parallelismById(t: JobTopology): Record<string, number> {
  return Object.fromEntries(t.vertices.map((v) => [v.id, v.parallelism]));
}

function assertSavepointPath(p: unknown): asserts p is string {
  assert.ok(typeof p === 'string' && p.length > 0, `a savepoint path, got ${JSON.stringify(p)}`);
}

/**
 * Registers the JobExecutor contract for the executor made by `factory`.
 * @param name shown in the test names
 */
export function runExecutorContract(name: string, factory: () => Promise<ExecutorUnderTest>, opts: ExecutorContractOptions = {}): void {
  describe(`JobExecutor contract: ${name}`, { timeout: opts.timeoutMs ?? 300_000 }, () => {
    let h: ExecutorUnderTest;
    let ex: JobExecutor;
    /** the job's current execution */
    let job: string;
    /** its topology as first described */
    let initial: JobTopology;
    /** the savepoint of the latest stop */
    let stopSavepoint: string;
    let firstSavepoint: string;
    const unknown = randomBytes(16).toString('hex');

    before(async () => {
      h = await factory();
      ex = h.executor;
      job = h.jobId;
    });
    after(async () => {
      await h?.cleanup?.();
    });
    afterEach(() => {
      h?.check?.();
    });

    test('describe of a running job: RUNNING, its id and name, vertices with JobVertexIDs, parallelism within [1, maxParallelism], a graph from sources through the keyed window', async () => {
      const t = await ex.describe(job);
      assert.equal(t.jobId, job);
      assert.equal(t.state, 'RUNNING');
      assert.ok(typeof t.name === 'string' && t.name.length > 0, 'the job has a name');
      assert.ok(Number.isInteger(t.maxParallelism) && (t.maxParallelism === -1 || t.maxParallelism >= 1), `job maxParallelism ${t.maxParallelism}`);
      assertTopology(t.vertices, h.windowVertex, t.maxParallelism);
      initial = t;
    });

    test('describe of an unknown job throws NOT_FOUND', async () => {
      await assert.rejects(ex.describe(unknown), isCode('NOT_FOUND'));
    });

    test('stopWithSavepoint of an unknown job throws NOT_FOUND', async () => {
      await assert.rejects(ex.stopWithSavepoint(unknown, { timeoutMs: h.timeoutMs }), isCode('NOT_FOUND'));
    });

    test('triggerSavepoint, waitUntilRunning and cancel of an unknown job throw NOT_FOUND', async () => {
      await assert.rejects(ex.triggerSavepoint(unknown, { timeoutMs: h.timeoutMs }), isCode('NOT_FOUND'));
      await assert.rejects(ex.waitUntilRunning(unknown, h.timeoutMs), isCode('NOT_FOUND'));
      await assert.rejects(ex.cancel(unknown), isCode('NOT_FOUND'));
    });

    test('triggerSavepoint resolves with a savepoint path and the job keeps RUNNING', async () => {
      const { savepointPath } = await ex.triggerSavepoint(job, { timeoutMs: h.timeoutMs });
      assertSavepointPath(savepointPath);
      firstSavepoint = savepointPath;
      assert.equal((await ex.describe(job)).state, 'RUNNING');
    });

    test('stopWithSavepoint resolves with a new savepoint path and the job is no longer RUNNING', async () => {
      const { savepointPath } = await ex.stopWithSavepoint(job, { timeoutMs: h.timeoutMs });
      assertSavepointPath(savepointPath);
      assert.notEqual(savepointPath, firstSavepoint, 'each savepoint has its own path');
      stopSavepoint = savepointPath;
      // Flink's REST API serves a job's graph from a cache (`web.refresh-interval`, 3 s): poll
      const state = await waitFor(async () => {
        const s = (await ex.describe(job)).state;
        return s === 'RUNNING' ? undefined : s;
      }, { timeoutMs: h.timeoutMs, intervalMs: 100, what: `job ${job} no longer RUNNING after its stop` });
      assert.notEqual(state, 'RUNNING');
    });

    test('start from the savepoint with a parallelism override keyed by JobVertexID: a job id, waitUntilRunning resolves, describe shows the override and every other vertex unchanged', async () => {
      assert.ok(initial && stopSavepoint, 'the earlier tests of the suite ran');
      const win = initial.vertices.find((v) => v.name === h.windowVertex)!;
      const target = win.parallelism < win.maxParallelism ? win.parallelism + 1 : win.parallelism - 1;
      assert.ok(target >= 1 && target !== win.parallelism, `the window's parallelism ${win.parallelism} can change`);
      const { jobId } = await ex.start({ jobId: job, savepointPath: stopSavepoint, parallelism: { [win.id]: target } });
      assert.match(jobId, HEX32);
      await ex.waitUntilRunning(jobId, h.timeoutMs);
      const t = await ex.describe(jobId);
      assert.equal(t.state, 'RUNNING');
      assertTopology(t.vertices, h.windowVertex, t.maxParallelism);
      assert.deepEqual(parallelismById(t), { ...parallelismById(initial), [win.id]: target });
      job = jobId;
    });

    test('waitUntilRunning of a job that fails at start throws OPERATION_FAILED with reason job-failed', async () => {
      const { savepointPath } = await ex.stopWithSavepoint(job, { timeoutMs: h.timeoutMs });
      assertSavepointPath(savepointPath);
      stopSavepoint = savepointPath;
      const failing = h.failNextStart();
      const { jobId } = await failing.start({ jobId: job, savepointPath });
      assert.match(jobId, HEX32);
      const err = await failing.waitUntilRunning(jobId, h.timeoutMs).then(
        () => assert.fail('waitUntilRunning resolved for a job that fails at start'),
        (e: unknown) => e,
      );
      isCode('OPERATION_FAILED')(err);
      assert.equal((err as StreamtuneError).details.reason, 'job-failed', (err as Error).message);
      assert.ok(isTerminalJobState((await failing.describe(jobId)).state), 'the failed execution is in a terminal state');
    });

    test('cancel: a running job ends CANCELED', async () => {
      const { jobId } = await ex.start({ jobId: job, savepointPath: stopSavepoint });
      await ex.waitUntilRunning(jobId, h.timeoutMs);
      await ex.cancel(jobId);
      await waitFor(async () => (await ex.describe(jobId)).state === 'CANCELED', { timeoutMs: h.timeoutMs, intervalMs: 100, what: `job ${jobId} CANCELED` });
      job = jobId;
    });
  });
}
