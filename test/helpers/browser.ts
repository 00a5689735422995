/**
 * A real Chromium for dashboard tests, through playwright-core (docs/TEST-SERVERS.md, Chromium): the
 * system browser at /usr/bin/chromium, headless, with a new empty `--user-data-dir` per launch.
 * Screenshots go to `test-artifacts/<test name>/NN-<step>.png` (kept as test artifacts, ignored by git).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './wait.ts';

/** Chromium's path on these machines (apt package `chromium`). */
export const CHROMIUM_PATH = process.env.STREAMTUNE_CHROMIUM ?? '/usr/bin/chromium';

/** The flags docs/TEST-SERVERS.md gives. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A launched browser with one page, and a screenshot helper. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Directory of this test's screenshots. */
  artifactsDir: string;
  /** Saves a full-page PNG `NN-<step>.png`; returns its path. */
  screenshot(step: string): Promise<string>;
  /** Console errors and page errors seen so far (a CSP violation shows up here). */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile. Fails (never skips) when Chromium is missing.
 * @param name test name, used for the artifacts folder (sanitised)
 */
export async function launchBrowser(name: string, opts: { baseURL?: string } = {}): Promise<TestBrowser> {
  const profile = tempDir('streamtune-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 1000 },
    baseURL: opts.baseURL,
    timeout: 120_000,
  });
  context.setDefaultTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  const artifactsDir = join(process.cwd(), 'test-artifacts', name.replace(/[^A-Za-z0-9_-]+/g, '-'));
  mkdirSync(artifactsDir, { recursive: true });
  let n = 0;
  return {
    context,
    page,
    artifactsDir,
    errors,
    async screenshot(step) {
      const file = join(artifactsDir, `${String(++n).padStart(2, '0')}-${step.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
