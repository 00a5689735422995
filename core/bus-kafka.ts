/**
 * The Kafka {@link EventBus} (kafkajs): one topic per event kind, `<topicPrefix>.<topic>` (e.g.
 * `streamtune.anomalies`), JSON values, message key = the event's `job_id` (so the events of one
 * job stay in order on one partition). Each subscribing process reads through its own consumer
 * group per topic, `<groupId>.<topic>`: give the alerting process and the diagnosis process
 * different `groupId`s and both see every event; give replicas of one role the same `groupId` and
 * they share the partitions. Delivery is at-least-once (offsets committed after the handlers ran);
 * handlers must be idempotent.
 */
import { hostname } from 'node:os';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import type { AnyEvents, EventBus, EventMap, TopicOf } from './bus.ts';
import { StreamtuneError, errorMessage } from './errors.ts';
import { silentLogger, type Logger } from './logger.ts';

/** Options of {@link createKafkaBus}. */
export interface KafkaBusOptions {
  /** bootstrap brokers, 'host:port' */
  brokers: string[];
  /** topic name prefix. Default 'streamtune' → topics `streamtune.anomalies`, `streamtune.diagnoses`, `streamtune.operations`. */
  topicPrefix?: string;
  /** kafkajs client id. Default 'streamtune'. */
  clientId?: string;
  /**
   * Consumer group base name of this process; each topic is read through `<groupId>.<topic>`.
   * Default `<topicPrefix>-<hostname>-<pid>`: every process sees every event, like the memory bus.
   * Set a stable name (e.g. 'streamtune-diagnoser') to resume after a restart from the committed offsets.
   */
  groupId?: string;
  /** A new consumer group starts at the earliest offset instead of the latest. Default false. */
  fromBeginning?: boolean;
  /** ms a subscribe waits for the consumer to join its group. Default 60,000. */
  joinTimeoutMs?: number;
}

type AnyHandler = (event: unknown) => void | Promise<void>;

interface TopicConsumer {
  consumer: Consumer;
  handlers: Set<AnyHandler>;
  ready: Promise<void>;
}

/**
 * Creates a Kafka event bus. Connects lazily: the producer on the first `publish`, a consumer on
 * the first `subscribe` of each topic (which resolves once the consumer joined its group).
 * Errors: StreamtuneError BUS_UNAVAILABLE (retriable) when the broker cannot be reached or a
 * consumer cannot join within `joinTimeoutMs`; INVALID_CONFIG when `brokers` is empty.
 */
export function createKafkaBus<E extends EventMap = AnyEvents>(options: KafkaBusOptions, logger: Logger = silentLogger): EventBus<E> {
  if (!options.brokers || options.brokers.length === 0) throw new StreamtuneError('INVALID_CONFIG', 'bus.kafka.brokers must list at least one broker');
  const log = logger.namespace('bus');
  const prefix = options.topicPrefix ?? 'streamtune';
  const groupBase = options.groupId ?? `${prefix}-${hostname()}-${process.pid}`;
  const joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
  const kafka = new Kafka({
    clientId: options.clientId ?? 'streamtune',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  const topicName = (t: string) => `${prefix}.${t}`;
  let producer: Producer | undefined;
  let producerReady: Promise<Producer> | undefined;
  const consumers = new Map<string, TopicConsumer>();
  let closed = false;

  const unavailable = (what: string, err: unknown) =>
    new StreamtuneError('BUS_UNAVAILABLE', `Kafka bus: ${what}: ${errorMessage(err)}`, { retriable: true, cause: err, details: { brokers: options.brokers } });
  const ensureOpen = (what: string) => {
    if (closed) throw new StreamtuneError('BUS_UNAVAILABLE', `event bus is closed (${what})`);
  };

  const getProducer = (): Promise<Producer> => {
    if (!producerReady) {
      const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
      producerReady = p.connect().then(() => (producer = p)).catch((err: unknown) => {
        producerReady = undefined;
        throw unavailable('producer connect failed', err);
      });
    }
    return producerReady;
  };

  const startConsumer = (topic: string): TopicConsumer => {
    const groupId = `${groupBase}.${topic}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: true, maxWaitTimeInMs: 500, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    const handlers = new Set<AnyHandler>();
    const ready = (async () => {
      let joined!: () => void;
      const join = new Promise<void>((r) => (joined = r));
      const off = consumer.on(consumer.events.GROUP_JOIN, () => joined());
      try {
        await consumer.connect();
        // A real broker answers the first metadata request for a topic it auto-creates with
        // UNKNOWN_TOPIC_OR_PARTITION (retriable), which kafkajs 2.2.4's subscribe does not retry.
        const subscribeBy = Date.now() + joinTimeoutMs;
        for (;;) {
          try {
            await consumer.subscribe({ topics: [topicName(topic)], fromBeginning: options.fromBeginning ?? false });
            break;
          } catch (err) {
            if ((err as { retriable?: boolean }).retriable !== true || Date.now() > subscribeBy) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            if (!message.value) return;
            let event: unknown;
            try {
              event = JSON.parse(message.value.toString('utf8'));
            } catch (err) {
              log.warn('skipping a bus message that is not JSON', { topic, partition, offset: message.offset, error: errorMessage(err) });
              return;
            }
            await Promise.all([...handlers].map(async (h) => {
              try {
                await h(event);
              } catch (err) {
                log.error('event handler failed', { topic, error: errorMessage(err) });
              }
            }));
          },
        });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([join, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no group join within ${joinTimeoutMs} ms`)), joinTimeoutMs); })]).finally(() => clearTimeout(timer));
        log.debug('subscribed', { topic: topicName(topic), groupId });
      } catch (err) {
        consumers.delete(topic);
        await consumer.disconnect().catch(() => undefined);
        throw unavailable(`cannot subscribe to ${topicName(topic)}`, err);
      } finally {
        off();
      }
    })();
    return { consumer, handlers, ready };
  };

  return {
    kind: 'kafka',
    async publish<T extends TopicOf<E>>(topic: T, event: E[T]): Promise<void> {
      ensureOpen(`publish on ${topic}`);
      const p = await getProducer();
      const key = (event as { job_id?: string }).job_id ?? null;
      try {
        await p.send({ topic: topicName(topic), acks: -1, messages: [{ key, value: JSON.stringify(event) }] });
      } catch (err) {
        throw unavailable(`publish on ${topicName(topic)} failed`, err);
      }
    },
    async subscribe<T extends TopicOf<E>>(topic: T, handler: (event: E[T]) => void | Promise<void>): Promise<() => Promise<void>> {
      ensureOpen(`subscribe to ${topic}`);
      let tc = consumers.get(topic);
      if (!tc) {
        tc = startConsumer(topic);
        consumers.set(topic, tc);
      }
      const h = handler as AnyHandler;
      tc.handlers.add(h);
      try {
        await tc.ready;
      } catch (err) {
        tc.handlers.delete(h);
        throw err;
      }
      const owner = tc;
      return async () => {
        owner.handlers.delete(h);
        if (owner.handlers.size === 0 && consumers.get(topic) === owner) {
          consumers.delete(topic);
          await owner.consumer.disconnect().catch((err: unknown) => log.warn('consumer disconnect failed', { topic, error: errorMessage(err) }));
        }
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const all = [...consumers.values()];
      consumers.clear();
      await Promise.all(all.map(async (c) => {
        await c.ready.catch(() => undefined);
        await c.consumer.disconnect().catch(() => undefined);
      }));
      if (producerReady) await producerReady.catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
    },
  };
}
