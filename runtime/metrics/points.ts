/**
 * Turns a job's live measurements into metric points exactly as Flink's InfluxDB reporter writes
 * them (measurement = scope + '_' + metric name; task tags host, job_id, job_name, subtask_index,
 * task_attempt_id, task_attempt_num, task_id, task_name, tm_id; fields by metric type), plus
 * streamtune's own measurements documented in docs/METRICS.md (topology, key-group counts,
 * checkpoint config, Node.js event-loop delay).
 */
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { MetricPoint } from '../../core/index.ts';
import type { SubtaskView } from '../task.ts';
import type { TaskManagerStats } from '../taskmanager/protocol.ts';
import { RateWindow } from './task-metrics.ts';

/** Heap, GC and event-loop measurements of this process (Flink's `Status.JVM.*` for Node.js). */
export class ProcessMetrics {
  gcCount = 0;
  /** ms */
  gcTimeMs = 0;
  private readonly gcWin = new RateWindow(10_000);
  private readonly loop: IntervalHistogram;
  private observer: PerformanceObserver | undefined;

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    try {
      this.observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          this.gcCount++;
          this.gcTimeMs += e.duration;
        }
      });
      this.observer.observe({ entryTypes: ['gc'] });
    } catch {
      this.observer = undefined;
    }
  }

  /** Samples once a second for GC time per second. */
  sample(): void {
    this.gcWin.add(performance.now(), this.gcTimeMs);
  }

  /** GC time per second over the last 10 s, ms/s. */
  gcTimeMsPerSecond(): number {
    return this.gcWin.ratePerSecond();
  }

  /** Mean event-loop delay since the last call, ms; resets the histogram. */
  eventLoopDelayMs(): number {
    const v = this.loop.mean / 1e6;
    this.loop.reset();
    return Number.isFinite(v) ? v : 0;
  }

  /** Stops observing. */
  close(): void {
    this.observer?.disconnect();
    this.loop.disable();
  }
}

const INT = ['value'];
const COUNT = ['count'];

function p(measurement: string, tags: Record<string, string>, fields: MetricPoint['fields'], timestamp: number, intFields?: string[]): MetricPoint {
  return intFields ? { measurement, tags, fields, timestamp, intFields } : { measurement, tags, fields, timestamp };
}

/** Identity of the process the job runs in. */
export interface ReporterIdentity {
  host: string;
  /** `tm_id` of TaskManager 0, the main thread (whose heap `proc` measures) */
  tmId: string;
  /** ExecutionGraphID of the current attempt, 32 hex */
  attemptId: string;
  /**
   * Worker TaskManagers running subtasks of the job (`runtime/taskmanager/`), with their heap, GC
   * and event loop as last reported (undefined before the first report): reported as
   * `taskmanager_Status_*` points with their own `tm_id`.
   */
  workers?: Array<{ tmId: string; stats: TaskManagerStats | undefined }>;
}

/**
 * What {@link jobMetricPoints} reads of a job. `LocalJob` (runtime/job.ts) has this shape; it is
 * written out here so that this module does not import job.ts, which imports it.
 */
export interface MetricsJobView {
  readonly id: string;
  readonly name: string;
  /** ms since epoch the current execution started; 0 before */
  readonly startedAt: number;
  readonly numRestarts: number;
  readonly state: string;
  readonly maxParallelism: number;
  readonly stats: {
    /** ms */
    lastCheckpointDuration: number;
    /** bytes */
    lastCheckpointSize: number;
    numberOfCompletedCheckpoints: number;
    numberOfFailedCheckpoints: number;
    numberOfInProgressCheckpoints: number;
  };
  readonly vertices: ReadonlyArray<{ id: string; name: string; parallelism: number; inputs: readonly string[]; keyed: boolean; partitions?: number }>;
  /** ms durations and the unaligned flag in force */
  checkpointSettings(): { interval: number; timeout: number; minPause: number; unaligned: boolean };
  currentSubtasks(): readonly SubtaskView[];
}

