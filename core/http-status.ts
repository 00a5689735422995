/**
 * The one table of HTTP statuses and whether retrying the same request can help, shared by every
 * HTTP client of streamtune (Flink's REST API, InfluxDB, webhooks). First matching row wins. Status
 * 0 stands for "no HTTP response" (connection refused or reset, DNS failure, timeout). As data, in
 * the spirit of kafkajs' broker error table.
 */

/** One row of {@link HTTP_STATUSES}. */
export interface HttpStatusRule {
  /** inclusive status range */
  from: number;
  to: number;
  retriable: boolean;
  /** what it usually means */
  meaning: string;
}

/** HTTP status → retriable, first match wins. */
export const HTTP_STATUSES: readonly HttpStatusRule[] = [
  { from: 0, to: 0, retriable: true, meaning: 'no response: the server is unreachable, restarting or too slow' },
  { from: 401, to: 403, retriable: false, meaning: 'not authorised' },
  { from: 404, to: 404, retriable: false, meaning: 'unknown resource (job, vertex, jar, trigger id, database)' },
  { from: 408, to: 408, retriable: true, meaning: 'request timeout' },
  { from: 409, to: 409, retriable: false, meaning: 'conflict: the resource is in the wrong state' },
  { from: 425, to: 425, retriable: true, meaning: 'too early' },
  { from: 429, to: 429, retriable: true, meaning: 'too many requests' },
  { from: 400, to: 499, retriable: false, meaning: 'client error: the request is wrong and stays wrong' },
  { from: 501, to: 501, retriable: false, meaning: 'not implemented' },
  { from: 505, to: 505, retriable: false, meaning: 'HTTP version not supported' },
  { from: 500, to: 599, retriable: true, meaning: 'server error (a leader change, overload, a restart)' },
];

/** The row of {@link HTTP_STATUSES} for a status, undefined for statuses below 400 other than 0. */
export function httpStatusRule(status: number): HttpStatusRule | undefined {
  return HTTP_STATUSES.find((r) => status >= r.from && status <= r.to);
}

/** Whether a request that got `status` (0 = no response) can succeed when retried. */
export function isRetriableHttpStatus(status: number): boolean {
  return httpStatusRule(status)?.retriable ?? false;
}
