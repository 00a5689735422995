/**
 * Damaged savepoint and checkpoint files. Setup runs a real job (generated records → keyed window
 * aggregate → exactly-once JSONL sink; no dataset source: DuckDB's native handles abort the process
 * when a worker thread holding them is terminated) until it has committed output and retained checkpoints, and
 * stops it with a savepoint; that savepoint's `_metadata` is the file the inputs are made from:
 * truncated, bits flipped, bytes overwritten, another magic or format version, random bytes, and
 * payloads re-checksummed after a change (so the CRC holds and the decoder's shape checks must catch
 * it): a field removed or of the wrong type, a pending file renamed outside the output directory,
 * random MessagePack. Each is read with `readCheckpoint` and restored through `LocalJob` (the job's
 * own spec, output and checkpoint directories): a refusal must be a clear SAVEPOINT_CORRUPT /
 * SAVEPOINT_MISSING / INVALID_ARGUMENT naming the savepoint, and leave the committed output, the
 * retained checkpoints and the savepoint file byte for byte as they were. A restore that is accepted
 * (a change the job can run with) is cancelled, and the directories are put back.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { encodeCheckpoint, readCheckpoint, type CheckpointMetadata } from '../../../../runtime/checkpoint/storage.ts';
import { LocalJob } from '../../../../runtime/job.ts';
import { parseJobSpecYaml, type JobSpec } from '../../../../runtime/spec.ts';
import { outcomeOf, outcomeOfAsync, type Outcome } from '../clear.ts';
import { treeMutation, type Json } from '../mutate.ts';
import { tempDir, waitFor } from '../../wait.ts';
import type { BadInputKind } from './types.ts';

const packr = new Packr({ useRecords: false });

/** How a damaged file is made from the real one. */
export type Damage =
  | { d: 'truncate'; at: number }
  | { d: 'bit-flips'; bits: number[] }
  | { d: 'overwrite'; at: number; bytes: Uint8Array }
  | { d: 'version'; version: number }
  | { d: 'magic'; bytes: Uint8Array }
  | { d: 'random'; bytes: Uint8Array }
  | { d: 'rechecksummed-payload'; bytes: Uint8Array }
  | { d: 'rechecksummed-msgpack'; value: Json }
  | { d: 'rechecksummed-change'; meta: Json }
  | { d: 'escaping-pending-file'; pending: string; final: string }
  | { d: 'missing' };

/** The bytes of `damage` applied to `good` (the real savepoint's `_metadata`); undefined = no file. */
export function damaged(good: Buffer, damage: Damage): Buffer | undefined {
  const withCrc = (version: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(9);
    h.write('STCK', 0, 'latin1');
    h.writeUInt8(version, 4);
    h.writeUInt32BE(crc32(payload) >>> 0, 5);
    return Buffer.concat([h, payload]);
  };
  switch (damage.d) {
    case 'truncate':
      return good.subarray(0, damage.at % good.length);
    case 'bit-flips': {
      const b = Buffer.from(good);
      for (const i of damage.bits) b[Math.floor(i / 8) % b.length]! ^= 1 << (i % 8);
      return b;
    }
    case 'overwrite': {
      const b = Buffer.from(good);
      Buffer.from(damage.bytes).copy(b, damage.at % b.length);
      return b;
    }
    case 'version':
      return withCrc(damage.version, good.subarray(9));
    case 'magic': {
      const b = Buffer.from(good);
      Buffer.from(damage.bytes).copy(b, 0, 0, 4);
      return b;
    }
    case 'random':
      return Buffer.from(damage.bytes);
    case 'rechecksummed-payload':
      return withCrc(2, Buffer.from(damage.bytes));
    case 'rechecksummed-msgpack':
      return withCrc(2, packr.pack(damage.value));
    case 'rechecksummed-change':
      return encodeCheckpoint(damage.meta as unknown as CheckpointMetadata);
    case 'escaping-pending-file': {
      const meta = packr.unpack(good.subarray(9)) as CheckpointMetadata;
      const st = meta.vertices.out!.subtasks[0]!;
      st.list = [{ checkpointId: 1, pending: damage.pending, final: damage.final }, ...st.list];
      return encodeCheckpoint(meta);
    }
    case 'missing':
      return undefined;
  }
}

