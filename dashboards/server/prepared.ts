/**
 * Prepared JSON responses for the API's hot read routes (the overview and the lag and metric
 * series that dashboards poll): the body is serialised, hashed for its ETag and compressed (brotli
 * and gzip) ONCE per cache entry (off the event loop at cache fill, {@link prepareJsonCompressed};
 * else on the first client that accepts it) instead of once per request. Brotli is sent to clients
 * that accept it (every current browser, over any connection here): on a 15-minute lag series it
 * is half the gzip size (6.4 vs 13.3 KB of 93 KB), and the bytes written per request are most of
 * what a cached response costs. With
 * 100 clients polling a 15-minute lag series (~100 KB of JSON) Express's per-request
 * string → Buffer copy and SHA-1 ETag of the same body dominated the p99 latency (BENCHMARKS.md).
 *
 * The ETag is strong (the body's bytes); a conditional GET with a matching `If-None-Match` gets
 * 304 with no body, which is what a browser's live refresh of an unchanged range sends.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants as zlibConstants, gzip, gzipSync, type BrotliOptions } from 'node:zlib';
import type { Request, Response } from 'express';

/** A JSON body ready to send: `body` UTF-8 bytes, `etag` quoted strong validator, `gzip` and `br` the compressed bodies (at fill, or lazily by {@link sendPrepared}). */
export interface PreparedJson {
  body: Buffer;
  etag: string;
  /** ms since epoch when it was prepared (the age of the data it holds) */
  at: number;
  gzip?: Buffer;
  br?: Buffer;
}

/** Serialises `value` once (JSON, UTF-8) and hashes it (SHA-1, base64url) for its ETag. */
export function prepareJson(value: unknown): PreparedJson {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { body, etag: `"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url')}"`, at: Date.now() };
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * Brotli settings: quality 5 of 11 (a 93 KB series in ~3 ms, already half of gzip -6; the top
 * qualities take 20× longer for a few % more), text mode, the body size as a hint.
 */
function brotliOptions(body: Buffer): BrotliOptions {
  return { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } };
}

/**
 * {@link prepareJson} plus the gzip and brotli bodies, compressed on libuv's thread pool (not the
 * event loop) when the body is at least {@link GZIP_MIN_BYTES}: for cache fills, so that no request
 * waits for the compression of a 100 KB series. Rejects only if zlib fails.
 */
export async function prepareJsonCompressed(value: unknown): Promise<PreparedJson> {
  const p = prepareJson(value);
  if (p.body.length >= GZIP_MIN_BYTES) [p.gzip, p.br] = await Promise.all([gzipAsync(p.body, { level: 6 }), brotliAsync(p.body, brotliOptions(p.body))]);
  return p;
}

/** Bodies below this size are sent uncompressed (gzip would not pay for its header and CPU), bytes. */
export const GZIP_MIN_BYTES = 1024;

/**
 * The `q` an `Accept-Encoding` header gives a coding (RFC 9110 §12.5.3): its own entry, else `*`'s,
 * else 0 (not acceptable).
 */
function qualityOf(entries: ReadonlyArray<{ coding: string; q: number }>, coding: string): number {
  return (entries.find((e) => e.coding === coding) ?? entries.find((e) => e.coding === '*'))?.q ?? 0;
}

/**
 * The compression to send for an `Accept-Encoding` header: 'br' when acceptable with a q at least
 * gzip's, else 'gzip' when acceptable, else none. Brotli wins ties (browsers list
 * "gzip, deflate, br, zstd" with equal q; the header's order carries no preference), which the
 * `accepts` package would break by that order instead.
 */
export function compressionFor(header: string | undefined): 'br' | 'gzip' | undefined {
  if (!header) return undefined;
  const entries = header.split(',').map((part) => {
    const [coding = '', ...params] = part.split(';').map((x) => x.trim());
    const q = params.find((x) => /^q=/i.test(x));
    const v = q ? Number(q.slice(2)) : 1;
    return { coding: coding.toLowerCase(), q: Number.isFinite(v) ? v : 0 };
  });
  const br = qualityOf(entries, 'br');
  const gz = qualityOf(entries, 'gzip');
  if (br > 0 && br >= gz) return 'br';
  return gz > 0 ? 'gzip' : undefined;
}

/**
 * Sends `p` as `application/json`: 304 when the request's `If-None-Match` carries its ETag (Express's
 * `req.fresh`); when the body is at least {@link GZIP_MIN_BYTES}, the brotli or gzip body the client
 * prefers by its `Accept-Encoding` (brotli on a tie); else the plain body. `Vary: Accept-Encoding` always.
 */
export function sendPrepared(req: Request, res: Response, p: PreparedJson): void {
  res.setHeader('ETag', p.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  res.type('application/json');
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  const { encoding, body } = encodedBody(p, req.headers['accept-encoding']);
  if (encoding) res.setHeader('Content-Encoding', encoding);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * The body of `p` to send for an `Accept-Encoding` header: brotli or gzip as {@link compressionFor}
 * picks when the body is at least {@link GZIP_MIN_BYTES} (compressed here, once, if the cache fill
 * did not), else the plain body with no encoding.
 */
export function encodedBody(p: PreparedJson, acceptEncoding: string | undefined): { encoding?: 'br' | 'gzip'; body: Buffer } {
  const encoding = p.body.length >= GZIP_MIN_BYTES ? compressionFor(acceptEncoding) : undefined;
  if (encoding === 'br') return { encoding, body: (p.br ??= brotliCompressSync(p.body, brotliOptions(p.body))) };
  if (encoding === 'gzip') return { encoding, body: (p.gzip ??= gzipSync(p.body, { level: 6 })) };
  return { body: p.body };
}
