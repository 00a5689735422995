/**
 * Restart / crash-loop detector (Meituan's first branch: "if the job restarted, extract the
 * exception from the logs"). Restarts = increase of numRestarts in the window, a decrease (the
 * JobManager failed over and the gauge restarted) counting from zero. The log events of the window
 * are grouped by root cause: the innermost `Caused by:` of the stack when there is one, else the
 * exception class and message, with numbers, hex ids and quoted values masked so the same failure on
 * different records groups together. Each group has count, first and last seen (ms) and vertices.
 */
import type { LogEvent } from '../../core/index.ts';
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import type { Points } from '../window.ts';
import { increaseOf } from '../series.ts';
import { gradeRule, makeFinding, severityRank } from './common.ts';

/** One root cause found in the logs. */
export interface ExceptionGroup {
  /** e.g. 'PoisonRecordError' or 'java.io.IOException' ('' when the line had none) */
  exceptionClass: string;
  /** the first message of the group, as logged */
  message: string;
  /** the masked message the group is keyed by */
  pattern: string;
  count: number;
  /** ms */
  firstSeen: number;
  /** ms */
  lastSeen: number;
  vertices: string[];
}

/** Masks variable parts of a message (numbers, hex ids, quoted strings). */
export function maskMessage(msg: string): string {
  return msg
    .replace(/'[^']*'|"[^"]*"/g, '<str>')
    .replace(/\b[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/-?\d+(\.\d+)?/g, '<n>')
    .trim();
}

/** The innermost cause of an event: the last `Caused by: Class: message` of the stack, else the event's own. */
export function rootCauseOf(e: LogEvent): { exceptionClass: string; message: string } {
  if (e.stack) {
    const causes = [...e.stack.matchAll(/Caused by:\s*([\w.$]+)(?::\s*(.*))?/g)];
    const last = causes[causes.length - 1];
    if (last) return { exceptionClass: last[1]!, message: (last[2] ?? '').trim() };
  }
  return { exceptionClass: e.exception_class ?? '', message: e.message };
}

/**
 * Groups error events (level 'error', or any event with an exception class) by root cause,
 * most frequent first. Pure.
 */
export function groupExceptions(logs: readonly LogEvent[]): ExceptionGroup[] {
  const groups = new Map<string, ExceptionGroup>();
  for (const e of logs) {
    if (e.level !== 'error' && !e.exception_class) continue;
    const rc = rootCauseOf(e);
    const pattern = maskMessage(rc.message);
    const key = `${rc.exceptionClass}|${pattern}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { exceptionClass: rc.exceptionClass, message: rc.message, pattern, count: 1, firstSeen: e.timestamp, lastSeen: e.timestamp, vertices: e.vertex ? [e.vertex] : [] });
    } else {
      g.count++;
      g.firstSeen = Math.min(g.firstSeen, e.timestamp);
      g.lastSeen = Math.max(g.lastSeen, e.timestamp);
      if (e.vertex && !g.vertices.includes(e.vertex)) g.vertices.push(e.vertex);
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.firstSeen - b.firstSeen);
}

/**
 * Detects restarts in the window and explains them from the logs. Pure.
 * @returns the finding (when numRestarts increased), the restart count and the exception groups
 */
export function detectRestarts(numRestarts: Points, logs: readonly LogEvent[], rule: DetectorRule): { findings: Finding[]; restarts: number; exceptions: ExceptionGroup[] } {
  const restarts = increaseOf(numRestarts);
  const exceptions = groupExceptions(logs);
  const findings: Finding[] = [];
  const sev = gradeRule(rule, restarts);
  if (restarts > 0 && severityRank(sev) > 0) {
    const top = exceptions[0];
    findings.push(
      makeFinding(
        rule,
        sev,
        `the job restarted ${restarts} time(s) in the window` +
          (top ? `; cause: ${top.exceptionClass || 'error'}: ${top.message} (${top.count}×${top.vertices.length ? ` in ${top.vertices.join(', ')}` : ''})` : '; no exception found in the logs'),
        { restarts, exceptions: exceptions.slice(0, 5) },
        top?.vertices[0],
      ),
    );
  }
  return { findings, restarts, exceptions };
}
