/** Delivery: retries while the SMTP server is down, secrets kept out of logs and errors, webhooks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { StreamtuneError } from '../core/errors.ts';
import { MemoryLogger } from '../core/logger.ts';
import {
  EmailNotifier,
  IncidentTracker,
  NotificationQueue,
  WebhookNotifier,
  type Notification,
  type WebhookPayload,
} from '../notify/index.ts';
import { startSmtp } from './helpers/smtp.ts';
import { freePort, waitFor } from './helpers/wait.ts';
import { laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';

const BASE = 'http://127.0.0.1:8080';
const FAST_RETRY = { retries: 200, initialMs: 50, maxMs: 300, factor: 2, jitter: 0.2 };

function report(): Notification {
  const [n] = new IncidentTracker().observe(laggingDiagnosis());
  assert.ok(n);
  return n;
}

test('a failed send (SMTP server down) is retried and logged, notify() does not block, and the mail arrives once the server is up', async (t) => {
  const port = await freePort();
  const logger = new MemoryLogger();
  const email = new EmailNotifier({ smtpUrl: `smtp://127.0.0.1:${port}`, recipients: { default: ['platform@example.test'] }, baseUrl: BASE, timeoutMs: 60_000 });
  const queue = new NotificationQueue({ notifiers: [email], logger, retry: FAST_RETRY });
  t.after(() => queue.close());

  const result = queue.notify(report());
  assert.equal(result, undefined, 'notify() returns nothing to wait on');
  assert.equal(queue.stats.delivered, 0, 'notify() returned before the delivery finished');
  assert.ok(queue.pending > 0);

  await waitFor(() => logger.lines.filter((l) => l.msg.includes('will retry')).length >= 2, { what: 'logged retries' });
  const retryLine = logger.lines.find((l) => l.msg.includes('will retry'))!;
  assert.equal(retryLine.level, 'warn');
  assert.equal(retryLine.meta.type, 'report');
  assert.equal(retryLine.meta.job_id, 'a1b2c3d4e5f6');
  assert.match(String(retryLine.meta.error), /ECONNREFUSED|connect/i);
  assert.equal(queue.stats.delivered, 0);

  const smtp = await startSmtp({ port });
  t.after(() => smtp.close());
  await waitFor(() => smtp.messages.length === 1, { what: 'mail after the server came up', timeoutMs: 60_000 });
  await queue.drain();
  assert.equal(queue.stats.delivered, 1);
  assert.equal(queue.stats.failed, 0);
  assert.ok(queue.stats.retried >= 2);
  assert.equal(smtp.messages.length, 1, 'delivered exactly once');
  assert.match(smtp.messages[0]!.subject, /under-provisioned/);
});

test('the SMTP password never appears in logs or errors (wrong password, server down, success)', async (t) => {
  const password = 'Pa55-w0rd-S3cret!';
  const smtp = await startSmtp({ user: 'streamtune', pass: password });
  t.after(() => smtp.close());
  const logger = new MemoryLogger();
  const leaks = (s: string): boolean =>
    [password, encodeURIComponent(password), Buffer.from(password).toString('base64'), Buffer.from(`\0streamtune\0${password}`).toString('base64')].some((x) =>
      s.includes(x),
    );
  const errText = (err: unknown): string => {
    assert.ok(err instanceof StreamtuneError);
    return [err.message, err.stack ?? '', JSON.stringify(err.details), String(err.cause ?? '')].join('\n');
  };

  // 1. the server rejects the credentials: permanent (5xx), not retried, logged without the password
  const wrongPass = `${password}-wrong`;
  const bad = new EmailNotifier({
    smtpUrl: `smtp://streamtune:${encodeURIComponent(wrongPass)}@127.0.0.1:${smtp.port}`,
    recipients: { default: ['platform@example.test'] },
    baseUrl: BASE,
    logger,
  });
  const err1 = await bad.send(report()).then(() => undefined, (e: unknown) => e);
  assert.ok(err1 instanceof StreamtuneError, 'auth failure rejects');
  assert.equal(err1.retriable, false);
  assert.equal(smtp.authFailures.length, 1, 'the client did try to authenticate');
  assert.ok(!errText(err1).includes(wrongPass) && !leaks(errText(err1)));
  assert.ok(err1.message.includes('***'), 'the redacted URL is shown');

  const badQueue = new NotificationQueue({ notifiers: [bad], logger, retry: FAST_RETRY });
  badQueue.notify(report());
  await badQueue.drain();
  assert.equal(badQueue.stats.failed, 1);
  assert.ok(logger.lines.some((l) => l.level === 'error' && l.msg.includes('giving up')));

  // 2. the server is down
  const downPort = await freePort();
  const down = new EmailNotifier({
    smtpUrl: `smtp://streamtune:${encodeURIComponent(password)}@127.0.0.1:${downPort}`,
    recipients: { default: ['platform@example.test'] },
    baseUrl: BASE,
    logger,
  });
  const err2 = await down.send(report()).then(() => undefined, (e: unknown) => e);
  assert.ok(err2 instanceof StreamtuneError);
  assert.equal(err2.retriable, true);
  assert.ok(!leaks(errText(err2)));
  const downQueue = new NotificationQueue({ notifiers: [down], logger, retry: { ...FAST_RETRY, retries: 2 } });
  downQueue.notify(report());
  await downQueue.drain();
  assert.equal(downQueue.stats.failed, 1);

  // 3. the right password: delivered, authenticated
  const good = new EmailNotifier({
    smtpUrl: `smtp://streamtune:${encodeURIComponent(password)}@127.0.0.1:${smtp.port}`,
    recipients: { default: ['platform@example.test'] },
    baseUrl: BASE,
    logger: new MemoryLogger('streamtune', {}, logger.lines),
  });
  assert.ok(!good.target.includes(password) && good.target.includes('***'));
  const goodQueue = new NotificationQueue({ notifiers: [good], logger, retry: FAST_RETRY });
  goodQueue.notify(report());
  await waitFor(() => smtp.messages.length === 1, { what: 'authenticated mail' });
  await goodQueue.drain();
  assert.equal(smtp.messages[0]!.user, 'streamtune');

  const allLogs = JSON.stringify(logger.lines);
  assert.ok(logger.lines.length >= 4, 'failures were logged');
  assert.ok(!leaks(allLogs), 'no form of the password in any log line');
});

test('the webhook notifier POSTs JSON {type, incident, diagnosis} to a local http server, retrying a 503', async (t) => {
  const bodies: Array<{ headers: IncomingMessage['headers']; body: WebhookPayload }> = [];
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      if (requests === 1) {
        res.writeHead(503).end('busy');
        return;
      }
      bodies.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');

  const logger = new MemoryLogger();
  const hook = new WebhookNotifier({ url: `http://127.0.0.1:${addr.port}/hooks/streamtune`, baseUrl: BASE, headers: { authorization: 'Bearer t0ken' } });
  const queue = new NotificationQueue({ notifiers: [hook], logger, retry: FAST_RETRY });
  t.after(() => queue.close());
  const n = report();
  queue.notify(n);
  await waitFor(() => bodies[0], { what: 'webhook POST' });
  await queue.drain();

  assert.equal(requests, 2, 'the 503 was retried once');
  assert.ok(logger.lines.some((l) => l.level === 'warn' && String(l.meta.error).includes('HTTP 503')));
  const { headers, body } = bodies[0]!;
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers.authorization, 'Bearer t0ken');
  assert.equal(body.type, 'report');
  assert.ok(n.type !== 'digest');
  assert.equal(body.incident?.id, n.incident.id);
  assert.equal(body.incident?.job_id, 'a1b2c3d4e5f6');
  assert.equal(body.diagnosis?.id, 'diag-1');
  assert.equal(body.diagnosis?.rootCause.kind, 'under-provisioned');
  assert.equal(body.diagnosis?.lagStatus, 'WARN');
  assert.equal(body.diagnosis?.severity, 'severe');
  assert.deepEqual(body.diagnosis?.recommendations[0]?.actions, [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 }]);
  assert.equal(body.diagnosis?.url, `${BASE}/diagnoses/diag-1`);
  assert.ok(!JSON.stringify(logger.lines).includes('t0ken'), 'webhook headers are not logged');
});
