/**
 * The real Kafka broker for tests: one broker per test FILE (Node's test runner runs each file in
 * its own process), started by the first {@link testKafkaBroker} call of the file and shared by all
 * its tests, which keep to their own topics and consumer groups (`uniqueName`). The broker dies with
 * the file's process (SIGKILL from platform/local/process.ts' exit hook; its temporary directory is
 * removed then too).
 *
 * The handle has the shape of the old kcat mock's (`bootstrap`, `pid`, `logTail()`, `stop()`), so a
 * test moves over by swapping the start call. Differences from the mock:
 * - `stop()` only says "this test is done with the broker": it keeps running for the file's other
 *   tests. To take the broker down (a broker-outage test), call `broker.stop()` or `broker.kill()`;
 *   the next `testKafkaBroker()` call of the file starts it again on the same ports and data.
 * - Topics are auto-created with 4 partitions (`num.partitions=4`, as the mock did), or explicitly
 *   with `createTopic(name, partitions)`.
 * - The data lives on disk (a restart keeps records and committed offsets), and the admin API is
 *   complete (`createTopics`, `listGroups`, `describeGroups`, `setOffsets` work; not on the mock).
 *
 * Startup: ~3 s with the jars in the cache (`cacheDir('maven/kafka-<version>')`); the first run on a
 * machine downloads them through Maven (CI does that first: scripts/prefetch-servers.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RecordMetadata } from 'kafkajs';
import { ensureKafkaArtifacts, startKafkaBroker, DEFAULT_KAFKA_VERSION, type KafkaBroker } from '../../platform/local/kafka.ts';
import { produce as produceAny, type ProduceMessage } from './kafka.ts';

export { consumeAndCommit, type ProduceMessage } from './kafka.ts';

/**
 * Produces `messages` to `topic` with an idempotent producer (acks = all): on a loaded machine a
 * retried request cannot duplicate a record, so tests may count them. Topics are auto-created.
 * @throws StreamtuneError KAFKA_ERROR (retriable) when the broker does not accept the batch.
 */
export function produce(bootstrap: string[], topic: string, messages: ProduceMessage[]): Promise<RecordMetadata[]> {
  return produceAny(bootstrap, topic, messages, { idempotent: true });
}

/** Options of {@link testKafkaBroker}. */
export interface TestKafkaOptions {
  /** Kafka release. Default {@link DEFAULT_KAFKA_VERSION}. One version per test file. */
  version?: string;
  /** Partitions of an auto-created topic. Default 4 (what the kcat mock did). */
  numPartitions?: number;
}

/** A test's handle on the file's broker. */
export interface TestKafka {
  /** ['127.0.0.1:<port>'] */
  readonly bootstrap: string[];
  /** The Kafka release, e.g. '4.1.1'. */
  readonly version: string;
  /** PID of the broker's JVM (undefined while stopped). */
  readonly pid: number | undefined;
  /** The broker itself: `stop()`, `kill()`, `start()` act on the JVM shared by the file's tests. */
  readonly broker: KafkaBroker;
  /** The last 4 000 characters of the broker's log, for failure messages. */
  logTail(): string;
  /** Creates `name` with `partitions` partitions (default 4) and waits for its leaders. */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** This test is done with the broker; the broker keeps running for the file's other tests. */
  stop(): Promise<void>;
}

let shared: Promise<KafkaBroker> | undefined;
let sharedVersion: string | undefined;
let sharedPartitions = 4;

/**
 * The file's broker, started on the first call (and started again if a test stopped it).
 * @throws Error when a second call of the same file asks for another version or partition count;
 *   StreamtuneError from {@link startKafkaBroker} when it cannot start (a missing server FAILS the
 *   test).
 */
export async function testKafkaBroker(options: TestKafkaOptions = {}): Promise<TestKafka> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const numPartitions = options.numPartitions ?? 4;
  if (shared && (version !== sharedVersion || numPartitions !== sharedPartitions)) {
    throw new Error(`this test file's broker is Kafka ${sharedVersion} with ${sharedPartitions} partitions per topic; one broker per file`);
  }
  if (!shared) {
    sharedVersion = version;
    sharedPartitions = numPartitions;
    shared = startKafkaBroker({ version, numPartitions }).then((b) => {
      b.unref();
      return b;
    });
    shared.catch(() => { shared = undefined; });
  }
  const broker = await shared;
  if (!broker.running) await broker.start();
  return {
    bootstrap: broker.bootstrap,
    version: broker.version,
    get pid() {
      return broker.pid;
    },
    broker,
    logTail: () => broker.logTail(),
    createTopic: (name, partitions = numPartitions) => broker.createTopic(name, partitions),
    stop: async () => {},
  };
}

