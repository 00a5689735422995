/**
 * Exactly-once JSON-lines file sink, after Flink's FileSink two-phase commit: each subtask writes to
 * a hidden in-progress part file; at a checkpoint barrier the file is closed and becomes *pending*
 * (listed in the checkpoint); when that checkpoint completes the pending file is renamed to its
 * final visible name `part-<run>-<subtask>-<n>.jsonl`. On restore, the pending files listed in the
 * restored state are committed (idempotently) and every other hidden file is deleted: it holds
 * records that the restored run will produce again.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JsonlSinkSpec } from '../spec.ts';
import { resolveDataPath } from '../paths.ts';
import type { Operator, OperatorContext, OperatorSnapshot, Output, Rec } from '../operators/types.ts';

/** A pending part file: written and closed, waiting for its checkpoint to complete. */
interface PendingFile {
  checkpointId: number;
  /** hidden pending name, relative to the output directory */
  pending: string;
  /** final name, relative to the output directory */
  final: string;
}

function isPendingFile(x: unknown): x is PendingFile {
  return typeof x === 'object' && x !== null && typeof (x as PendingFile).pending === 'string' && typeof (x as PendingFile).final === 'string';
}

/**
 * The first entry of a jsonl sink's restored list state that is not a pending file this sink writes
 * (`.part-<run>-<subtask>-<n>.pending` → `part-<run>-<subtask>-<n>.jsonl`, plain names inside the
 * output directory), as `{ index, message }`; undefined when every entry is one. A restore checks
 * this before touching the directory, so a damaged or forged savepoint cannot rename files
 * elsewhere.
 */
export function jsonlSinkStateProblem(list: readonly unknown[]): { index: number; message: string } | undefined {
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (!isPendingFile(x)) return { index: i, message: 'not a pending file {checkpointId, pending, final}' };
    const m = /^\.(part-[A-Za-z0-9]+-[0-9]+-[0-9]+)\.pending$/.exec(x.pending);
    if (!m || x.final !== `${m[1]}.jsonl`) return { index: i, message: `pending file '${x.pending}' → '${x.final}' is not a part file of this sink` };
  }
  return undefined;
}

/** Commits one pending file; a no-op when it was committed before. */
function commit(dir: string, f: PendingFile): void {
  const from = join(dir, f.pending);
  const to = join(dir, f.final);
  if (existsSync(from)) renameSync(from, to);
}

/**
 * Runs once before a job (re)starts on `dir`: commits the pending files of the restored state and
 * deletes every other hidden part file (uncommitted work of an earlier attempt).
 */
export function prepareJsonlSinkDir(dir: string, restoredList: unknown[]): void {
  mkdirSync(dir, { recursive: true });
  const keep = new Set<string>();
  for (const x of restoredList) {
    if (!isPendingFile(x)) continue;
    commit(dir, x);
    keep.add(x.pending);
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.part-') && !keep.has(name)) unlinkSync(join(dir, name));
  }
}

/** Creates a sink subtask. */
export function createJsonlSink(spec: JsonlSinkSpec): Operator {
  let dir = '';
  let run = '';
  let subtask = 0;
  let counter = 0;
  let fd: number | undefined;
  let current: { pending: string; final: string } | undefined;
  const pending: PendingFile[] = [];
  let chunks: string[] = [];
  let chunkBytes = 0;

  const flushChunks = () => {
    if (chunks.length === 0 || fd === undefined) return;
    writeSync(fd, chunks.join(''));
    chunks = [];
    chunkBytes = 0;
  };
  const openFile = () => {
    const n = counter++;
    const base = `part-${run}-${subtask}-${n}`;
    current = { pending: `.${base}.pending`, final: `${base}.jsonl` };
    fd = openSync(join(dir, `.${base}.inprogress`), 'w');
  };
  const closeFile = (checkpointId: number) => {
    if (fd === undefined || !current) return;
    flushChunks();
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    const base = current.final.replace(/\.jsonl$/, '');
    renameSync(join(dir, `.${base}.inprogress`), join(dir, current.pending));
    pending.push({ checkpointId, ...current });
    current = undefined;
  };

  return {
    open(ctx: OperatorContext) {
      dir = resolveDataPath(spec.path, ctx.baseDir);
      mkdirSync(dir, { recursive: true });
      run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
      subtask = ctx.subtask;
    },
    processBatch(values: Rec[], ts: number[], out: Output) {
      void ts;
      void out;
      if (fd === undefined) openFile();
      for (const r of values) {
        const line = `${JSON.stringify(r)}\n`;
        chunks.push(line);
        chunkBytes += line.length;
      }
      if (chunkBytes > 1 << 20) flushChunks();
    },
    snapshot(checkpointId: number): OperatorSnapshot {
      closeFile(checkpointId);
      return { list: pending.map((p) => ({ ...p })) };
    },
    notifyCheckpointComplete(checkpointId: number) {
      while (pending.length > 0 && pending[0]!.checkpointId <= checkpointId) commit(dir, pending.shift()!);
    },
    close() {
      if (fd !== undefined) {
        closeSync(fd);
        fd = undefined;
      }
    },
  };
}
