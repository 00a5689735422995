/**
 * The dashboard pages, in process: a ControlPlane over the real embedded store and the real diagnosis
 * store, with a small in-memory job catalog and tuner (the pieces the pages only read), served by
 * express with the pages router. Checks status codes, the content of each page, 404s for unknown ids,
 * the chart JSON, the static assets (uPlot from node_modules) and that no secret is rendered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { createPagesRouter, changeText, vertexColor } from '../dashboards/server/pages/index.ts';
import { grafanaDashboard, influxQlMeasurements } from '../dashboards/grafana.ts';
import { createApiRouter } from '../dashboards/server/api.ts';
import type { JobSummary } from '../control-plane/read-model.ts';
import { JOB_ID, SECRET, fixtureControlPlane, serveFixture } from './helpers/pages-fixture.ts';

let served: { base: string; close(): Promise<void> };
let base: string;
let cp: ControlPlane;

before(async () => {
  process.env.STREAMTUNE_API_TOKEN = SECRET;
  cp = await fixtureControlPlane();
  served = await serveFixture((app) => app.use('/', createPagesRouter(cp, { baseUrl: 'http://127.0.0.1' })));
  base = served.base;
});

after(async () => {
  await served.close();
  await cp.close();
});

async function get(path: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(base + path);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

describe('pages', () => {
  test('overview lists the job with lag status, lag, throughput, open incident and last operation', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(r.type, /text\/html/);
    assert.match(r.text, /href="\/jobs\/a{32}"/);
    assert.match(r.text, /data-lag-status="(WARN|ERR)"/, 'growing lag is not OK');
    assert.match(r.text, /14,000/, 'total lag 1000+24*400 + 1000+24*100 = 14,000 records');
    assert.match(r.text, /≥ 14</, 'lag seconds, a lower bound');
    assert.match(r.text, /1,500/, 'throughput 1,500 records/s');
    assert.match(r.text, /href="\/diagnoses\/diag-1"/);
    assert.match(r.text, /href="\/incidents\/inc-1">1 open — under-provisioned \(enrich\), 1 diagnosis</, 'the open incident, not diagnoses');
    assert.match(r.text, /href="\/operations\/op-1"/);
    assert.match(r.text, /<meta name="csrf-token" content="csrf-token-for-this-session">/);
  });

  test('job page: charts container, job graph with parallelism and colours, skew bars, checkpoints, exceptions', async () => {
    const r = await get(`/jobs/${JOB_ID}`);
    assert.equal(r.status, 200);
    assert.match(r.text, /data-charts-url="\/jobs\/a{32}\/charts.json"/);
    assert.match(r.text, /<g class="vertex" data-vertex="enrich" data-parallelism="2" data-busy="695" data-backpressured="0">/);
    assert.match(r.text, /data-vertex="flights" data-parallelism="1" data-busy="100" data-backpressured="850"/);
    assert.match(r.text, /parallelism 2/);
    assert.match(r.text, /max\/mean records in 1\.60.*skewed/s);
    assert.match(r.text, /data-subtask="0" data-value="144000"/);
    assert.match(r.text, /\/data\/savepoints\/sp-1/);
    assert.match(r.text, /<dt>Completed<\/dt><dd>7<\/dd>/);
    assert.match(r.text, /LookupTimeoutError/);
    assert.match(r.text, /lookup timed out for key LAX/);
    assert.match(r.text, /<tr data-incident-id="inc-1"><td><a class="incident-link" href="\/incidents\/inc-1">/, 'the job\'s incidents');
    assert.doesNotMatch(r.text, /style=/, 'no inline style attributes (CSP)');
    assert.doesNotMatch(r.text, /<script>|<script [^>]*>[^<]/, 'no inline script');
  });

  test('chart JSON: total and per-partition lag and throughput with points', async () => {
    const res = await fetch(`${base}/jobs/${JOB_ID}/charts.json?range=5m`);
    assert.equal(res.status, 200);
    const c = (await res.json()) as { range: string; lag: { t: number[]; total: Array<number | null>; partitions: Array<{ label: string }> }; throughput: { values: Array<number | null> } };
    assert.equal(c.range, '5m');
    assert.equal(c.lag.t.length, 25);
    assert.equal(c.lag.total.at(-1), 14_000);
    assert.deepEqual(c.lag.partitions.map((p) => p.label), ['flights/0', 'flights/1']);
    assert.ok(c.throughput.values.some((v) => v !== null && Math.abs(v - 1500) < 1), `throughput ${JSON.stringify(c.throughput.values)}`);
    assert.equal((await fetch(`${base}/jobs/nope/charts.json`)).status, 404);
  });

  test('diagnosis page: findings with evidence (escaped), root cause with confidence, recommendation with Apply', async () => {
    const r = await get('/diagnoses/diag-1');
    assert.equal(r.status, 200);
    assert.match(r.text, /Root cause: under-provisioned in <code>enrich<\/code>/);
    assert.match(r.text, /Confidence 87%/);
    assert.match(r.text, /enrich is the bottleneck/);
    assert.match(r.text, /data-evidence="\{&quot;t&quot;:\[/, 'evidence series as a chart');
    assert.match(r.text, /&lt;img src(=|&#x3D;)x onerror(=|&#x3D;)alert\(1\)&gt;/);
    assert.doesNotMatch(r.text, /<img src=x/);
    assert.match(r.text, /<table class="evidence-table"><thead><tr><th>topic<\/th><th>partition<\/th><th>status<\/th><th>lag<\/th><\/tr><\/thead><tbody><tr><td>flights<\/td><td>0<\/td><td>WARN<\/td><td>10,600<\/td>/);
    assert.match(r.text, /data-apply="rec-1" data-change="enrich: parallelism 2 → 6"/);
    assert.match(r.text, /data-dismiss="rec-1"/);
    assert.match(r.text, /throughputRecordsPerSecond<\/dt><dd>9,000/);
  });

  test('operations list and detail: steps, downtime, verification', async () => {
    const list = await get('/operations');
    assert.equal(list.status, 200);
    assert.match(list.text, /data-op-id="op-1"/);
    assert.match(list.text, /enrich: parallelism 1 → 2/);
    assert.match(list.text, /1 s/);
    assert.match(list.text, /effective/);
    const one = await get('/operations/op-1');
    assert.equal(one.status, 200);
    assert.match(one.text, /data-state="SUCCEEDED"/);
    assert.match(one.text, /<td>savepoint<\/td><td>succeeded<\/td>/);
    assert.match(one.text, /Verification: effective/);
    assert.match(one.text, /throughput 1,500 → 2,950 records\/s/);
    const json = (await (await fetch(`${base}/operations/op-1.json`)).json()) as { state: string; steps: unknown[] };
    assert.equal(json.state, 'SUCCEEDED');
    assert.equal(json.steps.length, 3);
  });

  test('incidents list and page: the open incident with its timeline (opened, the report decided and sent, op-1 applied and ended)', async () => {
    const list = await get('/incidents');
    assert.equal(list.status, 200);
    assert.match(list.text, /<tr data-incident-id="inc-1" data-state="open">/);
    assert.match(list.text, /<td>under-provisioned at enrich<\/td>/);
    assert.doesNotMatch((await get('/incidents?state=resolved')).text, /data-incident-id=/);
    const one = await get('/incidents/inc-1');
    assert.equal(one.status, 200);
    assert.deepEqual([...one.text.matchAll(/data-event="([a-z]+)"/g)].map((m) => m[1]), ['opened', 'notification', 'notification', 'operation', 'operation']);
    assert.match(one.text, /href="\/diagnoses\/diag-1"/);
    assert.match(one.text, /href="\/operations\/op-1"/);
    assert.doesNotMatch(one.text, /style=/, 'no inline style attributes (CSP)');
  });

  test('unknown ids get the 404 page', async () => {
    for (const p of ['/jobs/ffff', '/diagnoses/nope', '/operations/nope', '/incidents/nope']) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.match(r.text, /id="not-found"/);
    }
    assert.equal((await fetch(`${base}/operations/nope.json`)).status, 404);
  });

  test('login page carries the CSRF token and posts to /login', async () => {
    const r = await get('/login?error=1&next=/jobs/x');
    assert.equal(r.status, 200);
    assert.match(r.text, /<form method="post" action="\/login"/);
    assert.match(r.text, /name="_csrf" value="csrf-token-for-this-session"/);
    assert.match(r.text, /name="next" value="\/jobs\/x"/);
    assert.match(r.text, /not accepted/);
    const evil = await get('/login?next=//evil.example');
    assert.match(evil.text, /name="next" value="\/"/);
  });

  test('assets: uPlot from node_modules, CSS and client JS', async () => {
    const u = await get('/assets/uplot/uPlot.iife.min.js');
    assert.equal(u.status, 200);
    assert.match(u.text, /uPlot/);
    assert.equal((await get('/assets/uplot/uPlot.min.css')).status, 200);
    assert.equal((await get('/assets/css/streamtune.css')).status, 200);
    const js = await get('/assets/js/app.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /javascript/);
  });

  test('no page renders the API token', async () => {
    for (const p of ['/', `/jobs/${JOB_ID}`, '/diagnoses/diag-1', '/operations', '/operations/op-1', '/login', '/jobs/nope']) {
      const r = await get(p);
      assert.ok(!r.text.includes(SECRET), `${p} renders the API token`);
    }
  });

  test('helpers: change text and vertex colours', () => {
    assert.equal(changeText({ type: 'set-parallelism', vertex: { id: 'enrich', name: 'enrich' }, from: 1, to: 4 }), 'enrich: parallelism 1 → 4');
    assert.equal(changeText({ type: 'set-checkpointing', interval: 30_000, unaligned: true }), 'checkpointing: interval 30 s, unaligned');
    assert.notEqual(vertexColor(990, 0), vertexColor(0, 900));
    assert.equal(vertexColor(undefined, undefined), '#e8e8e8');
  });
});

describe('Grafana dashboard', () => {
  const documented = new Set([...readFileSync(new URL('../docs/METRICS.md', import.meta.url), 'utf8').matchAll(/`([A-Za-z0-9_:-]+)`/g)].map((m) => m[1]!));

  test('is valid JSON with a datasource input and a group variable', () => {
    const raw = readFileSync(new URL('../dashboards/grafana/streamtune-lag.json', import.meta.url), 'utf8');
    const d = JSON.parse(raw) as { templating: { list: Array<{ name: string; type: string }> } };
    const vars = d.templating.list.map((v) => `${v.name}:${v.type}`);
    assert.ok(vars.includes('datasource:datasource'), vars.join());
    assert.ok(vars.includes('group:query'), vars.join());
  });

  test('every panel query reads measurements that docs/METRICS.md lists, through ${datasource}, filtered by $group', () => {
    const d = grafanaDashboard();
    assert.ok(d.panels.length >= 4);
    const seen = new Set<string>();
    for (const p of d.panels) {
      assert.ok(p.targets.length > 0, p.title);
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      for (const t of p.targets) {
        const ms = influxQlMeasurements(t.query);
        assert.ok(ms.length > 0, `${p.title}: ${t.query}`);
        for (const m of ms) {
          assert.ok(documented.has(m), `${p.title}: ${m} is not in docs/METRICS.md`);
          seen.add(m);
        }
        assert.match(t.query, /"group" =~ \/\^\$group\$\//, `${p.title} ${t.refId}`);
        assert.match(t.query, /\$timeFilter/);
      }
    }
    for (const m of ['streamtune_kafka_group_totalLag', 'streamtune_kafka_partition_lag', 'streamtune_kafka_group_maxLagSeconds']) assert.ok(seen.has(m), m);
    assert.ok(!documented.has('streamtune_kafka_no_such'), 'the check can fail');
  });

  test('is downloadable from the dashboard', async () => {
    const res = await fetch(`${base}/grafana/streamtune-lag.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="?streamtune-lag.json"?/);
    const d = (await res.json()) as { uid: string };
    assert.equal(d.uid, 'streamtune-lag');
  });
});

describe('the page and the API show the same numbers', () => {
  test('overview: lag status, lag records and seconds, throughput and open incidents of every job', async () => {
    const api = await serveFixture((app) => app.use('/api/v1', createApiRouter(cp)));
    try {
      const { jobs } = (await (await fetch(`${api.base}/api/v1/jobs`)).json()) as { jobs: JobSummary[] };
      assert.ok(jobs.length > 0);
      const page = await get('/');
      for (const j of jobs) {
        const row = new RegExp(`<tr data-job-id="${j.job_id}" data-lag-status="([A-Z]+)">([\\s\\S]*?)</tr>`).exec(page.text);
        assert.ok(row, `the overview page has a row for ${j.job_id}`);
        const cells = [...row[2]!.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1]);
        const fmt = (v: number | null, digits = 0) => (v === null ? '–' : new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v));
        assert.equal(row[1], j.lag.status, 'lag status');
        assert.deepEqual(cells, [fmt(j.lag.records), `${j.lag.secondsLowerBound ? '≥ ' : ''}${fmt(j.lag.seconds, 1)}`, fmt(j.throughput)], 'lag records, lag seconds (≥ when a lower bound), throughput');
        assert.match(row[2]!, new RegExp(j.openIncidents ? `>${j.openIncidents} open — ${j.latestIncident!.kind}` : '>none<'), 'open incidents');
      }
      // and the job page shows the same lag as the API's job summary
      const one = (await (await fetch(`${api.base}/api/v1/jobs/${JOB_ID}`)).json()) as { summary: JobSummary };
      const jobPage = await get(`/jobs/${JOB_ID}`);
      assert.match(jobPage.text, new RegExp(`id="lag-status">${one.summary.lag.status}<`));
      assert.ok(jobPage.text.includes(`${new Intl.NumberFormat('en-US').format(one.summary.lag.records!)} records · `), 'job page lag records');
    } finally {
      await api.close();
    }
  });
});
