/**
 * Noticing that the process that started streamtune is gone. `npm start` runs `sh -c "node
 * bin/streamtune.js demo"` and `npx streamtune ...` runs `sh -c streamtune ...`: a SIGTERM sent by
 * systemd, a container runtime or a CI runner to that npm/npx process ends npm and the shell, but
 * never reaches the node process (npm 10/11 pass it to the shell, and dash does not pass it on while
 * it waits for its child). Node then runs on orphaned, holding its port, and no savepoint is taken.
 * Seen here with npm 11.19 and dash 0.5.12 (the tree before and after is in test/parent-death.test.ts).
 *
 * An orphan is re-parented (to PID 1 or a subreaper, Linux `PR_SET_CHILD_SUBREAPER`), so its
 * `process.ppid` changes: {@link watchParent} polls that, and also takes a closed IPC channel (a
 * parent that spawned us with `'ipc'` and died) as the parent's death.
 */

/** Options of {@link watchParent}. */
export interface WatchParentOptions {
  /** poll interval in ms. Default 1000. */
  intervalMs?: number;
  /** reads the current parent PID (tests). Default `() => process.ppid`. */
  ppid?: () => number;
}

/**
 * Calls `onOrphaned` once, when the parent process that was there at the call is gone (the parent
 * PID changed, the original parent PID no longer exists, or the IPC channel to the parent
 * disconnected). The timer is unref'd (it keeps nothing alive). Returns a function that stops
 * watching. Never throws.
 */
export function watchParent(onOrphaned: () => void, opts: WatchParentOptions = {}): () => void {
  const read = opts.ppid ?? (() => process.ppid);
  const original = read();
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    stop();
    onOrphaned();
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const timer = setInterval(() => {
    if (read() !== original || (original > 1 && !alive(original))) fire();
  }, opts.intervalMs ?? 1000);
  timer.unref();
  const onDisconnect = () => fire();
  if (process.connected) process.once('disconnect', onDisconnect);
  function stop(): void {
    clearInterval(timer);
    process.off('disconnect', onDisconnect);
  }
  return stop;
}

/**
 * Whether this process should stop with its parent: `STREAMTUNE_EXIT_WITH_PARENT=1|true` forces it on,
 * `0|false` off; otherwise it is on when npm or npx started us (npm sets `npm_lifecycle_event` for
 * `npm start`/`npm run` and `npm exec`/`npx`), the case where a signal to the parent never reaches us.
 * `node bin/streamtune.js ...` started directly (systemd `ExecStart=`, a container's `exec`) and put in
 * the background with `&`/`nohup` keeps running when its shell exits.
 */
export function exitWithParentWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.STREAMTUNE_EXIT_WITH_PARENT?.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return Boolean(env.npm_lifecycle_event || env.npm_command);
}

/**
 * After the parent is gone, stdout/stderr may be pipes nobody reads: a write would raise EPIPE as
 * an unhandled 'error' event and kill the process before the savepoint. This swallows those errors.
 */
export function ignoreBrokenStdio(): void {
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
}
