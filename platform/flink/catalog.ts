/**
 * {@link JobCatalog} over a Flink cluster's REST API: the jobs the cluster runs, polled every
 * `pollIntervalMs` (`GET /jobs/overview`, then for each job `GET /jobs/:jid`, `/plan` and
 * `/checkpoints/config`). Savepoints and stops go through the {@link FlinkExecutor}. The latest
 * completed checkpoint and savepoint of each running job (`/checkpoints`) are announced through
 * `onSnapshot`, so the tuner's journal records them as it does the bundled runtime's.
 *
 * What the REST API cannot tell: which Kafka consumer group and topics a job reads (a KafkaSource's
 * `group.id` lives in the job's code or its properties, not in the plan). They are learnt instead
 * (platform/flink/kafka-sources.ts): the topics from the `KafkaSourceReader` metric ids of each
 * source vertex (`GET /jobs/:jid/vertices/:vid/subtasks/metrics`), their partition counts from the
 * broker (`partitions` of each source vertex: the planner never scales a source past them), and the
 * consumer group from the broker: the group whose committed offsets cover those topic-partitions
 * (given a {@link FlinkKafkaBroker}, `kafka`) — of the partitions the job committed so far, which
 * its readers' `committedOffset` gauges tell (one `agg=max` request per source vertex). The user's
 * mapping per job name (or JobID) in `flink.jobs` of the server config wins over what was learnt
 * (an override, and the answer when several groups cover the job's partitions); a job with
 * neither has no consumer group, so its lag is not measured and the diagnoser works from the
 * sources' `pendingRecords`.
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
import { MAX_METRIC_IDS_CHARS, type CheckpointStats, type JobOverview } from './rest-client.ts';
import { kafkaPartitionsFromMetricIds, type FlinkKafkaBroker, type KafkaTopicPartition } from './kafka-sources.ts';
import type { TopologyVertex } from '../topology.ts';

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
  /**
   * The broker the jobs read: partition counts of their topics (`partitions` of source vertices)
   * and consumer-group discovery (platform/flink/kafka-sources.ts). Default none: only the mapping
   * of `jobs` gives groups and topics, and sources have no partition count.
   */
  kafka?: FlinkKafkaBroker;
  /** ms between re-reads of a job's source topics and their partition counts once known. Default 60,000. */
  kafkaRefreshMs?: number;
  /** ms between tries of a consumer-group discovery that found none (or several) groups. Default 5,000. */
  discoveryRetryMs?: number;
  /** Clock, ms since epoch (when the Kafka facts are refreshed). Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** What the catalog learnt about one job's Kafka sources. */
