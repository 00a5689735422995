/** Resolving who receives a notification from a {@link RecipientsConfig}. */
import { StreamtuneError } from '../core/index.ts';
import type { Notification, RecipientsConfig } from './types.ts';

/**
 * The email addresses for one job: the job's own `emails` plus its team's addresses, looked up by
 * job id first, then job name; `default` when that yields nobody. Deduplicated, order kept.
 * Throws `StreamtuneError('INVALID_CONFIG')` when the job names a team that is not configured
 * (field `jobs.<key>.team`).
 */
export function recipientsForJob(config: RecipientsConfig, jobId: string, jobName?: string): string[] {
  const key = config.jobs && jobId in config.jobs ? jobId : jobName !== undefined && config.jobs && jobName in config.jobs ? jobName : undefined;
  const out: string[] = [];
  if (key !== undefined) {
    const entry = config.jobs![key]!;
    out.push(...(entry.emails ?? []));
    if (entry.team !== undefined) {
      const team = config.teams?.[entry.team];
      if (!team) {
        throw new StreamtuneError('INVALID_CONFIG', `recipients: jobs.${key}.team names unknown team '${entry.team}'`, {
          details: { field: `jobs.${key}.team` },
        });
      }
      out.push(...team);
    }
  }
  if (out.length === 0) out.push(...(config.default ?? []));
  return [...new Set(out)];
}

/** The addresses for a notification: per job for report/reminder/resolved; `digest` or `default` for a digest. */
export function recipientsFor(config: RecipientsConfig, notification: Notification): string[] {
  if (notification.type === 'digest') return [...new Set(config.digest ?? config.default ?? [])];
  return recipientsForJob(config, notification.incident.job_id, notification.incident.job_name ?? notification.diagnosis.job_name);
}
