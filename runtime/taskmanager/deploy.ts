/**
 * Deploying one job attempt's subtasks on one TaskManager: the same code builds them in the main
 * thread (TaskManager 0) and in a worker thread. From a {@link DeploymentDescriptor} (plain data:
 * the spec, parallelism, placement, effective partitioning per edge, and the subtasks to run here
 * with their restored state) it builds the operators and readers, local channels between subtasks
 * of this TaskManager, and credit-based channels ({@link Link}) to subtasks on other TaskManagers.
 * Channel ids are numbered the same way on every TaskManager (spec edge order, then upstream
 * subtask, then downstream subtask), so both ends of a channel agree on its id.
 */
import { type Logger, StreamtuneError } from '../../core/index.ts';
import { isSourceSpec, parseDuration, type JobSpec, type Partitioning, type VertexSpec } from '../spec.ts';
import { Channel, InputGate, type OutputChannel } from '../stream.ts';
import { Subtask, type CheckpointAcker, type OutputEdge } from '../task.ts';
import { Faults } from '../faults.ts';
import type { Operator, Rec, RestoredState } from '../operators/types.ts';
import type { SourceReader } from '../sources/types.ts';
import { createMap, createFilter } from '../operators/basic.ts';
import { createLookup } from '../operators/lookup.ts';
import { createWindowAggregate } from '../operators/window.ts';
import { createJsonlSink } from '../sinks/jsonl.ts';
import { createCollectSink, createDiscardSink } from '../sinks/simple.ts';
import { createDatasetSource } from '../sources/dataset.ts';
import { createGeneratorSource } from '../sources/generator.ts';
import type { Placement } from './placement.ts';
import type { Link } from './remote.ts';

/** Factories for vertex types beyond the built-in ones (the Kafka source and sink register here). */
export interface VertexFactories {
  source?: Record<string, (spec: VertexSpec) => SourceReader>;
  operator?: Record<string, (spec: VertexSpec) => Operator>;
}

const extraFactories: Required<VertexFactories> = { source: {}, operator: {} };

/** Registers vertex factories (e.g. `kafka-source`) in this thread. */
export function registerVertexFactories(f: VertexFactories): void {
  Object.assign(extraFactories.source, f.source ?? {});
  Object.assign(extraFactories.operator, f.operator ?? {});
}

/** True when a factory for vertex type `type` is registered in this thread. */
export function hasVertexFactory(type: string): boolean {
  return type in extraFactories.source || type in extraFactories.operator;
}

/** Builds the operator of a non-source vertex. Throws INVALID_SPEC for a type not available here. */
export function buildOperator(v: VertexSpec, outputDirs: Record<string, string> | undefined): Operator {
  const extra = extraFactories.operator[v.type];
  if (extra) return extra(v);
  switch (v.type) {
    case 'map':
      return createMap(v);
    case 'filter':
      return createFilter(v);
    case 'lookup':
      return createLookup(v);
    case 'window-aggregate':
      return createWindowAggregate(v);
    case 'jsonl-sink':
      return createJsonlSink(outputDirs?.[v.name] ? { ...v, path: outputDirs[v.name]! } : v);
    case 'collect-sink':
      return createCollectSink();
    case 'discard-sink':
      return createDiscardSink();
    default:
      throw new StreamtuneError('INVALID_SPEC', `vertex '${v.name}': type '${v.type}' is not available (is its module loaded?)`);
  }
}

/** Builds the reader of a source vertex. Throws INVALID_SPEC for a type not available here. */
export function buildReader(v: VertexSpec): SourceReader {
  const extra = extraFactories.source[v.type];
  if (extra) return extra(v);
  if (v.type === 'dataset-source') return createDatasetSource(v);
  if (v.type === 'generator-source') return createGeneratorSource(v);
  throw new StreamtuneError('INVALID_SPEC', `vertex '${v.name}': source type '${v.type}' is not available (is its module loaded?)`);
}

/** A source vertex's `idleTimeout` in ms (0 = never idle), from any source type that has the setting. */
export function sourceIdleTimeout(v: VertexSpec): number {
  const t = (v as { idleTimeout?: number | string }).idleTimeout;
  return t === undefined ? 0 : parseDuration(t, `vertex '${v.name}' idleTimeout`, 0);
}

/** Everything a TaskManager needs to run its part of a job attempt. Plain data (crosses threads). */
export interface DeploymentDescriptor {
  /** unique per attempt and TaskManager */
  deploymentId: string;
  jobId: string;
  jobName: string;
  /** restart attempt (numRestarts) */
  attempt: number;
  maxParallelism: number;
  /** the spec's folder: relative paths resolve against it */
  baseDir: string;
  spec: JobSpec;
  /** vertex name → parallelism */
  parallelism: Record<string, number>;
  placement: Placement;
  /** effective partitioning of each spec edge (forward with unequal parallelism → rebalance) */
  partitioning: Partitioning[];
  /** data buffers per channel (credits of a channel between TaskManagers) */
  capacity: number;
  /** records per buffer */
  batchSize: number;
  /** span of per-second rates, ms */
  metricsWindowMs: number;
  outputDirs?: Record<string, string>;
  /** the subtasks this TaskManager runs, with their restored state */
  tasks: Array<{ vertex: string; index: number; restored?: RestoredState }>;
}

