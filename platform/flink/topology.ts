/**
 * A Flink job's graph as streamtune's {@link TopologyVertex} list, from `GET /jobs/:jid` (vertices
 * with parallelism and max parallelism) and `GET /jobs/:jid/plan` (edges with their ship strategy).
 */
import type { TopologyVertex } from '../topology.ts';
import type { JobDetails, JobPlan } from './rest-client.ts';

/**
 * Vertices in the order Flink lists them, each with its upstream vertex ids from the plan (none
 * when the plan has no nodes, as while the adaptive scheduler restarts the job). A vertex is
 * keyed (its state lives in key groups) when an input edge's ship strategy is `HASH` (a `keyBy`);
 * `FORWARD`, `REBALANCE`, `RESCALE` and `BROADCAST` inputs carry no key.
 */
export function flinkTopology(details: JobDetails, plan: JobPlan): TopologyVertex[] {
  // while the adaptive scheduler restarts a job (a rescale in place) the plan can come without nodes
  const nodes = new Map((plan.nodes ?? []).map((n) => [n.id, n]));
  return (details.vertices ?? []).map((v) => {
    const ins = nodes.get(v.id)?.inputs ?? [];
    return {
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      inputs: ins.map((i) => i.id),
      keyedInput: ins.some((i) => (i.ship_strategy ?? '').toUpperCase() === 'HASH'),
    };
  });
}
