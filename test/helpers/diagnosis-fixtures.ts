/** Hand-built Diagnosis fixtures (diagnoser/types.ts) for notification tests. */
import type { Diagnosis } from '../../diagnoser/types.ts';

/** An under-provisioned job: lag WARN, backpressure at vertex `enrich`, recommendation 2 → 4. */
export function laggingDiagnosis(over: Partial<Diagnosis> = {}): Diagnosis {
  return {
    id: 'diag-1',
    job_id: 'a1b2c3d4e5f6',
    job_name: 'orders-enrichment <prod>',
    windowStart: Date.UTC(2024, 4, 1, 9, 0, 0),
    windowEnd: Date.UTC(2024, 4, 1, 9, 15, 0),
    createdAt: Date.UTC(2024, 4, 1, 9, 15, 5),
    trigger: { type: 'alert', alertId: 'alert-7', ruleId: 'lag.burrow' },
    lagStatus: 'WARN',
    findings: [
      {
        ruleId: 'lag.burrow',
        severity: 'severe',
        summary: 'consumer group orders-enrichment: lag grew at every commit on 4 of 4 partitions',
        help: 'The job reads slower than the topic is written.',
        evidence: { maxLag: 120000, totalLag: 410000, partitions: 4 },
      },
      {
        ruleId: 'backpressure.bottleneck',
        severity: 'moderate',
        summary: 'vertex enrich busy 950 ms/s, upstream backpressured 800 ms/s',
        help: 'Scale the bottleneck vertex.',
        vertex: 'enrich',
        evidence: { busyTimeMsPerSecond: 950, backPressuredTimeMsPerSecond: 800 },
      },
    ],
    rootCause: {
      kind: 'under-provisioned',
      vertex: 'enrich',
      confidence: 0.85,
      explanation: 'Vertex enrich is busy 95% of the time and its true rate 2600 rec/s is below the input rate 4100 rec/s.',
    },
    recommendations: [
      {
        id: 'rec-1',
        ruleId: 'scale.ds2',
        title: 'Raise parallelism of enrich from 2 to 4',
        rationale: 'target rate 4100 rec/s + catch-up 228 rec/s over true rate 1300 rec/s per subtask (DS2)',
        expected: { throughputRecordsPerSecond: 5200, catchUpMs: 1800000 },
        actions: [{ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 2, to: 4 }],
      },
    ],
    severity: 'severe',
    ...over,
  };
}

/** A healthy diagnosis of the same job: lag OK, root cause healthy. */
export function healthyDiagnosis(over: Partial<Diagnosis> = {}): Diagnosis {
  return laggingDiagnosis({
    id: 'diag-ok',
    lagStatus: 'OK',
    findings: [],
    rootCause: { kind: 'healthy', confidence: 0.95, explanation: 'Lag is back to 0 on every partition; busy time below 50%.' },
    recommendations: [],
    severity: 'none',
    ...over,
  });
}
