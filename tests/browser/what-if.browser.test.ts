/**
 * The what-if page and external signals in a real browser: a master trades to a follower
 * through the SDK's simulated terminals; an admin makes the master take external signals from
 * its account page and a signal sent with the shown secret is accepted; the what-if page
 * replays the master's signals with proposed settings and draws both equity curves on one chart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Spawned } from '../e2e/support.js';
import { seedCopying, stopSims, type Seeded } from './seed.js';
import {
  adminApi,
  chromiumProblem,
  servicesRequired,
  signIn,
  startSuite,
  stopServer,
  waitFor,
  watchCsp,
} from './support.js';

const ADMIN = { email: 'admin@what-if.local', password: 'admin-password-what-if-0123' };
const problem = chromiumProblem();
if (problem && !servicesRequired) console.warn(`skipping browser suite: ${problem}`);

describe.skipIf(problem !== null && !servicesRequired)(
  'what-if replay and external signals in Chromium',
  () => {
    let server: Spawned;
    let browser: Browser;
    let page: Page;
    let seeded: Seeded | undefined;
    let cspViolations: string[] = [];

    beforeAll(async () => {
      [server, browser] = await startSuite(problem, ADMIN);
      const api = await adminApi(server.url, ADMIN);
      seeded = await seedCopying(server.url, api, { master: 'M-W', follower: 'F-W', trades: 6 });
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      cspViolations = await watchCsp(page);
      page.setDefaultTimeout(15_000);
      await page.goto(`${server.url}/login`);
      await signIn(page, ADMIN);
      await page.waitForURL(`${server.url}/`);
    });

    afterEach(() => {
      expect(cspViolations).toEqual([]);
    });

    afterAll(async () => {
      await stopSims(seeded);
      await browser?.close();
      await stopServer(server);
    });

    it('makes an account a virtual master and shows its secret once; a signal sent with it is copied', async () => {
      await page.goto(`${server.url}/accounts/M-W`);
      const card = page.getByTestId('signal-source-card');
      await card.getByTestId('signal-source-status').waitFor();
      await card.getByRole('button', { name: 'Take external signals' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Create secret' }).click();
      const secret = await page.getByTestId('signal-secret').inputValue();
      expect(secret).toMatch(/^[A-Za-z0-9]{40}$/);
      await expect
        .poll(() => card.getByTestId('signal-source-status').textContent())
        .toContain('Virtual master');
      const res = await fetch(`${server.url}/api/signals/M-W`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          secret,
          signalId: 'tv-browser-1',
          action: 'buy',
          symbol: 'EURUSD',
          volume: 0.1,
          price: 1.1,
        }),
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { copies: Array<{ followerAccountId: string }> };
      expect(body.copies.map((c) => c.followerAccountId)).toContain('F-W');
    });

    it('replays the master’s signals with proposed settings and draws both equity curves on one chart', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'What-if' }).click();
      await page.getByRole('heading', { name: 'What-if replay' }).waitFor();
      await page.getByTestId('what-if-group').selectOption({ label: 'Seeded group' });
      await expect
        .poll(() => page.getByTestId('what-if-follower').locator('option').count())
        .toBeGreaterThan(1);
      await page.getByTestId('what-if-follower').selectOption('F-W');
      // The settings start as the current ones.
      expect(JSON.parse(await page.getByTestId('what-if-settings').inputValue())).toMatchObject({
        symbolFilter: { exclude: ['GBPUSD'] },
      });
      await page
        .getByTestId('what-if-settings')
        .fill('{ "sizing": { "mode": "multiplier", "multiplier": 2 } }');
      await page.getByTestId('what-if-run').click();
      await waitFor(page, '[data-testid=task-progress][data-status=completed]', 30_000);
      const chart = page.getByTestId('what-if-chart');
      await chart.waitFor();
      expect(await chart.locator('path.series-1').count()).toBeGreaterThan(0);
      expect(await chart.locator('path.series-2').count()).toBeGreaterThan(0);
      const opens = async (side: string) =>
        Number(await page.getByTestId(`what-if-${side}-opens`).textContent());
      // The proposal copies GBPUSD too, so it opens at least as often as the current settings did.
      expect(await opens('current')).toBeGreaterThan(0);
      expect(await opens('proposed')).toBeGreaterThanOrEqual(await opens('current'));
      const proposedVolumes = await page
        .getByTestId('what-if-proposed-orders')
        .locator('[data-testid=what-if-order][data-action=open] td:nth-child(6)')
        .allTextContents();
      expect(proposedVolumes.length).toBe(await opens('proposed'));
    });
  },
);
