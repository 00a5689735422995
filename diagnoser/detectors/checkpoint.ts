/**
 * Checkpoint detectors (StreamPark-style risk checks):
 * - 'checkpoint.duration': max lastCheckpointDuration / configured timeout (needs the config), and
 *   against the interval: a checkpoint taking `intervalShare` (default 0.5) of the interval is at
 *   least 'moderate', one taking the whole interval at least 'severe' (checkpoints back to back
 *   leave the job no time to process; the remedy is a longer interval, diagnoser/remedies.ts).
 * - 'checkpoint.failures': increase of numberOfFailedCheckpoints in the window (resets handled).
 * - 'checkpoint.alignment': max alignment time / interval, reported only while some vertex is
 *   back-pressured (aligned barriers queue behind full buffers; unaligned checkpoints fix it).
 * - 'checkpoint.size-growth': lastCheckpointSize last/first − 1 over the window (≥ minPoints points),
 *   reported only when the last size is at least `minBytes` (default {@link SIZE_GROWTH_MIN_BYTES}):
 *   a job filling its windows after a start grows its state from kilobytes to megabytes, which is
 *   warm-up, not state that never expires (a healthy real Flink job read "grew 65%, 9,534 →
 *   15,690 bytes" and was diagnosed checkpoint-pressure).
 */
import type { DetectorRule } from '../../rules/index.ts';
import type { Finding } from '../types.ts';
import type { CheckpointWindow } from '../window.ts';
import { firstOf, increaseOf, lastOf, maxOf, round } from '../series.ts';
import { gradeRule, makeFinding, param, severityRank } from './common.ts';

/** bytes: the default `minBytes` of 'checkpoint.size-growth' (64 MiB). streamtune's own floor. */
export const SIZE_GROWTH_MIN_BYTES = 64 * 1024 * 1024;

/** Numbers behind the checkpoint findings. */
export interface CheckpointStats {
  /** ms */
  maxDuration?: number;
  /** max duration / timeout */
  durationRatio?: number;
  /** max duration / interval */
  durationToInterval?: number;
  failures: number;
  completed: number;
  /** ms */
  maxAlignment?: number;
  /** alignment / interval */
  alignmentRatio?: number;
  /** last/first − 1 */
  sizeGrowth?: number;
}

/**
 * Runs the four checkpoint detectors. Pure.
 * @param cp the window's checkpoint series and config
 * @param backpressured whether some vertex is back-pressured (alignment only matters then)
 * @param rules rule per detector id; a missing or disabled rule skips its detector
 */
export function detectCheckpoints(
  cp: CheckpointWindow,
  backpressured: boolean,
  rules: Partial<Record<'checkpoint.duration' | 'checkpoint.failures' | 'checkpoint.alignment' | 'checkpoint.size-growth', DetectorRule>>,
): { findings: Finding[]; stats: CheckpointStats } {
  const findings: Finding[] = [];
  const stats: CheckpointStats = {
    failures: increaseOf(cp.numberOfFailedCheckpoints),
    completed: increaseOf(cp.numberOfCompletedCheckpoints),
  };
  const maxDur = maxOf(cp.lastCheckpointDuration);
  if (maxDur !== undefined) stats.maxDuration = maxDur;
  const cfg = cp.config;
  const rd = rules['checkpoint.duration'];
  if (maxDur !== undefined && cfg && cfg.interval > 0) stats.durationToInterval = maxDur / cfg.interval;
  if (maxDur !== undefined && cfg && cfg.timeout > 0) {
    stats.durationRatio = maxDur / cfg.timeout;
    if (rd?.enabled) {
      const byTimeout = gradeRule(rd, stats.durationRatio);
      const toInterval = stats.durationToInterval ?? 0;
      const byInterval = toInterval >= 1 ? 'severe' : toInterval >= param(rd, 'intervalShare', 0.5) ? 'moderate' : 'none';
      const sev = severityRank(byInterval) > severityRank(byTimeout) ? byInterval : byTimeout;
      if (severityRank(sev) > 0)
        findings.push(makeFinding(rd, sev, `checkpoints take up to ${Math.round(maxDur)} ms, ${Math.round(stats.durationRatio * 100)}% of the ${cfg.timeout} ms timeout` +
          (byInterval === sev && byInterval !== 'none' ? ` and ${Math.round(toInterval * 100)}% of the ${cfg.interval} ms interval` : ''), {
          maxCheckpointDurationMs: Math.round(maxDur), timeoutMs: cfg.timeout, intervalMs: cfg.interval, durationToTimeout: round(stats.durationRatio, 3), durationToInterval: round(toInterval, 3),
        }));
    }
  }
  const rf = rules['checkpoint.failures'];
  if (rf?.enabled) {
    const sev = gradeRule(rf, stats.failures);
    if (severityRank(sev) > 0)
      findings.push(makeFinding(rf, sev, `${stats.failures} checkpoint(s) failed in the window (${stats.completed} completed)`, {
        failedCheckpoints: stats.failures, completedCheckpoints: stats.completed,
      }));
  }
  const maxAlign = maxOf(cp.alignmentMs);
  if (maxAlign !== undefined) stats.maxAlignment = maxAlign;
  const ra = rules['checkpoint.alignment'];
  if (maxAlign !== undefined && cfg && cfg.interval > 0) {
    stats.alignmentRatio = maxAlign / cfg.interval;
    if (ra?.enabled && backpressured && !cfg.unaligned) {
      const sev = gradeRule(ra, stats.alignmentRatio);
      if (severityRank(sev) > 0)
        findings.push(makeFinding(ra, sev, `checkpoint barriers wait up to ${Math.round(maxAlign)} ms for alignment behind back-pressure`, {
          maxAlignmentMs: Math.round(maxAlign), intervalMs: cfg.interval, alignmentToInterval: round(stats.alignmentRatio, 3),
        }));
    }
  }
  const rs = rules['checkpoint.size-growth'];
  const sizes = cp.lastCheckpointSize;
  const first = firstOf(sizes);
  const last = lastOf(sizes);
  if (rs && sizes.length >= param(rs, 'minPoints', 3) && first !== undefined && last !== undefined && first > 0) {
    stats.sizeGrowth = last / first - 1;
    if (rs.enabled && last >= param(rs, 'minBytes', SIZE_GROWTH_MIN_BYTES)) {
      const sev = gradeRule(rs, stats.sizeGrowth);
      if (severityRank(sev) > 0)
        findings.push(makeFinding(rs, sev, `checkpoint size grew ${Math.round(stats.sizeGrowth * 100)}% in the window (${first} → ${last} bytes)`, {
          firstSizeBytes: first, lastSizeBytes: last, growth: round(stats.sizeGrowth, 3),
        }));
    }
  }
  return { findings, stats };
}