/** Damages of the real savepoint's bytes (`meta`: its decoded content, for changes that keep the CRC right). */
export function damageArbitrary(meta: Json): fc.Arbitrary<Damage> {
  const bytes = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max });
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((at) => ({ d: 'truncate' as const, at })) },
    { weight: 3, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }).map((bits) => ({ d: 'bit-flips' as const, bits })) },
    { weight: 2, arbitrary: fc.record({ d: fc.constant('overwrite' as const), at: fc.nat(), bytes: bytes(16) }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1 && v !== 2).map((version) => ({ d: 'version' as const, version })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ d: 'magic' as const, bytes: b })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => ({ d: 'random' as const, bytes: b })) },
    { weight: 1, arbitrary: bytes(2000).map((b) => ({ d: 'rechecksummed-payload' as const, bytes: b })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ d: 'rechecksummed-msgpack' as const, value: v as Json })) },
    { weight: 4, arbitrary: treeMutation(meta, 3).map((m) => ({ d: 'rechecksummed-change' as const, meta: m })) },
    {
      weight: 1,
      arbitrary: fc.record({
        d: fc.constant('escaping-pending-file' as const),
        pending: fc.constantFrom('../../escaped.pending', '/tmp/x.pending', '.part-a-0-0.pending', '.part-a-0-0.pending/../../x', '..', ''),
        final: fc.constantFrom('../../escaped.jsonl', '/etc/passwd', 'part-a-0-0.jsonl', 'part-b-0-0.jsonl', ''),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ d: 'missing' as const }) },
  );
}

