/**
 * Real Chromium (Debian's package) driven by playwright-core. When it is absent the browser
 * suite skips with a message — unless KOPITRA_REQUIRE_SERVICES=1 (CI), where that is a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { servicesRequired, tempDir } from '../../packages/server/src/testing/databases.js';
import { ROOT, spawnKopitra, type Spawned } from '../e2e/support.js';

export const CHROMIUM = process.env['KOPITRA_CHROMIUM'] ?? '/usr/bin/chromium';
export { servicesRequired };

/** null when the browser suite can run, else why it cannot. */
export function chromiumProblem(): string | null {
  return fs.existsSync(CHROMIUM)
    ? null
    : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set KOPITRA_CHROMIUM)`;
}

export function consoleBuilt(): boolean {
  return fs.existsSync(path.join(ROOT, 'packages/console/dist/index.html'));
}

/**
 * A suite's set-up: the whole platform on a fresh data directory with `admin` as its first
 * operator, and Chromium, started together. A missing browser (`problem`) or console build
 * is a broken run, not a skip.
 */
export function startSuite(
  problem: string | null,
  admin: { email: string; password: string },
  env: Record<string, string> = {},
): Promise<[Spawned, Browser]> {
  if (problem) throw new Error(`${problem}; KOPITRA_REQUIRE_SERVICES=1 makes this a failure`);
  if (!consoleBuilt())
    throw new Error('packages/console/dist is missing: run `npm run build` before the browser suite');
  return Promise.all([
    spawnKopitra(['up'], {
      KOPITRA_DATA_DIR: tempDir(),
      KOPITRA_ADMIN_EMAIL: admin.email,
      KOPITRA_ADMIN_PASSWORD: admin.password,
      KOPITRA_BUS_POLL_MS: '50',
      ...env,
    }),
    launchChromium(),
  ]);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Collects Content-Security-Policy violations on `page`, from the `securitypolicyviolation`
 * event and from Chromium's console reports; the browser suites fail when any occurs.
 */
export async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|CSP violation/i.test(text)) violations.push(text);
  });
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));`,
  });
  return violations;
}

/** Waits until `selector` matches a visible element (the page updates itself; no reloads). */
export async function waitFor(page: Page, selector: string, timeout = 10_000): Promise<void> {
  await page.locator(selector).first().waitFor({ state: 'visible', timeout });
}

/** Fills the login form and submits it. */
export async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Signs in over the API and returns a caller that sends the operator's token. */
export async function adminApi(url: string, who: { email: string; password: string }) {
  const call = async (method: string, route: string, body?: unknown, token?: string): Promise<ApiAnswer> => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  const login = await call('POST', '/api/auth/login', who);
  if (login.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(login.body)}`);
  const token = login.body.token as string;
  return (method: string, route: string, body?: unknown) => call(method, route, body, token);
}

/** SIGTERM, then SIGKILL when the server has not stopped within 10 s. */
export async function stopServer(server: Spawned | undefined): Promise<void> {
  if (!server) return;
  const stopped = await Promise.race([
    server.kill('SIGTERM').then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  if (!stopped) {
    console.warn('kopitra did not stop within 10 s of SIGTERM; killing it');
    server.child.kill('SIGKILL');
  }
}
