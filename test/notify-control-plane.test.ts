/**
 * Email notifications inside the real control plane, end to end: `createControlPlane` over a temp
 * data dir (embedded store) with a `notify` config whose SMTP URL points at a real local SMTP server
 * (test/helpers/smtp.ts). The demo job (flights at 5,000 records/s, lookup `enrich` at parallelism 1,
 * so it lags) runs until the lag alert fires and the diagnoser finds `enrich` under-provisioned.
 * Asserted on what the SMTP server received:
 * 1. exactly one report mail for the incident, HTML and text, naming the job, the root cause and the
 *    recommended parallelism change of `enrich`;
 * 2. no second mail for the incident while it stays open, over several more re-diagnoses;
 * 3. the digest, on its cron schedule (every 5 s, node-cron seconds field), lists the lagging job.
 * The three tests share one control plane and run in order (node:test runs a file's tests in series).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createControlPlane, type AssembledControlPlane } from '../control-plane/assemble.ts';
import { loadConfig } from '../control-plane/config.ts';
import type { Diagnosis } from '../diagnoser/types.ts';
import { fastDemoDefaults } from './helpers/rules.ts';
import { startSmtp, type ReceivedMail, type SmtpTestServer } from './helpers/smtp.ts';
import { tempDir, waitFor } from './helpers/wait.ts';

const BASE = 'http://127.0.0.1:8080';
const ONCALL = 'oncall@example.test';
const DIGEST_TO = 'digest@example.test';
const JOB_NAME = 'flight-delays-demo';
/** ms between re-diagnoses of the still-firing lag alert (config `diagnoser.rediagnoseMs`) */
const REDIAGNOSE_MS = 5_000;
/** seconds between digests (config `notify.digest.cron`) */
const DIGEST_EVERY_S = 5;

let cp: AssembledControlPlane | undefined;
let smtp: SmtpTestServer | undefined;
/** every diagnosis the control plane published on 'diagnoses', with when the test saw it (ms) */
const published: Array<{ d: Diagnosis; at: number }> = [];
let reportMail: ReceivedMail | undefined;
let reportAt = 0;
/** ms: just before the control plane was created */
let startedAt = 0;

