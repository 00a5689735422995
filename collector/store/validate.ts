/**
 * Validation of points and log events before they are written. A point that fails is rejected as
 * a whole (never written half); the reason names the field.
 */
import type { LogEvent, MetricPoint } from '../../core/index.ts';

/** Largest timestamp accepted, ms (year 2286, the ns line-protocol limit). */
export const MAX_TIMESTAMP_MS = 9_223_372_036_854;

/**
 * Why `p` cannot be written, or null when it is fine. Rejected: no measurement, no fields, a
 * field that is not a finite number / string / boolean, a tag value that is not a string, a
 * timestamp that is not an integer ms in [0, {@link MAX_TIMESTAMP_MS}].
 */
export function invalidPointReason(p: MetricPoint | null | undefined): string | null {
  if (!p || typeof p !== 'object') return 'not an object';
  if (typeof p.measurement !== 'string' || p.measurement.trim() === '') return 'no measurement';
  if (!p.fields || typeof p.fields !== 'object') return `${p.measurement}: no fields`;
  const keys = Object.keys(p.fields);
  if (keys.length === 0) return `${p.measurement}: no fields`;
  for (const k of keys) {
    if (k === '') return `${p.measurement}: empty field key`;
    const v = p.fields[k];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${p.measurement}: field "${k}" is not a finite number`;
    } else if (typeof v !== 'string' && typeof v !== 'boolean') return `${p.measurement}: field "${k}" has type ${typeof v}`;
  }
  if (p.tags !== undefined && (p.tags === null || typeof p.tags !== 'object')) return `${p.measurement}: tags is not an object`;
  for (const [k, v] of Object.entries(p.tags ?? {})) {
    if (k === '') return `${p.measurement}: empty tag key`;
    if (typeof v !== 'string') return `${p.measurement}: tag "${k}" is not a string`;
  }
  if (typeof p.timestamp !== 'number' || !Number.isSafeInteger(p.timestamp) || p.timestamp < 0 || p.timestamp > MAX_TIMESTAMP_MS) {
    return `${p.measurement}: bad timestamp ${String(p.timestamp)} (integer ms since the epoch expected)`;
  }
  return null;
}

/** Why log event `e` cannot be written, or null: needs a timestamp (integer ms), a level, a job_id and a message. */
export function invalidLogReason(e: LogEvent | null | undefined): string | null {
  if (!e || typeof e !== 'object') return 'not an object';
  if (typeof e.timestamp !== 'number' || !Number.isSafeInteger(e.timestamp) || e.timestamp < 0 || e.timestamp > MAX_TIMESTAMP_MS) {
    return `bad timestamp ${String(e.timestamp)}`;
  }
  if (!['debug', 'info', 'warn', 'error'].includes(e.level)) return `bad level ${String(e.level)}`;
  if (typeof e.job_id !== 'string' || e.job_id === '') return 'no job_id';
  if (typeof e.message !== 'string') return 'no message';
  return null;
}
