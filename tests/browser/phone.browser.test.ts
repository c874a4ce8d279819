/**
 * The console on a phone (390×844) and on a desk (1440×900): every page of the console's
 * route table — read from routes.tsx, so a page added later is visited too — fits the screen
 * without horizontal scrolling, the navigation opens as a drawer from the menu button, and
 * Sign out is reachable from it and works. Forms and dialogs fit as well.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT, type Spawned } from '../e2e/support.js';
import { seedCopying, stopSims, type Seeded } from './seed.js';
import {
  adminApi,
  chromiumProblem,
  servicesRequired,
  signIn,
  stopServer,
  waitFor,
  startSuite,
} from './support.js';

const ADMIN = { email: 'admin@phone.local', password: 'admin-password-phone-0123' };
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1440, height: 900 };

/** Every page path of the console's route table, in declaration order. */
function consoleRoutes(): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'packages/console/src/app/routes.tsx'), 'utf8');
  const paths = [...source.matchAll(/<Route\b[^>]*?\b(index|path="([^"]*)")/g)].map((m) =>
    m[1] === 'index' ? '/' : `/${m[2]!.replace(/^\//, '')}`,
  );
  return paths.filter((p) => p !== '/*' && p !== '/login');
}

const problem = chromiumProblem();
if (problem && !servicesRequired) console.warn(`skipping browser suite: ${problem}`);

describe.skipIf(problem !== null && !servicesRequired)('the console on a phone and a desk', () => {
  let server: Spawned;
  let browser: Browser;
  let seeded: Seeded;
  const pageErrors: string[] = [];
  /** Values for the route parameters the route table uses; a new parameter must be added here. */
  let params: Record<string, string> = {};

  beforeAll(async () => {
    [server, browser] = await startSuite(problem, ADMIN);
    const api = await adminApi(server.url, ADMIN);
    seeded = await seedCopying(server.url, api, { master: 'M-PHONE', follower: 'F-PHONE', trades: 6 });
    params = { accountId: seeded.follower, groupId: seeded.groupId };
  });

  afterAll(async () => {
    await browser?.close();
    await stopServer(server);
    await stopSims(seeded);
  });

  const fill = (route: string) =>
    route.replace(/:(\w+)/g, (_, name: string) => {
      const value = params[name];
      if (!value) throw new Error(`no test value for the route parameter :${name} of ${route}`);
      return encodeURIComponent(value);
    });

  const newPage = async (viewport: { width: number; height: number }, mobile: boolean) => {
    const context: BrowserContext = await browser.newContext({
      viewport,
      isMobile: mobile,
      hasTouch: mobile,
      deviceScaleFactor: mobile ? 2 : 1,
      // The drawer slides in unless the reader asked for less motion; measuring wants it still.
      reducedMotion: 'reduce',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    return page;
  };

  /** Page width beyond the screen, in CSS pixels (0 when the page fits). */
  const overflow = (page: Page) =>
    page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

  /** Waits until the page has its heading and nothing is still loading. */
  const settled = async (page: Page) => {
    await waitFor(page, 'main h1');
    // Locator waits: the console's CSP refuses the eval a string waitForFunction needs.
    await page.locator('main [role=status]', { hasText: 'Loading' }).first().waitFor({ state: 'detached' });
  };

  it('reads the pages from the route table', () => {
    const routes = consoleRoutes();
    expect(routes).toEqual(expect.arrayContaining(['/', '/sessions', '/accounts/:accountId', '/password']));
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  it('fits every page on a phone, with Sign out in the menu drawer', async () => {
    const page = await newPage(PHONE, true);
    await page.goto(`${server.url}/login`);
    await waitFor(page, 'form[aria-labelledby=login-title]');
    expect(await overflow(page), 'login page wider than the screen').toBeLessThanOrEqual(0);
    await signIn(page, ADMIN);
    await page.waitForURL(`${server.url}/`);

    const menu = page.getByRole('button', { name: 'Menu' });
    const drawer = page.getByTestId('main-menu');
    // Closed: the navigation is off-screen and takes no width from the page.
    expect(await drawer.isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);

    const wide: string[] = [];
    for (const route of consoleRoutes()) {
      const url = fill(route);
      await page.goto(`${server.url}${url}`);
      await settled(page);
      const extra = await overflow(page);
      if (extra > 0) wide.push(`${url}: ${extra} px too wide`);
    }
    expect(wide).toEqual([]);

    // The menu opens the drawer; a link there navigates and closes it.
    await page.goto(`${server.url}/`);
    await settled(page);
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    const box = await drawer.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= PHONE.width).toBe(true);
    await drawer.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.waitForURL(`${server.url}/orders`);
    await waitFor(page, '[data-testid=order-row]');
    expect(await drawer.isVisible()).toBe(false);
    // The orders table keeps its columns and scrolls inside the page, not the page itself.
    const table = page.getByTestId('orders-table');
    expect(
      await table.evaluate(
        (t: { scrollWidth: number; clientWidth: number }) => t.scrollWidth > t.clientWidth,
      ),
    ).toBe(true);
    expect(await overflow(page)).toBeLessThanOrEqual(0);

    // A form and a confirmation dialog fit the screen.
    await page.goto(`${server.url}/accounts`);
    await settled(page);
    await page.getByRole('button', { name: 'New account' }).click();
    await waitFor(page, '[data-testid=create-account-form]');
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await page.goto(`${server.url}${fill('/groups/:groupId')}`);
    await settled(page);
    await page.getByRole('button', { name: 'Pause group' }).click();
    const dialog = page.getByRole('dialog');
    const dialogBox = await dialog.boundingBox();
    expect(dialogBox && dialogBox.x >= 0 && dialogBox.x + dialogBox.width <= PHONE.width).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Sign out is in the drawer, visible once it is open, and signs out.
    await menu.click();
    const signOut = drawer.getByRole('button', { name: 'Sign out' });
    expect(await signOut.isVisible()).toBe(true);
    await signOut.click();
    await page.waitForURL(`${server.url}/login`);
    expect(await page.getByTestId('login-notice').textContent()).toContain('You signed out.');
    await page.context().close();
  });

  it('keeps the sidebar and the top bar on a desk, and fits every page there too', async () => {
    const page = await newPage(DESK, false);
    await page.goto(`${server.url}/login`);
    await signIn(page, ADMIN);
    await page.waitForURL(`${server.url}/`);
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
    const sidebar = await page.getByTestId('main-menu').boundingBox();
    expect(sidebar).toMatchObject({ x: 0, width: 200 });
    expect(await page.getByTestId('current-user').isVisible()).toBe(true);
    // One Sign out and one Password link: the drawer's copies are only for phones.
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Password' }).count()).toBe(1);
    const wide: string[] = [];
    for (const route of consoleRoutes()) {
      const url = fill(route);
      await page.goto(`${server.url}${url}`);
      await settled(page);
      const extra = await overflow(page);
      if (extra > 0) wide.push(`${url}: ${extra} px too wide`);
    }
    expect(wide).toEqual([]);
    await page.getByTestId('account-topbar').getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/login`);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
