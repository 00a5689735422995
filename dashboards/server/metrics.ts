/**
 * The server's own metrics in Prometheus text format (`GET /metrics`, prom-client): HTTP request
 * counts and latency by route, collector health, jobs by state, open diagnoses, open incidents,
 * operations by state,
 * logged-in sessions, plus prom-client's process metrics. Each app has its own registry (tests run
 * several apps in one process). Gauges of the control plane are read at scrape time.
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type ControlPlane, isOpenDiagnosis } from '../../control-plane/index.ts';
import { JOB_STATES } from '../../platform/index.ts';
import { OPERATION_STATES } from '../../tuner/index.ts';

/** Metrics of one app. */
export interface ServerMetrics {
  registry: Registry;
  /** Counts and times every request (label `route` = the matched route pattern, 'unmatched' else). */
  middleware: RequestHandler;
  /** `GET /metrics`. */
  handler: RequestHandler;
  /** Counts one request answered outside the middleware (dashboards/server/fast-reads.ts): method, route label, status, seconds. */
  observe(method: string, route: string, status: number, seconds: number): void;
}


/**
 * Creates the registry and metrics.
 * @param sessions number of logged-in sessions now
 */
export function createServerMetrics(cp: ControlPlane, sessions: () => number = () => 0): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'streamtune_process_' });
  const requests = new Counter({ name: 'streamtune_http_requests_total', help: 'HTTP requests served', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'streamtune_http_request_duration_seconds', help: 'HTTP request latency, s', labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const health = cp.collector.health.bind(cp.collector);
  const collectorGauge = (name: string, help: string, pick: (h: ReturnType<typeof health>) => number | null) =>
    new Gauge({
      name, help, registers: [registry],
      collect() {
        const v = pick(health());
        if (v !== null) this.set(v);
      },
    });
  collectorGauge('streamtune_collector_points_written', 'points the store acknowledged since start', (h) => h.pointsWritten);
  collectorGauge('streamtune_collector_points_buffered', 'points waiting in the collector buffer', (h) => h.pointsBuffered);
  collectorGauge('streamtune_collector_points_dropped', 'points dropped since start', (h) => h.pointsDropped);
  collectorGauge('streamtune_collector_points_rejected', 'malformed points refused since start', (h) => h.pointsRejected);
  collectorGauge('streamtune_collector_write_errors', 'failed store writes since start', (h) => h.writeErrors);
  collectorGauge('streamtune_collector_logs_written', 'log events the store acknowledged since start', (h) => h.logsWritten);
  collectorGauge('streamtune_collector_last_successful_write_seconds', 'time of the last successful store write, s since epoch', (h) => (h.lastSuccessfulWrite === null ? null : h.lastSuccessfulWrite / 1000));
  new Gauge({
    name: 'streamtune_jobs', help: 'jobs known to the control plane, by state', labelNames: ['state'], registers: [registry],
    collect() {
      // every state is reported (0 when none), so dashboards see every series
      const counts = new Map<string, number>(JOB_STATES.map((s) => [s, 0]));
      for (const j of cp.jobs.list()) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'streamtune_open_diagnoses', help: 'diagnoses of the last 24 h with trouble and a recommendation still open', registers: [registry],
    collect() {
      const now = cp.now();
      this.set(cp.diagnoses.list({ from: now - 86_400_000, limit: 10_000 }).filter((d) => isOpenDiagnosis(cp, d)).length);
    },
  });
  new Gauge({
    name: 'streamtune_open_incidents', help: 'incidents not resolved yet (one per job problem), by root-cause kind', labelNames: ['kind'], registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const i of cp.incidents.openIncidents()) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
      this.set({ kind: 'all' }, [...counts.values()].reduce((a, b) => a + b, 0));
      for (const [kind, n] of counts) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'streamtune_operations', help: 'tuner operations in the journal, by state (UNVERIFIED, INEFFECTIVE, ROLLED_BACK and FAILED need a look)', labelNames: ['state'], registers: [registry],
    collect() {
      const counts = new Map<string, number>(OPERATION_STATES.map((s) => [s, 0]));
      for (const o of cp.tuner.operations({ limit: 100_000 })) counts.set(o.state, (counts.get(o.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'streamtune_rules_generation', help: 'valid rule sets in force since start (1 + successful reloads)', registers: [registry],
    collect() {
      this.set(cp.rules.generation());
    },
  });
  new Gauge({
    name: 'streamtune_sessions', help: 'logged-in dashboard sessions', registers: [registry],
    collect() {
      this.set(sessions());
    },
  });

  const observe = (method: string, route: string, status: number, seconds: number): void => {
    requests.inc({ method, route, status: String(status) });
    latency.observe({ method, route }, seconds);
  };
  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path !== undefined ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      observe(req.method, route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
  const handler: RequestHandler = async (_req, res) => {
    const text = await registry.metrics();
    res.type(registry.contentType).send(text);
  };
  return { registry, middleware, handler, observe };
}
