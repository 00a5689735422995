/**
 * Consumer-lag scenarios run side by side by Burrow 1.2.1 and streamtune on one Kafka 3.9 broker
 * (issue 15): each scenario is its own consumer group, committed by a Flink-like committer (one
 * KafkaConsumer per group that assigns its partitions and calls `commitSync`:
 * test/helpers/java/CommitServer.java). streamtune's real collector (`createCollector`, the Kafka lag
 * poll) writes into an embedded store and the read model's `lagNowOfJobs` evaluates it, as the
 * overview and the job page do; Burrow reads the same commits from `__consumer_offsets`. Both are
 * asked for the group's status every `sampleEveryMs`.
 *
 * The scenarios (`LAG_SCENARIOS`), all on a topic of 2 partitions:
 * - `caught-up`: commits the log-end offset at every commit, producers steady.
 * - `lagging`: commits `laggingShare` of the log-end offset: its lag grows at every commit.
 * - `stalled`: keeps committing one offset (100 records behind from the start) while records keep
 *   arriving.
 * - `stopped`: commits the log-end offset until the events, then stops committing while the
 *   producers go on.
 * - `quiet`: a topic that gets no new records; the consumer commits its log-end offset until the
 *   events, then nothing (no records, no commits).
 * - `quiet-checkpointing`: a quiet topic read by a consumer that commits every `checkpointEveryMs`
 *   (a Flink job's checkpoints: the same offset again and again); right after its first commit
 *   after the events one record arrives per partition, which its next checkpoint commits.
 * The "events" (the stops, the record) happen `warmupMs` after the first commits, so both windows
 * are full of commits by then.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createCollector, createEmbeddedStore, type Collector } from '../../collector/index.ts';
import { lagNowOfJobs, type LagNow, type LagNowOptions } from '../../control-plane/index.ts';
import type { ManagedJob } from '../../platform/index.ts';
import { startBurrow, type BurrowGroupStatus, type BurrowOptions, type BurrowPeer } from './burrow.ts';
import { startAssignedCommitter, type AssignedCommitter } from './kafka-broker.ts';
import { uniqueName, waitFor } from './wait.ts';

/** The scenarios, in table order. */
export const LAG_SCENARIOS = ['caught-up', 'lagging', 'stalled', 'stopped', 'quiet', 'quiet-checkpointing'] as const;
/** One scenario. */
export type LagScenarioId = (typeof LAG_SCENARIOS)[number];

/** What each scenario is, in words (the table's first column). */
export const LAG_SCENARIO_TITLES: Record<LagScenarioId, string> = {
  'caught-up': 'caught up (commits the log-end offset, steady traffic)',
  lagging: 'lagging and growing (commits 25 % of the log-end offset)',
  stalled: 'stalled (re-commits one offset while lag grows)',
  stopped: 'stopped (stops committing, producers go on)',
  quiet: 'caught up on a quiet topic (no new records, no new commits)',
  'quiet-checkpointing': 'quiet topic read by a checkpointing consumer; one record arrives, committed at the next checkpoint',
};

/** Timing of a run: the test scales it down, the benchmark runs at the real defaults. */
export interface LagScenarioTiming {
  /** ms between two commits of the plain consumers */
  commitEveryMs: number;
  /** ms between two commits of the `quiet-checkpointing` consumer (a Flink job's checkpoint interval) */
  checkpointEveryMs: number;
  /** ms, streamtune's collection interval (the Kafka lag poll) */
  pollMs: number;
  /** ms from the first commits to the events */
  warmupMs: number;
  /** ms observed after the events */
  observeMs: number;
  /** ms between two status reads */
  sampleEveryMs: number;
  /** records/s per partition produced to the busy topic */
  ratePerPartition: number;
  /** share of the log-end offset the `lagging` consumer commits, 0..1 */
  laggingShare: number;
  /** Burrow's settings (offset-refresh, intervals, min-distance, expire-cache, topic-refresh) */
  burrow: Pick<BurrowOptions, 'offsetRefreshS' | 'topicRefreshS' | 'intervals' | 'minDistanceS' | 'expireCacheS'>;
  /** the read model's window and Burrow parameters */
  streamtune: LagNowOptions;
}

