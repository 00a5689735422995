/**
 * Burrow 1.2.1 (Debian `burrow`, binary /usr/bin/Burrow) as a test peer: LinkedIn's consumer-lag
 * evaluator, whose rules streamtune's lag detector follows (diagnoser/detectors/lag.ts). Each
 * `startBurrow` starts its own standalone ZooKeeper (Burrow 1.x coordinates through it) from the
 * Debian `zookeeper` jars, writes `burrow.toml` in a temporary directory and starts Burrow on a free
 * port of 127.0.0.1. See docs/servers-kafka.md.
 *
 * What Burrow 1.2.1 can read (found here, Kafka in KRaft mode from platform/local/kafka.ts):
 * - Kafka 3.9.1: yes. Topics and log-end offsets (its cluster module sends ListOffsets v0), and
 *   committed offsets from `__consumer_offsets` (offset-commit values of version 3). It cannot decode
 *   the group-metadata value version 3 that brokers since Kafka 2.3 write, so `owner` and
 *   `client_id` stay empty (a "failed to decode ... metadata" warning in its log); lag and status are
 *   not affected.
 * - Kafka 4.x: no. The 4.x broker rejects ListOffsets v0 (KIP-896: "unsupported version 0", the
 *   connection is closed), so Burrow knows no topic, and it cannot decode the version-4 offset-commit
 *   values that 4.1 writes. Every group stays NOTFOUND. {@link startBurrow} refuses a 4.x broker.
 * - Its newest `kafka-version` setting is "2.0.0" (Burrow's own table); that is what is used.
 * - Burrow exits at start ("failed to start consumer ... not the leader") when `__consumer_offsets`
 *   does not exist yet or has a partition without a leader, so the helper creates it first (a
 *   FindCoordinator through kafkajs) and waits for its leaders.
 * - Burrow's storage drops commits for a topic it does not know yet: commit after `topics()` lists
 *   the topic (or keep committing).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { StreamtuneError } from '../../core/errors.ts';
import { freePort } from '../../platform/local/ports.ts';
import { startProcess, type LocalProcess } from '../../platform/local/process.ts';
import { startZooKeeper, type ZooKeeperServer } from '../../platform/local/zookeeper.ts';
import { waitFor } from './wait.ts';

/** The Debian package's binary. */
export const BURROW_BINARY = '/usr/bin/Burrow';
/** The newest Kafka version string Burrow 1.2.1's client profile accepts (its `parseKafkaVersion`). */
export const BURROW_CLIENT_KAFKA_VERSION = '2.0.0';

/** Burrow's status of a group or partition (Burrow wiki, "Consumer Lag Evaluation Rules"). */
export type BurrowStatus = 'NOTFOUND' | 'OK' | 'WARN' | 'ERR' | 'STOP' | 'STALL' | 'REWIND';

/** One offset observation Burrow keeps: committed offset, commit time (ms epoch) and lag then. */
export interface BurrowOffset {
  offset: number;
  timestamp: number;
  lag: number;
}

/** One partition in a group's status, as Burrow's `/status` and `/lag` answer it. */
export interface BurrowPartitionStatus {
  topic: string;
  partition: number;
  owner: string;
  client_id: string;
  status: BurrowStatus;
  start: BurrowOffset | null;
  end: BurrowOffset | null;
  /** records: log-end offset − last committed offset */
  current_lag: number;
  /** 0..1: share of Burrow's offset window that is filled */
  complete: number;
}

/** A group's status (`GET /v3/kafka/CLUSTER/consumer/GROUP/status` and `/lag`). */
export interface BurrowGroupStatus {
  cluster: string;
  group: string;
  status: BurrowStatus;
  complete: number;
  /** `/status` lists only partitions not OK; `/lag` lists all. */
  partitions: BurrowPartitionStatus[];
  partition_count: number;
  maxlag: BurrowPartitionStatus | null;
  /** records, summed over partitions */
  totallag: number;
}

/** Options of {@link startBurrow}. */
export interface BurrowOptions {
  /** The broker(s) to watch, 'host:port'. */
  bootstrap: string[];
  /** The broker's Kafka version, e.g. '3.9.1'. Burrow 1.2.1 cannot read 4.x (see the file header). */
  kafkaVersion: string;
  /** Burrow's name of the cluster. Default 'local'. */
  cluster?: string;
  /** s between log-end offset reads (`offset-refresh`). Default 1. */
  offsetRefreshS?: number;
  /** s between topic list reads (`topic-refresh`). Default 2. */
  topicRefreshS?: number;
  /** Offsets kept per partition (`intervals`, Burrow's evaluation window). Default 10 (Burrow's). */
  intervals?: number;
  /** s: commits closer than this to the previous stored one replace it (`min-distance`). Default 1. */
  minDistanceS?: number;
  /** s an evaluation is cached (`expire-cache` of the caching evaluator). Default 1 (Burrow's: 10). */
  expireCacheS?: number;
  /** An existing ZooKeeper 'host:port'. Default: a new one, stopped with Burrow. */
  zookeeper?: string;
  /** ms until Burrow answers. Default 60 000. */
  readyTimeoutMs?: number;
}

