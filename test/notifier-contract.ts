/**
 * The one contract suite every {@link Notifier} passes (`notify/types.ts`), run from one test file
 * per implementation with a factory, like store-contract.ts. Not itself a test file. The factory
 * gives a real receiver (an SMTP server, an HTTP server) and notifiers pointed at it or at a port
 * where nothing listens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamtuneError } from '../core/errors.ts';
import { IncidentTracker, type Notification, type Notifier } from '../notify/index.ts';
import { laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';

/** A user and password to put in a notifier's URL (`scheme://user:password@host:port`). */
export interface Credentials {
  user: string;
  password: string;
}

/** What the factory gives the suite. */
export interface NotifierUnderTest {
  /** A notifier delivering to the receiver; with `credentials`, its URL carries them. */
  notifier(credentials?: Credentials): Notifier;
  /** A notifier whose receiver is down: nothing listens at its URL. */
  unreachable(credentials?: Credentials): Promise<Notifier>;
  /** What the receiver accepted so far, in order: each message's whole text, and the user it authenticated as. */
  received(): Array<{ text: string; user?: string }>;
  /**
   * The receiver refuses the next delivery: 'temporary' (webhook: HTTP 503; SMTP: reply 451, try
   * again later) or 'permanent' (webhook: HTTP 400; SMTP: reply 550, refused for good).
   */
  refuseNext(kind: 'temporary' | 'permanent'): void;
  cleanup?(): Promise<void>;
}

/** A report of a fresh incident (its own incident id) of the lagging job a1b2c3d4e5f6. */
function report(): Exclude<Notification, { type: 'digest' }> {
  const [n] = new IncidentTracker().observe(laggingDiagnosis());
  assert.ok(n && n.type === 'report');
  return n;
}

/** Rejects with NOTIFY_FAILED of this retriability; returns the error. */
async function sendFails(n: Notifier, notification: Notification, retriable: boolean): Promise<StreamtuneError> {
  const err = await n.send(notification).then(
    () => assert.fail(`${n.name}: send resolved, expected NOTIFY_FAILED`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StreamtuneError, `a StreamtuneError, got ${String(err)}`);
  assert.equal(err.code, 'NOTIFY_FAILED', err.message);
  assert.equal(err.retriable, retriable, `retriable ${String(retriable)}: ${err.message}`);
  return err;
}

const CREDENTIALS: Credentials = { user: 'streamtune', password: 'Pa55/w0rd:S3cret%!' };

/** Every form the password could leak in: as is, URL-encoded, base64 alone and in Basic and SMTP PLAIN auth. */
const LEAKS = [
  CREDENTIALS.password,
  encodeURIComponent(CREDENTIALS.password),
  Buffer.from(CREDENTIALS.password).toString('base64'),
  Buffer.from(`${CREDENTIALS.user}:${CREDENTIALS.password}`).toString('base64'),
  Buffer.from(`\0${CREDENTIALS.user}\0${CREDENTIALS.password}`).toString('base64'),
];

function assertNoSecret(err: StreamtuneError): void {
  const text = [err.message, err.stack ?? '', JSON.stringify(err.details), String(err.cause ?? '')].join('\n');
  for (const leak of LEAKS) assert.ok(!text.includes(leak), `the password (as '${leak.slice(0, 3)}…') appears in: ${err.message}`);
}

/**
 * Registers the Notifier contract for the notifiers made by `factory`.
 * @param name shown in the test names
 */
export function runNotifierContract(name: string, factory: () => Promise<NotifierUnderTest>): void {
  describe(`Notifier contract: ${name}`, { timeout: 120_000 }, () => {
    let h: NotifierUnderTest;
    before(async () => {
      h = await factory();
    });
    after(async () => {
      await h?.cleanup?.();
    });

    test('send resolves once delivered: the receiver then holds exactly one more message, naming the job and the incident', async () => {
      const n = report();
      const before = h.received().length;
      await h.notifier().send(n);
      const got = h.received().slice(before);
      assert.equal(got.length, 1, 'exactly one message');
      assert.ok(got[0]!.text.includes(n.incident.job_id), 'names the job (its id)');
      assert.ok(got[0]!.text.includes(n.incident.id), 'names the incident (its id)');
    });

    test('a receiver that is down: NOTIFY_FAILED, retriable', async () => {
      await sendFails(await h.unreachable(), report(), true);
    });

    test('a temporary refusal (HTTP 5xx, SMTP 4xx): NOTIFY_FAILED, retriable; nothing delivered', async () => {
      const before = h.received().length;
      h.refuseNext('temporary');
      await sendFails(h.notifier(), report(), true);
      assert.equal(h.received().length, before);
    });

    test('a permanent refusal (HTTP 4xx, SMTP 5xx): NOTIFY_FAILED, not retriable; nothing delivered', async () => {
      const before = h.received().length;
      h.refuseNext('permanent');
      await sendFails(h.notifier(), report(), false);
      assert.equal(h.received().length, before);
    });

    test('a password in the URL authenticates the delivery and appears in no error (receiver down, temporary and permanent refusals)', async () => {
      const before = h.received().length;
      await h.notifier(CREDENTIALS).send(report());
      const got = h.received().slice(before);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.user, CREDENTIALS.user, 'authenticated as the URL’s user');
      assertNoSecret(await sendFails(await h.unreachable(CREDENTIALS), report(), true));
      h.refuseNext('temporary');
      assertNoSecret(await sendFails(h.notifier(CREDENTIALS), report(), true));
      h.refuseNext('permanent');
      assertNoSecret(await sendFails(h.notifier(CREDENTIALS), report(), false));
    });
  });
}
