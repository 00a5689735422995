/**
 * CI (and a fresh checkout): bring the servers the tests start into place before the tests run, so
 * that no test waits on a download or times out in one.
 * - Apache Kafka jars from Maven Central into the artifact cache (`cacheDir('maven/kafka-<v>')`,
 *   Maven's ~/.m2 below it): the default version the tests use and 3.9.1 for the Burrow tests.
 * - ZooKeeper and Burrow must be installed (Debian packages `zookeeper`, `burrow`): checked here.
 * Exits non-zero, naming what is missing, when something cannot be had.
 *
 * Usage: node --import tsx scripts/prefetch-servers.ts
 */
import { errorMessage } from '../core/errors.ts';
import { DEFAULT_KAFKA_VERSION, KAFKA_3_VERSION, ensureKafkaArtifacts } from '../platform/local/kafka.ts';
import { checkZooKeeperInstalled } from '../platform/local/zookeeper.ts';
import { checkBurrowInstalled } from '../test/helpers/burrow.ts';

const steps: Array<[string, () => Promise<string> | string]> = [
  ...[DEFAULT_KAFKA_VERSION, KAFKA_3_VERSION].map((v): [string, () => Promise<string>] => [
    `Kafka ${v} jars`,
    async () => {
      const jars = await ensureKafkaArtifacts(v);
      return `${jars.jars.length} jars in ${jars.libDir}`;
    },
  ]),
  ['ZooKeeper (Debian zookeeper)', () => { checkZooKeeperInstalled(); return 'installed'; }],
  ['Burrow (Debian burrow)', () => { checkBurrowInstalled(); return 'installed'; }],
];

let failed = false;
for (const [what, run] of steps) {
  const t0 = Date.now();
  try {
    const detail = await run();
    console.log(`prefetch: ${what}: ${detail} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed = true;
    console.error(`prefetch: ${what}: FAILED: ${errorMessage(err)}`);
  }
}
process.exit(failed ? 1 : 0);
