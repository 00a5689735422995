/**
 * The one contract suite every {@link JobCatalog} passes (`platform/catalog.ts`), run from one test
 * file per implementation with a factory, like store-contract.ts. Not itself a test file.
 *
 * What a catalog can do is declared with the factory ({@link CatalogCapabilities}): a read-only
 * catalog (the mirror of another process's jobs) must refuse every mutation with FORBIDDEN where the
 * others succeed; `onSnapshot` is optional. The tests of one run share the factory's catalog and run
 * in the order written.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { JobCatalog, ManagedJob, SnapshotRecord } from '../platform/index.ts';
import { assertTopology, HEX32, isCode } from './executor-contract.ts';
import { waitFor } from './helpers/wait.ts';

/** What a catalog implementation can do, declared next to its factory. */
export interface CatalogCapabilities {
  /** false: a read-only catalog; submit, triggerSavepoint and stop throw FORBIDDEN. */
  mutable: boolean;
  /** true: the catalog has `onSnapshot` and the factory's `completeCheckpoint`. */
  snapshots: boolean;
}

/** What the factory gives the suite. */
export interface CatalogUnderTest {
  catalog: JobCatalog;
  /** A RUNNING job the catalog lists: one or more sources → … → keyed window (`windowVertex`) → … → sink. */
  jobId: string;
  /** What runs that job. */
  executor: ManagedJob['executor'];
  /** The name of its vertex with keyed input. */
  windowVertex: string;
  /** Its consumer group where the catalog knows one; absent = the catalog lists none for it. */
  consumerGroup?: string;
  /** ms for the suite's polls. */
  timeoutMs: number;
  /**
   * Starts another RUNNING job by whatever runs the jobs (not through the catalog's own mutations);
   * resolves with its id once the catalog lists it.
   */
  startJob(): Promise<string>;
  /** Ends a job (cancels it) by whatever runs it; resolves once the catalog can have seen the change. */
  endJob(jobId: string): Promise<void>;
  /** With `snapshots`: makes job `jobId` complete one more checkpoint; resolves with its path. */
  completeCheckpoint?(jobId: string): Promise<string>;
  /** Checked after every test (the fake Flink: no request or response outside Flink's OpenAPI spec). */
  check?(): void;
  /** Stops what the factory started. */
  cleanup?(): Promise<void>;
}

/** Options of {@link runCatalogContract}. */
export interface CatalogContractOptions {
  /** ms for the whole suite, factory included. Default 180 000. */
  timeoutMs?: number;
}

const MINUTE_OF_2020 = Date.UTC(2020, 0, 1);

