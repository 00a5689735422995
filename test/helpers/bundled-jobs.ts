/** Small bundled-runtime job specs for the contract suites (platform/bundled). */
import type { JobSpec } from '../../runtime/spec.ts';

/**
 * An unbounded job `gen` (generator source, 500 records/s over 20 keys, 4 splits) → `agg` (1-hour
 * window count per key, hash-partitioned: its input is keyed) → `out` (discard sink), with a
 * checkpoint every 200 ms. Every vertex at parallelism 1.
 */
export function generatorWindowSpec(name: string): JobSpec {
  return {
    name,
    checkpoints: { interval: 200 },
    vertices: [
      { name: 'gen', type: 'generator-source', rate: 500, keys: 20, splits: 4 },
      { name: 'agg', type: 'window-aggregate', key: 'key', size: '1h', aggregations: { n: 'count' } },
      { name: 'out', type: 'discard-sink' },
    ],
    edges: [
      { from: 'gen', to: 'agg', partitioning: 'hash', key: 'key' },
      { from: 'agg', to: 'out' },
    ],
  };
}
