/**
 * The event bus between alerting, the diagnoser, the tuner, reports and dashboards. In-process by
 * default (`createMemoryBus`); a Kafka topic per event kind when configured (`createKafkaBus`, kafkajs),
 * so that alerting and diagnosis can run as separate processes. Both live in `core/bus-*.ts`.
 *
 * Events are plain JSON-serialisable data. Delivery is at-least-once on Kafka and exactly-once in
 * process; handlers must be idempotent (a diagnosis id or an operation id is a natural key).
 */
/**
 * Topic name → event shape. Each stage declares the topics it publishes (`platform`: `jobs`,
 * `diagnoser`: `anomalies` and `diagnoses`, `tuner`: `operations`); the control plane's bus carries
 * their union (`control-plane/events.ts`). Kafka topic names are `<prefix>.<topic>`.
 */
export type EventMap = object;

/**
 * The events of a bus created without naming its event map (tests, tools): any topic, any event.
 * Stages type their bus with their own map; the control plane with the union of all.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEvents = any;

/** The topic names of an {@link EventMap}. */
export type TopicOf<E extends EventMap> = keyof E & string;

/**
 * Publish/subscribe of the events `E`. `publish` resolves once the event is handed to every
 * in-process subscriber (memory) or acknowledged by the broker (Kafka). A throwing handler is
 * logged and never stops delivery to the others. Throws StreamtuneError `BUS_UNAVAILABLE`
 * (retriable) when the broker cannot be reached.
 */
export interface EventBus<E extends EventMap = AnyEvents> {
  readonly kind: 'memory' | 'kafka';
  publish<T extends TopicOf<E>>(topic: T, event: E[T]): Promise<void>;
  /** Registers a handler; resolves to an unsubscribe function. */
  subscribe<T extends TopicOf<E>>(topic: T, handler: (event: E[T]) => void | Promise<void>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
