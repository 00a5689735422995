/**
 * Test helper: a real SMTP server (`smtp-server`, from the nodemailer project) on 127.0.0.1 with a
 * free port, collecting every message parsed with mailparser's `simpleParser`.
 * `startSmtp()` accepts any client (authOptional); `startSmtp({ user, pass })` requires those
 * credentials (AUTH PLAIN/LOGIN over plain TCP, as in tests only).
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './wait.ts';

/** One received message: the parsed mail plus the SMTP envelope. */
export interface ReceivedMail {
  parsed: ParsedMail;
  subject: string;
  html: string;
  text: string;
  /** envelope recipients (RCPT TO) */
  to: string[];
  /** envelope sender (MAIL FROM) */
  from: string;
  /** user that authenticated, if any */
  user?: string;
}

/** A running SMTP server. */
export interface SmtpTestServer {
  port: number;
  /** smtp://[user:pass@]127.0.0.1:port */
  url: string;
  /** messages received so far, in order */
  messages: ReceivedMail[];
  /** failed authentication attempts (username tried) */
  authFailures: string[];
  /**
   * Answers the next MAIL FROM with SMTP reply `code` (e.g. 451: try again later; 550: refused for
   * good, RFC 5321 §4.2), so that message is not accepted. Several calls queue up, one per message.
   */
  refuseNext(code: number, message?: string): void;
  /** Stops listening and closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link startSmtp}. */
export interface StartSmtpOptions {
  /** Require these credentials. */
  user?: string;
  pass?: string;
  /** Listen on this port (to bring a server up where a client was already pointed). Default: a free one. */
  port?: number;
}

/** Starts an SMTP server on 127.0.0.1. Rejects when it cannot listen. */
export async function startSmtp(options: StartSmtpOptions = {}): Promise<SmtpTestServer> {
  const port = options.port ?? (await freePort());
  const messages: ReceivedMail[] = [];
  const authFailures: string[] = [];
  const refusals: Array<{ code: number; message: string }> = [];
  const needAuth = options.user !== undefined;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: !needAuth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (needAuth && auth.username === options.user && auth.password === options.pass) {
        callback(null, { user: auth.username });
      } else if (!needAuth) {
        callback(null, { user: auth.username });
      } else {
        authFailures.push(auth.username ?? '');
        callback(new Error('Invalid username or password'));
      }
    },
    onMailFrom(_address, _session, callback) {
      const r = refusals.shift();
      if (!r) {
        callback();
        return;
      }
      callback(Object.assign(new Error(r.message), { responseCode: r.code }));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          messages.push({
            parsed,
            subject: parsed.subject ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            text: parsed.text ?? '',
            to: session.envelope.rcptTo.map((r) => r.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            ...(typeof session.user === 'string' ? { user: session.user } : {}),
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Connection resets from clients that give up are normal in tests; keep them from crashing the run.
  server.on('error', () => undefined);
  let closed = false;
  const cred = needAuth ? `${encodeURIComponent(options.user!)}:${encodeURIComponent(options.pass ?? '')}@` : '';
  return {
    port,
    url: `smtp://${cred}127.0.0.1:${port}`,
    messages,
    authFailures,
    refuseNext: (code, message) => {
      refusals.push({ code, message: message ?? (code >= 500 ? 'Mailbox unavailable' : 'Try again later') });
    },
    close: () =>
      closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            closed = true;
            server.close(() => resolve());
          }),
  };
}
