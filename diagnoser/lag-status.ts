/**
 * The consumer group's lag status for a diagnosis. Until Burrow's evaluator
 * (`evaluateGroupLag` in diagnoser/detectors/lag.ts, written separately) is wired in, this module
 * applies Burrow's partition rules in simplified form to the window's observations: lag ≤ allowed →
 * OK; REWIND when a committed offset went backwards; OK when any observation had lag ≤ allowed;
 * STALL when every committed offset is the same while lag > 0; WARN when lag never decreased
 * between consecutive observations; else OK. Group status = worst partition, STOP/STALL/REWIND → ERR.
 */
import type { GroupLagStatus, PartitionLagStatus } from './types.ts';
import type { ConsumerLagWindow } from './window.ts';

/** Per-partition and group outcome. */
export interface LagStatusResult {
  status: GroupLagStatus | 'UNKNOWN';
  partitions: Array<{ topic: string; partition: number; status: PartitionLagStatus; lag: number }>;
  /** records */
  totalLag: number;
  /** records */
  maxLag: number;
  /** share of partitions with ≥ 2 observations, 0..1 */
  complete: number;
}

const RANK: Record<PartitionLagStatus, number> = { OK: 0, WARN: 1, STOP: 2, STALL: 2, REWIND: 2 };

/**
 * Evaluates the group's lag. Pure. 'UNKNOWN' without partitions.
 * @param allowedLag records of lag still counted as caught up (Burrow `allowed-lag`, default 0)
 */
export function evaluateLagStatus(c: ConsumerLagWindow | undefined, allowedLag = 0): LagStatusResult {
  const parts = (c?.partitions ?? []).filter((p) => p.lag.length > 0 || p.committedOffset.length > 0);
  if (parts.length === 0) return { status: 'UNKNOWN', partitions: [], totalLag: 0, maxLag: 0, complete: 0 };
  const out: LagStatusResult['partitions'] = [];
  let complete = 0;
  for (const p of parts) {
    const lags = p.lag.map((x) => x.v);
    const lag = lags.length ? lags[lags.length - 1]! : 0;
    const offs = p.committedOffset.map((x) => x.v);
    if (lags.length >= 2) complete++;
    let status: PartitionLagStatus = 'OK';
    if (lag <= allowedLag) status = 'OK';
    else if (offs.some((o, i) => i > 0 && o < offs[i - 1]!)) status = 'REWIND';
    else if (lags.some((l) => l <= allowedLag)) status = 'OK';
    else if (offs.length >= 2 && offs.every((o) => o === offs[0])) status = 'STALL';
    else if (lags.length >= 2 && lags.every((l, i) => i === 0 || l >= lags[i - 1]!)) status = 'WARN';
    out.push({ topic: p.topic, partition: p.partition, status, lag });
  }
  const worst = out.reduce((a, b) => (RANK[b.status] > RANK[a] ? b.status : a), 'OK' as PartitionLagStatus);
  return {
    status: worst === 'OK' ? 'OK' : worst === 'WARN' ? 'WARN' : 'ERR',
    partitions: out,
    totalLag: out.reduce((a, p) => a + p.lag, 0),
    maxLag: out.reduce((a, p) => Math.max(a, p.lag), 0),
    complete: complete / parts.length,
  };
}
