/** Paths of the test fixtures (`test/fixtures/`); where each came from is in `test/fixtures/flink/README.md`. */
import { fileURLToPath } from 'node:url';

/** Lines as Flink's InfluxDB reporter writes them (line protocol, ns timestamps). */
export const FLINK_REPORTER_SAMPLE = fileURLToPath(new URL('../fixtures/flink/influxdb-reporter-sample.lp', import.meta.url));
