/**
 * The pages' client side in a real Chromium, under a strict CSP (scripts and styles from 'self'
 * only): live uPlot charts get points and switch range, evidence charts draw, Apply opens a
 * confirmation showing the change, confirm posts with the CSRF header and the operation's steps
 * appear live until it succeeds. Runs over the fixture control plane; the API routes the page posts
 * to are stood in by small handlers here (the real server is exercised by browser-demo.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { createPagesRouter } from '../dashboards/server/pages/index.ts';
import type { Operation } from '../tuner/types.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { JOB_ID, NOW, fixtureControlPlane, operation } from './helpers/pages-fixture.ts';

const CSRF = 'csrf-token-browser-pages';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";

let server: Server;
let base: string;
let cp: ControlPlane;
let browser: TestBrowser;
const ops: Operation[] = [operation];
const applyHeaders: Array<string | undefined> = [];

before(async () => {
  cp = await fixtureControlPlane(ops);
  const app = express();
  app.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.locals.csrfToken = CSRF;
    res.locals.loggedIn = true;
    next();
  });
  // stand-in for the API's apply: journal an operation and walk it through its steps
  app.post('/api/v1/recommendations/:id/apply', (req, res) => {
    applyHeaders.push(req.get('x-csrf-token'));
    if (req.get('x-csrf-token') !== CSRF) {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: 'missing or wrong CSRF token' } });
      return;
    }
    const op: Operation = {
      id: 'op-live', job_id: JOB_ID, job_name: 'flight-delays', origin: 'user', diagnosisId: 'diag-1', recommendationId: req.params.id,
      actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 6 }], previous: { parallelism: { enrich: 2 } },
      state: 'PENDING', steps: [], createdAt: NOW, updatedAt: NOW,
    };
    ops.unshift(op);
    const script: Array<[Operation['state'], string]> = [['SAVEPOINTING', 'savepoint'], ['STARTING', 'start'], ['VERIFYING', 'verify'], ['SUCCEEDED', '']];
    let i = 0;
    const tick = setInterval(() => {
      const [state, step] = script[i++]!;
      for (const s of op.steps) if (s.status === 'started') Object.assign(s, { status: 'succeeded', finishedAt: NOW + i * 500 });
      if (step) op.steps.push({ name: step, status: 'started', startedAt: NOW + i * 500 });
      op.state = state;
      if (state === 'SUCCEEDED') {
        op.downtimeMs = 900;
        op.finishedAt = NOW + 3000;
        clearInterval(tick);
      }
    }, 400);
    res.status(202).json(op);
  });
  app.use('/', createPagesRouter(cp, { baseUrl: 'http://127.0.0.1' }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser('browser-pages', { baseURL: base });
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server.close(r));
  await cp.close();
});

test('overview → job charts with points → diagnosis → Apply with confirmation → steps live until SUCCEEDED', { timeout: 240_000 }, async () => {
  const { page } = browser;
  await page.goto('/');
  await page.locator(`tr[data-job-id="${JOB_ID}"]`).waitFor();
  await browser.screenshot('overview');

  await page.click('a.job-link');
  await page.waitForURL(`**/jobs/${JOB_ID}`);
  await page.waitForFunction(() => Number(document.getElementById('chart-lag')?.dataset.points) > 0, undefined, { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.getElementById('chart-partitions')?.dataset.points) > 0);
  await page.waitForFunction(() => Number(document.getElementById('chart-throughput')?.dataset.points) > 0);
  assert.equal(await page.locator('#chart-lag canvas').count(), 1, 'uPlot drew the lag chart');
  assert.equal(await page.locator('#chart-partitions .u-legend .u-series').count(), 3, 'x + two partitions');
  assert.equal(Number(await page.getAttribute('#chart-lag', 'data-points')), 25);
  assert.equal(await page.locator('svg.job-graph g.vertex').count(), 4);
  await browser.screenshot('job');

  await page.click('button[data-range="1h"]');
  await page.waitForFunction(() => document.getElementById('charts')?.dataset.range === '1h');
  await page.waitForFunction(() => Number(document.getElementById('chart-lag')?.dataset.points) > 0 && Number(document.getElementById('chart-lag')?.dataset.points) < 25);
  assert.match(page.url(), /range=1h/);

  await page.click('a.diagnosis-link');
  await page.waitForURL('**/diagnoses/diag-1');
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-evidence]')?.dataset.points) === 3);
  await browser.screenshot('diagnosis');

  await page.click('button[data-apply="rec-1"]');
  await page.locator('#confirm-apply[open]').waitFor();
  assert.equal(await page.textContent('#confirm-change'), 'enrich: parallelism 2 → 6');
  await browser.screenshot('confirm');
  // cancel first: nothing is posted
  await page.click('#confirm-apply button[value="cancel"]');
  await page.locator('#confirm-apply[open]').waitFor({ state: 'detached' });
  assert.equal(applyHeaders.length, 0);

  await page.click('button[data-apply="rec-1"]');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => document.querySelector("[data-op-state]")?.textContent === "SUCCEEDED", undefined, { timeout: 60_000 });
  assert.deepEqual(applyHeaders, [CSRF]);
  const steps = await page.locator('[data-op-steps] tr td:first-child').allTextContents();
  assert.deepEqual(steps, ['savepoint', 'start', 'verify']);
  assert.match((await page.textContent('[data-op-verification]')) ?? '', /downtime 900 ms/);
  await browser.screenshot('applied');

  await page.goto('/operations/op-live');
  await page.locator('#op-state[data-state="SUCCEEDED"]').waitFor();
  await browser.screenshot('operation');
  assert.deepEqual(browser.errors, [], 'no console errors (CSP violations show here)');
});
