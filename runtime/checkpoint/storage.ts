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

/** Parses metadata bytes; throws SAVEPOINT_CORRUPT naming `source` when the bytes are not intact. */
export function decodeCheckpoint(bytes: Buffer, source: string): CheckpointMetadata {
  if (bytes.length < 9 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${source} is not a streamtune checkpoint or savepoint (bad header)`);
  }
  const version = bytes.readUInt8(4);
  if (!READABLE_VERSIONS.has(version)) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${source} has checkpoint format version ${version}; this streamtune reads versions ${[...READABLE_VERSIONS].join(' and ')}${version > CHECKPOINT_FORMAT_VERSION ? ' (written by a newer streamtune?)' : ''}`);
  }
  const payload = bytes.subarray(9);
  if ((crc32(payload) >>> 0) !== bytes.readUInt32BE(5)) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${source} is corrupt: checksum mismatch (truncated or altered file)`);
  }
  let meta: CheckpointMetadata;
  try {
    meta = packr.unpack(payload) as CheckpointMetadata;
  } catch (err) {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${source} is corrupt: ${(err as Error).message}`, { cause: err });
  }
  if (!meta || typeof meta.jobName !== 'string' || typeof meta.vertices !== 'object') {
    throw new StreamtuneError('SAVEPOINT_CORRUPT', `${source} is corrupt: missing job metadata`);
  }
  return meta;
}

/** Writes `dir/_metadata` atomically; returns the byte size. */
export function writeCheckpointDir(dir: string, meta: CheckpointMetadata): number {
  mkdirSync(dir, { recursive: true });
  const bytes = encodeCheckpoint(meta);
  const tmp = join(dir, `._metadata.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, '_metadata'));
  return bytes.length;
}

/** Reads a checkpoint or savepoint directory (or its `_metadata` file). Throws SAVEPOINT_MISSING or SAVEPOINT_CORRUPT. */
export function readCheckpoint(path: string): CheckpointMetadata {
  const abs = resolve(path);
  const file = existsSync(abs) && statSync(abs).isDirectory() ? join(abs, '_metadata') : abs;
  if (!existsSync(file)) throw new StreamtuneError('SAVEPOINT_MISSING', `no savepoint or checkpoint at ${path} (expected ${file})`);
  return decodeCheckpoint(readFileSync(file), path);
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
