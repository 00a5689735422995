/**
 * The control plane as the HTTP server and the pages see it: every long-lived service of one
 * `streamtune serve` process. `createControlPlane` (control-plane/assemble.ts) builds it from a
 * validated config; tests build it the same way with a temp data dir.
 */
import type { Collector, MetricStore } from '../collector/index.ts';
import type { ControlPlaneBus } from './events.ts';
import type { Logger } from '../core/index.ts';
import type { DiagnosisService, DiagnosisStore } from '../diagnoser/index.ts';
import type { RuleSetManager } from '../rules/index.ts';
import type { JobCatalog } from '../platform/index.ts';
import type { TunerService } from '../tuner/index.ts';
import type { IncidentBook } from '../notify/index.ts';
import type { AuditLog } from './audit.ts';

/** Everything one process runs. */
export interface ControlPlane {
  store: MetricStore;
  collector: Collector;
  bus: ControlPlaneBus;
  rules: RuleSetManager;
  jobs: JobCatalog;
  diagnoses: DiagnosisStore;
  diagnoser: DiagnosisService;
  tuner: TunerService;
  /** one incident per job problem: opened, gathering its diagnoses, resolved with the evidence (notify/incident-book.ts) */
  incidents: IncidentBook;
  logger: Logger;
  /** ms since epoch; injectable for tests */
  now(): number;
  /** Who did what (logins, applies, dismissals, reloads, config changes); absent in processes without
   * a data dir of their own (the server then keeps one in memory). */
  audit?: AuditLog;
  /** Stops every service in reverse order of start. */
  close(): Promise<void>;
}
