/**
 * Rule folders for tests that run the whole control plane: the demo's consumer-lag alert
 * (jobs/demo-rules/) with a shorter `for`, so that a lagging job is diagnosed within seconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_JOB } from '../../control-plane/demo.ts';

/**
 * Creates `<parent>/rules/alerts.yaml` holding `lag.consumer-group`: summed partition lag of a
 * consumer group above 5,000 records over a 1 min window, for `forDuration` (e.g. '3s'). Returns
 * the rules folder, to lay over the built-in rules.
 */
export function writeLagAlertRules(parent: string, forDuration: string): string {
  const rulesDir = join(parent, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'alerts.yaml'),
    [
      'alerts:',
      '  - id: lag.consumer-group',
      '    metric: streamtune_kafka_partition_lag',
      '    field: value',
      '    groupBy: [group]',
      '    aggregate: sum',
      '    window: 1m',
      '    condition: "> 5000"',
      `    for: ${forDuration}`,
      '    severity: severe',
      '    help: The consumer group lags by more than 5,000 records; a diagnosis is started.',
      '',
    ].join('\n'),
  );
  return rulesDir;
}

/**
 * Config defaults (for `loadConfig({ defaults })`) of a control plane that runs the demo job and
 * diagnoses it within seconds: the lag alert of {@link writeLagAlertRules} under `parent` firing
 * after 4 s, collection and alert checks every 2 s, a 2 min diagnosis window at 2 s steps,
 * re-diagnosis every `rediagnose` (a duration, e.g. '10s'), the sweep only on 1 January.
 * `rest` adds further top-level sections (tuner, notify, ...).
 */
export function fastDemoDefaults(parent: string, rediagnose: string, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    rules: { dir: writeLagAlertRules(parent, '4s'), watch: false },
    jobs: [DEMO_JOB],
    collector: { intervalMs: '2s' },
    diagnoser: { windowMs: '2m', stepMs: '2s', rediagnoseMs: rediagnose, alertIntervalMs: '2s', sweepCron: '0 0 1 1 *' },
    ...rest,
  };
}