/** All metric points of a job at `now` (ms epoch). */
export function jobMetricPoints(job: MetricsJobView, now: number, id: ReporterIdentity, proc: ProcessMetrics): MetricPoint[] {
  const out: MetricPoint[] = [];
  const jm = { host: id.host, job_id: job.id, job_name: job.name };
  const tm = { host: id.host, tm_id: id.tmId };
  const vertexIds = new Map(job.vertices.map((v) => [v.name, v.id]));
  const s = job.stats;
  const uptime = job.startedAt > 0 ? now - job.startedAt : 0;
  out.push(p('jobmanager_job_numRestarts', jm, { value: job.numRestarts }, now, INT));
  out.push(p('jobmanager_job_uptime', jm, { value: uptime }, now, INT));
  out.push(p('jobmanager_job_runningTime', jm, { value: job.state === 'RUNNING' ? uptime : 0 }, now, INT));
  out.push(p('jobmanager_job_lastCheckpointDuration', jm, { value: s.lastCheckpointDuration }, now, INT));
  out.push(p('jobmanager_job_lastCheckpointSize', jm, { value: s.lastCheckpointSize }, now, INT));
  out.push(p('jobmanager_job_numberOfCompletedCheckpoints', jm, { value: s.numberOfCompletedCheckpoints }, now, INT));
  out.push(p('jobmanager_job_numberOfFailedCheckpoints', jm, { value: s.numberOfFailedCheckpoints }, now, INT));
  out.push(p('jobmanager_job_numberOfInProgressCheckpoints', jm, { value: s.numberOfInProgressCheckpoints }, now, INT));
  const cs = job.checkpointSettings();
  out.push(p('jobmanager_job_streamtune_checkpointConfig', jm, { interval: cs.interval, timeout: cs.timeout, minPause: cs.minPause, unaligned: cs.unaligned ? 1 : 0 }, now, ['interval', 'timeout', 'minPause', 'unaligned']));
  for (const v of job.vertices) {
    const fields: MetricPoint['fields'] = { parallelism: v.parallelism, maxParallelism: job.maxParallelism, inputs: v.inputs.join(','), keyed: v.keyed ? 1 : 0 };
    const ints = ['parallelism', 'maxParallelism', 'keyed'];
    if (v.partitions !== undefined) {
      fields.partitions = v.partitions;
      ints.push('partitions');
    }
    // inputs also as a tag: stores that keep only numeric fields (the embedded one) still return the edges
    out.push(p('streamtune_job_vertex', { ...jm, task_id: v.id, task_name: v.name, inputs: v.inputs.join(',') }, fields, now, ints));
  }
  for (const st of job.currentSubtasks()) {
    const taskId = vertexIds.get(st.vertex)!;
    const attemptNum = String(job.numRestarts);
    const tags = {
      host: id.host,
      tm_id: st.tmId || id.tmId,
      job_id: job.id,
      job_name: job.name,
      subtask_index: String(st.index),
      task_attempt_id: `${id.attemptId}_${taskId}_${st.index}_${attemptNum}`,
      task_attempt_num: attemptNum,
      task_id: taskId,
      task_name: st.vertex,
    };
    const m = st.metrics;
    const r = m.rates();
    out.push(p('taskmanager_job_task_numRecordsIn', tags, { count: m.numRecordsIn }, now, COUNT));
    out.push(p('taskmanager_job_task_numRecordsOut', tags, { count: m.numRecordsOut }, now, COUNT));
    out.push(p('taskmanager_job_task_numRecordsInPerSecond', tags, { count: m.numRecordsIn, rate: r.inPerSecond }, now, COUNT));
    out.push(p('taskmanager_job_task_numRecordsOutPerSecond', tags, { count: m.numRecordsOut, rate: r.outPerSecond }, now, COUNT));
    out.push(p('taskmanager_job_task_busyTimeMsPerSecond', tags, { value: r.busyMsPerSecond }, now));
    out.push(p('taskmanager_job_task_backPressuredTimeMsPerSecond', tags, { value: Math.round(r.backPressuredMsPerSecond) }, now, INT));
    out.push(p('taskmanager_job_task_idleTimeMsPerSecond', tags, { value: Math.round(r.idleMsPerSecond) }, now, INT));
    out.push(p('taskmanager_job_task_isBackPressured', tags, { value: r.backPressuredMsPerSecond > 100 ? 'true' : 'false' }, now));
    out.push(p('taskmanager_job_task_Shuffle_Netty_Input_Buffers_inPoolUsage', tags, { value: st.inputUsage() }, now));
    out.push(p('taskmanager_job_task_Shuffle_Netty_Output_Buffers_outPoolUsage', tags, { value: st.outputUsage() }, now));
    out.push(p('taskmanager_job_task_checkpointAlignmentTime', tags, { value: m.lastAlignmentNanos }, now, INT));
    out.push(p('taskmanager_job_task_checkpointStartDelayNanos', tags, { value: m.lastStartDelayNanos }, now, INT));
    if (Number.isFinite(m.currentInputWatermark) && m.currentInputWatermark < Number.MAX_SAFE_INTEGER) {
      out.push(p('taskmanager_job_task_currentInputWatermark', tags, { value: Math.round(m.currentInputWatermark) }, now, INT));
    }
    const op = { ...tags, operator_id: taskId, operator_name: st.vertex };
    if (m.pendingRecords !== undefined) out.push(p('taskmanager_job_task_operator_pendingRecords', op, { value: m.pendingRecords }, now, INT));
    if (m.lastSourceRecordAt !== undefined) out.push(p('taskmanager_job_task_operator_sourceIdleTime', op, { value: Math.max(0, now - m.lastSourceRecordAt) }, now, INT));
    if (m.lateRecordsDropped > 0) out.push(p('taskmanager_job_task_operator_numLateRecordsDropped', op, { count: m.lateRecordsDropped }, now, COUNT));
    if (m.kafkaOffsets) {
      for (const k of m.kafkaOffsets.values()) {
        const kt = { ...op, topic: k.topic, partition: String(k.partition) };
        out.push(p('taskmanager_job_task_operator_KafkaSourceReader_topic_partition_currentOffset', kt, { value: k.current }, now, INT));
        out.push(p('taskmanager_job_task_operator_KafkaSourceReader_topic_partition_committedOffset', kt, { value: k.committed }, now, INT));
      }
    }
    if (m.keyGroupRecords) {
      const kgs = m.keyGroupRecords;
      for (let kg = st.ctx.keyGroupRange.start; kg <= st.ctx.keyGroupRange.end; kg++) {
        const c = kgs[kg]!;
        if (c > 0) out.push(p('taskmanager_job_task_streamtune_keyGroupRecords', { ...tags, key_group: String(kg) }, { count: c }, now, COUNT));
      }
    }
  }
  const mem = process.memoryUsage();
  const heap = getHeapStatistics();
  out.push(p('taskmanager_Status_JVM_Memory_Heap_Used', tm, { value: mem.heapUsed }, now, INT));
  out.push(p('taskmanager_Status_JVM_Memory_Heap_Committed', tm, { value: mem.heapTotal }, now, INT));
  out.push(p('taskmanager_Status_JVM_Memory_Heap_Max', tm, { value: heap.heap_size_limit }, now, INT));
  out.push(p('taskmanager_Status_JVM_GarbageCollector_All_Count', tm, { value: proc.gcCount }, now, INT));
  out.push(p('taskmanager_Status_JVM_GarbageCollector_All_Time', tm, { value: Math.round(proc.gcTimeMs) }, now, INT));
  out.push(p('taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond', tm, { count: Math.round(proc.gcTimeMs), rate: proc.gcTimeMsPerSecond() }, now, COUNT));
  out.push(p('taskmanager_Status_NodeJS_EventLoop_Delay', tm, { value: proc.eventLoopDelayMs() }, now));
  for (const w of id.workers ?? []) {
    if (!w.stats) continue;
    const t = { host: id.host, tm_id: w.tmId };
    const x = w.stats;
    out.push(p('taskmanager_Status_JVM_Memory_Heap_Used', t, { value: x.heapUsed }, now, INT));
    out.push(p('taskmanager_Status_JVM_Memory_Heap_Committed', t, { value: x.heapCommitted }, now, INT));
    out.push(p('taskmanager_Status_JVM_Memory_Heap_Max', t, { value: x.heapMax }, now, INT));
    out.push(p('taskmanager_Status_JVM_GarbageCollector_All_Count', t, { value: x.gcCount }, now, INT));
    out.push(p('taskmanager_Status_JVM_GarbageCollector_All_Time', t, { value: Math.round(x.gcTimeMs) }, now, INT));
    out.push(p('taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond', t, { count: Math.round(x.gcTimeMs), rate: x.gcTimeMsPerSecond }, now, COUNT));
    out.push(p('taskmanager_Status_NodeJS_EventLoop_Delay', t, { value: x.eventLoopDelayMs }, now));
  }
  return out;
}

