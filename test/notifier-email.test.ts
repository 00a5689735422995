/** The Notifier contract on the email notifier (nodemailer) against a real SMTP server (smtp-server). */
import { EmailNotifier } from '../notify/index.ts';
import { runNotifierContract, type Credentials } from './notifier-contract.ts';
import { startSmtp } from './helpers/smtp.ts';
import { freePort } from './helpers/wait.ts';

runNotifierContract('email (SMTP)', async () => {
  // accepts any client, and any credentials a client offers (recorded as the message's user)
  const smtp = await startSmtp();
  const url = (port: number, c?: Credentials) => `smtp://${c ? `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@` : ''}127.0.0.1:${port}`;
  const email = (smtpUrl: string) => new EmailNotifier({ smtpUrl, recipients: { default: ['oncall@example.test'] }, baseUrl: 'http://127.0.0.1:8080', timeoutMs: 10_000 });
  return {
    notifier: (c) => email(url(smtp.port, c)),
    unreachable: async (c) => email(url(await freePort(), c)),
    received: () => smtp.messages.map((m) => ({ text: `${m.subject}\n${m.text}`, ...(m.user !== undefined ? { user: m.user } : {}) })),
    refuseNext: (kind) => smtp.refuseNext(kind === 'temporary' ? 451 : 550),
    cleanup: () => smtp.close(),
  };
});
