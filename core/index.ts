/**
 * Public surface of core/: what every layer shares. Errors (`StreamtuneError` with `code`,
 * `retriable`, `cause`), the injected logger, retry and polling, the event bus (in process or over
 * Kafka), the kafkajs client plumbing, the metric point and log event shapes, InfluxDB line
 * protocol, and reading user-written YAML with every problem placed on a line.
 */
export { StreamtuneError, isErrorCode, errorMessage, type ErrorCode, type StreamtuneErrorOptions } from './errors.ts';
export { createLogger, silentLogger, MemoryLogger, type Logger, type LoggerOptions, type LogMeta } from './logger.ts';
export { RETRY_DEFAULTS, isRetriableError, backoffDelay, sleep, retry, type RetryOptions } from './retry.ts';
export type { EventBus, EventMap, TopicOf, AnyEvents } from './bus.ts';
export { createBus, createKafkaBus, createMemoryBus, type BusConfig, type KafkaBusOptions } from './bus-factory.ts';
export { KAFKA_BROKERS_ENV, resolveKafkaBrokers, kafkajsLogCreator, createKafka, type CreateKafkaOptions } from './kafka.ts';
export type { FieldValue, MetricPoint, LogLevel, LogEvent } from './points.ts';
export { parseLineProtocol, pointToLine, toLineProtocol, type Precision, type ParseOptions, type ParseResult } from './line-protocol.ts';
export { HTTP_STATUSES, httpStatusRule, isRetriableHttpStatus, type HttpStatusRule } from './http-status.ts';
export { poll, type PollOptions } from './poll.ts';
export { prometheusSanitize, prometheusMetricName, flinkExportedField, isStreamtuneMeasurement, FLINK_PROMETHEUS_PREFIX } from './prometheus-names.ts';
export { createLimiter, type Limiter } from './limit.ts';
export { parseYaml, type ParseYamlOptions, type YamlParsed, type YamlProblem } from './yaml.ts';
