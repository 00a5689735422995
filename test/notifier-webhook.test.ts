/** The Notifier contract on the webhook notifier against a real local HTTP server. */
import { WebhookNotifier } from '../notify/index.ts';
import { runNotifierContract, type Credentials } from './notifier-contract.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';
import { freePort } from './helpers/wait.ts';

runNotifierContract('webhook (HTTP)', async () => {
  const receiver = await startWebhookReceiver();
  const url = (port: number, c?: Credentials) => `http://${c ? `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@` : ''}127.0.0.1:${port}/hooks/streamtune`;
  const hook = (u: string) => new WebhookNotifier({ url: u, baseUrl: 'http://127.0.0.1:8080', timeoutMs: 10_000 });
  return {
    notifier: (c) => hook(url(receiver.port, c)),
    unreachable: async (c) => hook(url(await freePort(), c)),
    received: () => receiver.received.map((r) => ({ text: r.body, ...(r.user !== undefined ? { user: r.user } : {}) })),
    refuseNext: (kind) => receiver.failNext(kind === 'temporary' ? 503 : 400),
    cleanup: () => receiver.close(),
  };
});
