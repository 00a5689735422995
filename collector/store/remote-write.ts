/**
 * Prometheus remote write 1.0 request bodies: a `prometheus.WriteRequest` protobuf
 * (prometheus/prompb `remote.proto` and `types.proto`: `WriteRequest{repeated TimeSeries timeseries = 1}`,
 * `TimeSeries{repeated Label labels = 1; repeated Sample samples = 2}`, `Label{string name = 1;
 * string value = 2}`, `Sample{double value = 1; int64 timestamp = 2}`), snappy-compressed. Sent as
 * `POST /api/v1/write` with `Content-Encoding: snappy`, `Content-Type: application/x-protobuf` and
 * `X-Prometheus-Remote-Write-Version: 0.1.0`; Prometheus accepts it with
 * `--web.enable-remote-write-receiver` (2.33+), VictoriaMetrics always.
 *
 * The protobuf is encoded by hand (five messages, three wire types) rather than through a protobuf
 * library: nothing else in streamtune speaks protobuf.
 */
import { prometheusMetricName, prometheusSanitize, type MetricPoint } from '../../core/index.ts';
import { toNumeric } from './aggregate.ts';
import { snappyCompress } from './snappy.ts';

/** One series of a write request: labels (with `__name__`) and samples sorted by time (ms). */
export interface RemoteSeries {
  labels: Record<string, string>;
  samples: Array<{ t: number; v: number }>;
}

/**
 * The remote-write series of metric points: one metric per numeric field (names by
 * {@link prometheusMetricName}; a meter's count and string fields other than "true"/"false" are not
 * written), tags as labels with their values as they are (not filtered; empty values left out, as
 * Prometheus drops them), samples of a series sorted by time; of two samples with the same time the
 * last written wins.
 */
export function toRemoteSeries(points: readonly MetricPoint[]): RemoteSeries[] {
  const bySeries = new Map<string, RemoteSeries>();
  for (const p of points) {
    for (const [field, raw] of Object.entries(p.fields)) {
      const v = toNumeric(raw);
      if (v === null) continue;
      if (field === 'count' && 'rate' in p.fields) continue; // a meter: Flink exports its rate only
      const name = prometheusMetricName(p.measurement, field);
      if (!name) continue;
      const labels: Record<string, string> = { __name__: name };
      for (const [k, val] of Object.entries(p.tags)) if (val !== '') labels[prometheusSanitize(k)] = val;
      const key = JSON.stringify(Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
      let s = bySeries.get(key);
      if (!s) bySeries.set(key, (s = { labels, samples: [] }));
      s.samples.push({ t: p.timestamp, v });
    }
  }
  const out = [...bySeries.values()];
  for (const s of out) {
    s.samples.sort((a, b) => a.t - b.t);
    // equal timestamps: keep the last one written (Prometheus refuses duplicates in one request)
    s.samples = s.samples.filter((x, i, arr) => i === arr.length - 1 || arr[i + 1]!.t !== x.t);
  }
  return out;
}

class Writer {
  private buf = new Uint8Array(1024);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.len++] = n;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  double(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setFloat64(0, v, true);
    this.len += 8;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const utf8 = new TextEncoder();

/** A length-delimited field: tag, length, body. */
function field(w: Writer, no: number, body: Uint8Array): void {
  w.byte((no << 3) | 2);
  w.varint(body.length);
  w.bytes(body);
}

/** The protobuf `WriteRequest` of `series` (labels sorted by name, as Prometheus requires). Timestamps must be >= 0. */
export function encodeWriteRequest(series: readonly RemoteSeries[]): Uint8Array {
  const req = new Writer();
  for (const s of series) {
    const ts = new Writer();
    for (const [name, value] of Object.entries(s.labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const l = new Writer();
      field(l, 1, utf8.encode(name));
      field(l, 2, utf8.encode(value));
      field(ts, 1, l.result());
    }
    for (const x of s.samples) {
      const sm = new Writer();
      sm.byte((1 << 3) | 1);
      sm.double(x.v);
      sm.byte((2 << 3) | 0);
      sm.varint(Math.max(0, Math.round(x.t)));
      field(ts, 2, sm.result());
    }
    field(req, 1, ts.result());
  }
  return req.result();
}

/** The snappy-compressed body of a remote write request. */
export function remoteWriteBody(series: readonly RemoteSeries[]): Uint8Array {
  return snappyCompress(encodeWriteRequest(series));
}

/** Headers of a remote write 1.0 request. */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};
