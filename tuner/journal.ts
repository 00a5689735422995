/**
 * The durable operations journal: `<dataDir>/operations/journal.jsonl`, append-only JSON lines,
 * each appended and fsynced before the call resolves. The tuner writes an operation's record BEFORE
 * the step it describes is taken (write-ahead), so after a crash the journal says which step may
 * have been under way.
 *
 * Lines: `{"t":"op","v":Operation}` (the whole operation after each change; the last line of an id
 * wins) and `{"t":"snap","v":SnapshotRecord}` (every checkpoint and savepoint of each job).
 * At open the file is read back; a torn last line (crash mid-write) is skipped and cut off so that
 * the next append starts on a clean line; any other unreadable line is skipped and logged. When the
 * file holds far more lines than live records it is compacted (temp file, fsync, rename).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import { upgradeTuningAction } from '../diagnoser/index.ts';
import type { Operation } from './types.ts';
import type { SnapshotRecord } from '../platform/index.ts';

/** Options of {@link openJournal}. */
export interface JournalOptions {
  /** the journal lives in `<dataDir>/operations/` */
  dataDir: string;
  logger?: Logger;
  /** snapshots kept per job (newest), in memory and through compaction. Default 200. */
  maxSnapshotsPerJob?: number;
}

/** The operations journal. Errors: INVALID_CONFIG when the file cannot be opened or written. */
export interface OperationsJournal {
  /** Path of the JSONL file. */
  readonly path: string;
  /** Every operation, newest first (by `createdAt`). */
  operations(): Operation[];
  operation(id: string): Operation | undefined;
  /** Appends the operation's current state; resolves once it is on disk (fsync). Keeps a copy. */
  putOperation(op: Operation): Promise<void>;
  /** Appends a checkpoint/savepoint record; a record of an already known path only adds its
   * `operationId` (appended again then). Resolves once durable. */
  addSnapshot(s: SnapshotRecord): Promise<void>;
  /** Checkpoints and savepoints of a job, newest first (by `completedAt`). */
  snapshots(jobId: string): SnapshotRecord[];
  /** Waits for pending appends and closes the file. */
  close(): Promise<void>;
}

type Line = { t: 'op'; v: Operation } | { t: 'snap'; v: SnapshotRecord };

/** Opens (creating when needed) and reads back the journal under `opts.dataDir`. */
export async function openJournal(opts: JournalOptions): Promise<OperationsJournal> {
  const dir = resolve(opts.dataDir, 'operations');
  const path = join(dir, 'journal.jsonl');
  const logger = (opts.logger ?? silentLogger).namespace('tuner.journal');
  const maxSnaps = opts.maxSnapshotsPerJob ?? 200;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `dataDir ${opts.dataDir}: cannot create ${dir}: ${errorMessage(err)}`, { cause: err });
  }
  const ops = new Map<string, Operation>();
  const snaps = new Map<string, SnapshotRecord[]>();
  const addSnap = (s: SnapshotRecord): boolean => {
    const list = snaps.get(s.job_id) ?? [];
    const known = list.find((x) => x.path === s.path);
    if (known) {
      if (s.operationId && known.operationId !== s.operationId) {
        known.operationId = s.operationId;
        return true;
      }
      return false;
    }
    list.push({ ...s });
    list.sort((a, b) => a.completedAt - b.completedAt);
    while (list.length > maxSnaps) list.shift();
    snaps.set(s.job_id, list);
    return true;
  };

  let lines = 0;
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    const parts = text.split('\n');
    // text ending with '\n' leaves an empty last part; otherwise the last part is unterminated
    const tail = parts.pop()!;
    const parse = (raw: string, where: string, torn: boolean): boolean => {
      if (raw.trim() === '') return false;
      try {
        const l = JSON.parse(raw) as Line;
        if (l.t === 'op' && l.v && typeof l.v.id === 'string') {
          l.v.actions?.forEach(upgradeTuningAction);
          ops.set(l.v.id, l.v);
        }
        else if (l.t === 'snap' && l.v && typeof l.v.path === 'string') addSnap(l.v);
        else throw new Error('not a journal record');
        lines++;
        return true;
      } catch (err) {
        if (torn) logger.warn(`${path}: skipping a torn last line (crash while writing)`, { bytes: Buffer.byteLength(raw) });
        else logger.error(`${where}: unreadable line skipped`, { error: errorMessage(err) });
        return false;
      }
    };
    parts.forEach((raw, i) => parse(raw, `${path}:${i + 1}`, false));
    if (tail !== '') {
      if (parse(tail, `${path}:${parts.length + 1}`, true)) {
        // complete but unterminated: terminate it so the next append starts on its own line
        const fd = openSync(path, 'a');
        writeSync(fd, '\n');
        fsyncSync(fd);
        closeSync(fd);
      } else {
        truncateSync(path, Buffer.byteLength(text) - Buffer.byteLength(tail));
      }
    }
  }
  const live = ops.size + [...snaps.values()].reduce((a, l) => a + l.length, 0);
  if (lines > 2 * live + 1000) {
    const tmp = `${path}.compact`;
    const fd = openSync(tmp, 'w');
    for (const s of [...snaps.values()].flat()) writeSync(fd, `${JSON.stringify({ t: 'snap', v: s })}\n`);
    for (const o of [...ops.values()].sort((a, b) => a.createdAt - b.createdAt)) writeSync(fd, `${JSON.stringify({ t: 'op', v: o })}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    logger.info(`${path}: compacted ${lines} lines to ${live}`);
  }

  let fh: FileHandle;
  try {
    fh = await open(path, 'a');
  } catch (err) {
    throw new StreamtuneError('INVALID_CONFIG', `cannot open the operations journal ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const append = (l: Line): Promise<void> => {
    if (closed) return Promise.reject(new StreamtuneError('INVALID_CONFIG', `the operations journal ${path} is closed`));
    const data = `${JSON.stringify(l)}\n`;
    const run = chain.then(async () => {
      await fh.write(data);
      await fh.datasync();
    });
    chain = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      throw new StreamtuneError('INVALID_CONFIG', `writing the operations journal ${path} failed: ${errorMessage(err)}`, { cause: err });
    });
  };
  const copy = (o: Operation): Operation => structuredClone(o);

  return {
    path,
    operations: () => [...ops.values()].sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : 1)).map(copy),
    operation: (id) => {
      const o = ops.get(id);
      return o ? copy(o) : undefined;
    },
    async putOperation(op) {
      const c = copy(op);
      await append({ t: 'op', v: c });
      ops.set(c.id, c);
    },
    async addSnapshot(s) {
      if (!addSnap(s)) return;
      const stored = snaps.get(s.job_id)?.find((x) => x.path === s.path) ?? s;
      await append({ t: 'snap', v: { ...stored } });
    },
    snapshots: (jobId) => [...(snaps.get(jobId) ?? [])].reverse().map((s) => ({ ...s })),
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      await fh.close();
    },
  };
}
