/**
 * Snappy block compression (the "raw" format, not the framed stream), what Prometheus remote write
 * bodies are encoded with (`Content-Encoding: snappy`). Format: google/snappy `format_description.txt`:
 * a varint of the uncompressed length, then elements: literals (tag `00`) and copies with a 2-byte
 * offset (tag `10`, length 1..64). The compressor is the greedy one of the reference implementation in
 * its simplest form: input in blocks of 64 KiB (so every offset fits in 2 bytes), a hash table of
 * 4-byte sequences per block, a match of 4 bytes or more becomes copies, everything else literals.
 * Written here because npm has no small, maintained pure-JS snappy compressor among the project's
 * dependencies; Prometheus and VictoriaMetrics decoding it is tested (test/store-prometheus.test.ts),
 * and `snappyUncompress` (the decoder, for the tests) round-trips it.
 */
import { StreamtuneError } from '../../core/index.ts';

const BLOCK = 1 << 16;
const HASH_BITS = 14;

function pushVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function emitLiteral(out: number[], src: Uint8Array, from: number, to: number): void {
  const len = to - from;
  if (len <= 0) return;
  const n = len - 1;
  if (n < 60) out.push(n << 2);
  else if (n < 0x100) out.push(60 << 2, n);
  else if (n < 0x10000) out.push(61 << 2, n & 0xff, n >>> 8);
  else if (n < 0x1000000) out.push(62 << 2, n & 0xff, (n >>> 8) & 0xff, n >>> 16);
  else out.push(63 << 2, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  for (let i = from; i < to; i++) out.push(src[i]!);
}

function emitCopy(out: number[], offset: number, len: number): void {
  while (len > 0) {
    const n = Math.min(len, 64);
    out.push(((n - 1) << 2) | 2, offset & 0xff, offset >>> 8);
    len -= n;
  }
}

const load32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const hash = (x: number): number => Math.imul(x, 0x1e35a7bd) >>> (32 - HASH_BITS);

/** Compresses `input` into one snappy block. */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  pushVarint(out, input.length);
  const table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < input.length; start += BLOCK) {
    const end = Math.min(input.length, start + BLOCK);
    table.fill(-1);
    let lit = start;
    let i = start;
    while (i + 4 <= end) {
      const h = hash(load32(input, i));
      const cand = table[h]!;
      table[h] = i;
      if (cand >= start && i - cand < BLOCK && load32(input, cand) === load32(input, i)) {
        let len = 4;
        while (i + len < end && input[cand + len] === input[i + len]) len++;
        emitLiteral(out, input, lit, i);
        emitCopy(out, i - cand, len);
        i += len;
        lit = i;
      } else i++;
    }
    emitLiteral(out, input, lit, end);
  }
  return Uint8Array.from(out);
}

/**
 * Decodes one snappy block (all element kinds, 1-, 2- and 4-byte offsets).
 * @throws StreamtuneError STORE_REJECTED on a malformed block.
 */
export function snappyUncompress(input: Uint8Array): Uint8Array {
  const bad = (why: string): never => {
    throw new StreamtuneError('STORE_REJECTED', `malformed snappy block: ${why}`);
  };
  let pos = 0;
  let len = 0;
  let mul = 1;
  for (;;) {
    if (pos >= input.length) bad('truncated length');
    const b = input[pos++]!;
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  const out = new Uint8Array(len);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let k = 0; k < bytes; k++) n |= input[pos++]! << (8 * k);
      }
      n += 1;
      if (pos + n > input.length || o + n > len) bad('literal past the end');
      out.set(input.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos++]!;
    } else if (kind === 2) {
      n = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      n = (tag >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + n > len) bad('copy out of range');
    for (let k = 0; k < n; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== len) bad(`length ${o}, header says ${len}`);
  return out;
}