/** A running Burrow (and its ZooKeeper). */
export interface BurrowPeer {
  /** 'http://127.0.0.1:<port>' */
  url: string;
  cluster: string;
  /** Its working directory (`burrow.toml`, `burrow.log`). */
  dir: string;
  process: LocalProcess;
  /** `/status`: the group's status with the partitions that are not OK. */
  status(group: string): Promise<BurrowGroupStatus>;
  /** `/lag`: the group's status with every partition. */
  lag(group: string): Promise<BurrowGroupStatus>;
  /** The consumer groups Burrow knows. */
  consumers(): Promise<string[]>;
  /** The topics Burrow knows. */
  topics(): Promise<string[]>;
  /** Stops Burrow and its own ZooKeeper, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Whether Burrow is installed.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE naming the package when it is not.
 */
export function checkBurrowInstalled(binary: string = BURROW_BINARY): void {
  if (!existsSync(binary)) throw new StreamtuneError('ARTIFACT_UNAVAILABLE', `Burrow is not installed (${binary} missing): apt-get install -y burrow`);
}

/** Creates `__consumer_offsets` (a group coordinator lookup does) and waits for all its leaders. */
async function ensureOffsetsTopic(bootstrap: string[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'streamtune-burrow-prep', brokers: bootstrap, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.fetchOffsets({ groupId: 'streamtune-burrow-prep', topics: [] }).catch(() => {});
    await waitFor(async () => {
      const md = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
      const parts = md.topics[0]?.partitions ?? [];
      return parts.length > 0 && parts.every((p) => p.leader >= 0);
    }, { timeoutMs: 60_000, intervalMs: 200, what: '__consumer_offsets to exist with a leader for every partition' });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Starts ZooKeeper (unless given) and Burrow watching `bootstrap`, and resolves once Burrow's HTTP
 * server lists the cluster.
 * @throws StreamtuneError ARTIFACT_UNAVAILABLE when Burrow or ZooKeeper is not installed;
 *   INVALID_ARGUMENT for a Kafka 4.x broker; INTERNAL when Burrow exits or does not answer.
 */
export async function startBurrow(options: BurrowOptions): Promise<BurrowPeer> {
  checkBurrowInstalled();
  if (Number(options.kafkaVersion.split('.')[0]) >= 4) {
    throw new StreamtuneError('INVALID_ARGUMENT', `Burrow 1.2.1 cannot read a Kafka ${options.kafkaVersion} broker (ListOffsets v0 and the offset-commit value format were dropped/changed in 4.x); start the broker with version 3.9.1`);
  }
  const cluster = options.cluster ?? 'local';
  await ensureOffsetsTopic(options.bootstrap);
  const zk: ZooKeeperServer | undefined = options.zookeeper ? undefined : await startZooKeeper();
  const dir = mkdtempSync(join(tmpdir(), 'streamtune-burrow-'));
  try {
    const port = await freePort();
    const servers = JSON.stringify(options.bootstrap);
    writeFileSync(join(dir, 'burrow.toml'), [
      '# Written by streamtune (test/helpers/burrow.ts) for Burrow 1.2.1',
      '[general]',
      `pidfile="${join(dir, 'burrow.pid')}"`,
      '[logging]',
      'level="info"',
      '[zookeeper]',
      `servers=["${options.zookeeper ?? zk!.connectString}"]`,
      'timeout=6',
      `root-path="/burrow-${process.pid}-${port}"`,
      '[client-profile.streamtune]',
      'client-id="streamtune-burrow"',
      `kafka-version="${BURROW_CLIENT_KAFKA_VERSION}"`,
      `[cluster.${cluster}]`,
      'class-name="kafka"',
      `servers=${servers}`,
      'client-profile="streamtune"',
      `topic-refresh=${options.topicRefreshS ?? 2}`,
      `offset-refresh=${options.offsetRefreshS ?? 1}`,
      `[consumer.${cluster}]`,
      'class-name="kafka"',
      `cluster="${cluster}"`,
      `servers=${servers}`,
      'client-profile="streamtune"',
      'start-latest=false',
      '[storage.default]',
      'class-name="inmemory"',
      'workers=2',
      `intervals=${options.intervals ?? 10}`,
      'expire-group=604800',
      `min-distance=${options.minDistanceS ?? 1}`,
      '[evaluator.default]',
      'class-name="caching"',
      `expire-cache=${options.expireCacheS ?? 1}`,
      '[httpserver.default]',
      `address="127.0.0.1:${port}"`,
      '',
    ].join('\n'));
    const url = `http://127.0.0.1:${port}`;
    const proc = await startProcess({
      name: `Burrow (${url})`,
      command: BURROW_BINARY,
      args: ['-config-dir', dir],
      cwd: dir,
      logFile: join(dir, 'burrow.log'),
      ready: async () => {
        const r = await fetch(`${url}/v3/kafka`);
        const body = (await r.json()) as { clusters?: string[] };
        return r.ok && (body.clusters ?? []).includes(cluster);
      },
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      stopGraceMs: 10_000,
    });
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`${url}/v3/kafka/${cluster}${path}`);
      const body = (await r.json()) as T & { error?: boolean; message?: string; status?: unknown };
      // an unknown group is a 404 whose body still carries status NOTFOUND
      if ((!r.ok || body.error) && !(r.status === 404 && body.status)) throw new Error(`Burrow ${path}: HTTP ${r.status} ${body.message ?? ''}`);
      return body;
    };
    let stopped = false;
    return {
      url,
      cluster,
      dir,
      process: proc,
      status: async (group) => (await get<{ status: BurrowGroupStatus }>(`/consumer/${encodeURIComponent(group)}/status`)).status,
      lag: async (group) => (await get<{ status: BurrowGroupStatus }>(`/consumer/${encodeURIComponent(group)}/lag`)).status,
      consumers: async () => (await get<{ consumers: string[] }>('/consumer')).consumers,
      topics: async () => (await get<{ topics: string[] }>('/topic')).topics,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await proc.stop();
        await zk?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await zk?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
