/**
 * The flight-delays job on a real Flink 1.20 cluster, reading a Kafka 3.9.1 broker that gets steady
 * traffic at a rate the job keeps up with, committing its offsets on every checkpoint; streamtune's
 * real collector polls the consumer group's lag into an embedded store every `pollMs` and the read
 * model's `lagNowOfJobs` evaluates it after every poll, beside Burrow 1.2.1 reading the same
 * commits (issue 15: "on the real job with a 60 s checkpoint interval and steady traffic the status
 * stays OK for 10 minutes"). Used by test/flink-lag.test.ts (10 s checkpoints, 2 minutes) and
 * `npm run bench -- flink-lag` (60 s checkpoints, 10 minutes).
 */
import { Kafka, logLevel } from 'kafkajs';
import { createCollector, createEmbeddedStore } from '../../collector/index.ts';
import { lagNowOfJobs, type LagNowOptions } from '../../control-plane/index.ts';
import { produceFlights } from '../../platform/kafka/produce-flights.ts';
import { KAFKA_3_VERSION } from '../../platform/local/kafka.ts';
import type { ManagedJob } from '../../platform/index.ts';
import { startBurrow, type BurrowOptions } from './burrow.ts';
import { flightDelaysArgs, flinkGet, outputDir, runJar, startRealFlink, type JobDetails } from './flink-cluster.ts';
import { label } from './lag-scenarios.ts';
import { uniqueName, waitFor } from './wait.ts';

/** Options of {@link runFlinkLagCheck}. */
export interface FlinkLagCheckOptions {
  /** the job's checkpoint interval, ms (offsets are committed when a checkpoint completes) */
  checkpointIntervalMs: number;
  /** ms between two lag polls of streamtune's collector (and two evaluations) */
  pollMs: number;
  /** ms of evaluations, from the moment the job runs */
  durationMs: number;
  /** records/s produced to the job's topic (4 partitions, round-robin) */
  ratePerSecond: number;
  /** the read model's window and Burrow parameters; default the shipped ones */
  streamtune?: LagNowOptions;
  /** Burrow's settings; default Burrow's own defaults (offset-refresh 10 s, 10 intervals, expire-cache 10 s) */
  burrow?: Pick<BurrowOptions, 'offsetRefreshS' | 'topicRefreshS' | 'intervals' | 'minDistanceS' | 'expireCacheS'>;
  progress?: (line: string) => void;
}

/** One evaluation. */
export interface FlinkLagSample {
  /** ms since the job was RUNNING */
  t: number;
  streamtune: string;
  /** records, sum over partitions */
  streamtuneLag: number | null;
  burrow: string;
  burrowLag: number;
}

/** What a run saw. */
export interface FlinkLagCheck {
  kafkaVersion: string;
  flinkVersion: string;
  jobId: string;
  group: string;
  samples: FlinkLagSample[];
  /** checkpoints completed during the run (GET /jobs/:jid/checkpoints) */
  checkpointsCompleted: number;
  /** committed offsets the collector saw change, per partition (the commits streamtune counted) */
  commitsSeen: number[];
  /** records produced */
  produced: number;
}

/**
 * Starts Kafka 3.9.1, Flink, Burrow and the producer, runs the job, evaluates after every poll for
 * `durationMs`, and stops everything (every JVM it started).
 * @throws Error when a server or the job does not start, or the job leaves RUNNING.
 */
