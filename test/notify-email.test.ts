/** Diagnosis reports, one report per incident and resolved notices, delivered to a real SMTP server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../core/logger.ts';
import { createNotificationService } from '../notify/index.ts';
import { BundledExecutor } from '../platform/index.ts';
import { applicability } from '../tuner/applicability.ts';
import { startSmtp } from './helpers/smtp.ts';
import { waitFor } from './helpers/wait.ts';
import { healthyDiagnosis, laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';

const BASE = 'http://127.0.0.1:8080';

test('a diagnosis report arrives with the job, root cause and recommendation in both html and text', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const svc = createNotificationService(
    {
      baseUrl: BASE,
      email: {
        smtpUrl: smtp.url,
        from: 'streamtune <streamtune@example.test>',
        recipients: {
          teams: { ingest: ['ingest@example.test', 'oncall@example.test'] },
          jobs: { 'orders-enrichment <prod>': { team: 'ingest', emails: ['owner@example.test'] } },
          default: ['platform@example.test'],
        },
      },
    },
    { logger: new MemoryLogger() },
  );
  t.after(() => svc.stop({ timeoutMs: 0 }));

  const sent = svc.onDiagnosis(laggingDiagnosis());
  assert.deepEqual(sent.map((n) => n.type), ['report']);
  const mail = await waitFor(() => smtp.messages[0], { what: 'report mail' });

  // recipients per job (matched by job name) plus its team, not the default
  assert.deepEqual([...mail.to].sort(), ['ingest@example.test', 'oncall@example.test', 'owner@example.test']);
  assert.match(mail.subject, /SEVERE orders-enrichment <prod>: under-provisioned, lag WARN/);

  for (const [part, body] of [['html', mail.html], ['text', mail.text]] as const) {
    assert.ok(body.includes('a1b2c3d4e5f6'), `${part}: job id`);
    assert.ok(body.includes('under-provisioned'), `${part}: root cause`);
    assert.ok(body.includes('true rate 2600 rec/s is below the input rate 4100 rec/s'), `${part}: explanation`);
    assert.ok(body.includes('Raise parallelism of enrich from 2 to 4'), `${part}: recommendation`);
    assert.ok(body.includes('throughputRecordsPerSecond = 5,200'), `${part}: expected effect`);
    assert.ok(body.includes('from 2 to 4'), `${part}: typed action`);
    assert.ok(body.includes('maxLag = 120,000'), `${part}: evidence numbers`);
    assert.ok(body.includes(`${BASE}/diagnoses/diag-1`), `${part}: diagnosis link`);
    assert.ok(body.includes(`${BASE}/jobs/a1b2c3d4e5f6`), `${part}: job link`);
    assert.ok(body.includes('SEVERE'), `${part}: severity`);
  }
  // job strings are escaped in HTML, verbatim in text
  assert.ok(mail.html.includes('orders-enrichment &lt;prod&gt;'));
  assert.ok(!mail.html.includes('orders-enrichment <prod>'));
  assert.ok(mail.text.includes('orders-enrichment <prod>'));
});

test('a second diagnosis of the same open incident sends no second report; back to OK sends a resolved notice', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const svc = createNotificationService({
    baseUrl: BASE,
    email: { smtpUrl: smtp.url, recipients: { default: ['platform@example.test'] } },
  });
  t.after(() => svc.stop({ timeoutMs: 0 }));

  svc.onDiagnosis(laggingDiagnosis());
  await waitFor(() => smtp.messages.length === 1, { what: 'first report' });
  const incidentId = svc.tracker.openIncident('a1b2c3d4e5f6')?.id;
  assert.ok(incidentId);

  // the same trouble diagnosed again (even worse): same incident, nothing sent
  const again = svc.onDiagnosis(laggingDiagnosis({ id: 'diag-2', severity: 'critical', lagStatus: 'ERR' }));
  assert.deepEqual(again, []);
  await svc.drain();
  assert.equal(smtp.messages.length, 1);
  assert.equal(svc.tracker.openIncident('a1b2c3d4e5f6')?.maxSeverity, 'critical');

  const resolved = svc.onDiagnosis(healthyDiagnosis());
  assert.deepEqual(resolved.map((n) => n.type), ['resolved']);
  const mail = await waitFor(() => smtp.messages[1], { what: 'resolved mail' });
  assert.match(mail.subject, /Resolved: orders-enrichment <prod>/);
  for (const body of [mail.html, mail.text]) {
    assert.ok(body.includes(incidentId), 'incident id');
    assert.ok(body.includes('healthy'), 'root cause healthy');
    assert.ok(body.includes('CRITICAL'), 'worst severity while open');
  }
  assert.equal(svc.tracker.openIncident('a1b2c3d4e5f6'), undefined);
  await svc.drain();
  assert.equal(smtp.messages.length, 2);
});

test('a recommendation the executor cannot apply arrives as advice with the exact setting; an applicable one says Apply; deliveries go on the incident timeline', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const bundled = { kind: 'bundled' as const, supports: BundledExecutor.prototype.supports };
  const svc = createNotificationService(
    { baseUrl: BASE, email: { smtpUrl: smtp.url, recipients: { default: ['platform@example.test'] } } },
    // the tuner's answer for a job on the bundled runtime
    { applicability: (d) => Object.fromEntries(d.recommendations.map((r) => [r.id, applicability(r.actions, bundled)])) },
  );
  t.after(() => svc.stop({ timeoutMs: 0 }));

  const memory = laggingDiagnosis({
    id: 'diag-gc',
    severity: 'severe',
    rootCause: { kind: 'memory-pressure', vertex: 'enrich', confidence: 0.75, explanation: 'The task managers spend 180 ms/s in garbage collection.' },
    recommendations: [
      { id: 'rec-heap', ruleId: 'memory.gc', title: 'Raise the task heap from 1024 MiB to 1536 MiB', rationale: 'GC 180 ms/s.', expected: { heapBytes: 1536 * 1048576 }, actions: [{ type: 'set-memory', heapBytes: 1536 * 1048576, fromHeapBytes: 1024 * 1048576 }] },
      laggingDiagnosis().recommendations[0]!,
    ],
  });
  assert.deepEqual(svc.onDiagnosis(memory).map((n) => n.type), ['report']);
  const mail = await waitFor(() => smtp.messages[0], { what: 'report mail' });
  // handlebars escapes '=' in HTML as &#x3D;
  for (const [part, body] of [['text', mail.text], ['html', mail.html.replace(/&#x3D;/g, '=')]] as const) {
    assert.match(body, /Advice, not applied by streamtune|advice, not applied by streamtune/, `${part}: the heap change is advice`);
    assert.ok(body.includes("share the V8 heap limit the process was started with"), `${part}: why (the executor's words)`);
    assert.ok(body.includes('NODE_OPTIONS') && body.includes('--max-old-space-size=1536'), `${part}: the exact setting and value`);
    assert.ok(body.includes('(Apply in the dashboard)'), `${part}: the parallelism change is applicable`);
  }
  assert.ok(!/action[^\n]*set task heap/.test(mail.text), 'the heap change is not listed as an action to apply');

  // the delivery is on the incident's timeline
  const incident = svc.tracker.openIncident('a1b2c3d4e5f6')!;
  await waitFor(() => svc.book.get(incident.id)!.timeline.some((e) => e.type === 'notification' && e.status === 'sent'), { what: 'the sent report on the timeline' });
  const notes = svc.book.get(incident.id)!.timeline.filter((e) => e.type === 'notification');
  assert.deepEqual(notes.map((e) => e.type === 'notification' && `${e.notification} ${e.status} ${e.channel ?? ''}`.trim()), ['report queued', 'report sent email']);
});
