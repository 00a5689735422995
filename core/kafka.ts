/**
 * kafkajs plumbing shared by streamtune's Kafka code: broker list resolution and a kafkajs
 * `logCreator` that writes through streamtune's {@link Logger}.
 */
import { Kafka, logLevel as KafkaLogLevel, type logCreator, type KafkaConfig } from 'kafkajs';
import { StreamtuneError } from './errors.ts';
import type { Logger } from './logger.ts';

/** Environment variable holding the comma-separated bootstrap brokers ('host:port,host:port'). */
export const KAFKA_BROKERS_ENV = 'STREAMTUNE_KAFKA_BROKERS';

/**
 * The bootstrap brokers: `brokers` when given and non-empty, else `STREAMTUNE_KAFKA_BROKERS`
 * split on commas (blanks dropped).
 * @throws StreamtuneError INVALID_CONFIG when neither gives a broker, or an entry is not 'host:port'.
 */
export function resolveKafkaBrokers(brokers?: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const list = brokers && brokers.length > 0
    ? brokers.map((b) => b.trim()).filter(Boolean)
    : (env[KAFKA_BROKERS_ENV] ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (list.length === 0) {
    throw new StreamtuneError('INVALID_CONFIG', `no Kafka brokers: pass brokers or set ${KAFKA_BROKERS_ENV}=host:port[,host:port]`, {
      details: { field: 'brokers' },
    });
  }
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) {
      throw new StreamtuneError('INVALID_CONFIG', `Kafka broker must be host:port, got '${b}'`, { details: { field: 'brokers' } });
    }
  }
  return list;
}

/**
 * A kafkajs `logCreator` writing kafkajs' own lines to `logger` at debug level (kafkajs logs every
 * reconnect attempt as an error; streamtune's callers log the failure that matters once), with the
 * kafkajs namespace and level in the meta fields.
 */
export function kafkajsLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...rest } = log;
    logger.debug(String(message), { kafkajsNamespace: namespace, kafkajsLevel: KafkaLogLevel[level], ...rest });
  };
}

/** Options of {@link createKafka}. */
export interface CreateKafkaOptions {
  brokers: string[];
  /** Default 'streamtune'. */
  clientId?: string;
  logger: Logger;
  /** ms, default 3 000 */
  connectionTimeoutMs?: number;
  /** ms, default 10 000 */
  requestTimeoutMs?: number;
  /** kafkajs retries per request. Default 1 (the caller's poll loop is the retry). */
  retries?: number;
}

/** A kafkajs client with streamtune's logging and short timeouts suited to polling. */
export function createKafka(options: CreateKafkaOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId ?? 'streamtune',
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry: { retries: options.retries ?? 1, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkajsLogCreator(options.logger.namespace('kafkajs')),
  };
  return new Kafka(config);
}
