/**
 * Prepared JSON responses for the API's hot read routes (the overview and the lag and metric
 * series that dashboards poll): the body is serialised, hashed for its ETag and gzip-compressed
 * ONCE per cache entry (off the event loop at cache fill, {@link prepareJsonCompressed}; else on the
 * first client that accepts it) instead of once per request. With
 * 100 clients polling a 15-minute lag series (~100 KB of JSON) Express's per-request
 * string → Buffer copy and SHA-1 ETag of the same body dominated the p99 latency (BENCHMARKS.md).
 *
 * The ETag is strong (the body's bytes); a conditional GET with a matching `If-None-Match` gets
 * 304 with no body, which is what a browser's live refresh of an unchanged range sends.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import type { Request, Response } from 'express';

/** A JSON body ready to send: `body` UTF-8 bytes, `etag` quoted strong validator, `gzip` the compressed body (at fill, or lazily by {@link sendPrepared}). */
export interface PreparedJson {
  body: Buffer;
  etag: string;
  gzip?: Buffer;
}

/** Serialises `value` once (JSON, UTF-8) and hashes it (SHA-1, base64url) for its ETag. */
export function prepareJson(value: unknown): PreparedJson {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { body, etag: `"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url')}"` };
}

const gzipAsync = promisify(gzip);

/**
 * {@link prepareJson} plus the gzip body, compressed on libuv's thread pool (not the event loop)
 * when the body is at least {@link GZIP_MIN_BYTES}: for cache fills, so that no request waits for
 * the compression of a 100 KB series. Rejects only if zlib fails.
 */
export async function prepareJsonCompressed(value: unknown): Promise<PreparedJson> {
  const p = prepareJson(value);
  if (p.body.length >= GZIP_MIN_BYTES) p.gzip = await gzipAsync(p.body, { level: 6 });
  return p;
}

/** Bodies below this size are sent uncompressed (gzip would not pay for its header and CPU), bytes. */
export const GZIP_MIN_BYTES = 1024;

/**
 * Sends `p` as `application/json`: 304 when the request's `If-None-Match` carries its ETag (Express's
 * `req.fresh`), the gzip body when the client accepts gzip and the body is at least
 * {@link GZIP_MIN_BYTES}, else the plain body. `Vary: Accept-Encoding` always.
 */
export function sendPrepared(req: Request, res: Response, p: PreparedJson): void {
  res.setHeader('ETag', p.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  res.type('application/json');
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  if (p.body.length >= GZIP_MIN_BYTES && req.acceptsEncodings('gzip') === 'gzip') {
    p.gzip ??= gzipSync(p.body, { level: 6 });
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', p.gzip.length);
    res.end(p.gzip);
    return;
  }
  res.setHeader('Content-Length', p.body.length);
  res.end(p.body);
}