/**
 * Commits `offsets` (partition → offset, optionally with metadata) of `topic` for consumer group
 * `group` the way Flink's KafkaSource does: a Java KafkaConsumer (kafka-clients of the broker's
 * release) with `group.id` that assigns the partitions itself, never joins the group, and calls
 * `commitSync` (test/helpers/java/CommitAssigned.java, run as a single-file Java program: ~2 s).
 * The group stays Empty, with no members, and protocol type ''.
 * @throws Error with Java's output when the commit fails.
 */
export async function commitAsAssigned(
  bootstrap: string[],
  group: string,
  topic: string,
  offsets: Record<number, number | { offset: number; metadata: string }>,
  version: string = DEFAULT_KAFKA_VERSION,
): Promise<void> {
  const jars = await ensureKafkaArtifacts(version);
  const args = Object.entries(offsets).map(([p, o]) => (typeof o === 'number' ? `${p}=${o}` : `${p}=${o.offset}:${o.metadata}`));
  const source = join(import.meta.dirname, 'java', 'CommitAssigned.java');
  try {
    await promisify(execFile)('java', ['-Xmx128m', '-cp', jars.classpath, source, bootstrap.join(','), group, topic, ...args], { timeout: 120_000 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`committing offsets for ${group} as an assigned (Flink-like) consumer failed: ${e.message}\n${e.stdout ?? ''}${(e.stderr ?? '').slice(-3000)}`);
  }
}

/** A running {@link startAssignedCommitter}. */
export interface AssignedCommitter {
  /** Commits `offsets` (partition → offset) of `topic` for `group`; resolves once the broker acknowledged them. */
  commit(group: string, topic: string, offsets: Record<number, number>): Promise<void>;
  /** Closes the group's KafkaConsumer (a stopped job's reader). */
  closeGroup(group: string): Promise<void>;
  /** Ends the JVM (stdin closed, then SIGKILL after 10 s). Idempotent. */
  close(): Promise<void>;
}

/**
 * One JVM that commits, on request, for any number of consumer groups the way Flink's KafkaSource
 * does (one KafkaConsumer per group that assigns its partitions, never joins the group, and calls
 * `commitSync`): test/helpers/java/CommitServer.java, driven line by line over stdin, so a test can
 * commit every second without starting a JVM per commit (as {@link commitAsAssigned} does).
 * The JVM is killed when the Node.js process exits.
 * @throws Error with Java's output when it does not start within 60 s; `commit` rejects with the
 *   broker's error.
 */
export async function startAssignedCommitter(bootstrap: string[], version: string = DEFAULT_KAFKA_VERSION): Promise<AssignedCommitter> {
  const jars = await ensureKafkaArtifacts(version);
  const source = join(import.meta.dirname, 'java', 'CommitServer.java');
  const child = spawn('java', ['-Xmx128m', '-cp', jars.classpath, source, bootstrap.join(',')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const kill = (): void => { child.kill('SIGKILL'); };
  process.once('exit', kill);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let ready: (() => void) | undefined;
  const readyP = new Promise<void>((resolve) => { ready = resolve; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') return ready?.();
    const [id, status, ...rest] = line.split(' ');
    const p = pending.get(Number(id));
    if (!p) return;
    pending.delete(Number(id));
    if (status === 'ok') p.resolve();
    else p.reject(new Error(`CommitServer: ${rest.join(' ')}`));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`CommitServer exited: ${stderr}`));
    pending.clear();
  });
  const started = await Promise.race([
    readyP.then(() => true),
    exited.then(() => false),
    new Promise<false>((r) => setTimeout(() => r(false), 60_000).unref()),
  ]);
  if (!started) {
    kill();
    throw new Error(`CommitServer did not start: ${stderr}`);
  }
  let next = 0;
  const request = (line: string): Promise<void> => new Promise<void>((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    child.stdin.write(`${id} ${line}\n`);
  });
  let closed = false;
  return {
    commit: (group, topic, offsets) => request(`commit ${group} ${topic} ${Object.entries(offsets).map(([p, o]) => `${p}=${o}`).join(',')}`),
    closeGroup: (group) => request(`close ${group}`),
    close: async () => {
      if (closed) return;
      closed = true;
      child.stdin.end();
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
    },
  };
}
