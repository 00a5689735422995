/**
 * A local server process (a JVM for Kafka or Flink, a Debian-packaged server) started by streamtune's
 * local-cluster launchers and test helpers: stdout and stderr go to a log file, readiness is polled,
 * and it is stopped by PID (SIGTERM, then SIGKILL after a grace period). Processes still running when
 * the Node.js process exits are killed, so a crashed test leaves no server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { StreamtuneError, errorMessage } from '../../core/index.ts';

const live = new Set<ChildProcess>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** What it is, for messages: 'Kafka broker', 'Flink TaskManager'. */
  name: string;
  command: string;
  args: string[];
  /** Log file (stdout and stderr appended). */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Resolves true once the server answers. Polled every `intervalMs` until `timeoutMs`; an exception
   * counts as "not yet".
   */
  ready: () => Promise<boolean>;
  /** ms, default 120 000 */
  timeoutMs?: number;
  /** ms, default 200 */
  intervalMs?: number;
  /** ms between SIGTERM and SIGKILL on stop, default 20 000 */
  stopGraceMs?: number;
}

/** A started server process. */
export interface LocalProcess {
  readonly name: string;
  readonly pid: number;
  /** True until the process has exited. */
  readonly running: boolean;
  readonly logFile: string;
  /** The last `bytes` (default 4,000) of the log file, for error messages. */
  logTail(bytes?: number): string;
  /** Resolves when the process has exited (by any cause). */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); resolves once it has exited. */
  kill(): Promise<void>;
  /**
   * Lets the Node.js process exit while this server runs (it is then killed by the exit hook): for a
   * server shared by all the tests of one file, which dies with the file's process.
   */
  unref(): void;
}

/**
 * Starts a process and waits until `ready()` holds.
 * @throws StreamtuneError INTERNAL when it cannot be spawned, exits before it is ready, or is not
 *   ready within `timeoutMs` (then it is killed); the message carries the log's tail.
 */
export async function startProcess(opts: StartProcessOptions): Promise<LocalProcess> {
  installExitHook();
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  let spawnError: Error | undefined;
  let done = false;
  child.on('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    done = true;
    live.delete(child);
  });
  const logTail = (bytes = 4000): string => {
    try {
      const text = readFileSync(opts.logFile, 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  };
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw new StreamtuneError('INTERNAL', `${opts.name} could not start (${opts.command}): ${spawnError.message}`);
    if (done) throw new StreamtuneError('INTERNAL', `${opts.name} exited before it was ready; log ${opts.logFile}:\n${logTail()}`);
    let ok = false;
    try {
      ok = await opts.ready();
    } catch {
      ok = false;
    }
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new StreamtuneError('INTERNAL', `${opts.name} was not ready within ${timeoutMs} ms; log ${opts.logFile}:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  const signal = async (sig: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (done) return;
    child.ref(); // an unref'd child must keep the event loop alive while we wait for its exit
    try {
      child.kill(sig);
    } catch (err) {
      throw new StreamtuneError('INTERNAL', `${opts.name}: kill ${sig} failed: ${errorMessage(err)}`);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    get running() {
      return !done;
    },
    logFile: opts.logFile,
    logTail,
    exited,
    stop: () => signal('SIGTERM', opts.stopGraceMs ?? 20_000),
    kill: () => signal('SIGKILL', 0),
    unref: () => child.unref(),
  };
}
