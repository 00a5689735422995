/** Free TCP ports on the loopback interface, for local servers started by streamtune. */
import { createServer } from 'node:net';

/**
 * A TCP port free on `host` right now (the OS picks it: bind to port 0, read it, close). Another
 * process may take it before the caller binds it; callers that start a server on it retry on
 * "address in use" where that matters.
 * @param host default '127.0.0.1'
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports on `host` (see {@link freePort}). */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort(host));
  return [...out];
}
