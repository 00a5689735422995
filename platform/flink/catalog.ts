/**
 * {@link JobCatalog} over a Flink cluster's REST API: the jobs the cluster runs, polled every
 * `pollIntervalMs` (`GET /jobs/overview`, then for each job `GET /jobs/:jid`, `/plan` and
 * `/checkpoints/config`). Savepoints and stops go through the {@link FlinkExecutor}. The latest
 * completed checkpoint and savepoint of each running job (`/checkpoints`) are announced through
 * `onSnapshot`, so the tuner's journal records them as it does the bundled runtime's.
 *
 * What the REST API cannot tell: which Kafka consumer group and topics a job reads (a KafkaSource's
 * `group.id` lives in the job's code or its properties, not in the plan). The user says it per job
 * name (or JobID) in `flink.jobs` of the server config; a job without an entry has no consumer group,
 * so its lag is not measured and the diagnoser works from the sources' `pendingRecords`.
 *
 * Jobs are submitted to Flink (`flink run`, the web UI, `POST /jars/:jarid/run`), not through
 * streamtune: {@link FlinkCatalog.submit} throws INVALID_ARGUMENT saying so.
 *
 * Restart time (`ManagedJob.restartTimeMs`): the measured downtime of the job's last tuner restart
 * when there is one (`lastDowntimeMs`), else {@link FLINK_RESTART_MS}.
 */
import { errorMessage, type Logger, silentLogger, StreamtuneError } from '../../core/index.ts';
import type { JobCatalog } from '../catalog.ts';
import type { JobState, ManagedJob, SnapshotRecord } from '../job.ts';
import type { FlinkExecutor } from './executor.ts';
import { flinkTopology } from './topology.ts';
import type { CheckpointStats, JobOverview } from './rest-client.ts';

/**
 * ms a savepoint restart of a Flink job is planned with when none was measured yet: the Flink
 * Kubernetes operator autoscaler's default `job.autoscaler.restart.time` (5 min). The autoscaler keeps
 * using it unless `job.autoscaler.restart.time-tracking.enabled` (default false) lets it measure
 * restarts; streamtune always uses the measured downtime once there is one. Stop-with-savepoint, resubmission, scheduling and state restore
 * together take from tens of seconds to minutes depending on state size and slot availability.
 */
export const FLINK_RESTART_MS = 300_000;

/** How a Flink job maps to the Kafka consumer group it reads (server config `flink.jobs`). */
export interface FlinkJobMapping {
  /** the KafkaSource's `group.id` */
  consumerGroup?: string;
  /** topics the job reads, for the lag collector */
  topics?: string[];
}

/** Options of {@link FlinkCatalog}. */
export interface FlinkCatalogOptions {
  executor: FlinkExecutor;
  /** consumer group/topics by job name or JobID (JobID wins). Default none. */
  jobs?: Record<string, FlinkJobMapping>;
  /** ms between polls of the cluster (`start()`). Default 5,000. */
  pollIntervalMs?: number;
  /** ms a restart is planned with when none was measured. Default {@link FLINK_RESTART_MS}. */
  restartTimeMs?: number;
  /** ms of downtime of the job's last tuner restart, when known (the tuner's journal). */
  lastDowntimeMs?: (jobId: string) => number | undefined;
  /** ms to wait for a savepoint or a stop-with-savepoint asked through the catalog. Default 600,000. */
  savepointTimeoutMs?: number;
  logger?: Logger;
}

const TERMINAL: ReadonlySet<string> = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);
/** Flink reports a disabled checkpoint interval as Long.MAX_VALUE. */
const DISABLED_INTERVAL = 2 ** 53;

