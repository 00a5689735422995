/**
 * The demo end to end in a real Chromium: the real control plane (`createControlPlane` over a temp
 * data dir with the embedded store) runs the demo job (flights replayed at 5,000 records/s, lookup
 * `enrich` under-provisioned at parallelism 1) with short collection, alert and verification times;
 * the real app serves it. Log in through the one-time link, open the overview, open the lagging job
 * and see its lag chart with data, open its diagnosis, click Apply and confirm, see the operation's
 * steps until SUCCEEDED, and see the lag fall. Screenshots of every step under test-artifacts/.
 */
import { fastDemoDefaults } from './helpers/rules.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import { loadConfig } from '../control-plane/config.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const TOKEN = 'demo-browser-test-token-5e1f0c2a9b';

let cp: AssembledControlPlane | undefined;
let http: Listening | undefined;
let browser: TestBrowser | undefined;
let loginPath = '';

before(async () => {
  const dataDir = tempDir('browser-demo-');
  // the demo's lag alert, firing after 4 s instead of 15 s
  const config = loadConfig({
    env: {},
    defaults: fastDemoDefaults(dataDir, '10s', { tuner: { policies: { '*': { mode: 'recommend', verifyAfterMs: '15s', cooldownMs: '1s' } } } }),
    overrides: { dataDir, server: { port: 0, host: '127.0.0.1', apiToken: TOKEN } },
  });
  cp = await createControlPlane(config, { startJobs: false });
  http = await listen(undefined, 0, '127.0.0.1');
  const auth = createAuth({ token: TOKEN });
  http.server.on('request', createApp(cp, { auth, baseUrl: http.url }));
  loginPath = auth.createLoginLink();
  await cp.startJobs();
  browser = await launchBrowser('browser-demo', { baseURL: http.url });
});

after(async () => {
  await browser?.close();
  await http?.close(1000);
  await cp?.close();
});

/** Total lag of the job's group now, records, from the page's chart data. */
async function latestLag(jobId: string): Promise<{ last: number; max: number } | undefined> {
  const res = await fetch(`${http!.url}/jobs/${jobId}/charts.json?range=15m`);
  const c = (await res.json()) as { lag: { total: Array<number | null> } };
  const vals = c.lag.total.filter((v): v is number => v !== null);
  if (!vals.length) return undefined;
  return { last: vals.at(-1)!, max: Math.max(...vals) };
}

test('demo: overview → lagging job with lag chart → diagnosis → Apply → operation SUCCEEDED → lag falls', { timeout: 900_000 }, async () => {
  const b = browser!;
  const { page } = b;
  const job = cp!.startupJobs[0]!;
  assert.ok(job, 'the demo job started');

  await page.goto(loginPath);
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(await page.locator('header form[action="/logout"]').count(), 1, 'logged in through the one-time link');

  await page.locator(`tr[data-job-id="${job.job_id}"]`).waitFor();
  await waitFor(async () => {
    await page.reload();
    const s = await page.getAttribute(`tr[data-job-id="${job.job_id}"]`, 'data-lag-status');
    return s === 'WARN' || s === 'ERR';
  }, { timeoutMs: 240_000, intervalMs: 3000, what: 'the overview showing the job lagging' });
  await b.screenshot('overview-lagging');

  await page.click(`tr[data-job-id="${job.job_id}"] a.job-link`);
  await page.waitForURL(`**/jobs/${job.job_id}`);
  await page.waitForFunction(() => Number(document.getElementById('chart-lag')?.dataset.points) >= 2, undefined, { timeout: 120_000 });
  await page.waitForFunction(() => Number(document.getElementById('chart-throughput')?.dataset.points) >= 1, undefined, { timeout: 120_000 });
  assert.equal(await page.locator('#chart-lag canvas').count(), 1);
  assert.ok(!(await page.content()).includes(TOKEN), 'the job page does not render the API token');
  await b.screenshot('job-lagging');

  const diagnosis = await waitFor(
    () =>
      cp!.diagnoses
        .list({ job_id: job.job_id, limit: 20 })
        .find((d: Diagnosis) => d.recommendations.some((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich'))),
    { timeoutMs: 300_000, intervalMs: 2000, what: 'a diagnosis recommending more parallelism for enrich' },
  );
  const rec = diagnosis.recommendations.find((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich'))!;
  // enrich's action: the plan may scale the source too, and its action can come first
  const action = rec.actions.find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich')!;
  assert.ok(action.type === 'set-parallelism' && action.to > action.from);
  const before = (await latestLag(job.job_id))!;

  await page.reload();
  await page.click(`a.diagnosis-link[href="/diagnoses/${diagnosis.id}"]`);
  await page.waitForURL(`**/diagnoses/${diagnosis.id}`);
  assert.match((await page.textContent('#root-cause')) ?? '', /under-provisioned/);
  await b.screenshot('diagnosis');

  await page.click(`button[data-apply="${rec.id}"]`);
  await page.locator('#confirm-apply[open]').waitFor();
  // The confirmation lists every change of the recommendation (DS2 plans all vertices in one pass:
  // the source may need more parallelism too to drain the backlog within the catch-up target).
  const changes = rec.actions.flatMap((a) => (a.type === 'set-parallelism' ? [`${a.vertex.name}: parallelism ${a.from} → ${a.to}`] : []));
  assert.ok(changes.some((c) => c.startsWith('enrich: ')), changes.join('; '));
  assert.equal(await page.textContent('#confirm-change'), changes.join('; '));
  await b.screenshot('confirm');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => (document.querySelector('[data-op-steps]')?.children.length ?? 0) > 0, undefined, { timeout: 120_000 });
  await b.screenshot('operation-running');
  await page.waitForFunction(
    () => ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE'].includes(document.querySelector('[data-op-state]')?.textContent ?? ''),
    undefined,
    { timeout: 300_000 },
  );
  await b.screenshot('operation-finished');
  assert.equal(await page.textContent('[data-op-state]'), 'SUCCEEDED', (await page.textContent('[data-op-live]')) ?? '');
  const steps = await page.locator('[data-op-steps] tr td:first-child').allTextContents();
  assert.ok(steps.length >= 3, `steps shown: ${steps.join(', ')}`);

  // the lag falls: below half of its peak before the apply
  await waitFor(async () => {
    const l = await latestLag(job.job_id);
    return l !== undefined && l.last < before.max / 2;
  }, { timeoutMs: 300_000, intervalMs: 3000, what: `lag below half of ${before.max}` });
  await page.goto(`/jobs/${job.job_id}?range=15m`);
  await page.waitForFunction(() => Number(document.getElementById('chart-lag')?.dataset.points) >= 2);
  await b.screenshot('job-caught-up');
  assert.match((await page.textContent('#job-graph')) ?? '', new RegExp(`enrich.*parallelism ${action.to}`));
  assert.deepEqual(b.errors.filter((e) => !/401|403/.test(e)), [], 'no console errors (CSP violations show here)');
});
