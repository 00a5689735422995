/**
 * A worker TaskManager: a worker thread with its own event loop and heap that runs the subtasks the
 * JobManager deploys on it (`protocol.ts`), exchanges records with other TaskManagers over the
 * attempt's links, acknowledges checkpoints with its subtasks' snapshots, and reports its subtasks'
 * metrics and its own heap and GC every {@link REPORT_MS} ms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Logger, type LogMeta, silentLogger } from '../../core/index.ts';
import type { Rec } from '../operators/types.ts';
import type { SourceReader } from '../sources/types.ts';
import type { DatasetSourceReader } from '../sources/dataset.ts';
import type { Subtask } from '../task.ts';
import { ProcessMetrics } from '../metrics/points.ts';
import { buildDeployment, type Deployment } from './deploy.ts';
import { Link } from './remote.ts';
import { errorData, taskKey, type FromTaskManager, type TaskManagerStats, type TaskMetricsSnapshot, type ToTaskManager } from './protocol.ts';
import { getHeapStatistics } from 'node:v8';

/** ms between two metric reports to the JobManager */
export const REPORT_MS = 200;

const port = parentPort!;
const index = (workerData as { index: number }).index;
const tmId = (workerData as { tmId: string }).tmId;
const post = (m: FromTaskManager) => port.postMessage(m);

/** Lines go to the JobManager, which writes them with the job's logger. */
class PortLogger implements Logger {
  constructor(private readonly dep: string, private readonly ns: string[], private readonly meta: LogMeta) {}
  private line(level: 'debug' | 'info' | 'warn' | 'error', msg: string, meta?: LogMeta): void {
    post({ t: 'log', dep: this.dep, level, ns: this.ns, meta: { ...this.meta, ...meta, tm_id: tmId }, msg });
  }
  debug(msg: string, meta?: LogMeta): void { this.line('debug', msg, meta); }
  info(msg: string, meta?: LogMeta): void { this.line('info', msg, meta); }
  warn(msg: string, meta?: LogMeta): void { this.line('warn', msg, meta); }
  error(msg: string, meta?: LogMeta): void { this.line('error', msg, meta); }
  namespace(name: string): Logger { return new PortLogger(this.dep, [...this.ns, name], this.meta); }
  child(meta: LogMeta): Logger { return new PortLogger(this.dep, this.ns, { ...this.meta, ...meta }); }
}

interface Hosted {
  deployment: Deployment;
  tasks: Map<string, Subtask>;
  readers: Map<string, SourceReader>;
  collected: Rec[];
  /** records of `collected` already sent */
  sent: number;
  done: Set<string>;
}

const hosted = new Map<string, Hosted>();
const proc = new ProcessMetrics();

function snapshotOf(s: Subtask, reader: SourceReader | undefined): TaskMetricsSnapshot {
  const m = s.metrics;
  const r = reader as DatasetSourceReader | undefined;
  return {
    state: s.state,
    numRecordsIn: m.numRecordsIn,
    numRecordsOut: m.numRecordsOut,
    currentInputWatermark: m.currentInputWatermark,
    currentOutputWatermark: m.currentOutputWatermark,
    lastAlignmentNanos: m.lastAlignmentNanos,
    lastStartDelayNanos: m.lastStartDelayNanos,
    ...(m.keyGroupRecords ? { keyGroupRecords: m.keyGroupRecords } : {}),
    ...(m.pendingRecords !== undefined ? { pendingRecords: m.pendingRecords } : {}),
    sourceIdle: m.sourceIdle,
    ...(m.lastSourceRecordAt !== undefined ? { lastSourceRecordAt: m.lastSourceRecordAt } : {}),
    ...(m.kafkaOffsets ? { kafkaOffsets: m.kafkaOffsets } : {}),
    lateRecordsDropped: m.lateRecordsDropped,
    rates: m.rates(),
    inputUsage: s.inputUsage(),
    outputUsage: s.outputUsage(),
    ...(r?.splitOffsets ? { splitOffsets: r.splitOffsets(Date.now()) } : {}),
  };
}

function sendCollected(dep: string, h: Hosted): void {
  if (h.collected.length > h.sent) {
    post({ t: 'collected', dep, records: h.collected.slice(h.sent) });
    h.sent = h.collected.length;
  }
}