/** The catalog of a Flink cluster's jobs; call {@link refresh} (or {@link start}) before use. */
export class FlinkCatalog implements JobCatalog {
  private readonly jobs = new Map<string, ManagedJob>();
  private readonly listeners = new Set<(job: ManagedJob) => void>();
  private readonly snapshotListeners = new Set<(s: SnapshotRecord) => void>();
  /** per job: external paths of the latest completed checkpoint and savepoint already announced */
  private readonly seenSnapshots = new Map<string, Set<string>>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: FlinkCatalogOptions) {
    this.log = (opts.logger ?? silentLogger).namespace('flink-catalog');
  }

  /** Jobs as of the last poll, with their restart time now. */
  list(): ManagedJob[] {
    return [...this.jobs.values()].map((j) => this.withRestartTime(j));
  }

  get(jobId: string): ManagedJob | undefined {
    const j = this.jobs.get(jobId);
    return j ? this.withRestartTime(j) : undefined;
  }

  /** Always throws INVALID_ARGUMENT: Flink jobs are submitted to Flink. */
  submit(): Promise<ManagedJob> {
    return Promise.reject(
      new StreamtuneError('INVALID_ARGUMENT', 'Flink jobs are submitted to Flink (flink run, the Flink web UI or POST /jars/:jarid/run); streamtune lists them from the cluster within one poll', {
        details: { field: 'spec' },
      }),
    );
  }

  /** Savepoint through the executor; the job keeps running. NOT_FOUND / JOB_STATE as the interface says. */
  async triggerSavepoint(jobId: string): Promise<{ savepointPath: string }> {
    this.running(jobId);
    return this.opts.executor.triggerSavepoint(jobId, { timeoutMs: this.opts.savepointTimeoutMs ?? 600_000 });
  }

  /** Stop with savepoint through the executor (`POST /jobs/:jid/stop`), then polls the cluster once. */
  async stop(jobId: string): Promise<{ savepointPath: string }> {
    this.running(jobId);
    const r = await this.opts.executor.stopWithSavepoint(jobId, { timeoutMs: this.opts.savepointTimeoutMs ?? 600_000 });
    await this.refresh().catch((err: unknown) => this.log.warn('poll after stop failed', { job_id: jobId, error: errorMessage(err) }));
    return r;
  }

  onChange(listener: (job: ManagedJob) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Called with the latest completed checkpoint and savepoint of every running job as polls find
   * them (`GET /jobs/:jid/checkpoints`, `latest.completed` / `latest.savepoint` with an
   * `external_path`), each once. Checkpoints completed between two polls are not seen: Flink keeps
   * only the retained ones anyway, and a start uses the latest. Returns an unsubscribe function.
   */
  onSnapshot(listener: (s: SnapshotRecord) => void): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  /**
   * Polls the cluster once: new jobs, state and parallelism changes are announced through
   * `onChange`; jobs the cluster no longer lists are forgotten. Concurrent calls share one poll.
   * @throws StreamtuneError FLINK_API when `/jobs/overview` fails (per-job failures are logged and
   *   that job keeps its last known shape).
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.poll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** First poll now (a failure is logged, not thrown: the cluster may come later), then every `pollIntervalMs`. */
  async start(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.log.warn('Flink cluster not reachable; polling on', { error: errorMessage(err) }));
    const tick = (): void => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        void this.refresh()
          .catch((err: unknown) => this.log.warn('polling the Flink cluster failed', { error: errorMessage(err) }))
          .finally(tick);
      }, this.opts.pollIntervalMs ?? 5_000);
      this.timer.unref();
    };
    tick();
  }

  /** Stops polling; waits for a poll in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing?.catch(() => undefined);
  }

  // ---- internals --------------------------------------------------------------------------

  private running(jobId: string): ManagedJob {
    const j = this.jobs.get(jobId);
    if (!j) throw new StreamtuneError('NOT_FOUND', `no Flink job ${jobId}`);
    if (j.state !== 'RUNNING') throw new StreamtuneError('JOB_STATE', `Flink job ${j.name} is ${j.state}, not RUNNING`);
    return j;
  }

  private withRestartTime(j: ManagedJob): ManagedJob {
    const measured = this.opts.lastDowntimeMs?.(j.job_id);
    return { ...structuredClone(j), restartTimeMs: measured ?? this.opts.restartTimeMs ?? FLINK_RESTART_MS };
  }

  private async poll(): Promise<void> {
    const overview = await this.opts.executor.client.jobsOverview();
    // a job restarted under the same JobID is listed twice (the archived execution and the new one)
    const byId = new Map<string, JobOverview>();
    for (const o of overview) {
      const cur = byId.get(o.jid);
      if (!cur || (TERMINAL.has(cur.state) && !TERMINAL.has(o.state)) || (TERMINAL.has(cur.state) === TERMINAL.has(o.state) && o['start-time'] > cur['start-time'])) byId.set(o.jid, o);
    }
    for (const [jid, o] of byId) {
      const known = this.jobs.get(jid);
      // ended jobs are listed only when they were seen running (their end is a change to announce)
      if (TERMINAL.has(o.state) && (!known || known.state === o.state)) continue;
      let next: ManagedJob;
      try {
        next = await this.describe(jid);
      } catch (err) {
        this.log.warn('reading a Flink job failed; keeping its last known shape', { job_id: jid, error: errorMessage(err) });
        continue;
      }
      if (!known || changed(known, next)) {
        this.jobs.set(jid, next);
        for (const l of this.listeners) l(this.withRestartTime(next));
      } else this.jobs.set(jid, next);
    }
    for (const jid of [...this.jobs.keys()]) if (!byId.has(jid)) this.jobs.delete(jid);
    for (const id of [...this.seenSnapshots.keys()]) if (!this.jobs.has(id)) this.seenSnapshots.delete(id);
    if (this.snapshotListeners.size > 0) {
      await Promise.all([...this.jobs.values()].filter((j) => j.state === 'RUNNING').map((j) => this.pollSnapshots(j.job_id)));
    }
  }

  /** Announces the job's latest completed checkpoint and savepoint when not announced before; a failure is logged. */
  private async pollSnapshots(jid: string): Promise<void> {
    let stats: CheckpointStats;
    try {
      stats = await this.opts.executor.client.checkpoints(jid);
    } catch (err) {
      this.log.warn('reading checkpoint statistics failed', { job_id: jid, error: errorMessage(err) });
      return;
    }
    const seen = this.seenSnapshots.get(jid) ?? new Set<string>();
    this.seenSnapshots.set(jid, seen);
    const found: Array<[SnapshotRecord['kind'], NonNullable<CheckpointStats['latest']>['completed']]> = [['checkpoint', stats.latest?.completed], ['savepoint', stats.latest?.savepoint]];
    for (const [kind, c] of found) {
      if (!c?.external_path || seen.has(c.external_path)) continue;
      seen.add(c.external_path);
      const rec: SnapshotRecord = { job_id: jid, kind, path: c.external_path, completedAt: c.latest_ack_timestamp ?? (c.trigger_timestamp ?? 0) + c.end_to_end_duration };
      const size = c.checkpointed_size ?? c.state_size;
      if (size !== undefined) rec.sizeBytes = size;
      for (const l of this.snapshotListeners) l(rec);
    }
  }

  private async describe(jid: string): Promise<ManagedJob> {
    const client = this.opts.executor.client;
    const [d, plan, cc] = await Promise.all([
      client.jobDetails(jid),
      client.jobPlan(jid),
      client.checkpointConfig(jid).catch(() => undefined), // absent while the job initialises
    ]);
    const mapping = this.opts.jobs?.[d.jid] ?? this.opts.jobs?.[d.name];
    const job: ManagedJob = {
      job_id: d.jid,
      name: d.name,
      executor: 'flink',
      state: d.state as JobState,
      topology: flinkTopology(d, plan),
      startedAt: d['start-time'],
    };
    if (mapping?.consumerGroup) job.consumerGroup = mapping.consumerGroup;
    if (mapping?.topics?.length) job.topics = [...mapping.topics];
    if (cc && cc.interval > 0 && cc.interval < DISABLED_INTERVAL) {
      job.checkpointing = { interval: cc.interval, timeout: cc.timeout, minPause: cc.min_pause, unaligned: cc.unaligned_checkpoints ?? false };
    }
    return job;
  }
}

function changed(a: ManagedJob, b: ManagedJob): boolean {
  if (a.state !== b.state || a.startedAt !== b.startedAt || a.topology.length !== b.topology.length) return true;
  return a.topology.some((v, i) => v.id !== b.topology[i]!.id || v.parallelism !== b.topology[i]!.parallelism);
}
