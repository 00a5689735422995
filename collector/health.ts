/**
 * Health counters of the collector's write path (the {@link BufferedWriter}) and their form as
 * metric points, named in Flink's style (`streamtune_collector_<name>`, field `value`; see docs/METRICS.md).
 */
import type { MetricPoint } from '../core/index.ts';

/** Write-path health. Counts are since the writer was created. */
export interface CollectorHealth {
  /** points the store acknowledged */
  pointsWritten: number;
  /** failed write attempts (each retry that failed counts once) */
  writeErrors: number;
  /** points waiting in the buffer now (including a batch being written) */
  pointsBuffered: number;
  /** points dropped: oldest beyond `maxBufferedPoints`, a batch the store rejected, or left at close */
  pointsDropped: number;
  /** malformed points refused by validation (never written) */
  pointsRejected: number;
  /** log events the store acknowledged */
  logsWritten: number;
  /** log events waiting now */
  logsBuffered: number;
  /** log events dropped (same reasons as points) */
  logsDropped: number;
  /** malformed log events refused */
  logsRejected: number;
  /** ms since epoch of the last successful write, null before the first */
  lastSuccessfulWrite: number | null;
  /** ms since epoch when points were last dropped (for any reason of `pointsDropped`), null if never */
  lastPointsDropped: number | null;
  /** the buffer's bound, points (`maxBufferedPoints`): what survives a store outage unlost */
  maxBufferedPoints: number;
}

/** Prefix of the health measurements. */
export const HEALTH_MEASUREMENT_PREFIX = 'streamtune_collector_';

/** A zeroed {@link CollectorHealth}. */
export function emptyHealth(): CollectorHealth {
  return {
    pointsWritten: 0, writeErrors: 0, pointsBuffered: 0, pointsDropped: 0, pointsRejected: 0,
    logsWritten: 0, logsBuffered: 0, logsDropped: 0, logsRejected: 0, lastSuccessfulWrite: null,
    lastPointsDropped: null, maxBufferedPoints: 0,
  };
}

/**
 * The health as points: one per counter, measurement `streamtune_collector_<name>` (e.g.
 * `streamtune_collector_pointsWritten`), field `value` (integer), timestamp `now` (ms), the given
 * tags (e.g. `{ host }`). `lastSuccessfulWrite` and `lastPointsDropped` (ms) are left out while null.
 */
export function healthToPoints(h: CollectorHealth, now: number, tags: Record<string, string> = {}): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (const [name, value] of Object.entries(h) as Array<[keyof CollectorHealth, number | null]>) {
    if (value === null) continue;
    out.push({ measurement: HEALTH_MEASUREMENT_PREFIX + name, tags: { ...tags }, fields: { value }, intFields: ['value'], timestamp: now });
  }
  return out;
}
