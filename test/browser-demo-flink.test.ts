// test-runner: serial
/**
 * `streamtune demo --flink` end to end in a real Chromium (issue 16): `startFlinkDemo` starts Kafka
 * and a Flink 1.20 cluster from the cached artifacts, submits the flight-delays job (enrich at
 * 2.5 ms per record, parallelism 1) and produces flights at 600 records/s; the control plane (the
 * demo's configuration, with alerting after 10 s) serves the dashboard. Log in through the one-time
 * link, see the Flink job lagging, open its diagnosis, click Apply and confirm: the operation's steps
 * (stop-with-savepoint, `POST /jars/:jarid/run` from it with the parallelism overrides, RUNNING,
 * verification) until it ends, the job running on with enrich at the new parallelism under its new
 * JobID. Screenshots of every step under test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp, listen, type Listening } from '../dashboards/server/app.ts';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { startFlinkDemo, type FlinkDemo } from '../control-plane/demo-flink.ts';
import { createAuth } from '../dashboards/server/auth.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import type { Operation } from '../tuner/types.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { flinkGet, type JobDetails } from './helpers/flink-cluster.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const TOKEN = 'demo-flink-browser-test-token-5e1f0c2a9b';

let demo: FlinkDemo | undefined;
let cp: AssembledControlPlane | undefined;
let http: Listening | undefined;
let browser: TestBrowser | undefined;
let loginPath = '';

before(async () => {
  demo = await startFlinkDemo({
    dataDir: tempDir('demo-flink-'),
    env: {},
    overrides: {
      server: { port: 0, host: '127.0.0.1', apiToken: TOKEN },
      diagnoser: { windowMs: '2m', stepMs: '5s', rediagnoseMs: '15s', alertIntervalMs: '5s', sweepCron: 'off' },
      tuner: { policies: { '*': { mode: 'recommend', verifyAfterMs: '45s', cooldownMs: '1s' } } },
    },
  });
  cp = await createControlPlane(demo.config);
  http = await listen(undefined, 0, '127.0.0.1');
  const auth = createAuth({ token: TOKEN });
  http.server.on('request', createApp(cp, { auth, baseUrl: http.url }));
  loginPath = auth.createLoginLink();
  browser = await launchBrowser('browser-demo-flink', { baseURL: http.url });
});

after(async () => {
  await browser?.close();
  await http?.close(1000);
  await cp?.close();
  await demo?.close();
});

test('demo --flink: the Flink job lagging → diagnosis → Apply in the dashboard → stop-with-savepoint → jar run with overrides → the job runs on with the new parallelism', { timeout: 900_000 }, async () => {
  const b = browser!;
  const { page } = b;
  const jid = demo!.jobId;
  await page.goto(loginPath);
  await page.waitForURL((u) => u.pathname === '/');
  await page.locator(`tr[data-job-id="${jid}"]`).waitFor({ timeout: 60_000 });
  await b.screenshot('overview');

  const diagnosis = await waitFor(
    () =>
      cp!.diagnoses
        .list({ job_id: jid, limit: 20 })
        .find((d: Diagnosis) => d.recommendations.some((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich' && a.to > a.from))),
    { timeoutMs: 420_000, intervalMs: 2000, what: 'a diagnosis recommending more parallelism for enrich' },
  );
  const rec = diagnosis.recommendations.find((r) => r.actions.some((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich'))!;
  const action = rec.actions.find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich')!;
  assert.ok(action.type === 'set-parallelism');

  await page.goto(`/diagnoses/${diagnosis.id}`);
  assert.match((await page.textContent('#root-cause')) ?? '', /under-provisioned/);
  await b.screenshot('diagnosis');
  await page.click(`button[data-apply="${rec.id}"]`);
  await page.locator('#confirm-apply[open]').waitFor();
  await b.screenshot('confirm');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => (document.querySelector('[data-op-steps]')?.children.length ?? 0) > 0, undefined, { timeout: 120_000 });
  await b.screenshot('operation-running');
  await page.waitForFunction(
    () => ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED'].includes(document.querySelector('[data-op-state]')?.textContent ?? ''),
    undefined,
    { timeout: 400_000 },
  );
  await b.screenshot('operation-finished');
  const op = cp!.tuner.operations({ job_id: jid })[0] as Operation;
  assert.equal(await page.textContent('[data-op-state]'), op.state);
  assert.equal(op.state, 'SUCCEEDED', `${op.error ?? ''} ${JSON.stringify(op.steps, null, 1)}`);
  assert.deepEqual(op.steps.map((s) => s.name), ['savepoint', 'start', 'wait-running', 'verify']);
  const steps = await page.locator('[data-op-steps] tr td:first-child').allTextContents();
  assert.deepEqual(steps.slice(0, 3), ['savepoint', 'start', 'wait-running'], `steps shown: ${steps.join(', ')}`);
  // the job runs on under the JobID the operation journaled, enrich at the new parallelism
  const d = await flinkGet<JobDetails>(demo!.flink, `/jobs/${op.restartedAs!}`);
  assert.equal(d.state, 'RUNNING');
  assert.equal(d.vertices.find((v) => v.name === 'enrich')!.parallelism, action.to);
  await page.goto(`/jobs/${op.restartedAs!}`);
  await b.screenshot('job-after');
  assert.deepEqual(b.errors.filter((e) => !/401|403/.test(e)), [], 'no console errors (CSP violations show here)');
});
