/**
 * Incidents, advice and checked forecasts in a real Chromium (strict CSP, as browser-pages.test.ts),
 * over the fixture control plane with the real incident book and diagnosis store:
 * - the overview shows open incidents (not open diagnoses) and links the incident; its page shows
 *   the timeline (opened, each diagnosis, notifications, operations, resolved) with links;
 * - the incidents list filters open and resolved ones;
 * - a set-memory recommendation has no Apply button: it is advice with the exact setting and value,
 *   while the set-parallelism one beside it can be applied;
 * - an UNVERIFIED operation shows as needing a look, with the forecast beside what happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { createPagesRouter } from '../dashboards/server/pages/index.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import type { Operation } from '../tuner/types.ts';
import { IncidentBook } from '../notify/incident-book.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { JOB_ID, NOW, diagnosis, fixtureControlPlane, operation, serveFixture } from './helpers/pages-fixture.ts';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";

/** An earlier trouble of the job, resolved: GC pressure, its heap recommendation advice on the bundled runtime. */
const memory: Diagnosis = {
  ...diagnosis,
  id: 'diag-mem',
  createdAt: NOW - 3_600_000,
  windowStart: NOW - 3_900_000,
  windowEnd: NOW - 3_600_000,
  trigger: { type: 'sweep' },
  rootCause: { kind: 'memory-pressure', vertex: 'enrich', confidence: 0.75, explanation: 'The task managers spend 180 ms/s in garbage collection.' },
  recommendations: [
    { id: 'rec-heap', ruleId: 'memory.gc', title: 'Raise the task heap from 1024 MiB to 1536 MiB', rationale: 'GC 180 ms/s.', expected: { heapBytes: 1536 * 1048576 }, actions: [{ type: 'set-memory', heapBytes: 1536 * 1048576, fromHeapBytes: 1024 * 1048576 }], lagUnderOneMinuteMs: null },
    { id: 'rec-more', ruleId: 'capacity.under-provisioned', title: 'Set parallelism: enrich 2 → 3', rationale: 'DS2.', expected: { throughputRecordsPerSecond: 4500 }, actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 3 }], lagUnderOneMinuteMs: 95_000 },
  ],
};
const memoryOk: Diagnosis = { ...diagnosis, id: 'diag-mem-ok', createdAt: NOW - 1_800_000, trigger: { type: 'sweep' }, lagStatus: 'OK', severity: 'none', findings: [], recommendations: [], rootCause: { kind: 'healthy', confidence: 0.9, explanation: 'No detector fired.' } };

/** An operation applied, whose verification found no data: UNVERIFIED, with its forecast kept. */
const unverified: Operation = {
  ...operation,
  id: 'op-unverified',
  state: 'UNVERIFIED',
  expected: { throughputRecordsPerSecond: 3000, lagUnderOneMinuteMs: 95_000 },
  error: 'applied, but not verified after 3 attempts: not enough data: 0 lag point(s) after the restart, need 2',
  verification: { from: NOW - 100_000, to: NOW - 40_000, throughputBefore: 0, throughputAfter: 0, effective: false, reason: 'not enough data: 0 lag point(s) after the restart, need 2', lagUnderOneMinuteForecastMs: 95_000 },
};
/** An operation whose verification measured the forecast: 95 s forecast, 2 min 10 s measured. */
const checked: Operation = {
  ...operation,
  id: 'op-checked',
  expected: { throughputRecordsPerSecond: 3000, lagUnderOneMinuteMs: 95_000 },
  verification: { ...operation.verification!, lagUnderOneMinuteForecastMs: 95_000, lagUnderOneMinuteMs: 130_000, lagUnderOneMinuteCheckedMs: 180_000, inputRecordsPerSecond: 1500 },
};

let cp: ControlPlane;
let served: { base: string; close(): Promise<void> };
let browser: TestBrowser;

before(async () => {
  cp = await fixtureControlPlane([operation, unverified, checked]);
  await cp.diagnoses.put(memory);
  await cp.diagnoses.put(memoryOk);
  // the job's incidents, fed in time order as the bus delivers the diagnoses: GC pressure an hour ago
  // (inc-1, resolved by a clean sweep), then the fixture's lag problem (inc-2, open, reported, op-1 on it)
  let ids = 0;
  const book = new IncidentBook({ now: () => NOW, newId: () => `inc-${++ids}` });
  book.observe(memory);
  book.observe(memoryOk);
  book.observe(diagnosis);
  book.recordNotification('inc-2', { notification: 'report', status: 'queued' });
  book.recordNotification('inc-2', { notification: 'report', status: 'sent', channel: 'email' });
  book.recordOperation(operation, false);
  book.recordOperation(operation, true);
  (cp as { incidents: IncidentBook }).incidents = book;
  served = await serveFixture((app) => {
    app.use((_req, res, next) => {
      res.setHeader('Content-Security-Policy', CSP);
      next();
    });
    app.use('/', createPagesRouter(cp, { baseUrl: 'http://127.0.0.1' }));
  });
  browser = await launchBrowser('browser-incidents', { baseURL: served.base });
});

after(async () => {
  await browser?.close();
  await served?.close();
  await cp?.close();
});

