/** Reminders on an injected clock, Burrow's send-once/send-close, and incident state across a restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger } from '../core/logger.ts';
import { createNotificationService, FileIncidentStore, IncidentTracker, type IncidentStore, type NotifyConfig } from '../notify/index.ts';
import { startSmtp } from './helpers/smtp.ts';
import { tempDir, waitFor } from './helpers/wait.ts';
import { healthyDiagnosis, laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1, 9, 15, 0);

test('a reminder is sent only after the reminder interval (injected clock)', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  let now = T0;
  const svc = createNotificationService(
    {
      baseUrl: 'http://127.0.0.1:8080',
      email: { smtpUrl: smtp.url, recipients: { default: ['platform@example.test'] } },
      incidents: { reminderIntervalMs: HOUR },
    },
    { now: () => now },
  );
  t.after(() => svc.stop({ timeoutMs: 0 }));

  svc.onDiagnosis(laggingDiagnosis());
  await waitFor(() => smtp.messages.length === 1, { what: 'report' });

  now = T0 + HOUR - 60_000; // 59 min later: still inside the interval
  assert.deepEqual(svc.onDiagnosis(laggingDiagnosis({ id: 'diag-2' })), []);
  assert.deepEqual(svc.checkReminders(), []);
  await svc.drain();
  assert.equal(smtp.messages.length, 1);

  now = T0 + HOUR; // the interval has passed
  assert.deepEqual(svc.onDiagnosis(laggingDiagnosis({ id: 'diag-3' })).map((n) => n.type), ['reminder']);
  const reminder = await waitFor(() => smtp.messages[1], { what: 'reminder' });
  assert.match(reminder.subject, /Still open \(1 h\)/);
  assert.ok(reminder.text.includes('diagnoses/diag-3'), 'reminder shows the latest diagnosis');
  assert.ok(reminder.html.includes('diagnoses/diag-3'));

  // the next reminder again waits a full interval from this one
  now = T0 + HOUR + HOUR / 2;
  assert.deepEqual(svc.onDiagnosis(laggingDiagnosis({ id: 'diag-4' })), []);
  now = T0 + 2 * HOUR;
  assert.deepEqual(svc.checkReminders().map((n) => n.type), ['reminder']);
  await waitFor(() => smtp.messages.length === 3, { what: 'second reminder' });
  await svc.drain();
  assert.equal(smtp.messages.length, 3);
});

test('sendOnce sends no reminders and sendClose=false sends no resolved notice (Burrow options)', () => {
  let now = T0;
  const tracker = new IncidentTracker({ sendOnce: true, sendClose: false, reminderIntervalMs: 1000, now: () => now });
  assert.deepEqual(tracker.observe(laggingDiagnosis()).map((n) => n.type), ['report']);
  now += 10 * HOUR;
  assert.deepEqual(tracker.observe(laggingDiagnosis({ id: 'd2' })), []);
  assert.deepEqual(tracker.remindersDue(), []);
  assert.deepEqual(tracker.observe(healthyDiagnosis()), []);
  assert.equal(tracker.openIncidents().length, 0, 'closed even though no notice was sent');
  // a new trouble after the close is a new incident with its own report
  assert.deepEqual(tracker.observe(laggingDiagnosis({ id: 'd3' })).map((n) => n.type), ['report']);
});

test('below the minimum severity nothing is sent; the report goes once the incident reaches it; missing data does not close an incident', () => {
  const tracker = new IncidentTracker({ minSeverity: 'severe' });
  assert.deepEqual(tracker.observe(laggingDiagnosis({ severity: 'moderate' })), []);
  assert.equal(tracker.openIncidents().length, 0, 'none notified about');
  assert.equal(tracker.book.openIncidents().length, 1, 'the incident itself is tracked (API, pages)');
  // the same problem worse, diagnosed again (its own id): the same incident, now reported
  assert.deepEqual(tracker.observe(laggingDiagnosis({ id: 'diag-2' })).map((n) => n.type), ['report']);
  assert.equal(tracker.book.openIncidents().length, 1);
  const noData = healthyDiagnosis({ lagStatus: 'UNKNOWN', rootCause: { kind: 'insufficient-data', confidence: 0, explanation: 'no metrics' } });
  assert.deepEqual(tracker.observe(noData), []);
  assert.equal(tracker.openIncidents().length, 1);
});

test('incident state survives a restart: no second report, reminders keep their schedule', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const dataDir = tempDir('streamtune-notify-');
  let now = T0;
  const config: NotifyConfig = {
    baseUrl: 'http://127.0.0.1:8080',
    email: { smtpUrl: smtp.url, recipients: { default: ['platform@example.test'] } },
    incidents: { reminderIntervalMs: HOUR },
    dataDir,
  };
  const first = createNotificationService(config, { now: () => now });
  first.onDiagnosis(laggingDiagnosis());
  await waitFor(() => smtp.messages.length === 1, { what: 'report before restart' });
  const id = first.tracker.openIncident('a1b2c3d4e5f6')?.id;
  await first.stop();

  const file = join(dataDir, 'notify-incidents.json');
  assert.ok(existsSync(file));
  assert.ok(readFileSync(file, 'utf8').includes(id!));

  now = T0 + 10 * 60_000;
  const second = createNotificationService(config, { now: () => now });
  t.after(() => second.stop({ timeoutMs: 0 }));
  assert.equal(second.tracker.openIncident('a1b2c3d4e5f6')?.id, id, 'same incident after restart');
  assert.deepEqual(second.onDiagnosis(laggingDiagnosis({ id: 'diag-after-restart' })), []);
  await second.drain();
  assert.equal(smtp.messages.length, 1, 'no report resent after restart');

  now = T0 + HOUR;
  assert.deepEqual(second.onDiagnosis(laggingDiagnosis({ id: 'diag-later' })).map((n) => n.type), ['reminder']);
  await waitFor(() => smtp.messages.length === 2, { what: 'reminder after restart' });
});

test('an unwritable state store is logged and does not stop the report; a corrupt state file is moved aside', () => {
  const logger = new MemoryLogger();
  const failing: IncidentStore = {
    load: () => undefined,
    save: () => {
      throw new Error('disk full');
    },
  };
  const tracker = new IncidentTracker({ store: failing, logger });
  assert.deepEqual(tracker.observe(laggingDiagnosis()).map((n) => n.type), ['report']);
  assert.ok(logger.lines.some((l) => l.level === 'error' && String(l.meta.error).includes('disk full')));

  const dir = tempDir('streamtune-notify-');
  writeFileSync(join(dir, 'notify-incidents.json'), '{not json');
  const store = new FileIncidentStore(dir, { logger });
  assert.equal(store.load(), undefined);
  assert.ok(readdirSync(dir).some((f) => f.startsWith('notify-incidents.json.corrupt-')));
  assert.ok(logger.lines.some((l) => l.level === 'error' && l.msg.includes('unreadable')));
});

test('an open incident kept by an earlier version (state version 1, by job) is taken over into the book: same id, no second report', () => {
  const dir = tempDir('streamtune-notify-');
  const v1 = {
    version: 1,
    open: { a1b2c3d4e5f6: { incident: { id: 'inc-old', job_id: 'a1b2c3d4e5f6', job_name: 'orders-enrichment <prod>', startedAt: T0, maxSeverity: 'severe', lastNotifiedAt: T0, notifications: 1 }, lastDiagnosis: laggingDiagnosis() } },
  };
  writeFileSync(join(dir, 'notify-incidents.json'), JSON.stringify(v1));
  let now = T0 + 10 * 60_000;
  const tracker = new IncidentTracker({ store: new FileIncidentStore(dir), reminderIntervalMs: HOUR, now: () => now });
  const taken = tracker.openIncident('a1b2c3d4e5f6');
  assert.equal(taken?.id, 'inc-old');
  assert.equal(taken?.kind, 'under-provisioned');
  assert.equal(taken?.notifications, 1);
  assert.deepEqual(tracker.observe(laggingDiagnosis({ id: 'diag-later', createdAt: laggingDiagnosis().createdAt + 60_000 })), [], 'attached, no second report');
  now = T0 + HOUR;
  assert.deepEqual(tracker.remindersDue().map((n) => n.type), ['reminder'], 'the reminder schedule goes on from the old last notification');
  assert.equal(JSON.parse(readFileSync(join(dir, 'notify-incidents.json'), 'utf8')).version, 2, 'saved as version 2');
});
