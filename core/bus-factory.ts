/**
 * Picks the event bus from configuration: Kafka when `kafka` is given, else in-process.
 */
import type { AnyEvents, EventBus, EventMap } from './bus.ts';
import { createKafkaBus, type KafkaBusOptions } from './bus-kafka.ts';
import { createMemoryBus } from './bus-memory.ts';
import { silentLogger, type Logger } from './logger.ts';

/** Bus configuration (the `bus` section of the server config). */
export interface BusConfig {
  /** when set, events go through Kafka topics `<topicPrefix>.<topic>`; otherwise in process */
  kafka?: KafkaBusOptions;
}

/**
 * Creates the configured bus. The Kafka bus connects lazily: an unreachable broker shows as
 * BUS_UNAVAILABLE (retriable) from the first `publish` or `subscribe`.
 * @throws StreamtuneError INVALID_CONFIG when `kafka.brokers` is empty.
 */
export async function createBus<E extends EventMap = AnyEvents>(config: BusConfig = {}, logger: Logger = silentLogger): Promise<EventBus<E>> {
  if (!config.kafka) return createMemoryBus<E>(logger);
  return createKafkaBus<E>(config.kafka, logger);
}

export { createKafkaBus, createMemoryBus, type KafkaBusOptions };
