/**
 * Repeat reads of the overview and lag routes answered ahead of the middleware
 * (dashboards/server/fast-reads.ts): the remembered answer is served with the same bytes, security
 * headers, compression and 304 as the router's cached one, only while it is fresh, only for GETs of
 * the hot URLs without a query, and counted in /metrics; through the real app it gives what the
 * router gave.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync } from 'node:zlib';
import { FastReads, fastRouteOf } from '../dashboards/server/fast-reads.ts';
import { prepareJson } from '../dashboards/server/prepared.ts';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { silentLogger } from '../core/logger.ts';
import { JOB_ID, SECRET, fixtureControlPlane } from './helpers/pages-fixture.ts';

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('fastRouteOf: the overview and a lag series without a query, nothing else', () => {
  assert.equal(fastRouteOf('/api/v1/jobs'), '/api/v1/jobs');
  assert.equal(fastRouteOf(`/api/v1/jobs/${JOB_ID}/lag`), '/api/v1/jobs/:id/lag');
  for (const u of ['/api/v1/jobs?x=1', `/api/v1/jobs/${JOB_ID}/lag?from=now-5m`, `/api/v1/jobs/${JOB_ID}`, `/api/v1/jobs/${JOB_ID}/metrics`, '/api/v1/jobs/a/b/lag', '/']) assert.equal(fastRouteOf(u), undefined, u);
});

test('FastReads serves the remembered answer while fresh, with its headers, compression and 304, and counts it', async () => {
  let now = 1_000_000;
  const seen: Array<[string, string, number]> = [];
  const fast = new FastReads(1000, (m, r, s) => seen.push([m, r, s]), () => now);
  const value = { jobs: Array.from({ length: 200 }, (_, i) => ({ id: `j${i}`, lag: i })) };
  const p = { ...prepareJson(value), at: now };
  let slow = 0;
  const server: Server = createServer((req, res) => {
    if (fast.handle(req, res)) return;
    slow++;
    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.setHeader('Set-Cookie', 'sid=secret');
    fast.remember(req.url!, res, p);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag: p.etag });
    res.end(p.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await get(`${base}/api/v1/jobs`);
    assert.equal(slow, 1);
    const br = await get(`${base}/api/v1/jobs`, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(slow, 1, 'answered by the fast path');
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['x-frame-options'], 'SAMEORIGIN', 'the security headers the app had set');
    assert.equal(br.headers['set-cookie'], undefined, 'never a cookie');
    assert.equal(br.headers.etag, p.etag);
    assert.deepEqual(JSON.parse(brotliDecompressSync(br.body).toString('utf8')), value);
    const plain = await get(`${base}/api/v1/jobs`);
    assert.deepEqual(JSON.parse(plain.body.toString('utf8')), value);
    assert.equal((await get(`${base}/api/v1/jobs`, { 'if-none-match': `"other", ${p.etag}` })).status, 304);
    assert.deepEqual(seen, [['GET', '/api/v1/jobs', 200], ['GET', '/api/v1/jobs', 200], ['GET', '/api/v1/jobs', 304]]);
    // not served here: another URL, a query, a POST, no-cache, and anything once the answer is a TTL old
    await get(`${base}/api/v1/jobs?x=1`);
    await get(`${base}/api/v1/jobs`, {}, 'POST');
    await get(`${base}/api/v1/jobs`, { 'cache-control': 'no-cache' });
    assert.equal(slow, 4);
    // past the TTL: the first request goes to the app (the router refreshes there), the next are
    // still served here while the refresh runs, as the router's cache serves a stale entry
    now += 1000;
    await get(`${base}/api/v1/jobs`);
    assert.equal(slow, 5, 'the first request past the TTL reaches the app');
    await get(`${base}/api/v1/jobs`);
    assert.equal(slow, 5, 'stale while the refresh runs');
    now += 1000;
    await get(`${base}/api/v1/jobs`);
    await get(`${base}/api/v1/jobs`);
    assert.equal(slow, 7, 'two TTLs old: never served here');
  } finally {
    server.close();
  }
});

let cp: ControlPlane;
let http: Listening;
before(async () => {
  // the fixture plus a collector that has written nothing and a rule set (the server's /metrics reads them)
  const health = { pointsWritten: 0, writeErrors: 0, pointsBuffered: 0, pointsDropped: 0, pointsRejected: 0, logsWritten: 0, logsBuffered: 0, logsDropped: 0, lastSuccessfulWrite: null };
  cp = { ...(await fixtureControlPlane()), collector: { health: () => health } as unknown as ControlPlane['collector'], rules: { generation: () => 1, current: () => ({ detectors: {} }) } as unknown as ControlPlane['rules'] };
  http = await listen(createApp(cp, { auth: createAuth({ token: SECRET }), baseUrl: 'http://127.0.0.1', cacheTtlMs: 60_000, logger: silentLogger }), 0, '127.0.0.1');
});
after(async () => {
  await http.close(100);
  await cp.close();
});

test('through the app: a repeat read gets what the router gave, with the same security headers, counted under its route', async () => {
  for (const path of ['/api/v1/jobs', `/api/v1/jobs/${JOB_ID}/lag`]) {
    const first = await get(`${http.url}${path}`, { 'accept-encoding': 'br' });
    const again = await get(`${http.url}${path}`, { 'accept-encoding': 'br' });
    assert.equal(first.status, 200, path);
    assert.deepEqual(again.body, first.body, path);
    for (const h of ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy', 'etag', 'content-type', 'content-encoding', 'vary']) {
      assert.equal(again.headers[h], first.headers[h], `${path}: ${h}`);
    }
    assert.ok(first.headers['content-security-policy'], 'helmet ran for the first');
  }
  const metrics = (await get(`${http.url}/metrics`)).body.toString('utf8');
  assert.match(metrics, /streamtune_http_requests_total\{method="GET",route="\/api\/v1\/jobs\/:id\/lag",status="200"\} 2/);
  assert.match(metrics, /streamtune_http_requests_total\{method="GET",route="\/api\/v1\/jobs",status="200"\} 2/);
});
