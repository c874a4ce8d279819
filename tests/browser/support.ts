/**
 * Real Chromium (Debian's package) driven by playwright-core. When it is absent the browser
 * suite skips with a message — unless KOPITRA_REQUIRE_SERVICES=1 (CI), where that is a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { servicesRequired } from '../../packages/server/src/testing/databases.js';
import { ROOT } from '../e2e/support.js';

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

/** Waits until `selector` matches a visible element (the page updates itself; no reloads). */
export async function waitFor(page: Page, selector: string, timeout = 10_000): Promise<void> {
  await page.locator(selector).first().waitFor({ state: 'visible', timeout });
}
