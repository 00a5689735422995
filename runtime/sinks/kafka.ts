/**
 * The Kafka sink, after Flink's `KafkaSink` with `DeliveryGuarantee.AT_LEAST_ONCE`: every record
 * is written as its JSON text (`JSON.stringify`) to `topic` through an idempotent kafkajs producer (acks = all,
 * kafkajs' default partitioner: murmur2 of the key, like the Java client), keyed by the record
 * field named by `key` when the spec sets one (strings as they are, other values as JSON, a missing
 * or null field gives no key). Records are sent in batches of {@link SINK_BATCH_RECORDS}; at most
 * {@link SINK_MAX_IN_FLIGHT} sends are outstanding, more make the subtask wait (backpressure). At
 * every checkpoint barrier (`snapshot`) and at the end of the input the sink sends what it holds
 * and awaits every outstanding send, so a completed checkpoint means everything before its barrier
 * is in Kafka: after a failure the job replays from that checkpoint, which may write records twice
 * (at-least-once), never loses one.
 */
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { createKafka, errorMessage, type Logger, resolveKafkaBrokers, StreamtuneError } from '../../core/index.ts';
import type { KafkaSinkSpec } from '../spec.ts';
import type { Operator, OperatorContext, OperatorSnapshot, Rec } from '../operators/types.ts';

/** Records per `producer.send` call. */
export const SINK_BATCH_RECORDS = 1000;
/** Outstanding `producer.send` calls before the sink waits for one to finish. */
export const SINK_MAX_IN_FLIGHT = 4;

interface OutMessage {
  key?: string;
  value: string;
}

/**
 * Creates the Kafka sink operator for `spec` (see the module comment). Brokers: `spec.brokers`,
 * else `STREAMTUNE_KAFKA_BROKERS`. `open` throws StreamtuneError KAFKA_ERROR (retriable) when the
 * producer cannot connect; a failed send fails the subtask with KAFKA_ERROR at the next batch,
 * barrier or end of input (the checkpoint then never completes and the job restarts from the last
 * completed one).
 */
export function createKafkaSink(spec: KafkaSinkSpec): Operator {
  let kafka: Kafka;
  let producer: Producer | undefined;
  let logger: Logger;
  let buffer: OutMessage[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;

  const keyOf = (r: Rec): string | undefined => {
    if (!spec.key) return undefined;
    const k = r[spec.key];
    if (k === undefined || k === null) return undefined;
    return typeof k === 'string' ? k : JSON.stringify(k);
  };

  const check = () => {
    if (failure) throw failure;
  };

  const sendBuffered = async (): Promise<void> => {
    while (buffer.length > 0) {
      while (inFlight.size >= SINK_MAX_IN_FLIGHT) await Promise.race(inFlight);
      check();
      const messages = buffer.length <= SINK_BATCH_RECORDS ? buffer : buffer.slice(0, SINK_BATCH_RECORDS);
      buffer = buffer.length <= SINK_BATCH_RECORDS ? [] : buffer.slice(SINK_BATCH_RECORDS);
      const p: Promise<void> = producer!
        .send({ topic: spec.topic, acks: -1, messages })
        .then(
          () => {},
          (err: unknown) => {
            failure ??= new StreamtuneError('KAFKA_ERROR', `sink '${spec.name}': writing ${messages.length} records to topic '${spec.topic}' failed: ${errorMessage(err)}`, {
              retriable: true,
              cause: err,
              details: { topic: spec.topic },
            });
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };

  const flush = async (): Promise<void> => {
    await sendBuffered();
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    check();
  };

  return {
    async open(ctx: OperatorContext) {
      logger = ctx.logger.namespace('kafka-sink');
      kafka = createKafka({ brokers: resolveKafkaBrokers(spec.brokers), clientId: `streamtune-${spec.name}`, logger, retries: 3 });
      // idempotent, as the Java producer is by default since Kafka 3.0 (enable.idempotence=true): a send
      // retried after a timeout is not written twice (kafkajs needs one request in flight per broker for it)
      const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
      producer = p;
      try {
        await p.connect();
      } catch (err) {
        throw new StreamtuneError('KAFKA_ERROR', `sink '${spec.name}': cannot connect a Kafka producer for topic '${spec.topic}': ${errorMessage(err)}`, {
          retriable: true,
          cause: err,
          details: { topic: spec.topic },
        });
      }
    },
    async processBatch(values: Rec[]) {
      check();
      for (const r of values) {
        const key = keyOf(r);
        buffer.push(key === undefined ? { value: JSON.stringify(r) } : { key, value: JSON.stringify(r) });
      }
      if (buffer.length >= SINK_BATCH_RECORDS) await sendBuffered();
    },
    async snapshot(): Promise<OperatorSnapshot> {
      await flush();
      return {};
    },
    async endInput() {
      await flush();
    },
    async close() {
      // a graceful end flushed at endInput or the last barrier; here outstanding sends only settle
      await Promise.allSettled([...inFlight]);
      buffer = [];
      await producer?.disconnect().catch((err: unknown) => logger.warn(`disconnecting the Kafka producer failed: ${errorMessage(err)}`));
      producer = undefined;
    },
  };
}