/** What the hosting thread provides to a deployment. */
export interface DeployEnv {
  /** this TaskManager's index */
  me: number;
  /** links to the other TaskManagers of this attempt, by their index */
  links: Map<number, Link>;
  acker: CheckpointAcker;
  /** where collect sinks put their records */
  collected: Rec[];
  /** the task logger */
  logger: Logger;
  /** called for every source reader built (the job reports dataset split offsets from them) */
  onReader?: (vertex: string, index: number, reader: SourceReader) => void;
}

/** The subtasks of one attempt on one TaskManager. */
export class Deployment {
  constructor(readonly subtasks: Subtask[], private readonly links: Map<number, Link>) {}

  /** Cancels every subtask and the sending sides of the channels to other TaskManagers. */
  cancel(): void {
    for (const s of this.subtasks) s.cancel();
    for (const l of this.links.values()) l.cancel();
  }

  /** Closes the links (after the subtasks were closed). */
  dispose(): void {
    for (const l of this.links.values()) l.close();
  }
}

/** Builds the subtasks of `d` for TaskManager `env.me` (see the module comment). Throws INVALID_SPEC. */
export function buildDeployment(d: DeploymentDescriptor, env: DeployEnv): Deployment {
  const spec = d.spec;
  const me = env.me;
  const tmOf = (v: string, i: number) => d.placement.tm[v]![i]!;
  // channels: edge → [upstream subtask][downstream subtask]; only those with an end here are built
  let nextId = 0;
  const edgeChannels = spec.edges.map((e, ei) => {
    const up = d.parallelism[e.from]!;
    const down = d.parallelism[e.to]!;
    const partitioning = d.partitioning[ei]!;
    const out: Array<Array<OutputChannel | undefined>> = [];
    const inp: Array<Array<Channel | undefined>> = [];
    for (let u = 0; u < up; u++) {
      out.push([]);
      inp.push([]);
      for (let dn = 0; dn < down; dn++) {
        if (partitioning === 'forward' && u !== dn) {
          out[u]!.push(undefined);
          inp[u]!.push(undefined);
          continue;
        }
        const id = nextId++;
        const from = tmOf(e.from, u);
        const to = tmOf(e.to, dn);
        if (from === me && to === me) {
          const c = new Channel(d.capacity);
          out[u]!.push(c);
          inp[u]!.push(c);
        } else if (from === me) {
          out[u]!.push(linkTo(env, to).output(id, d.capacity));
          inp[u]!.push(undefined);
        } else if (to === me) {
          // the sender never has more than `capacity` data buffers in flight; an unaligned barrier's
          // flush may add some: the queue is not bounded here
          const c = new Channel(d.capacity);
          linkTo(env, from).input(id, c, e.to, ei);
          out[u]!.push(undefined);
          inp[u]!.push(c);
        } else {
          out[u]!.push(undefined);
          inp[u]!.push(undefined);
        }
      }
    }
    return { edge: e, edgeIndex: ei, partitioning, out, inp };
  });
  const mine = new Map(d.tasks.map((t) => [`${t.vertex}#${t.index}`, t]));
  const subtasks: Subtask[] = [];
  const logger = env.logger;
  for (const [vi, v] of spec.vertices.entries()) {
    const p = d.parallelism[v.name]!;
    for (let i = 0; i < p; i++) {
      const task = mine.get(`${v.name}#${i}`);
      if (!task) continue;
      const outputs: OutputEdge[] = edgeChannels
        .filter((ec) => ec.edge.from === v.name)
        .map((ec) => ({
          partitioning: ec.partitioning,
          key: ec.edge.key,
          target: ec.edge.to,
          edgeIndex: ec.edgeIndex,
          maxParallelism: d.maxParallelism,
          channels: (ec.partitioning === 'forward' ? [ec.out[i]![i]] : ec.out[i]!) as OutputChannel[],
        }));
      const inputs: Channel[] = [];
      const inputEdges: number[] = [];
      for (const ec of edgeChannels.filter((x) => x.edge.to === v.name)) {
        for (let u = 0; u < ec.inp.length; u++) {
          const c = ec.inp[u]![i];
          if (!c) continue;
          inputs.push(c);
          inputEdges.push(ec.edgeIndex);
        }
      }
      const source = isSourceSpec(v);
      let reader: SourceReader | undefined;
      if (source) {
        reader = buildReader(v);
        env.onReader?.(v.name, i, reader);
      }
      subtasks.push(
        new Subtask(
          v.name,
          vi,
          i,
          p,
          source ? 'source' : 'operator',
          reader,
          source ? undefined : buildOperator(v, d.outputDirs),
          source ? undefined : new InputGate(inputs, inputEdges),
          outputs,
          new Faults(v.faults, v.name, d.attempt),
          env.acker,
          task.restored,
          { jobId: d.jobId, jobName: d.jobName, maxParallelism: d.maxParallelism, attempt: d.attempt, baseDir: d.baseDir, collected: env.collected },
          { batchSize: d.batchSize, logger, metricsWindowMs: d.metricsWindowMs, idleTimeoutMs: source ? sourceIdleTimeout(v) : 0 },
        ),
      );
    }
  }
  return new Deployment(subtasks, env.links);
}

function linkTo(env: DeployEnv, tm: number): Link {
  const l = env.links.get(tm);
  if (!l) throw new StreamtuneError('INTERNAL', `TaskManager ${env.me} has no link to TaskManager ${tm}`);
  return l;
}
