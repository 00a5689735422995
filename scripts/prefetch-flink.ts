/**
 * Fetches what the real-Flink tests need before they run, so they never download within their time
 * budget: the Flink distribution (PyPI sdist → the artifact cache) and the flight-delays job jar
 * (Maven dependencies → ~/.m2, the jar → the artifact cache). CI: `node --import tsx scripts/prefetch-flink.ts`.
 */
import { createLogger } from '../core/logger.ts';
import { prefetchFlink } from '../platform/local/flink-job.ts';

const started = Date.now();
const r = await prefetchFlink({ logger: createLogger({ level: 'info' }) });
process.stdout.write(`flink distribution: ${r.flinkHome}\nflight-delays job jar: ${r.jobJar}\n(${Date.now() - started} ms)\n`);