function stats(): TaskManagerStats {
  const heap = getHeapStatistics();
  return {
    heapUsed: heap.used_heap_size,
    heapCommitted: heap.total_heap_size,
    heapMax: heap.heap_size_limit,
    gcCount: proc.gcCount,
    gcTimeMs: proc.gcTimeMs,
    gcTimeMsPerSecond: proc.gcTimeMsPerSecond(),
    eventLoopDelayMs: proc.eventLoopDelayMs(),
  };
}

function report(): void {
  const tasks: Array<{ dep: string; task: string; m: TaskMetricsSnapshot }> = [];
  for (const [dep, h] of hosted) {
    sendCollected(dep, h);
    for (const [task, s] of h.tasks) if (!h.done.has(task)) tasks.push({ dep, task, m: snapshotOf(s, h.readers.get(task)) });
  }
  post({ t: 'metrics', stats: stats(), tasks });
}

async function deploy(m: Extract<ToTaskManager, { t: 'deploy' }>): Promise<void> {
  const dep = m.desc.deploymentId;
  const links = new Map<number, Link>();
  try {
    if (m.desc.spec.vertices.some((v) => v.type === 'kafka-source' || v.type === 'kafka-sink')) await import('../kafka.ts');
    for (const { peer, port: p } of m.ports) links.set(peer, new Link(p));
    const readers = new Map<string, SourceReader>();
    const collected: Rec[] = [];
    const deployment = buildDeployment(m.desc, {
      me: index,
      links,
      collected,
      logger: m.forwardLogs ? new PortLogger(dep, [], {}) : silentLogger,
      acker: {
        ack: (checkpointId, s, snapshot) => post({ t: 'ack', dep, task: taskKey(s.vertex, s.index), checkpointId, snapshot }),
        decline: (checkpointId, s, reason) => post({ t: 'decline', dep, task: taskKey(s.vertex, s.index), checkpointId, reason }),
      },
      onReader: (vertex, i, reader) => readers.set(taskKey(vertex, i), reader),
    });
    const h: Hosted = { deployment, tasks: new Map(deployment.subtasks.map((s) => [taskKey(s.vertex, s.index), s])), readers, collected, sent: 0, done: new Set() };
    for (const s of deployment.subtasks) s.tmId = tmId;
    hosted.set(dep, h);
    post({ t: 'deployed', dep });
    for (const [task, s] of h.tasks) {
      const ended = (err?: unknown) => {
        sendCollected(dep, h);
        h.done.add(task);
        post({ t: 'state', dep, task, state: s.state, metrics: snapshotOf(s, readers.get(task)), ...(err !== undefined ? { error: errorData(err) } : {}) });
      };
      s.run().then(() => ended(), (err: unknown) => ended(err));
    }
  } catch (err) {
    for (const l of links.values()) l.close();
    post({ t: 'deployed', dep, error: errorData(err) });
  }
}

async function request(m: Extract<ToTaskManager, { t: 'request' }>): Promise<void> {
  const h = hosted.get(m.dep);
  const s = h?.tasks.get(m.task);
  try {
    if (!h || !s) throw new Error(`no subtask ${m.task} in deployment ${m.dep}`);
    let value: unknown;
    if (m.op === 'snapshotNow') value = await s.snapshotNow(m.checkpointId);
    else if (m.op === 'notifyComplete') await s.notifyComplete(m.checkpointId);
    else await s.close();
    post({ t: 'reply', dep: m.dep, id: m.id, value });
  } catch (err) {
    post({ t: 'reply', dep: m.dep, id: m.id, error: errorData(err) });
  }
}

port.on('message', (m: ToTaskManager) => {
  switch (m.t) {
    case 'deploy':
      void deploy(m);
      break;
    case 'trigger':
      hosted.get(m.dep)?.tasks.get(m.task)?.trigger(m.trigger);
      break;
    case 'resume':
      hosted.get(m.dep)?.tasks.get(m.task)?.resume();
      break;
    case 'cancel':
      hosted.get(m.dep)?.deployment.cancel();
      break;
    case 'request':
      void request(m);
      break;
    case 'undeploy': {
      const h = hosted.get(m.dep);
      if (h) {
        sendCollected(m.dep, h);
        h.deployment.dispose();
        hosted.delete(m.dep);
      }
      break;
    }
  }
});

setInterval(() => {
  const now = performance.now();
  for (const h of hosted.values()) for (const s of h.tasks.values()) s.metrics.sample(now);
  proc.sample();
}, 1000).unref();
setInterval(report, REPORT_MS).unref();
post({ t: 'ready' });
