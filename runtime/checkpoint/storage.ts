/**
 * Checkpoint and savepoint files. A checkpoint is a directory `chk-<id>/` (a savepoint
 * `savepoint-<job>-<id>-<rand>/`) holding one `_metadata` file: the magic bytes `STCK`, a format
 * version byte, the CRC-32 of the payload (4 bytes, big-endian), then the payload in MessagePack
 * (msgpackr). Files are written to a temporary name, fsynced and renamed, so a crash never leaves a
 * half-written checkpoint; a truncated or altered file fails its CRC and is reported as corrupt.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { StreamtuneError } from '../../core/index.ts';

const MAGIC = Buffer.from('STCK');
/**
 * Format version written. 2: keyed window state as typed-array columns per key group
 * (`operators/window-state.ts`); 1: per-key tuples. Both are read (the container is the same; the
 * window operator reads either state shape); any other version is refused as SAVEPOINT_CORRUPT.
 */
export const CHECKPOINT_FORMAT_VERSION = 2;
const READABLE_VERSIONS = new Set([1, 2]);
const packr = new Packr({ useRecords: false });

/** State of one subtask in a checkpoint. */
export interface SubtaskState {
  list: unknown[];
  /** key group → state */
  keyed: Array<[number, unknown]>;
}

/** Everything a checkpoint holds. */
export interface CheckpointMetadata {
  jobName: string;
  jobId: string;
  checkpointId: number;
  /** ms epoch */
  timestamp: number;
  savepoint: boolean;
  maxParallelism: number;
  /**
   * vertex name → per-subtask states (index = old subtask index) and, for unaligned checkpoints, the
   * records in flight to the vertex (channel state: `InflightBatch` of operators/types.ts)
   */
  vertices: Record<string, { parallelism: number; subtasks: SubtaskState[]; inflight?: Array<{ edge: number; values: Record<string, unknown>[]; ts: number[] }> }>;
}

