/**
 * `streamtune produce-flights --brokers HOST:PORT[,...] --topic T [--rate N] [--limit N] [--offset N]
 * [--key origin|round-robin] [--file PATH]`: writes the flights of flights-3m.parquet into a Kafka
 * topic in event-time order (record timestamp = the flight's date), for a real Flink job to read
 * (flink-jobs/flight-delays). Prints a JSON summary; SIGINT/SIGTERM stops between two sends.
 */
import { Command, InvalidArgumentError } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger, errorMessage } from '../core/index.ts';
import { produceFlights, type FlightKeying } from '../platform/index.ts';

interface ProduceOptions {
  brokers: string;
  topic: string;
  rate?: number;
  limit?: number;
  offset?: number;
  key: FlightKeying;
  file?: string;
}

function nonNegative(what: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0, got '${v}'`);
    return n;
  };
}

function count(what: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be an integer ≥ 0, got '${v}'`);
    return n;
  };
}

/** Builds the `produce-flights` command; `exit` receives the exit code. */
export function produceFlightsCommand(exit: (code: number) => void): Command {
  return new Command('produce-flights')
    .description('produce the flights of flights-3m.parquet into a Kafka topic in event-time order (JSON values, record timestamp = flight date)')
    .requiredOption('--brokers <list>', 'bootstrap brokers, HOST:PORT[,HOST:PORT...]')
    .option('--topic <name>', 'topic', 'flights')
    .option('--rate <records/s>', 'records per second (default: as fast as possible)', nonNegative('--rate'))
    .option('--limit <n>', 'rows to produce (default: all)', count('--limit'))
    .option('--offset <n>', 'rows to skip first, in event-time order', count('--offset'))
    .option('--key <keying>', "record key: 'origin' (one partition per airport) or 'round-robin' (unkeyed)", (v: string) => {
      if (v !== 'origin' && v !== 'round-robin') throw new InvalidArgumentError(`--key must be origin or round-robin, got '${v}'`);
      return v;
    }, 'origin')
    .option('--file <path>', 'parquet file (default: flights-3m.parquet of vega-datasets)')
    .action(async (o: ProduceOptions) => {
      exit(await run(o));
    });
}

async function run(o: ProduceOptions): Promise<number> {
  const logger = createLogger({ level: (process.env.STREAMTUNE_LOG_LEVEL as 'info') ?? 'warn' });
  const kafka = new Kafka({ clientId: 'streamtune-produce-flights', brokers: o.brokers.split(',').map((b) => b.trim()).filter(Boolean), logLevel: logLevel.ERROR });
  const producer = kafka.producer();
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await producer.connect();
    const r = await produceFlights({ producer, topic: o.topic, rate: o.rate, limit: o.limit, offset: o.offset, key: o.key, path: o.file, signal: abort.signal, logger });
    process.stdout.write(`${JSON.stringify({ topic: o.topic, ...r, firstTimestamp: new Date(r.firstTimestamp).toISOString(), lastTimestamp: new Date(r.lastTimestamp).toISOString() })}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect().catch(() => undefined);
  }
}