/** One status read of both, for one group. */
export interface StatusSample {
  /** ms relative to the events (negative: before) */
  t: number;
  burrow: string;
  /** Burrow's non-OK partition statuses, e.g. ['STALL'] */
  burrowPartitions: string[];
  /** Burrow's total lag, records */
  burrowLag: number;
  streamtune: LagNow['status'];
  streamtunePartitions: string[];
  /** records */
  streamtuneLag: number | null;
}

/** The samples of one scenario. */
export interface LagScenarioResult {
  id: LagScenarioId;
  group: string;
  topic: string;
  samples: StatusSample[];
}

/** A whole run. */
export interface LagScenariosRun {
  kafkaVersion: string;
  timing: LagScenarioTiming;
  results: LagScenarioResult[];
}

/** Options of {@link runLagScenarios}. */
export interface RunLagScenariosOptions {
  bootstrap: string[];
  /** the broker's version (Burrow 1.2.1 needs 3.x) */
  kafkaVersion: string;
  timing: LagScenarioTiming;
  /** progress lines (stderr in the benchmark); default none */
  progress?: (line: string) => void;
}

const PARTITIONS = 2;

/**
 * Runs every scenario at once, each on its own consumer group, and returns both statuses at every
 * sample. Starts and stops its own Burrow (and ZooKeeper), committer JVM, producer and collector.
 * @throws Error when a server does not start or a commit fails.
 */
