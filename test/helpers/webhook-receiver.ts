/**
 * Test helper: a real HTTP server on 127.0.0.1 and a free port that receives webhook POSTs, records
 * each body with the user of its Basic authorization, and answers 204 — or, on demand, an error
 * status for the next request.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST received. */
export interface ReceivedHook {
  path: string;
  headers: IncomingMessage['headers'];
  /** the raw body */
  body: string;
  /** the user of an `authorization: Basic` header, if any */
  user?: string;
}

/** A running receiver. */
export interface WebhookReceiver {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** accepted POSTs, in order (a request answered with an error status is not recorded) */
  received: ReceivedHook[];
  /** Answers the next request with `status` (several calls queue up, one per request). */
  failNext(status: number): void;
  /** Stops listening and drops connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts a receiver. Rejects when it cannot listen. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failures.shift();
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`refused with ${status}`);
        return;
      }
      const auth = req.headers.authorization;
      const user = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] : undefined;
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), ...(user !== undefined ? { user } : {}) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    failNext: (status) => {
      failures.push(status);
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