/** Serialises metadata in format `version` (default {@link CHECKPOINT_FORMAT_VERSION}; tests write 1); returns the bytes. */
export function encodeCheckpoint(meta: CheckpointMetadata, version = CHECKPOINT_FORMAT_VERSION): Buffer {
  const payload = packr.pack(meta);
  const header = Buffer.alloc(9);
  MAGIC.copy(header, 0);
  header.writeUInt8(version, 4);
  header.writeUInt32BE(crc32(payload) >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/**
 * Parses metadata bytes; throws SAVEPOINT_CORRUPT naming `source` (also as `details.file`) when the
 * bytes are not intact (bad header, unknown format version, checksum mismatch, not MessagePack) or
 * the content is not the shape streamtune writes (`details.field` names the first bad field, e.g.
 * `vertices.enrich.subtasks[1].keyed[3]`), so nothing is restored from it.
 */
export function decodeCheckpoint(bytes: Buffer, source: string): CheckpointMetadata {
  const corrupt = (message: string, extra: Record<string, unknown> = {}, cause?: unknown): StreamtuneError =>
    new StreamtuneError('SAVEPOINT_CORRUPT', `${source} ${message}`, { details: { file: source, ...extra }, ...(cause === undefined ? {} : { cause }) });
  if (bytes.length < 9 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw corrupt('is not a streamtune checkpoint or savepoint (bad header)');
  }
  const version = bytes.readUInt8(4);
  if (!READABLE_VERSIONS.has(version)) {
    throw corrupt(`has checkpoint format version ${version}; this streamtune reads versions ${[...READABLE_VERSIONS].join(' and ')}${version > CHECKPOINT_FORMAT_VERSION ? ' (written by a newer streamtune?)' : ''}`, { version });
  }
  const payload = bytes.subarray(9);
  if ((crc32(payload) >>> 0) !== bytes.readUInt32BE(5)) {
    throw corrupt('is corrupt: checksum mismatch (truncated or altered file)');
  }
  let meta: unknown;
  try {
    meta = packr.unpack(payload);
  } catch (err) {
    throw corrupt(`is corrupt: ${(err as Error).message}`, {}, err);
  }
  const bad = metadataProblem(meta);
  if (bad) throw corrupt(`is corrupt: ${bad.field}: ${bad.message}`, { field: bad.field });
  return meta as CheckpointMetadata;
}

/** The first field of `m` that is not what {@link encodeCheckpoint} writes, or undefined. */
function metadataProblem(m: unknown): { field: string; message: string } | undefined {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!isObj(m)) return { field: '(root)', message: 'missing job metadata' };
  if (typeof m.jobName !== 'string') return { field: 'jobName', message: 'missing job metadata (not a string)' };
  if (typeof m.jobId !== 'string') return { field: 'jobId', message: 'not a string' };
  if (!isInt(m.checkpointId, 0)) return { field: 'checkpointId', message: 'not an integer >= 0' };
  if (typeof m.timestamp !== 'number' || !Number.isFinite(m.timestamp)) return { field: 'timestamp', message: 'not a time in ms' };
  if (typeof m.savepoint !== 'boolean') return { field: 'savepoint', message: 'not a boolean' };
  if (!isInt(m.maxParallelism, 1, 32768)) return { field: 'maxParallelism', message: 'not an integer in 1..32768' };
  const maxP = m.maxParallelism as number;
  if (!isObj(m.vertices)) return { field: 'vertices', message: 'missing job metadata (not a map of vertex states)' };
  for (const [name, v] of Object.entries(m.vertices)) {
    const at = `vertices.${name}`;
    if (!isObj(v)) return { field: at, message: 'not a vertex state' };
    if (!isInt(v.parallelism, 1, maxP)) return { field: `${at}.parallelism`, message: `not an integer in 1..${maxP}` };
    if (!Array.isArray(v.subtasks) || v.subtasks.length > maxP) return { field: `${at}.subtasks`, message: `not a list of at most ${maxP} subtask states` };
    for (let i = 0; i < v.subtasks.length; i++) {
      const st = v.subtasks[i] as unknown;
      if (st === null || st === undefined) continue;
      const sat = `${at}.subtasks[${i}]`;
      if (!isObj(st)) return { field: sat, message: 'not a subtask state' };
      if (!Array.isArray(st.list)) return { field: `${sat}.list`, message: 'not a list' };
      if (!Array.isArray(st.keyed)) return { field: `${sat}.keyed`, message: 'not a list of [key group, state]' };
      for (let j = 0; j < st.keyed.length; j++) {
        const e = st.keyed[j] as unknown;
        if (!Array.isArray(e) || e.length !== 2 || !isInt(e[0], 0, maxP - 1)) return { field: `${sat}.keyed[${j}]`, message: `not a [key group 0..${maxP - 1}, state] pair` };
      }
    }
    if (v.inflight !== undefined) {
      if (!Array.isArray(v.inflight)) return { field: `${at}.inflight`, message: 'not a list of in-flight batches' };
      for (let j = 0; j < v.inflight.length; j++) {
        const b = v.inflight[j] as unknown;
        const bat = `${at}.inflight[${j}]`;
        if (!isObj(b) || !isInt(b.edge, 0) || !Array.isArray(b.values) || !Array.isArray(b.ts) || b.values.length !== b.ts.length) {
          return { field: bat, message: 'not an in-flight batch {edge, values, ts} with one time per record' };
        }
        if (!b.values.every(isObj)) return { field: `${bat}.values`, message: 'holds a record that is not an object' };
        if (!b.ts.every((t) => typeof t === 'number')) return { field: `${bat}.ts`, message: 'holds a time that is not a number' };
      }
    }
  }
  return undefined;
}

/**
 * Writes `dir/_metadata` atomically; returns the byte size. On a failed write (ENOSPC, EFBIG, EIO...)
 * the temporary file, and `dir` when this call created it, are removed before the error is rethrown:
 * a full disk keeps no half-written savepoint (test/savepoint-dir-faults.test.ts).
 */
export function writeCheckpointDir(dir: string, meta: CheckpointMetadata): number {
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const bytes = encodeCheckpoint(meta);
  const tmp = join(dir, `._metadata.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, '_metadata'));
  } catch (err) {
    rmSync(created ? dir : tmp, { recursive: true, force: true });
    throw err;
  }
  return bytes.length;
}

/** Reads a checkpoint or savepoint directory (or its `_metadata` file). Throws SAVEPOINT_MISSING or SAVEPOINT_CORRUPT, with `details.file` = `path`. */
export function readCheckpoint(path: string): CheckpointMetadata {
  const abs = resolve(path);
  const file = existsSync(abs) && statSync(abs).isDirectory() ? join(abs, '_metadata') : abs;
  if (!existsSync(file)) throw new StreamtuneError('SAVEPOINT_MISSING', `no savepoint or checkpoint at ${path} (expected ${file})`, { details: { file: path } });
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${path} cannot be read: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
  return decodeCheckpoint(bytes, path);
}

/** Keeps the newest `retained` completed `chk-*` directories under `dir`, deleting older ones. */
export function pruneCheckpoints(dir: string, retained: number): void {
  if (!existsSync(dir)) return;
  const ids = readdirSync(dir)
    .map((n) => /^chk-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], '_metadata')))
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  for (const id of ids.slice(retained)) rmSync(join(dir, `chk-${id}`), { recursive: true, force: true });
}

/** The newest completed checkpoint directory under `dir`, or undefined. */
export function latestCheckpoint(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const ids = readdirSync(dir)
    .map((n) => /^chk-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], '_metadata')))
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  return ids.length > 0 ? join(dir, `chk-${ids[0]}`) : undefined;
}
