/** The scheduled digest fires on its cron schedule (node-cron) and arrives by real SMTP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamtuneError } from '../core/errors.ts';
import { MemoryLogger } from '../core/logger.ts';
import { createNotificationService, DigestScheduler, type DigestData } from '../notify/index.ts';
import { startSmtp } from './helpers/smtp.ts';
import { waitFor } from './helpers/wait.ts';
import { laggingDiagnosis } from './helpers/diagnosis-fixtures.ts';

const BASE = 'http://127.0.0.1:8080';

function digestData(): DigestData {
  const end = Date.UTC(2024, 4, 2, 9, 0, 0);
  return {
    periodStart: end - 86_400_000,
    periodEnd: end,
    laggingJobs: [
      { job_id: 'a1b2c3d4e5f6', job_name: 'orders-enrichment <prod>', consumerGroup: 'orders-enrichment', lagStatus: 'ERR', maxLag: 120000, totalLag: 410000, since: end - 3_600_000 },
    ],
    diagnoses: [laggingDiagnosis()],
    operations: [
      {
        id: 'op-42',
        job_id: 'a1b2c3d4e5f6',
        job_name: 'orders-enrichment <prod>',
        status: 'succeeded',
        steps: [
          { name: 'savepoint', status: 'succeeded' },
          { name: 'restart', status: 'succeeded' },
          { name: 'verify', status: 'succeeded' },
        ],
        downtimeMs: 42_000,
        result: 'parallelism of enrich 2 → 4, lag 120000 → 0 records',
      },
    ],
  };
}

test('the digest fires on its cron schedule and arrives with lagging jobs, diagnoses and operations', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  let calls = 0;
  const svc = createNotificationService(
    {
      baseUrl: BASE,
      email: { smtpUrl: smtp.url, recipients: { default: ['platform@example.test'], digest: ['digest@example.test'] } },
      digest: { cron: '* * * * * *', timezone: 'UTC' },
    },
    {
      digestProvider: async () => {
        calls++;
        return digestData();
      },
    },
  );
  t.after(() => svc.stop({ timeoutMs: 0 }));
  assert.equal(calls, 0);
  assert.equal(smtp.messages.length, 0);

  svc.start();
  assert.ok(svc.digest?.nextRun() instanceof Date);
  const mail = await waitFor(() => smtp.messages[0], { what: 'digest mail', timeoutMs: 60_000 });
  await svc.stop();
  assert.ok(calls >= 1, 'the provider was called by the schedule');

  assert.deepEqual(mail.to, ['digest@example.test']);
  assert.match(mail.subject, /Digest .*1 lagging, 1 diagnoses, 1 operations/);
  for (const [part, body] of [['html', mail.html], ['text', mail.text]] as const) {
    assert.ok(body.includes('orders-enrichment'), `${part}: consumer group / job`);
    assert.ok(body.includes('ERR'), `${part}: lag status`);
    assert.ok(body.includes('120,000'), `${part}: max lag`);
    assert.ok(body.includes('under-provisioned'), `${part}: diagnosis root cause`);
    assert.ok(body.includes('Raise parallelism of enrich from 2 to 4'), `${part}: top recommendation`);
    assert.ok(body.includes('op-42'), `${part}: operation`);
    assert.ok(body.includes('42 s'), `${part}: downtime`);
    assert.ok(body.includes('savepoint succeeded'), `${part}: steps`);
    assert.ok(body.includes(`${BASE}/diagnoses/diag-1`), `${part}: diagnosis link`);
  }
  assert.ok(mail.html.includes('orders-enrichment &lt;prod&gt;'));
  assert.ok(!mail.html.includes('<prod>'));
});

test('an invalid cron expression or time zone is a configuration error; a failing provider is logged', async () => {
  const noop = (): void => undefined;
  const provider = async (): Promise<DigestData> => digestData();
  assert.throws(() => new DigestScheduler({ cron: 'every morning', provider, deliver: noop }), (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG');
  assert.throws(
    () => new DigestScheduler({ cron: '0 9 * * *', timezone: 'Mars/Olympus', provider, deliver: noop }),
    (e: unknown) => e instanceof StreamtuneError && e.code === 'INVALID_CONFIG' && e.details.field === 'digest.timezone',
  );
  const logger = new MemoryLogger();
  const delivered: unknown[] = [];
  const failing = new DigestScheduler({ cron: '0 9 * * *', provider: () => Promise.reject(new Error('store down')), deliver: (n) => delivered.push(n), logger });
  await failing.runNow();
  assert.equal(delivered.length, 0);
  assert.ok(logger.lines.some((l) => l.level === 'error' && String(l.meta.error).includes('store down')));
});
