/** Paths of the test fixtures (`test/fixtures/`); where each came from is in `test/fixtures/flink/README.md`. */
import { fileURLToPath } from 'node:url';

/**
 * Lines in the shape Flink's InfluxDB reporter writes, one per kind of metric streamtune reads, written by
 * hand from the reporter's rules (escaped task names, attempt tags, typed fields, ns timestamps): the
 * tests that check exact names, tags and values use it.
 */
export const FLINK_REPORTER_SAMPLE = fileURLToPath(new URL('../fixtures/flink/influxdb-reporter-handmade.lp', import.meta.url));

/** Lines a real Flink 1.20.3 InfluxDB reporter posted for the flight-delays job (docs/flink-fixtures.md). */
export const FLINK_REPORTER_CAPTURE = fileURLToPath(new URL('../fixtures/flink/influxdb-reporter-sample.lp', import.meta.url));
