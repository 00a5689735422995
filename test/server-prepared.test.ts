/**
 * Prepared JSON responses (dashboards/server/prepared.ts) over a real express server on loopback:
 * brotli or gzip when asked for and decodable to the same JSON, plain otherwise, 304 on a matching ETag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import express from 'express';
import { compressionFor, prepareJson, prepareJsonCompressed, sendPrepared } from '../dashboards/server/prepared.ts';

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('a prepared JSON body is sent brotli- or gzip-compressed as the client accepts, plain otherwise, and 304 for its ETag', async () => {
  const value = { series: Array.from({ length: 500 }, (_, i) => ({ t: 1_700_000_000_000 + i * 1000, v: i % 7 })) };
  const p = prepareJson(value);
  const filled = await prepareJsonCompressed(value);
  assert.ok(filled.br && filled.gzip, 'compressed at cache fill');
  const app = express();
  app.get('/x', (req, res) => sendPrepared(req, res, p));
  app.get('/filled', (req, res) => sendPrepared(req, res, filled));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/x`;
  try {
    // a browser's header: brotli, which is smaller than gzip for the same body
    for (const path of ['/x', '/filled']) {
      const br = await get(url.replace(/\/x$/, path), { 'accept-encoding': 'gzip, deflate, br, zstd' });
      assert.equal(br.status, 200);
      assert.equal(br.headers['content-encoding'], 'br', path);
      assert.equal(br.headers.vary, 'Accept-Encoding');
      assert.deepEqual(JSON.parse(brotliDecompressSync(br.body).toString('utf8')), value);
      assert.ok(br.body.length < (filled.gzip?.length ?? 0), `brotli ${br.body.length} < gzip ${filled.gzip?.length}`);
    }
    // a client preferring gzip (or without brotli) gets gzip
    assert.equal((await get(url, { 'accept-encoding': 'br;q=0.5, gzip' })).headers['content-encoding'], 'gzip');
    const gz = await get(url, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.length < p.body.length / 2, `${gz.body.length} vs ${p.body.length}`);
    assert.deepEqual(JSON.parse(gunzipSync(gz.body).toString('utf8')), value);
    const plain = await get(url, {});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(String(plain.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(plain.body.toString('utf8')), value);
    assert.equal(plain.headers.etag, p.etag);
    const again = await get(url, { 'if-none-match': p.etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const other = await get(url, { 'if-none-match': '"other"' });
    assert.equal(other.status, 200);
    assert.notEqual(prepareJson({ a: 1 }).etag, prepareJson({ a: 2 }).etag);
  } finally {
    server.close();
  }
});

test('compressionFor: brotli when acceptable at a q at least gzip\'s, else gzip, else none', () => {
  assert.equal(compressionFor('gzip, deflate, br'), 'br');
  assert.equal(compressionFor('br;q=0.5, gzip'), 'gzip');
  assert.equal(compressionFor('br;q=0, gzip'), 'gzip');
  assert.equal(compressionFor('GZIP;Q=0.8'), 'gzip');
  assert.equal(compressionFor('*'), 'br');
  assert.equal(compressionFor('identity'), undefined);
  assert.equal(compressionFor(undefined), undefined);
  assert.equal(compressionFor('gzip;q=0, br;q=0'), undefined);
});
