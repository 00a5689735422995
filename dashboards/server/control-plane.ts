/**
 * The control plane as the HTTP server and the pages see it: every long-lived service of one
 * `streamtune serve` process. `createControlPlane` (dashboards/server/assemble.ts) builds it from a
 * validated config; tests build it the same way with a temp data dir.
 */
import type { MetricStore } from '../../collector/store/types.ts';
import type { Collector } from '../../collector/types.ts';
import type { EventBus } from '../../core/bus.ts';
import type { Logger } from '../../core/logger.ts';
import type { DiagnosisService, DiagnosisStore } from '../../diagnoser/store-types.ts';
import type { RuleSetManager } from '../../rules/manager.ts';
import type { JobCatalog } from '../../tuner/catalog.ts';
import type { TunerService } from '../../tuner/types.ts';

/** Everything one process runs. */
export interface ControlPlane {
  store: MetricStore;
  collector: Collector;
  bus: EventBus;
  rules: RuleSetManager;
  jobs: JobCatalog;
  diagnoses: DiagnosisStore;
  diagnoser: DiagnosisService;
  tuner: TunerService;
  logger: Logger;
  /** ms since epoch; injectable for tests */
  now(): number;
  /** Stops every service in reverse order of start. */
  close(): Promise<void>;
}
