/**
 * Incidents, reports and notifications: the incident book (one incident per job problem, opened,
 * gathering its diagnoses, resolved with its evidence; read by the API and the pages too), and the
 * diagnosis reports, reminders, resolved notices and scheduled digests, by email (nodemailer,
 * handlebars templates) and webhook, so that one trouble gives one report, not an alert storm. The control plane wires it (`control-plane/assemble.ts`)
 * for the process with the `notify` role; the daily digest gets its data from the read model.
 */
export type {
  DigestData,
  Incident,
  IncidentDetail,
  IncidentEvent,
  LaggingJobSummary,
  Notification,
  NotificationType,
  Notifier,
  OperationStatus,
  OperationStepSummary,
  OperationSummary,
  RecipientsConfig,
} from './types.ts';
export { recipientsFor, recipientsForJob } from './recipients.ts';
export {
  EmailRenderer,
  describeAction,
  diagnosisUrl,
  incidentUrl,
  formatDuration,
  formatTime,
  formatValue,
  jobUrl,
  type EmailRendererOptions,
  type RenderedEmail,
} from './render.ts';
export { EmailNotifier, redactUrl, type EmailNotifierOptions } from './email.ts';
export {
  WebhookNotifier,
  summarizeDiagnosis,
  webhookPayload,
  type DiagnosisSummary,
  type WebhookNotifierOptions,
  type WebhookPayload,
} from './webhook.ts';
export { NotificationQueue, notificationLogMeta, type DeliveryRetryOptions, type NotificationQueueOptions, type QueueStats } from './queue.ts';
export {
  FileIncidentStore,
  IncidentTracker,
  MemoryIncidentStore,
  SEVERITY_ORDER,
  severityRank,
  type IncidentState,
  type IncidentStateV1,
  type IncidentStore,
  type IncidentTrackerOptions,
  type OpenIncidentRecord,
} from './incidents.ts';
export { IncidentBook, INCIDENT_JOURNAL, type IncidentBookOptions, type IncidentChange, type IncidentFilter } from './incident-book.ts';
export { DigestScheduler, type DigestSchedulerOptions } from './digest.ts';
export { NotificationService, createNotificationService, type NotifyConfig, type NotifyDeps } from './service.ts';