interface KafkaKnowledge {
  /** topics each source vertex reads, by vertex id (from its KafkaSourceReader metric ids) */
  sourceTopics: Map<string, string[]>;
  /** every topic-partition the sources' metrics name */
  partitions: KafkaTopicPartition[];
  /** per source vertex: the ids of its readers' `committedOffset` gauges */
  committedIds: Map<string, string[]>;
  /** ms when the metric ids were last read (0: never with success) */
  idsAt: number;
  /** partition count by topic, from the broker */
  counts: Record<string, number>;
  /** ms when `counts` was last read with success (0: never) */
  countsAt: number;
  /** ms before which the broker is not asked again for counts after a failure */
  nextCounts: number;
  /** the discovered consumer group */
  group?: string;
  /** ms before which discovery is not tried again */
  nextDiscovery: number;
  /** the ambiguity was logged (once per job) */
  ambiguousLogged: boolean;
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
  /** per job: its Kafka sources as learnt from metrics and the broker */
  private readonly kafkaFacts = new Map<string, KafkaKnowledge>();
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
    for (const jid of [...this.kafkaFacts.keys()]) if (!this.jobs.has(jid)) this.kafkaFacts.delete(jid);
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
    const topology = flinkTopology(d, plan);
    const job: ManagedJob = {
      job_id: d.jid,
      name: d.name,
      executor: 'flink',
      state: d.state as JobState,
      topology,
      startedAt: d['start-time'],
      ...(d.timestamps?.RUNNING !== undefined ? { runningSince: d.timestamps.RUNNING } : {}),
    };
    // the sources' reader metrics exist only while the job runs; what was learnt before is kept
    const k = d.state === 'RUNNING' ? await this.learnKafka(d.jid, d.name, topology, mapping) : this.kafkaFacts.get(d.jid);
    const learntTopics = k ? [...new Set(k.partitions.map((p) => p.topic))] : [];
    const topics = mapping?.topics?.length ? [...mapping.topics] : learntTopics;
    const group = mapping?.consumerGroup ?? k?.group;
    if (group) job.consumerGroup = group;
    if (topics.length > 0) job.topics = topics;
    if (k) {
      const sources = topology.filter((v) => v.inputs.length === 0);
      for (const v of sources) {
        const read = k.sourceTopics.get(v.id) ?? (sources.length === 1 && topics.length > 0 ? topics : undefined);
        if (read && read.length > 0 && read.every((t) => k.counts[t] !== undefined)) v.partitions = read.reduce((a, t) => a + k.counts[t]!, 0);
      }
    }
    if (cc && cc.interval > 0 && cc.interval < DISABLED_INTERVAL) {
      job.checkpointing = { interval: cc.interval, timeout: cc.timeout, minPause: cc.min_pause, unaligned: cc.unaligned_checkpoints ?? false };
    }
    return job;
  }

  /**
   * Reads what the job's Kafka sources read (the source vertices' KafkaSourceReader metric ids, until
   * found, then every `kafkaRefreshMs`), the partition counts of those topics (or of the mapping's)
   * and, unless the mapping names the group, discovers the consumer group. Failures are logged and
   * tried again at a later poll; they never fail the poll.
   */
  private async learnKafka(jid: string, name: string, topology: readonly TopologyVertex[], mapping: FlinkJobMapping | undefined): Promise<KafkaKnowledge | undefined> {
    const broker = this.opts.kafka;
    if (!broker) return undefined;
    const now = (this.opts.now ?? Date.now)();
    const refreshMs = this.opts.kafkaRefreshMs ?? 60_000;
    const retryMs = this.opts.discoveryRetryMs ?? 5_000;
    let k = this.kafkaFacts.get(jid);
    if (!k) {
      k = { sourceTopics: new Map(), partitions: [], committedIds: new Map(), idsAt: 0, counts: {}, countsAt: 0, nextCounts: 0, nextDiscovery: 0, ambiguousLogged: false };
      this.kafkaFacts.set(jid, k);
    }
    const sources = topology.filter((v) => v.inputs.length === 0);
    if (sources.some((v) => !k.sourceTopics.has(v.id)) || now - k.idsAt >= refreshMs) {
      const found = new Map<string, KafkaTopicPartition>();
      let allRead = true;
      for (const v of sources) {
        try {
          const ids = await this.opts.executor.client.subtaskMetricIds(jid, v.id);
          const tps = kafkaPartitionsFromMetricIds(ids);
          if (tps.length === 0) {
            allRead = false;
            continue;
          }
          k.sourceTopics.set(v.id, [...new Set(tps.map((p) => p.topic))]);
          k.committedIds.set(v.id, ids.filter((id) => id.includes('.KafkaSourceReader.topic.') && id.endsWith('.committedOffset')));
          for (const tp of tps) found.set(`${tp.topic}\u0000${tp.partition}`, tp);
        } catch (err) {
          allRead = false;
          this.log.debug('listing a source vertex\'s metrics failed', { job_id: jid, task_id: v.id, error: errorMessage(err) });
        }
      }
      if (found.size > 0) k.partitions = [...found.values()];
      if (allRead) k.idsAt = now;
    }
    // the mapping's topics and those the sources' metrics name (a source vertex is capped by what it reads)
    const topics = [...new Set([...(mapping?.topics ?? []), ...k.partitions.map((p) => p.topic)])];
    const missing = topics.some((t) => k.counts[t] === undefined);
    if (topics.length > 0 && now >= k.nextCounts && (missing || now - k.countsAt >= refreshMs)) {
      try {
        k.counts = { ...k.counts, ...(await broker.partitionCounts(topics)) };
        k.countsAt = now;
      } catch (err) {
        k.nextCounts = now + retryMs;
        this.log.warn('reading the partition counts of a job\'s topics from the broker failed; trying again', { job_id: jid, topics, error: errorMessage(err) });
      }
    }
    if (!mapping?.consumerGroup && !k.group && k.partitions.length > 0 && now >= k.nextDiscovery) {
      k.nextDiscovery = now + retryMs;
      try {
        // the partitions the job committed already (its readers' committedOffset ≥ 0): a backpressured
        // source reads some partitions long after others, and commits only what it read
        const committed = await this.committedPartitions(jid, k);
        const r = committed.length > 0 ? await broker.discoverGroup(committed) : ({ kind: 'none' } as const);
        if (r.kind === 'group') {
          k.group = r.group;
          this.log.info('consumer group discovered from the broker', { job_id: jid, job: name, group: r.group, partitions: k.partitions.length });
        } else if (r.kind === 'ambiguous' && !k.ambiguousLogged) {
          k.ambiguousLogged = true;
          this.log.warn(`several consumer groups cover the partitions job ${name} reads; name its group in flink.jobs`, { job_id: jid, job: name, candidates: r.candidates });
        }
      } catch (err) {
        this.log.warn('consumer-group discovery failed; trying again', { job_id: jid, error: errorMessage(err) });
      }
    }
    return k;
  }

  /**
   * The topic-partitions whose `committedOffset` gauge (flink-connector-kafka
   * `KafkaSourceReaderMetrics`: the offset the reader last committed, -1 before its first commit) is
   * ≥ 0 on some subtask, with that offset: one aggregated request per source vertex (`agg=max`: a
   * partition is read by one subtask, the others do not report it), batched under the request-line
   * limit.
   */
  private async committedPartitions(jid: string, k: KafkaKnowledge): Promise<KafkaTopicPartition[]> {
    const out: KafkaTopicPartition[] = [];
    for (const [vid, list] of k.committedIds) {
      for (const batch of idBatches(list)) {
        for (const m of await this.opts.executor.client.aggregatedSubtaskMetrics(jid, vid, batch, ['max'])) {
          const tp = kafkaPartitionsFromMetricIds([m.id])[0];
          if (tp && m.max !== undefined && m.max >= 0) out.push({ ...tp, offset: m.max });
        }
      }
    }
    return out;
  }
}

/** Metric ids cut into lists of at most {@link MAX_METRIC_IDS_CHARS} characters (escaped). */
function idBatches(ids: readonly string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (const id of ids) {
    const l = encodeURIComponent(id).length + 3;
    if (cur.length > 0 && len + l > MAX_METRIC_IDS_CHARS) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(id);
    len += l;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function changed(a: ManagedJob, b: ManagedJob): boolean {
  if (a.state !== b.state || a.startedAt !== b.startedAt || a.topology.length !== b.topology.length) return true;
  if (a.consumerGroup !== b.consumerGroup || (a.topics ?? []).join(',') !== (b.topics ?? []).join(',')) return true;
  return a.topology.some((v, i) => v.id !== b.topology[i]!.id || v.parallelism !== b.topology[i]!.parallelism || v.partitions !== b.topology[i]!.partitions);
}