/** A file tree as 'path size sha256' lines: equal strings = byte-for-byte the same files. */
export function digestTree(dir: string): string {
  if (!existsSync(dir)) return '(none)';
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, r);
      else out.push(`${r} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir, '');
  return out.join('\n');
}

interface Ctx {
  spec: JobSpec;
  good: Buffer;
  root: string;
  outDir: string;
  chkDir: string;
  pristineOut: string;
  pristineChk: string;
  badDir: string;
  goodSavepoint: string;
}

/** A real job with committed output, retained checkpoints and a savepoint (see the module comment). */
async function setup(): Promise<Ctx> {
  const root = tempDir('bad-savepoint-');
  const outDir = join(root, 'out');
  const chkDir = join(root, 'checkpoints');
  const spec = parseJobSpecYaml(`name: savepoint-fuzz
maxParallelism: 16
taskManagers: 1
checkpoints: { interval: 200ms, timeout: 20s, retained: 2, dir: ${JSON.stringify(chkDir)} }
vertices:
  - { name: events, type: generator-source, rate: 4000, keys: 20, count: 200000, splits: 2, parallelism: 2 }
  - { name: counts, type: window-aggregate, key: key, size: 1s, aggregations: { n: count, total: sum(value) }, parallelism: 2 }
  - { name: out, type: jsonl-sink, path: ${JSON.stringify(outDir)}, parallelism: 1 }
edges:
  - { from: events, to: counts, partitioning: hash, key: key }
  - { from: counts, to: out, partitioning: rebalance }
`, 'savepoint-fuzz.yaml');
  const job = new LocalJob(spec, { taskManagers: 1 });
  await job.start();
  await waitFor(() => job.stats.numberOfCompletedCheckpoints >= 3 && existsSync(outDir) && readdirSync(outDir).some((f) => /^part-.*\.jsonl$/.test(f)), { timeoutMs: 120_000, what: 'committed output and 3 checkpoints' });
  const sp = await job.stopWithSavepoint(join(root, 'savepoints'));
  const good = readFileSync(join(sp.path, '_metadata'));
  const pristineOut = join(root, 'pristine-out');
  const pristineChk = join(root, 'pristine-checkpoints');
  cpSync(outDir, pristineOut, { recursive: true });
  cpSync(chkDir, pristineChk, { recursive: true });
  return { spec, good, root, outDir, chkDir, pristineOut, pristineChk, badDir: join(root, 'bad-savepoint'), goodSavepoint: sp.path };
}

let ctxMeta: Json | undefined;

/** The bytes the inputs are made from are only known after setup: the arbitrary reads them lazily. */
function lazyDamage(): fc.Arbitrary<Damage> {
  return fc.constant(null).chain(() => damageArbitrary(ctxMeta ?? {}));
}

const CODES = ['SAVEPOINT_CORRUPT', 'SAVEPOINT_MISSING', 'INVALID_ARGUMENT'];

/** Damaged savepoint files: read, then restored through LocalJob. */
export const checkpointKind: BadInputKind<Damage, Ctx> = {
  title: 'savepoint / checkpoint file',
  fedTo: '`readCheckpoint(dir)` (runtime/checkpoint/storage.ts), then `new LocalJob(spec, {fromSavepoint}).start()` over the job\'s committed output and retained checkpoints',
  arbitrary: lazyDamage(),
  async setup() {
    const ctx = await setup();
    ctxMeta = packr.unpack(ctx.good.subarray(9)) as Json;
    return ctx;
  },
  async check(damage, ctx): Promise<Outcome> {
    rmSync(ctx.badDir, { recursive: true, force: true });
    mkdirSync(ctx.badDir);
    const bytes = damaged(ctx.good, damage);
    if (bytes) writeFileSync(join(ctx.badDir, '_metadata'), bytes);
    const read = outcomeOf(() => readCheckpoint(ctx.badDir), { codes: CODES, file: ctx.badDir });
    if (read.kind === 'unclear') return { kind: 'unclear', why: `readCheckpoint: ${read.why}` };
    const before = [digestTree(ctx.outDir), digestTree(ctx.chkDir), digestTree(ctx.goodSavepoint), bytes ? createHash('sha256').update(bytes).digest('hex') : ''];
    const job = new LocalJob(ctx.spec, { fromSavepoint: ctx.badDir, taskManagers: 1 });
    const restore = await outcomeOfAsync(() => job.start(), { codes: CODES, file: ctx.badDir });
    if (restore.kind === 'accepted') {
      await job.cancel();
      rmSync(ctx.outDir, { recursive: true, force: true });
      rmSync(ctx.chkDir, { recursive: true, force: true });
      cpSync(ctx.pristineOut, ctx.outDir, { recursive: true });
      cpSync(ctx.pristineChk, ctx.chkDir, { recursive: true });
      if (read.kind === 'rejected') return { kind: 'unclear', why: 'readCheckpoint refused the file but LocalJob restored from it' };
      return { kind: 'accepted', note: 'a change the job can restore from' };
    }
    if (restore.kind === 'unclear') return { kind: 'unclear', why: `restore: ${restore.why}` };
    const after = [digestTree(ctx.outDir), digestTree(ctx.chkDir), digestTree(ctx.goodSavepoint), bytes ? createHash('sha256').update(bytes).digest('hex') : ''];
    const names = ['the committed output', 'the retained checkpoints', 'the good savepoint', 'the bad savepoint file'];
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) return { kind: 'unclear', why: `a refused restore changed ${names[i]}` };
    const file = join(ctx.badDir, '_metadata');
    if (bytes && !readFileSync(file).equals(bytes)) return { kind: 'unclear', why: 'a refused restore changed the bad savepoint file' };
    return { kind: 'rejected' };
  },
  preview(d) {
    switch (d.d) {
      case 'random':
      case 'rechecksummed-payload':
        return `${d.d} (${d.bytes.length} bytes)`;
      case 'overwrite':
        return `overwrite at ${d.at} with ${Buffer.from(d.bytes).toString('hex')}`;
      case 'magic':
        return `magic ${Buffer.from(d.bytes).toString('hex')}`;
      case 'rechecksummed-change':
      case 'rechecksummed-msgpack': {
        const j = JSON.stringify('meta' in d ? d.meta : d.value) ?? '';
        return `${d.d}: ${j.length > 300 ? `${j.slice(0, 300)}…` : j}`;
      }
      default:
        return JSON.stringify(d);
    }
  },
};