/** A well-formed {@link ManagedJob} of the running job under test. */
function assertManagedJob(j: ManagedJob, h: CatalogUnderTest): void {
  assert.match(j.job_id, HEX32, 'job_id is a JobID');
  assert.ok(typeof j.name === 'string' && j.name.length > 0, 'the job has a name');
  assert.equal(j.executor, h.executor);
  assert.equal(j.state, 'RUNNING');
  assertTopology(j.topology, h.windowVertex);
  if (h.consumerGroup !== undefined) assert.equal(j.consumerGroup, h.consumerGroup);
  else assert.equal(j.consumerGroup, undefined, 'no consumer group where the catalog cannot know it');
  if (j.topics !== undefined) assert.ok(Array.isArray(j.topics) && j.topics.every((t) => typeof t === 'string' && t.length > 0), 'topics are names');
  if (j.startedAt !== undefined) assert.ok(Number.isFinite(j.startedAt) && j.startedAt > MINUTE_OF_2020, `startedAt ${j.startedAt} is ms since epoch`);
  if (j.restartTimeMs !== undefined) assert.ok(Number.isFinite(j.restartTimeMs) && j.restartTimeMs > 0, `restartTimeMs ${j.restartTimeMs}`);
  for (const [k, v] of Object.entries(j.checkpointing ?? {})) {
    if (v !== undefined) assert.ok(k === 'unaligned' ? typeof v === 'boolean' : Number.isFinite(v) && (v as number) >= 0, `checkpointing.${k} = ${String(v)}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(j)), j, 'plain data (survives JSON: the mirror receives it so)');
}

function assertSnapshot(s: SnapshotRecord): void {
  assert.match(s.job_id, HEX32);
  assert.ok(s.kind === 'checkpoint' || s.kind === 'savepoint', `kind ${s.kind}`);
  assert.ok(typeof s.path === 'string' && s.path.length > 0, 'a path');
  assert.ok(Number.isFinite(s.completedAt) && s.completedAt > MINUTE_OF_2020, `completedAt ${s.completedAt} is ms since epoch`);
  if (s.sizeBytes !== undefined) assert.ok(Number.isInteger(s.sizeBytes) && s.sizeBytes >= 0, `sizeBytes ${s.sizeBytes}`);
}

/**
 * Registers the JobCatalog contract for the catalog made by `factory`.
 * @param name shown in the test names
 * @param capabilities what the catalog can do (see {@link CatalogCapabilities})
 */
export function runCatalogContract(name: string, capabilities: CatalogCapabilities, factory: () => Promise<CatalogUnderTest>, opts: CatalogContractOptions = {}): void {
  describe(`JobCatalog contract: ${name}`, { timeout: opts.timeoutMs ?? 180_000 }, () => {
    let h: CatalogUnderTest;
    let cat: JobCatalog;
    const unknown = randomBytes(16).toString('hex');
    const refused = capabilities.mutable ? 'NOT_FOUND' : 'FORBIDDEN';

    before(async () => {
      h = await factory();
      cat = h.catalog;
    });
    after(async () => {
      await h?.cleanup?.();
    });
    afterEach(() => {
      h?.check?.();
    });

    test('list and get: the running job, well formed (JobID, executor, topology, consumer group), the same from both', () => {
      const listed = cat.list();
      assert.ok(Array.isArray(listed));
      assert.equal(new Set(listed.map((j) => j.job_id)).size, listed.length, 'each job listed once');
      const j = listed.find((x) => x.job_id === h.jobId);
      assert.ok(j, `job ${h.jobId} is listed`);
      assertManagedJob(j, h);
      assert.deepEqual(cat.get(h.jobId), j);
    });

    test('get of an unknown job is undefined', () => {
      assert.equal(cat.get(unknown), undefined);
    });

    test(`triggerSavepoint and stop of an unknown job throw ${refused}`, async () => {
      await assert.rejects(cat.triggerSavepoint(unknown), isCode(refused));
      await assert.rejects(cat.stop(unknown), isCode(refused));
    });

    if (!capabilities.mutable) {
      test('read-only: submit, triggerSavepoint and stop of a listed job throw FORBIDDEN and leave it RUNNING', async () => {
        await assert.rejects(cat.submit('name: x\n', { source: 'contract.yaml' }), isCode('FORBIDDEN'));
        await assert.rejects(cat.triggerSavepoint(h.jobId), isCode('FORBIDDEN'));
        await assert.rejects(cat.stop(h.jobId), isCode('FORBIDDEN'));
        assert.equal(cat.get(h.jobId)?.state, 'RUNNING');
      });
    } else {
      test('triggerSavepoint of the running job resolves with a savepoint path; the job stays RUNNING', async () => {
        const { savepointPath } = await cat.triggerSavepoint(h.jobId);
        assert.ok(typeof savepointPath === 'string' && savepointPath.length > 0, `a savepoint path, got ${JSON.stringify(savepointPath)}`);
        assert.equal(cat.get(h.jobId)?.state, 'RUNNING');
      });
    }

    if (capabilities.snapshots) {
      test('onSnapshot reports each completed checkpoint once, well formed; nothing after unsubscribe', async () => {
        assert.equal(typeof cat.onSnapshot, 'function', 'declared: the catalog has onSnapshot');
        assert.equal(typeof h.completeCheckpoint, 'function', 'declared: the factory can complete checkpoints');
        const seen: SnapshotRecord[] = [];
        const dropped: SnapshotRecord[] = [];
        const off = cat.onSnapshot!((s) => seen.push(s));
        const offDropped = cat.onSnapshot!((s) => dropped.push(s));
        offDropped();
        try {
          const paths: string[] = [];
          for (let i = 0; i < 3; i++) {
            const p = await h.completeCheckpoint!(h.jobId);
            paths.push(p);
            await waitFor(() => seen.some((s) => s.path === p), { timeoutMs: h.timeoutMs, what: `checkpoint ${p} reported` });
          }
          const ours = seen.filter((s) => s.job_id === h.jobId);
          for (const s of ours) assertSnapshot(s);
          for (const p of paths) {
            assert.deepEqual(ours.filter((s) => s.path === p).map((s) => s.kind), ['checkpoint'], `checkpoint ${p} reported once`);
          }
          const all = ours.map((s) => s.path);
          assert.deepEqual(all.filter((p, i) => all.indexOf(p) !== i), [], 'no snapshot reported twice');
          assert.deepEqual(dropped, [], 'an unsubscribed listener hears nothing');
        } finally {
          off();
        }
      });
    } else {
      test('no onSnapshot (declared)', () => {
        assert.equal(cat.onSnapshot, undefined);
      });
    }

    test('onChange fires when a job starts and when its state changes; an unsubscribed listener hears nothing', async () => {
      const heard: ManagedJob[] = [];
      const dropped: ManagedJob[] = [];
      const off = cat.onChange((j) => heard.push(j));
      const offDropped = cat.onChange((j) => dropped.push(j));
      offDropped();
      try {
        const other = await h.startJob();
        assert.notEqual(other, h.jobId);
        await waitFor(() => heard.some((j) => j.job_id === other && j.state === 'RUNNING'), { timeoutMs: h.timeoutMs, what: `a change: job ${other} RUNNING` });
        await h.endJob(other);
        await waitFor(() => heard.some((j) => j.job_id === other && j.state !== 'RUNNING'), { timeoutMs: h.timeoutMs, what: `a change: job ${other} no longer RUNNING` });
        assert.notEqual(heard.filter((j) => j.job_id === other).at(-1)!.state, 'RUNNING', 'the last change heard is the end');
        assert.notEqual(cat.get(other)?.state, 'RUNNING');
        assert.equal(cat.get(h.jobId)?.state, 'RUNNING', 'the other job is untouched');
        assert.deepEqual(dropped, [], 'an unsubscribed listener hears nothing');
      } finally {
        off();
      }
    });

    if (capabilities.mutable) {
      test('stop of the running job resolves with a savepoint path; the job is no longer RUNNING and onChange says so', async () => {
        const heard: ManagedJob[] = [];
        const off = cat.onChange((j) => heard.push(j));
        try {
          const { savepointPath } = await cat.stop(h.jobId);
          assert.ok(typeof savepointPath === 'string' && savepointPath.length > 0, `a savepoint path, got ${JSON.stringify(savepointPath)}`);
          assert.notEqual(cat.get(h.jobId)?.state, 'RUNNING');
          await waitFor(() => heard.some((j) => j.job_id === h.jobId && j.state !== 'RUNNING'), { timeoutMs: h.timeoutMs, what: `a change: job ${h.jobId} stopped` });
        } finally {
          off();
        }
      });
    }
  });
}