test('overview → the open incident (not open diagnoses) → its timeline with notifications and operations → the diagnosis', { timeout: 120_000 }, async () => {
  const { page } = browser;
  await page.goto('/');
  const cell = page.locator(`tr[data-job-id="${JOB_ID}"] td[data-open-incidents]`);
  await cell.waitFor();
  assert.equal(await cell.getAttribute('data-open-incidents'), '1', 'one open problem; the resolved one is not counted');
  assert.match((await cell.textContent()) ?? '', /1 open — under-provisioned \(enrich\), 1 diagnosis/);
  await browser.screenshot('overview');
  await page.click(`tr[data-job-id="${JOB_ID}"] a.incident-link`);
  await page.waitForURL('**/incidents/inc-2');
  await page.locator('#timeline').waitFor();
  assert.equal(await page.getAttribute('#incident-state', 'data-state'), 'open');
  const kinds = await page.locator('#timeline li').evaluateAll((els) => els.map((e) => e.getAttribute('data-event')));
  assert.deepEqual(kinds, ['opened', 'notification', 'notification', 'operation', 'operation']);
  const texts = await page.locator('#timeline li').allTextContents();
  assert.match(texts[0]!, /severe · under-provisioned at enrich · lag WARN · alert lag.growing/);
  assert.match(texts[2]!, /report sent by email/);
  assert.match(texts[3]!, /applied \(user\): set parallelism of vertex "enrich" from 1 to 2/);
  assert.match(texts[4]!, /ended SUCCEEDED: throughput 1,500 → 2,950 records\/s; lag falling/);
  await browser.screenshot('incident-open');
  await page.click('#timeline li[data-event="operation"] a');
  await page.waitForURL('**/operations/op-1');
  await page.goBack();
  await page.click('#timeline li[data-event="opened"] a');
  await page.waitForURL('**/diagnoses/diag-1');
  assert.deepEqual(browser.errors, [], 'no console errors (CSP violations show here)');
});

test('a resolved incident shows why and the diagnosis that resolved it; the list filters open and resolved', { timeout: 120_000 }, async () => {
  const { page } = browser;
  await page.goto('/incidents?state=resolved');
  await page.locator('#incidents').waitFor();
  assert.deepEqual(await page.locator('#incidents tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-incident-id'))), ['inc-1']);
  await page.goto('/incidents?state=open');
  assert.deepEqual(await page.locator('#incidents tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-incident-id'))), ['inc-2']);
  await page.goto('/incidents');
  assert.equal(await page.locator('#incidents tbody tr').count(), 2);
  await browser.screenshot('incidents');
  await page.click('tr[data-incident-id="inc-1"] a');
  await page.waitForURL('**/incidents/inc-1');
  assert.equal(await page.getAttribute('#incident-state', 'data-state'), 'resolved');
  assert.match((await page.textContent('[data-resolution]')) ?? '', /cleared: the sweep diagnosis finds the job healthy, lag OK/);
  const last = page.locator('#timeline li').last();
  assert.equal(await last.getAttribute('data-event'), 'resolved');
  await browser.screenshot('incident-resolved');
  await last.locator('a').click();
  await page.waitForURL('**/diagnoses/diag-mem-ok');
  assert.deepEqual(browser.errors, []);
});

test('a set-memory recommendation is advice with the exact setting, no Apply; the parallelism one beside it has Apply', { timeout: 120_000 }, async () => {
  const { page } = browser;
  await page.goto('/diagnoses/diag-mem');
  const heap = page.locator('[data-rec-id="rec-heap"]');
  await heap.waitFor();
  assert.equal(await heap.locator('button[data-apply]').count(), 0, 'no Apply for what the executor cannot do');
  assert.match((await heap.locator('[data-rec-advice]').textContent()) ?? '', /share the V8 heap limit the process was started with/);
  assert.equal(await heap.locator('[data-setting="NODE_OPTIONS"] td:nth-child(2)').textContent(), '--max-old-space-size=1536');
  assert.match((await heap.locator('[data-rec-forecast]').textContent()) ?? '', /No forecast of the lag/);
  const more = page.locator('[data-rec-id="rec-more"]');
  assert.equal(await more.locator('button[data-apply]').count(), 1);
  assert.equal(await more.locator('[data-rec-advice]').count(), 0);
  assert.match((await more.locator('[data-rec-forecast]').textContent()) ?? '', /lag back under one minute of input 1 min 35 s after applying/);
  await browser.screenshot('advice');
  assert.deepEqual(browser.errors, []);
});

test('an UNVERIFIED operation reads as needing a look; a verified one shows the forecast beside what happened', { timeout: 120_000 }, async () => {
  const { page } = browser;
  await page.goto('/operations/op-unverified');
  assert.equal(await page.getAttribute('#op-state', 'data-state'), 'UNVERIFIED');
  assert.match((await page.getAttribute('#op-state', 'class')) ?? '', /\bwarn\b/);
  assert.match((await page.textContent('.verification')) ?? '', /not verified \(needs a look\)/);
  assert.equal(await page.textContent('[data-forecast]'), '1 min 35 s');
  assert.match((await page.textContent('[data-actual]')) ?? '', /not measured/);
  await browser.screenshot('operation-unverified');
  await page.goto('/operations/op-checked');
  assert.equal(await page.textContent('[data-forecast]'), '1 min 35 s');
  assert.equal(await page.textContent('[data-actual]'), '2 min 10 s');
  assert.equal(await page.textContent('[data-difference]'), '+35 s (later than forecast)');
  await page.goto('/operations');
  assert.match((await page.getAttribute('tr[data-op-id="op-unverified"] .badge', 'class')) ?? '', /\bwarn\b/);
  await browser.screenshot('operation-checked');
  assert.deepEqual(browser.errors, []);
});