const isDigest = (m: ReceivedMail): boolean => /\bDigest\b/.test(m.subject);
/** mails about one job's incident (report, reminder, resolved), i.e. everything but digests naming the job */
const incidentMails = (): ReceivedMail[] => smtp!.messages.filter((m) => !isDigest(m) && m.subject.includes(JOB_NAME));
/** `set parallelism of vertex "enrich" from 1 to N` in text or (quotes escaped) HTML; N or undefined */
function enrichScaleTo(s: string): number | undefined {
  const m = /set parallelism of vertex (?:"|&quot;|&#34;)enrich(?:"|&quot;|&#34;) from 1 to (\d+)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

before(async () => {
  smtp = await startSmtp();
  startedAt = Date.now();
  const dataDir = tempDir('notify-cp-');
  const config = loadConfig({
    env: {},
    defaults: fastDemoDefaults(dataDir, `${REDIAGNOSE_MS}ms`, {
      tuner: { policies: { '*': { mode: 'recommend' } } },
      notify: {
        baseUrl: BASE,
        email: { smtpUrl: smtp.url, from: 'streamtune@example.test', recipients: { default: [ONCALL], digest: [DIGEST_TO] } },
        incidents: { minSeverity: 'moderate', reminderIntervalMs: '1h' },
        digest: { cron: `*/${DIGEST_EVERY_S} * * * * *`, timezone: 'UTC' },
        retry: { retries: 20, initialMs: 100, maxMs: 1000 },
        reminderCheckMs: '1s',
      },
    }),
    overrides: { dataDir, server: { port: 0, host: '127.0.0.1' } },
  });
  assert.equal(config.notify?.email?.smtpUrl, smtp.url, 'the config carries the test SMTP server');
  assert.equal(config.notify?.digest?.cron, '*/5 * * * * *');
  cp = await createControlPlane(config, { startJobs: false });
  assert.ok(cp.notifications, 'notifications are wired (notify config, notify role)');
  await cp.bus.subscribe('diagnoses', (d) => {
    published.push({ d, at: Date.now() });
  });
  await cp.startJobs();
});

after(async () => {
  await cp?.close();
  await smtp?.close();
});

test('one report mail (HTML + text) arrives for the incident, naming the job, the under-provisioned enrich and its parallelism change', { timeout: 120_000 }, async () => {
  const job = cp!.startupJobs[0]!;
  assert.ok(job && job.name === JOB_NAME, 'the demo job started');

  reportMail = await waitFor(() => incidentMails()[0], { timeoutMs: 100_000, intervalMs: 200, what: 'a report mail about the demo job' });
  reportAt = Date.now();
  // a moment for a duplicate sent right behind it
  await new Promise((r) => setTimeout(r, 1000));
  const mails = incidentMails();
  assert.equal(mails.length, 1, `exactly one incident mail so far: ${mails.map((m) => m.subject).join(' | ')}`);
  const m = mails[0]!;

  const incident = cp!.notifications!.tracker.openIncident(job.job_id);
  assert.ok(incident, 'the incident is open');
  assert.equal(incident.notifications, 1);

  assert.deepEqual(m.to, [ONCALL], 'sent to the job\'s recipients (the default)');
  assert.equal(m.from, 'streamtune@example.test');
  assert.match(m.subject, /^\[streamtune\] (SEVERE|CRITICAL|MODERATE) flight-delays-demo: under-provisioned, lag (WARN|ERR)$/);
  assert.ok(m.html.length > 0 && m.text.length > 0, 'both an HTML and a text part');
  assert.match(m.html, /<html/i);
  for (const [part, body] of [['html', m.html], ['text', m.text]] as const) {
    assert.ok(body.includes(JOB_NAME), `${part} names the job`);
    assert.ok(body.includes(job.job_id), `${part} names the job id`);
    assert.ok(body.includes(incident.id), `${part} names the incident`);
    assert.ok(body.includes('under-provisioned'), `${part} names the root cause`);
    assert.ok(body.includes(`${BASE}/diagnoses/`), `${part} links the diagnosis`);
  }
  assert.match(m.text, /Root cause:\s+under-provisioned at vertex enrich/);
  assert.match(m.html, /under-provisioned[\s\S]{0,200}enrich/);

  // the recommendation: enrich from 1 to N > 1, the same N in both parts and in the diagnosis behind it
  const toText = enrichScaleTo(m.text);
  const toHtml = enrichScaleTo(m.html);
  assert.ok(toText !== undefined && toText > 1, `text recommends more parallelism for enrich:\n${m.text}`);
  assert.equal(toHtml, toText, 'html recommends the same change');
  const diagnosisId = /\/diagnoses\/([^\s"<]+)/.exec(m.text)?.[1];
  assert.ok(diagnosisId);
  const d = cp!.diagnoses.get(decodeURIComponent(diagnosisId));
  assert.ok(d, `the mailed diagnosis ${diagnosisId} is in the store`);
  assert.equal(d.job_id, job.job_id);
  assert.equal(d.rootCause.kind, 'under-provisioned');
  assert.equal(d.rootCause.vertex, 'enrich');
  const action = d.recommendations.flatMap((r) => r.actions).find((a) => a.type === 'set-parallelism' && a.vertex.name === 'enrich');
  assert.ok(action && action.type === 'set-parallelism');
  assert.equal(action.from, 1);
  assert.equal(action.to, toText);
});

test('no second mail for the incident while it stays open, over further re-diagnoses', { timeout: 120_000 }, async () => {
  assert.ok(reportMail, 'the report test passed');
  const job = cp!.startupJobs[0]!;
  const incident = cp!.notifications!.tracker.openIncident(job.job_id);
  assert.ok(incident);
  // at least two more troubled diagnoses of the job published after the report (each went to the
  // notification service's subscription), i.e. more than one further rediagnose interval
  const troubled = (x: { d: Diagnosis; at: number }): boolean => x.d.job_id === job.job_id && x.at > reportAt && cp!.notifications!.tracker.isTrouble(x.d);
  await waitFor(() => published.filter(troubled).length >= 2, { timeoutMs: 90_000, intervalMs: 250, what: 'two more troubled diagnoses of the job after the report' });
  const later = published.filter(troubled);
  assert.ok(later.at(-1)!.at - reportAt >= REDIAGNOSE_MS, 'waited over at least one more rediagnose interval');
  await cp!.notifications!.drain();

  const mails = incidentMails();
  assert.equal(mails.length, 1, `still exactly one incident mail: ${mails.map((m) => m.subject).join(' | ')}`);
  const still = cp!.notifications!.tracker.openIncident(job.job_id);
  assert.ok(still, 'the incident is still open');
  assert.equal(still.id, incident.id, 'the same incident');
  assert.equal(still.notifications, 1, 'one notification counted for it');
  assert.equal(smtp!.messages.filter((m) => m.to.includes(ONCALL)).length, 1, 'nothing else went to the job\'s recipients');
});

test('the digest is sent on its cron schedule (every 5 s) and lists the lagging job and its diagnosis', { timeout: 120_000 }, async () => {
  const job = cp!.startupJobs[0]!;
  const digests = (): ReceivedMail[] => smtp!.messages.filter(isDigest);
  const listing = (m: ReceivedMail): boolean => /Lagging jobs:\n- flight-delays-demo\b/.test(m.text);
  // at least two digests listing the job, to see the schedule between them
  await waitFor(() => digests().filter(listing).length >= 2, { timeoutMs: 60_000, intervalMs: 250, what: 'two digests listing the lagging job' });

  const all = digests();
  for (const m of all) assert.deepEqual(m.to, [DIGEST_TO], 'digests go to the digest recipients');
  // on the schedule: each digest built in a second that is a multiple of 5 (Date header, 1 s
  // resolution; up to 3 s late on a loaded machine), and never two for one firing
  const slots = all.map((m) => {
    assert.ok(m.parsed.date, 'a Date header');
    const late = m.parsed.date.getUTCSeconds() % DIGEST_EVERY_S;
    assert.ok(late <= 3, `digest built at ${m.parsed.date.toISOString()}, ${late} s after a 5 s mark`);
    return Math.floor(m.parsed.date.getTime() / (DIGEST_EVERY_S * 1000));
  });
  assert.equal(new Set(slots).size, slots.length, `one digest per firing: ${all.map((m) => m.parsed.date?.toISOString()).join(', ')}`);

  const m = digests().filter(listing).at(-1)!;
  assert.match(m.subject, /^\[streamtune\] Digest .*: [1-9]\d* lagging, [1-9]\d* diagnoses, \d+ operations$/);
  assert.ok(m.html.length > 0 && m.text.length > 0, 'both an HTML and a text part');
  const lag = /Lagging jobs:\n- flight-delays-demo \(consumer group flight-delays-demo\): (?:WARN|ERR), max lag ([\d,]+), total lag ([\d,]+), since (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/.exec(m.text);
  assert.ok(lag, `the job is listed as lagging with its worst partition's lag and since when (the open incident):\n${m.text}`);
  const [maxLag, totalLag] = [Number(lag[1]!.replace(/,/g, '')), Number(lag[2]!.replace(/,/g, ''))];
  assert.ok(totalLag > 5000, `total lag ${lag[2]} above the alert's 5,000 records`);
  assert.ok(maxLag > 0 && maxLag <= totalLag, `max lag ${lag[1]} is one partition's share of ${lag[2]}`);
  const since = Date.parse(`${lag[3]!.replace(' ', 'T')}Z`);
  assert.ok(since >= startedAt - 1000 && since <= m.parsed.date!.getTime() + 1000, `since ${lag[3]} lies between the start and the digest`);
  assert.match(m.text, /Diagnoses:\n(- .*\n  .*\n)*- .* flight-delays-demo: \[(MODERATE|SEVERE|CRITICAL)\] lag (WARN|ERR), root cause under-provisioned at enrich;/);
  assert.ok(m.text.includes(`${BASE}/jobs/${job.job_id}`), 'links the job');
  assert.ok(m.html.includes(JOB_NAME) && m.html.includes(`${BASE}/jobs/${job.job_id}`), 'the HTML lists the job too');
});
