/**
 * Public surface of dashboards/: the HTTP server (the `/api/v1` REST API, the HTML pages, `/metrics`),
 * its authentication, and the Grafana dashboard export. Everything it shows is read through the
 * control plane's read model.
 */
export { createApp, listen, type Listening, type AppOptions } from './server/app.ts';
export { createApiRouter, type ApiOptions } from './server/api.ts';
export { createAuth, ensureApiToken, type Auth } from './server/auth.ts';
export { grafanaDashboard, grafanaDashboardFile, grafanaPromDashboard, GRAFANA_DASHBOARDS, promQlMetrics, type GrafanaDashboardFile, type GrafanaPromDashboard, type GrafanaPromTarget } from './grafana.ts';
