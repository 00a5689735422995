/**
 * A real Kafka-protocol broker for tests, the demo and the bench: the librdkafka mock cluster that
 * kcat starts when given `test.mock.num.brokers` (see docs/TEST-SERVERS.md).
 * It lives as long as the kcat process, keeps everything in memory, and creates topics on first
 * use with 4 partitions (replication factor = number of brokers).
 *
 * What was verified to work from kafkajs 2.2.4 against this mock (kcat 1.7.1 / librdkafka 2.0.2),
 * with 1 and with 3 brokers:
 * - producer.send, with and without an explicit `partition`; topic auto-created with 4 partitions.
 * - consumer groups: subscribe(fromBeginning), run with eachMessage and with eachBatch +
 *   resolveOffset; two members split the 4 partitions (2 + 2) and the survivor takes all 4 after
 *   the other disconnects (rebalance works).
 * - `consumer.run({ autoCommit: false })` + explicit `consumer.commitOffsets([{topic, partition,
 *   offset, metadata}])`: the committed offset AND its `metadata` string are stored and read back
 *   by `admin.fetchOffsets` (e.g. metadata 'chk-7'). The mock does not check that the committing
 *   member owns the partition. This is what a Flink-like source needs: keep offsets in the
 *   checkpoint, commit them to the consumer group when the checkpoint completes.
 * - autoCommit true (autoCommitInterval) commits the consumed position.
 * - `consumer.pause([{topic}])` stops delivery, `consumer.resume` restarts it, `consumer.seek({topic,
 *   partition, offset})` re-delivers from that offset.
 * - admin: `fetchTopicOffsets(topic)` (`high` = log-end offset, `low` = earliest),
 *   `fetchOffsets({groupId, topics})` (committed offset per partition, '-1' = none; still answered
 *   after every member left the group), `fetchTopicOffsetsByTimestamp`, `fetchTopicMetadata`,
 *   `listTopics`, `describeCluster`.
 * What does NOT work against the mock:
 * - `admin.createTopics` ("Broker 0 not found in the cached metadata"): rely on auto-creation.
 * - `admin.listGroups`, `admin.describeGroups` ("The Kafka server does not support the requested
 *   API version").
 * - `admin.setOffsets` and `admin.resetOffsets` (same error: kafkajs describes the group first).
 *   To move a group's committed offsets, commit them from a consumer that joined the group.
 * - kafkajs 2.2.4 consumers have no `describe()`.
 *
 * This file is imported by non-test code too (demo, bench): it depends only on kafkajs and core/.
 * Tests use the real Kafka broker instead (test/helpers/kafka-broker.ts, which re-exports `produce`
 * and `consumeAndCommit` from here); only test/kafka-mock.test.ts still starts the mock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel, Partitioners, type Consumer, type RecordMetadata } from 'kafkajs';
import { StreamtuneError, errorMessage } from '../../core/errors.ts';
import { waitFor } from './wait.ts';

/** Options of {@link startKafkaMock}. */
export interface KafkaMockOptions {
  /** Number of brokers in the mock cluster. Default 1. */
  brokers?: number;
  /** ms to wait for the cluster to answer kafkajs. Default 60 000 (generous for loaded machines). */
  readyTimeoutMs?: number;
  /** The kcat executable. Default 'kcat'. */
  kcatPath?: string;
}

/** A running mock cluster. */
export interface KafkaMock {
  /** 'host:port' of every broker, e.g. ['127.0.0.1:39091']. */
  bootstrap: string[];
  /** PID of the kcat process that hosts the cluster. */
  pid: number;
  /** The last lines kcat wrote to stderr (its mock debug log), for failure messages. */
  logTail(): string;
  /** Stops the cluster (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

const LOG_TAIL_LINES = 200;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills mock clusters still running when the process exits (a test that forgot stop()). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  });
}

/**
 * Starts the librdkafka mock cluster inside kcat:
 * `kcat -b 127.0.0.1:1 -X test.mock.num.brokers=N -X debug=mock -C -t keepalive`, parses
 * `bootstrap.servers=` from its stderr and resolves once kafkajs sees all N brokers.
 * The child is unref'd (it never keeps the process alive) and killed on process exit.
 * @throws StreamtuneError KAFKA_ERROR when kcat is missing, exits early, or the cluster does not
 *   answer within `readyTimeoutMs`.
 */
export async function startKafkaMock(options: KafkaMockOptions = {}): Promise<KafkaMock> {
  const brokers = options.brokers ?? 1;
  if (!Number.isInteger(brokers) || brokers < 1) {
    throw new StreamtuneError('INVALID_ARGUMENT', `brokers must be a positive integer, got ${brokers}`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const child = spawn(
    options.kcatPath ?? 'kcat',
    ['-b', '127.0.0.1:1', '-X', `test.mock.num.brokers=${brokers}`, '-X', 'debug=mock', '-C', '-t', 'keepalive'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  installExitHook();
  running.add(child);

  const tail: string[] = [];
  let partial = '';
  let bootstrap: string[] | undefined;
  let onBootstrap: (() => void) | undefined;
  child.stderr!.setEncoding('utf8');
  // Keep draining stderr for the whole life of the cluster: debug=mock logs every request and a
  // full pipe would block the broker.
  child.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      if (!bootstrap) {
        const m = /bootstrap\.servers=([0-9.:,]+)/.exec(line);
        if (m) {
          bootstrap = m[1]!.split(',').filter(Boolean);
          onBootstrap?.();
        }
      }
    }
  });
  const logTail = (): string => [...tail, partial].join('\n');

  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => { exited = true; running.delete(child); resolve(); });
    child.once('error', () => { exited = true; running.delete(child); resolve(); });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => { spawnError = err; });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no bootstrap.servers line within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      const done = (err?: Error): void => { clearTimeout(timer); if (err) reject(err); else resolve(); };
      onBootstrap = () => done();
      if (bootstrap) done();
      void exitPromise.then(() => {
        if (!bootstrap) done(spawnError ?? new Error(`kcat exited (code ${child.exitCode}) before printing bootstrap.servers`));
      });
    });
    await waitUntilReachable(bootstrap!, brokers, readyTimeoutMs, () => exited);
  } catch (err) {
    await stop();
    const hint = spawnError && (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
      ? ' (kcat is not installed: apt-get install -y kcat)' : '';
    throw new StreamtuneError('KAFKA_ERROR', `could not start the librdkafka mock cluster${hint}: ${errorMessage(err)}\n${logTail()}`, {
      cause: err,
      details: { brokers },
    });
  }

  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return { bootstrap: bootstrap!, pid: child.pid!, logTail, stop };
}

