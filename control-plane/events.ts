/**
 * The control plane's event bus carries the topics of every stage: the platform's catalog
 * announcements (`jobs`), the diagnoser's anomalies and diagnoses, and the tuner's operations.
 */
import type { EventBus } from '../core/index.ts';
import type { DiagnoserEvents } from '../diagnoser/index.ts';
import type { PlatformEvents } from '../platform/index.ts';
import type { TunerEvents } from '../tuner/index.ts';

/** Topic name → event shape of the control plane's bus. Kafka topic names are `<prefix>.<topic>`. */
export interface BusEvents extends PlatformEvents, DiagnoserEvents, TunerEvents {}

/** The topics of {@link BusEvents}. */
export type BusTopic = keyof BusEvents;

/** The control plane's bus. */
export type ControlPlaneBus = EventBus<BusEvents>;
