/**
 * Rule folders for tests that run the whole control plane: the demo's consumer-lag alert
 * (jobs/demo-rules/) with a shorter `for`, so that a lagging job is diagnosed within seconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