/** Polls with a kafkajs admin until `describeCluster` lists `brokers` brokers. */
async function waitUntilReachable(bootstrap: string[], brokers: number, timeoutMs: number, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (gone()) throw new Error('kcat exited while the cluster was starting');
    const admin = new Kafka({
      clientId: 'streamtune-mock-probe',
      brokers: bootstrap,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= brokers) return;
      lastErr = new Error(`cluster lists ${cluster.brokers.length} of ${brokers} brokers`);
    } catch (err) {
      lastErr = err;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`kafkajs could not reach ${bootstrap.join(',')} within ${timeoutMs} ms: ${errorMessage(lastErr)}`);
}

/** One message for {@link produce}. */
export interface ProduceMessage {
  key?: string;
  value: string;
  /** Target partition; default: kafkajs' default partitioner (murmur2 of the key). */
  partition?: number;
}

/**
 * Produces `messages` to `topic` (auto-created with 4 partitions on the mock and on the test broker)
 * with a short-lived kafkajs producer, acks = all. With `idempotent` (real brokers only: the mock
 * fails InitProducerId) a retry after a timeout on a loaded machine cannot write a record twice. Resolves with kafkajs' per-partition record metadata.
 * @throws StreamtuneError KAFKA_ERROR (retriable) when the brokers do not accept the batch.
 */
export async function produce(bootstrap: string[], topic: string, messages: ProduceMessage[], options: { idempotent?: boolean } = {}): Promise<RecordMetadata[]> {
  const producer = new Kafka({ clientId: 'streamtune-produce', brokers: bootstrap, logLevel: logLevel.NOTHING })
    .producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      ...(options.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
    });
  try {
    await producer.connect();
    return await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({
        value: m.value,
        ...(m.key !== undefined ? { key: m.key } : {}),
        ...(m.partition !== undefined ? { partition: m.partition } : {}),
      })),
    });
  } catch (err) {
    throw new StreamtuneError('KAFKA_ERROR', `producing ${messages.length} messages to ${topic} failed: ${errorMessage(err)}`, {
      retriable: true,
      cause: err,
      details: { topic },
    });
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/**
 * Consumes exactly the first `take[p]` records of each partition p of `topic` with consumer group
 * `group` (no auto-commit) and commits those offsets; partitions with 0 get no commit. Resolves
 * with the consumer, still connected and a member of the group: the caller disconnects it. On
 * failure the consumer is disconnected and the error rethrown.
 */
export async function consumeAndCommit(kafka: Kafka, topic: string, group: string, take: readonly number[]): Promise<Consumer> {
  // short fetch waits: a real broker holds an empty fetch for maxWaitTimeInMs, and disconnect waits it out
  const c = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 500 });
  await c.connect();
  try {
    const seen = new Map<number, number>();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const off = Number(message.offset);
        if (off < take[partition]!) seen.set(partition, Math.max(seen.get(partition) ?? 0, off + 1));
      },
    });
    await waitFor(() => take.every((n, p) => n === 0 || seen.get(p) === n), { timeoutMs: 90_000, what: `the consumer to read ${take.join('/')} records of ${topic}` });
    await c.commitOffsets(take.map((n, partition) => ({ topic, partition, offset: String(n) })).filter((o) => o.offset !== '0'));
    return c;
  } catch (err) {
    await c.disconnect().catch(() => {});
    throw err;
  }
}