export async function runLagScenarios(o: RunLagScenariosOptions): Promise<LagScenariosRun> {
  const { bootstrap, timing } = o;
  const log = o.progress ?? (() => undefined);
  const kafka = new Kafka({ clientId: 'streamtune-lag-scenarios', brokers: bootstrap, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const cleanups: Array<() => Promise<unknown>> = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const busy = uniqueName('lagsc-busy');
    const quiet = uniqueName('lagsc-quiet');
    const quiet2 = uniqueName('lagsc-quiet-ckpt');
    await admin.createTopics({ topics: [busy, quiet, quiet2].map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
    const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const send = (topic: string, perPartition: number): Promise<unknown> =>
      producer.send({ topic, acks: -1, messages: Array.from({ length: perPartition * PARTITIONS }, (_, i) => ({ partition: i % PARTITIONS, value: `r${i}` })) });
    // a backlog on the busy topic (the stalled consumer sits 100 records behind it), 10 records on the quiet ones
    await send(busy, 200);
    await send(quiet, 10);
    await send(quiet2, 10);

    const burrow: BurrowPeer = await startBurrow({ bootstrap, kafkaVersion: o.kafkaVersion, ...timing.burrow });
    cleanups.push(() => burrow.stop());
    // Burrow drops commits for a topic it does not know yet
    await waitFor(async () => {
      const t = await burrow.topics();
      return [busy, quiet, quiet2].every((x) => t.includes(x));
    }, { timeoutMs: 120_000 + (timing.burrow.topicRefreshS ?? 2) * 1000, intervalMs: 500, what: 'Burrow to list the scenario topics' });
    log(`Burrow ${burrow.url} lists the topics`);

    const committer: AssignedCommitter = await startAssignedCommitter(bootstrap, o.kafkaVersion);
    cleanups.push(() => committer.close());

    const store = await createEmbeddedStore({ path: ':memory:' });
    cleanups.push(() => store.close());
    const collector: Collector = createCollector({ store, intervalMs: timing.pollMs, kafka: { brokers: bootstrap }, flushIntervalMs: Math.min(1000, timing.pollMs) });
    const groups = Object.fromEntries(LAG_SCENARIOS.map((id) => [id, uniqueName(`lagsc-${id}`)])) as Record<LagScenarioId, string>;
    const topicOf: Record<LagScenarioId, string> = { 'caught-up': busy, lagging: busy, stalled: busy, stopped: busy, quiet, 'quiet-checkpointing': quiet2 };
    for (const id of LAG_SCENARIOS) collector.watchGroup(groups[id], [topicOf[id]]);
    const jobs: ManagedJob[] = LAG_SCENARIOS.map((id) => ({
      job_id: id, name: id, executor: 'flink', state: 'RUNNING', consumerGroup: groups[id], topics: [topicOf[id]], topology: [],
    }));

    const leo = async (topic: string): Promise<Record<number, number>> =>
      Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const scale = (offsets: Record<number, number>, share: number): Record<number, number> =>
      Object.fromEntries(Object.entries(offsets).map(([p, v]) => [p, Math.floor(v * share)]));
    const stalledAt = Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, 100]));

    // steady traffic on the busy topic: a batch every 100 ms
    const perBatch = Math.max(1, Math.round(timing.ratePerPartition / 10));
    let producing: Promise<unknown> | undefined;
    timers.push(setInterval(() => {
      if (producing) return;
      producing = send(busy, perBatch).catch((err: Error) => log(`produce failed: ${err.message}`)).finally(() => { producing = undefined; });
    }, 100));
    cleanups.push(async () => { await producing; });

    const t0 = Date.now();
    const eventsAt = t0 + timing.warmupMs;
    const errors: Error[] = [];
    let committing: Promise<unknown> | undefined;
    const plainTick = async (): Promise<void> => {
      const now = Date.now();
      const [b, q] = await Promise.all([leo(busy), leo(quiet)]);
      const commits: Array<Promise<void>> = [
        committer.commit(groups['caught-up'], busy, b),
        committer.commit(groups.lagging, busy, scale(b, timing.laggingShare)),
        committer.commit(groups.stalled, busy, stalledAt),
      ];
      if (now < eventsAt) {
        commits.push(committer.commit(groups.stopped, busy, b), committer.commit(groups.quiet, quiet, q));
      }
      await Promise.all(commits);
    };
    timers.push(setInterval(() => {
      if (committing) return;
      committing = plainTick().catch((err: Error) => errors.push(err)).finally(() => { committing = undefined; });
    }, timing.commitEveryMs));
    await plainTick();
    cleanups.push(async () => { await committing; });

    let recordAt: number | undefined;
    let checkpointing: Promise<unknown> | undefined;
    const checkpointTick = async (): Promise<void> => {
      await committer.commit(groups['quiet-checkpointing'], quiet2, await leo(quiet2));
      if (recordAt === undefined && Date.now() >= eventsAt) {
        await send(quiet2, 1);
        recordAt = Date.now();
        log(`one record per partition produced to ${quiet2} at +${Math.round((recordAt - eventsAt) / 1000)} s`);
      }
    };
    timers.push(setInterval(() => {
      if (checkpointing) return;
      checkpointing = checkpointTick().catch((err: Error) => errors.push(err)).finally(() => { checkpointing = undefined; });
    }, timing.checkpointEveryMs));
    await checkpointTick();
    cleanups.push(async () => { await checkpointing; });

    collector.start();
    cleanups.push(() => collector.stop());
    log(`committing from ${new Date(t0).toISOString()}; events at +${timing.warmupMs / 1000} s, observed until +${(timing.warmupMs + timing.observeMs) / 1000} s`);

    const results: LagScenarioResult[] = LAG_SCENARIOS.map((id) => ({ id, group: groups[id], topic: topicOf[id], samples: [] }));
    const notOk = (statuses: string[]): string[] => [...new Set(statuses.filter((s) => s !== 'OK'))].sort();
    let sampling: Promise<unknown> | undefined;
    const sample = async (): Promise<void> => {
      const now = Date.now();
      const [ours, theirs] = await Promise.all([
        lagNowOfJobs(store, jobs, now, timing.streamtune),
        Promise.all(LAG_SCENARIOS.map((id) => burrow.lag(groups[id]).catch((): BurrowGroupStatus | undefined => undefined))),
      ]);
      LAG_SCENARIOS.forEach((id, i) => {
        const b = theirs[i];
        const s = ours.get(id);
        results[i]!.samples.push({
          t: now - eventsAt,
          burrow: b?.status ?? 'NO ANSWER',
          burrowPartitions: notOk((b?.partitions ?? []).map((p) => p.status)),
          burrowLag: b?.totallag ?? 0,
          streamtune: s?.status ?? 'UNKNOWN',
          streamtunePartitions: notOk((s?.partitions ?? []).map((p) => p.status)),
          streamtuneLag: s?.records ?? null,
        });
      });
    };
    timers.push(setInterval(() => {
      if (sampling) return;
      sampling = sample().catch((err: Error) => log(`sample failed: ${err.message}`)).finally(() => { sampling = undefined; });
    }, timing.sampleEveryMs));
    cleanups.push(async () => { await sampling; });

    const end = eventsAt + timing.observeMs;
    let reported = -1;
    await waitFor(() => {
      if (errors.length > 0) throw errors[0];
      const step = Math.floor((Date.now() - eventsAt) / 30_000);
      if (step >= 0 && step > reported) {
        reported = step;
        const line = results.map((r) => {
          const s = r.samples.at(-1);
          return s ? `${r.id} ${s.burrow}/${s.streamtune}` : r.id;
        }).join(', ');
        log(`+${Math.round((Date.now() - eventsAt) / 1000)} s: ${line}`);
      }
      return Date.now() >= end;
    }, { timeoutMs: timing.warmupMs + timing.observeMs + 120_000, intervalMs: 250, what: 'the scenarios to run their course' });
    if (errors.length > 0) throw errors[0];
    return { kafkaVersion: o.kafkaVersion, timing, results };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

/** A group status, with its non-OK partition statuses for ERR: 'ERR (STALL)', 'WARN', 'OK'. */
export function label(status: string, partitions: string[]): string {
  return status !== 'ERR' || partitions.length === 0 ? status : `${status} (${partitions.join('/')})`;
}

/**
 * The course of one side's status over the samples from `fromMs` (relative to the events):
 * consecutive equal labels merged, e.g. 'OK −28…+20 s, ERR (STOP) +22…+45 s'.
 */
export function course(samples: readonly StatusSample[], side: 'burrow' | 'streamtune', fromMs = -Infinity): string {
  const segs: Array<{ label: string; from: number; to: number }> = [];
  for (const s of samples) {
    if (s.t < fromMs) continue;
    const l = side === 'burrow' ? label(s.burrow, s.burrowPartitions) : label(s.streamtune, s.streamtunePartitions);
    const last = segs.at(-1);
    if (last && last.label === l) last.to = s.t;
    else segs.push({ label: l, from: s.t, to: s.t });
  }
  const sec = (ms: number): string => `${ms < 0 ? '−' : '+'}${Math.abs(Math.round(ms / 1000))}`;
  return segs.map((g) => `${g.label} ${sec(g.from)}…${sec(g.to)} s`).join(', ');
}

/** The markdown table of a run: per scenario, both statuses at the end and their course. */
export function lagScenarioTable(run: LagScenariosRun, fromMs = -Infinity): string {
  const rows = run.results.map((r) => {
    const last = r.samples.at(-1);
    const b = last ? label(last.burrow, last.burrowPartitions) : 'n/a';
    const s = last ? label(last.streamtune, last.streamtunePartitions) : 'n/a';
    return `| ${LAG_SCENARIO_TITLES[r.id]} | ${b} | ${s} | ${course(r.samples, 'burrow', fromMs)} | ${course(r.samples, 'streamtune', fromMs)} |`;
  });
  return [
    '| scenario | Burrow 1.2.1 at the end | streamtune at the end | Burrow over the run (s from the events) | streamtune over the run |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
