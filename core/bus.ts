/**
 * The event bus between alerting, the diagnoser, the tuner, reports and dashboards. In-process by
 * default (`createMemoryBus`); a Kafka topic per event kind when configured (`createKafkaBus`, kafkajs),
 * so that alerting and diagnosis can run as separate processes. Both live in `core/bus-*.ts`.
 *
 * Events are plain JSON-serialisable data. Delivery is at-least-once on Kafka and exactly-once in
 * process; handlers must be idempotent (a diagnosis id or an operation id is a natural key).
 */
import type { Diagnosis } from '../diagnoser/types.ts';
import type { ManagedJob } from '../tuner/catalog.ts';
import type { Operation } from '../tuner/types.ts';

/** A job fell behind (or stopped falling behind): raised by the alerter from an alert rule. */
export interface AnomalyEvent {
  /** alert instance key (rule id + group tags), stable across evaluations */
  alertId: string;
  ruleId: string;
  severity: 'low' | 'moderate' | 'severe' | 'critical';
  job_id: string;
  job_name?: string;
  /** 'fired' when the alert starts, 'resolved' when it ends */
  state: 'fired' | 'resolved';
  /** ms since epoch: when the condition started to hold */
  since: number;
  /** ms since epoch: evaluation time */
  at: number;
  /** the alert's value at `at` (e.g. lag in records) */
  value: number;
  labels: Record<string, string>;
}

/**
 * The job catalog of the process that runs the jobs (role `jobs`), announced on every change and
 * periodically, so that processes without the jobs (an alerter or diagnoser of their own) know
 * them: `tuner/mirror-catalog.ts` keeps the read-only copy.
 */
export interface JobsAnnouncement {
  /** the announcing process, e.g. 'host-1234': a mirror keeps one list per origin */
  origin: string;
  /** ms since epoch of the announcement */
  at: number;
  /** every job the announcing process knows, as its catalog lists them */
  jobs: ManagedJob[];
}

/** Topic name → event shape. Kafka topic names are `<prefix>.<topic>` (prefix default `streamtune`). */
export interface BusEvents {
  anomalies: AnomalyEvent;
  diagnoses: Diagnosis;
  operations: Operation;
  jobs: JobsAnnouncement;
}

/** The topics of {@link BusEvents}. */
export type BusTopic = keyof BusEvents;

/**
 * Publish/subscribe of {@link BusEvents}. `publish` resolves once the event is handed to every
 * in-process subscriber (memory) or acknowledged by the broker (Kafka). A throwing handler is
 * logged and never stops delivery to the others. Throws StreamtuneError `BUS_UNAVAILABLE`
 * (retriable) when the broker cannot be reached.
 */
export interface EventBus {
  readonly kind: 'memory' | 'kafka';
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): Promise<void>;
  /** Registers a handler; resolves to an unsubscribe function. */
  subscribe<T extends BusTopic>(topic: T, handler: (event: BusEvents[T]) => void | Promise<void>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
