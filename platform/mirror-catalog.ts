/**
 * A read-only {@link JobCatalog} for a process that does not run the jobs (`serve --roles
 * alerter,diagnoser`): it keeps the jobs announced on the bus topic 'jobs' by the process with the
 * `jobs` role (`JobsAnnouncement`, one list per announcing origin) so the alerter can map alert
 * labels to jobs and the diagnoser knows each job's consumer group and topology.
 *
 * Mutations (submit, savepoint, stop) belong to the process that runs the jobs: they throw
 * StreamtuneError FORBIDDEN naming that role. A job missing from an origin's newest announcement is
 * gone; an origin that has not announced for `staleMs` is dropped with its jobs (its process ended).
 */
import { type EventBus, type Logger, silentLogger, StreamtuneError } from '../core/index.ts';
import type { JobCatalog } from './catalog.ts';
import type { ManagedJob } from './job.ts';

/**
 * The job catalog of the process that runs the jobs (role `jobs`), announced on every change and
 * periodically, so that processes without the jobs (an alerter or diagnoser of their own) know
 * them: {@link createMirrorCatalog} keeps the read-only copy.
 */
export interface JobsAnnouncement {
  /** the announcing process, e.g. 'host-1234': a mirror keeps one list per origin */
  origin: string;
  /** ms since epoch of the announcement */
  at: number;
  /** every job the announcing process knows, as its catalog lists them */
  jobs: ManagedJob[];
}

/** The bus topic the platform publishes: the `jobs` process's catalog announcements. */
export interface PlatformEvents {
  jobs: JobsAnnouncement;
}

/** Options of {@link createMirrorCatalog}. */
export interface MirrorCatalogOptions {
  /** ms after an origin's last announcement before its jobs are dropped. Default 60,000 (12 announcements at the default 5 s). */
  staleMs?: number;
  logger?: Logger;
  /** ms since epoch. Default Date.now. */
  now?: () => number;
}

/** The mirror: a JobCatalog plus `apply` (one announcement, for tests and the subscription) and `close`. */
export interface MirrorCatalog extends JobCatalog {
  /** Takes one announcement: the origin's jobs replace its previous list; listeners hear every changed job. */
  apply(a: JobsAnnouncement): void;
  /** Unsubscribes from the bus. */
  close(): Promise<void>;
}

const readOnly = (what: string): never => {
  throw new StreamtuneError('FORBIDDEN', `${what}: this process has no 'jobs' role; jobs are submitted, savepointed and stopped by the process running 'serve' with the 'jobs' role`);
};

/**
 * A mirror fed by plain announcements (no bus): `apply` each one. See {@link subscribeMirrorCatalog}
 * for the bus-fed one.
 */
export function createMirrorCatalog(opts: MirrorCatalogOptions = {}): MirrorCatalog {
  const staleMs = opts.staleMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).namespace('jobs-mirror');
  const origins = new Map<string, { at: number; jobs: Map<string, ManagedJob> }>();
  const listeners = new Set<(j: ManagedJob) => void>();
  const notify = (j: ManagedJob): void => {
    for (const l of listeners) l(j);
  };
  const fresh = (): Array<{ at: number; jobs: Map<string, ManagedJob> }> => {
    const t = now();
    for (const [o, e] of origins) {
      if (t - e.at > staleMs) {
        origins.delete(o);
        log.info('job announcements stopped; dropping its jobs', { origin: o, jobs: e.jobs.size });
      }
    }
    return [...origins.values()];
  };
  return {
    apply(a: JobsAnnouncement): void {
      const prev = origins.get(a.origin);
      if (prev && prev.at > a.at) return; // an older announcement delivered late
      const next = new Map(a.jobs.map((j) => [j.job_id, j]));
      origins.set(a.origin, { at: a.at, jobs: next });
      if (!prev) log.info('jobs announced', { origin: a.origin, jobs: next.size });
      for (const j of next.values()) {
        const before = prev?.jobs.get(j.job_id);
        if (!before || JSON.stringify(before) !== JSON.stringify(j)) notify(j);
      }
    },
    list: () => fresh().flatMap((e) => [...e.jobs.values()]),
    get: (jobId) => {
      for (const e of fresh()) {
        const j = e.jobs.get(jobId);
        if (j) return j;
      }
      return undefined;
    },
    submit: async () => readOnly('submit'),
    triggerSavepoint: async (jobId) => readOnly(`savepoint of ${jobId}`),
    stop: async (jobId) => readOnly(`stop of ${jobId}`),
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close(): Promise<void> {},
  };
}

/**
 * A mirror subscribed to the bus topic 'jobs'. Resolves once subscribed (on Kafka: joined).
 * @throws StreamtuneError BUS_UNAVAILABLE when the bus cannot subscribe.
 */
export async function subscribeMirrorCatalog(bus: EventBus<PlatformEvents>, opts: MirrorCatalogOptions = {}): Promise<MirrorCatalog> {
  const m = createMirrorCatalog(opts);
  const off = await bus.subscribe('jobs', (a) => m.apply(a));
  return { ...m, close: off };
}

/**
 * Announces `catalog` on the bus topic 'jobs': now, on every change (coalesced to one announcement
 * per tick) and every `intervalMs` (default 5,000 ms, so a process started later learns the jobs
 * within it). Returns a stop function. Publish failures are logged and retried at the next tick.
 */
export function announceCatalog(bus: EventBus<PlatformEvents>, catalog: JobCatalog, origin: string, opts: { intervalMs?: number; logger?: Logger; now?: () => number } = {}): () => void {
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).namespace('jobs-announce');
  let queued = false;
  let stopped = false;
  const send = (): void => {
    queued = false;
    if (stopped) return;
    bus.publish('jobs', { origin, at: now(), jobs: catalog.list() }).catch((err: unknown) => log.warn('announcing the jobs failed', { error: String(err) }));
  };
  const soon = (): void => {
    if (queued) return;
    queued = true;
    setImmediate(send);
  };
  const off = catalog.onChange(soon);
  const timer = setInterval(send, opts.intervalMs ?? 5000);
  timer.unref();
  soon();
  return () => {
    stopped = true;
    off();
    clearInterval(timer);
  };
}