export async function runFlinkLagCheck(o: FlinkLagCheckOptions): Promise<FlinkLagCheck> {
  const log = o.progress ?? (() => undefined);
  const env = await startRealFlink({ kafkaVersion: KAFKA_3_VERSION, kafkaPartitions: 4 });
  const cleanups: Array<() => Promise<unknown>> = [() => env.close()];
  const timers: NodeJS.Timeout[] = [];
  try {
    const bootstrap = env.kafka.bootstrap;
    const topic = uniqueName('flights-lag');
    const group = uniqueName('flight-delays-lag');
    await env.kafka.createTopic(topic, 4);
    const burrow = await startBurrow({ bootstrap, kafkaVersion: env.kafka.version, offsetRefreshS: 10, topicRefreshS: 10, intervals: 10, minDistanceS: 0, expireCacheS: 10, ...o.burrow });
    cleanups.push(() => burrow.stop());
    await waitFor(async () => (await burrow.topics()).includes(topic), { timeoutMs: 180_000, intervalMs: 500, what: `Burrow to list ${topic}` });
    log(`Kafka ${env.kafka.version} ${bootstrap.join(',')}, Flink ${env.flink.restUrl}, Burrow ${burrow.url}`);

    const kafka = new Kafka({ clientId: 'streamtune-flink-lag', brokers: bootstrap, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const abort = new AbortController();
    const producing = produceFlights({ producer, topic, rate: o.ratePerSecond, key: 'round-robin', signal: abort.signal });
    cleanups.push(async () => {
      abort.abort();
      await producing.catch(() => undefined);
      await producer.disconnect();
    });

    const store = await createEmbeddedStore({ path: ':memory:' });
    cleanups.push(() => store.close());
    const collector = createCollector({ store, intervalMs: o.pollMs, kafka: { brokers: bootstrap } });
    collector.watchGroup(group, [topic]);

    const jobId = await runJar(env.flink, env.jarId, flightDelaysArgs({
      brokers: bootstrap.join(','), topic, groupId: group, output: outputDir(env.flink, group), checkpointIntervalMs: o.checkpointIntervalMs,
    }));
    const startedAt = Date.now();
    collector.start();
    cleanups.push(() => collector.stop());
    log(`job ${jobId} RUNNING; checkpoints every ${o.checkpointIntervalMs / 1000} s, ${o.ratePerSecond} records/s, lag polled every ${o.pollMs / 1000} s`);

    const job: ManagedJob = { job_id: jobId, name: 'flight-delays', executor: 'flink', state: 'RUNNING', consumerGroup: group, topics: [topic], topology: [] };
    const samples: FlinkLagSample[] = [];
    let failure: Error | undefined;
    let sampling: Promise<unknown> | undefined;
    let lastJobCheck = 0;
    const sample = async (): Promise<void> => {
      const now = Date.now();
      if (now - lastJobCheck >= 30_000) {
        lastJobCheck = now;
        const j = await flinkGet<JobDetails>(env.flink, `/jobs/${jobId}`);
        if (j.state !== 'RUNNING') throw new Error(`job ${jobId} is ${j.state}`);
      }
      const [ours, theirs] = await Promise.all([
        lagNowOfJobs(store, [job], now, o.streamtune ?? {}),
        burrow.lag(group).catch(() => undefined),
      ]);
      const s = ours.get(jobId);
      samples.push({
        t: now - startedAt,
        streamtune: s ? label(s.status, [...new Set(s.partitions.map((p) => p.status).filter((x) => x !== 'OK'))]) : 'UNKNOWN',
        streamtuneLag: s?.records ?? null,
        burrow: theirs ? label(theirs.status, [...new Set(theirs.partitions.map((p) => p.status).filter((x) => x !== 'OK'))]) : 'NO ANSWER',
        burrowLag: theirs?.totallag ?? 0,
      });
    };
    timers.push(setInterval(() => {
      if (sampling) return;
      sampling = sample().catch((err: Error) => { failure = err; }).finally(() => { sampling = undefined; });
    }, o.pollMs));
    cleanups.push(async () => { await sampling; });

    let reported = 0;
    await waitFor(() => {
      if (failure) throw failure;
      const elapsed = Date.now() - startedAt;
      if (elapsed >= reported + 60_000) {
        reported = elapsed;
        const last = samples.at(-1);
        log(`+${Math.round(elapsed / 1000)} s: streamtune ${last?.streamtune} (lag ${last?.streamtuneLag}), Burrow ${last?.burrow} (lag ${last?.burrowLag}), ${samples.length} evaluations`);
      }
      return elapsed >= o.durationMs;
    }, { timeoutMs: o.durationMs + 120_000, intervalMs: 500, what: 'the run to last its duration' });
    if (failure) throw failure;

    const ck = await flinkGet<{ counts: { completed: number } }>(env.flink, `/jobs/${jobId}/checkpoints`);
    const committed = await store.query({ measurement: 'streamtune_kafka_partition_committedOffset', field: 'value', start: startedAt - 60_000, end: Date.now() + 1000, where: { group }, groupBy: ['partition'] });
    const commitsSeen = committed
      .sort((a, b) => Number(a.tags.partition) - Number(b.tags.partition))
      .map((s) => s.points.filter((p, i) => i === 0 || p.v !== s.points[i - 1]!.v).length);
    const overview = await flinkGet<{ 'flink-version': string }>(env.flink, '/overview');
    abort.abort();
    const produced = (await producing).records;
    return { kafkaVersion: env.kafka.version, flinkVersion: overview['flink-version'], jobId, group, samples, checkpointsCompleted: ck.counts.completed, commitsSeen, produced };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

/** The course of one side's status: consecutive equal labels merged, times in s since the job ran. */
export function flinkLagCourse(samples: readonly FlinkLagSample[], side: 'streamtune' | 'burrow'): string {
  const segs: Array<{ label: string; from: number; to: number; n: number }> = [];
  for (const s of samples) {
    const l = s[side];
    const last = segs.at(-1);
    if (last && last.label === l) {
      last.to = s.t;
      last.n++;
    } else segs.push({ label: l, from: s.t, to: s.t, n: 1 });
  }
  return segs.map((g) => `${g.label} ${Math.round(g.from / 1000)}…${Math.round(g.to / 1000)} s (${g.n})`).join(', ');
}
