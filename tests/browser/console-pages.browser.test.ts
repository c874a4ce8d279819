/**
 * The console pages for what the API had and the console lacked: operators (admin only),
 * webhooks with a secret shown once and an admin-only delivery log, a manual order to a live
 * session behind a confirmation naming the account and the volume, per-account and
 * per-group analytics charts with axes and tooltips, and the followers' copies of the
 * master's pending orders on the positions page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SimFollower, SimMaster } from '@kopitra/ea-sdk';
import type { Spawned } from '../e2e/support.js';
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

const ADMIN = { email: 'admin@pages.local', password: 'admin-password-pages-0123' };
const problem = chromiumProblem();
if (problem && !servicesRequired) console.warn(`skipping browser suite: ${problem}`);

describe.skipIf(problem !== null && !servicesRequired)(
  'console pages for operators, webhooks, manual orders and analytics',
  () => {
    let server: Spawned;
    let browser: Browser;
    let admin: Page;
    let viewerContext: BrowserContext | undefined;
    let api: Awaited<ReturnType<typeof adminApi>>;
    let seeded: Seeded;
    let receiver: http.Server;
    const received: string[] = [];
    const pageErrors: string[] = [];
    let viewer = { email: 'ops@pages.local', password: '' };

    const nav = (page: Page, name: string) =>
      page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    const login = (who: { email: string; password: string }) =>
      fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(who),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { token?: string } }));

    beforeAll(async () => {
      receiver = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push(body);
          res.statusCode = 503;
          res.end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      [server, browser] = await startSuite(problem, ADMIN, { KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' });
      api = await adminApi(server.url, ADMIN);
      seeded = await seedCopying(server.url, api, { master: 'M-PG', follower: 'F-PG', trades: 6 });
      admin = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      admin.setDefaultTimeout(10_000);
      admin.on('pageerror', (err) => pageErrors.push(err.message));
      await admin.goto(`${server.url}/login`);
      await signIn(admin, ADMIN);
      await admin.waitForURL(`${server.url}/`);
    });

    afterAll(async () => {
      await viewerContext?.close();
      await browser?.close();
      await stopServer(server);
      await stopSims(seeded);
      await new Promise((r) => receiver?.close(r));
    });

    it('lets an admin invite an operator, change the role and reset the password', async () => {
      await nav(admin, 'Operators');
      const form = admin.getByTestId('invite-form');
      await form.getByLabel('Email').fill(viewer.email);
      await form.getByLabel('Role').selectOption('operator');
      await form.getByRole('button', { name: 'Invite' }).click();
      await waitFor(admin, '[data-testid=one-time-password-panel]');
      const first = await admin.getByTestId('one-time-password').inputValue();
      expect(first).toMatch(/^[A-Za-z0-9]{16}$/);
      expect((await login({ email: viewer.email, password: first })).status).toBe(200);
      await admin.getByRole('button', { name: 'I have handed it over' }).click();
      expect(await admin.content()).not.toContain(first);

      const row = admin.locator(`[data-testid=operator-row][data-email="${viewer.email}"]`);
      await row.getByLabel(`Role of ${viewer.email}`).selectOption('viewer');
      await expect
        .poll(
          async () =>
            (await api('GET', '/api/admin/users')).body.items.find(
              (u: { email: string }) => u.email === viewer.email,
            )?.role,
        )
        .toBe('viewer');

      await row.getByRole('button', { name: 'Reset password' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Reset password' }).click();
      await waitFor(admin, '[data-testid=one-time-password-panel]');
      const second = await admin.getByTestId('one-time-password').inputValue();
      expect(second).not.toBe(first);
      expect((await login({ email: viewer.email, password: first })).status).toBe(401);
      expect((await login({ email: viewer.email, password: second })).status).toBe(200);
      viewer = { ...viewer, password: second };
      await admin.getByRole('button', { name: 'I have handed it over' }).click();

      const audit = await api('GET', '/api/admin/audit?action=user.password_reset');
      expect(audit.body.items).toEqual([expect.objectContaining({ actor: ADMIN.email })]);
    });

    it('keeps the operator directory from viewers, in the nav and in the API', async () => {
      viewerContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await viewerContext.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${server.url}/login`);
      await signIn(page, viewer);
      await page.waitForURL(`${server.url}/`);
      await waitFor(page, 'nav[aria-label=Main] a');
      const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
      expect(links).toContain('Webhooks');
      expect(links).not.toContain('Operators');
      await page.goto(`${server.url}/operators`);
      await waitFor(page, 'text=The operator directory is for admins.');
      expect(await page.getByTestId('operators-table').count()).toBe(0);
      const token = (await login(viewer)).body.token!;
      const users = await fetch(`${server.url}/api/admin/users`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(users.status).toBe(403);
    });

    it('registers a webhook with its secret shown once, and shows admins its delivery log', async () => {
      await nav(admin, 'Webhooks');
      const form = admin.getByTestId('webhook-form');
      await form.getByLabel('URL').fill('ftp://example.com/hook');
      await form.getByRole('button', { name: 'Register' }).click();
      await waitFor(admin, '[data-testid=webhook-form] [data-testid=error-notice]');
      expect(await admin.getByTestId('webhook-card').count()).toBe(0);

      const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      await form.getByLabel('URL').fill(hookUrl);
      await form.getByLabel('signal.accepted').check();
      await form.getByRole('button', { name: 'Register' }).click();
      await waitFor(admin, '[data-testid=webhook-secret-panel]');
      const secret = await admin.getByTestId('webhook-secret').inputValue();
      expect(secret).toMatch(/^whsec_/);
      await admin.getByRole('button', { name: 'I have stored the secret' }).click();
      await admin.reload();
      const card = admin.getByTestId('webhook-card');
      await waitFor(admin, '[data-testid=webhook-card]');
      expect(await admin.content()).not.toContain(secret);
      expect(await card.getByTestId('webhook-status').textContent()).toContain('active');

      // A master trade reaches the receiver, which answers 503: the log shows the attempt and the retry.
      const master = seeded.sims.find((s) => s.constructor.name === 'SimMaster') as {
        run(o: object): Promise<number>;
      };
      await master.run({ trades: 1, intervalMs: 40 });
      await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThan(0);
      await card.getByRole('button', { name: 'Deliveries' }).click();
      await expect
        .poll(async () => {
          await admin.getByRole('button', { name: 'Hide deliveries' }).click();
          await card.getByRole('button', { name: 'Deliveries' }).click();
          return card.getByTestId('delivery-row').count();
        })
        .toBeGreaterThan(0);
      const first = card.getByTestId('delivery-row').first();
      expect(await first.getAttribute('data-status')).toBe('pending');
      const cells = await first.locator('td').allTextContents();
      expect(cells[1]).toBe('signal.accepted');
      expect(cells[4]).toBe('503');
      expect(cells[5]).not.toBe('—');
      expect(cells[6]).toContain('HTTP 503');

      // Viewers see the webhook but not its deliveries: the console offers none and the API refuses.
      const page = viewerContext!.pages()[0]!;
      await nav(page, 'Webhooks');
      await waitFor(page, '[data-testid=webhook-card]');
      expect(await page.getByRole('button', { name: 'Deliveries' }).count()).toBe(0);
      expect(await page.getByTestId('webhook-form').count()).toBe(0);
      const webhookId = await card.getAttribute('data-webhook-id');
      const token = (await login(viewer)).body.token!;
      const refused = await fetch(`${server.url}/api/admin/webhooks/${webhookId}/deliveries`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(refused.status).toBe(403);

      await card.getByRole('button', { name: 'Disable' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
      await expect.poll(() => card.getByTestId('webhook-status').textContent()).toContain('disabled');
      await card.getByRole('button', { name: 'Enable' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Enable' }).click();
      await expect.poll(() => card.getByTestId('webhook-status').textContent()).toContain('active');
      await card.getByRole('button', { name: 'Delete' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await waitFor(admin, 'text=No webhooks registered.');
      const actions = (await api('GET', `/api/admin/audit?targetId=${webhookId}`)).body.items.map(
        (e: { action: string }) => e.action,
      );
      expect(actions).toEqual(
        expect.arrayContaining(['webhook.create', 'webhook.disable', 'webhook.enable', 'webhook.delete']),
      );
    });

    it('sends a manual order after a confirmation naming the account and the volume', async () => {
      await admin.goto(`${server.url}/accounts/${seeded.follower}`);
      const form = admin.getByTestId('manual-order-form');
      await waitFor(admin, '[data-testid=manual-order-form]');
      await form.getByLabel('Symbol').fill('EURUSD');
      await form.getByLabel('Side').selectOption('sell');
      await form.getByLabel('Volume (lots)').fill('0');
      await form.getByRole('button', { name: 'Review order' }).click();
      let dialog = admin.getByRole('dialog');
      await dialog.getByRole('button', { name: 'Send order' }).click();
      // The API's refusal, in words, in the dialog; nothing is queued.
      await waitFor(admin, 'dialog [data-testid=error-notice]');
      expect(await dialog.getByTestId('error-notice').textContent()).toMatch(/volume/i);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect((await api('GET', '/api/admin/manual-orders')).body.items).toEqual([]);

      await form.getByLabel('Volume (lots)').fill('0.37');
      await form.getByLabel('Stop loss').fill('1.5');
      await form.getByRole('button', { name: 'Review order' }).click();
      dialog = admin.getByRole('dialog');
      const title = await dialog.getByRole('heading').textContent();
      expect(title).toContain(seeded.follower);
      expect(title).toContain('0.37 lots');
      expect(title).toContain('EURUSD');
      await dialog.getByRole('button', { name: 'Send order' }).click();
      await waitFor(admin, '[data-testid=manual-order-queued]');
      await waitFor(admin, '[data-testid=manual-order-row][data-status=filled]', 15_000);
      const row = await admin.getByTestId('manual-order-row').first().locator('td').allTextContents();
      expect(row.join(' ')).toContain('sell EURUSD');
      expect(row.join(' ')).toContain('0.37');

      await nav(admin, 'Orders');
      await waitFor(admin, '[data-testid=manual-order-row][data-status=filled]');
      const audit = await api('GET', '/api/admin/audit?action=order.manual');
      expect(audit.body.items).toEqual([expect.objectContaining({ actor: ADMIN.email })]);
    });

    it('disables an operator, who can no longer sign in, and enables them again', async () => {
      await nav(admin, 'Operators');
      const row = admin.locator(`[data-testid=operator-row][data-email="${viewer.email}"]`);
      await row.getByRole('button', { name: 'Disable' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
      await expect.poll(() => row.locator('td').nth(2).textContent()).toContain('disabled');
      expect((await login(viewer)).status).toBe(401);
      await row.getByRole('button', { name: 'Enable' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Enable' }).click();
      await expect.poll(() => row.locator('td').nth(2).textContent()).toContain('active');
      expect((await login(viewer)).status).toBe(200);
    });

    it('charts latency per hop, slippage and PnL per account and per group, with axes and tooltips', async () => {
      await admin.goto(`${server.url}/accounts/${seeded.follower}`);
      await admin.locator('main').getByRole('link', { name: 'Analytics' }).click();
      await admin.waitForURL(/\/analytics\?accountId=F-PG/);
      for (const id of ['latency-hops-chart', 'slippage-chart', 'pnl-chart'])
        await waitFor(admin, `[data-testid=${id}] svg`);
      const hops = admin.getByTestId('latency-hops-chart');
      expect(await hops.locator('path.line').count()).toBe(4);
      // Axes: value labels and time labels.
      const labels = await hops.locator('text.axis').allTextContents();
      expect(labels.some((l) => /ms|s$/.test(l))).toBe(true);
      expect(labels.some((l) => /^\d\d:\d\d$/.test(l))).toBe(true);
      // Pointing at the chart shows a tooltip for the bucket under the pointer.
      const box = (await hops.locator('svg').boundingBox())!;
      await admin.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const tooltip = hops.getByTestId('chart-tooltip');
      await tooltip.waitFor();
      // Focusing it (keyboard) shows the current hour, which holds the seeded copies.
      await admin.mouse.move(0, 0);
      await hops.locator('svg').focus();
      await tooltip.waitFor();
      const text = await tooltip.textContent();
      expect(text).toContain('signal → delivery');
      expect(text).toContain('ack → execution');
      expect(text).toMatch(/\d+ ms/);
      expect(
        Number(
          await admin
            .getByTestId('analytics-facts')
            .locator('dd')
            .first()
            .textContent()
            .then((t) => t!.split(' ')[0]),
        ),
      ).toBeGreaterThan(0);

      await admin.getByLabel('Window').selectOption('168');
      await admin.waitForURL(/hours=168/);
      await expect
        .poll(() => hops.locator('text.axis').allTextContents())
        .not.toContainEqual(expect.stringMatching(/^\d\d:\d\d$/));

      await admin.goto(`${server.url}/groups/${seeded.groupId}`);
      await admin.locator('main').getByRole('link', { name: 'Analytics' }).click();
      await waitFor(admin, '[data-testid=pnl-chart] svg');
      expect(await admin.getByRole('heading', { level: 1 }).textContent()).toContain(seeded.groupId);

      await admin.goto(`${server.url}/analytics?accountId=NOPE`);
      await waitFor(admin, '[data-testid=error-notice]');
      expect(await admin.getByTestId('error-notice').textContent()).toContain('account_not_found');
      expect(pageErrors).toEqual([]);
    });

    it("shows the followers' copies of the master's pending orders on the positions page, live", async () => {
      const master = seeded.sims.find((x): x is SimMaster => x instanceof SimMaster)!;
      const follower = seeded.sims.find((x): x is SimFollower => x instanceof SimFollower)!;
      const ask = master.feed.quote('EURUSD').ask;
      const order = {
        masterOrderId: '990001',
        symbol: 'EURUSD',
        side: 'buy' as const,
        orderType: 'limit' as const,
        volume: 0.1,
        price: Number((ask - 0.01).toFixed(5)),
        sl: Number((ask - 0.02).toFixed(5)),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      };
      const signal = (type: 'order.placed' | 'order.cancelled') =>
        master.client.signal({
          type,
          signalId: `ui-${type}`,
          ...order,
          occurredAt: new Date().toISOString(),
        });
      await signal('order.placed');
      await expect.poll(() => follower.account.orders.size).toBe(1);
      const ticket = [...follower.account.orders.keys()][0]!;

      await nav(admin, 'Positions');
      const row = admin.locator('[data-testid=pending-order-row]', { hasText: '#990001' });
      await row.waitFor({ state: 'visible' });
      const text = await row.textContent();
      for (const part of ['buy', 'limit', order.price.toFixed(5), ticket, 'waiting for its price'])
        expect(text).toContain(part);
      expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('pending');

      // Cancelled on the master: the copy is deleted on the follower's book and the row says so, live.
      await signal('order.cancelled');
      await expect.poll(() => follower.account.orders.size).toBe(0);
      await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('cancelled');
      await admin.getByLabel('Order status').selectOption('pending');
      await admin.waitForURL(/orderStatus=pending/);
      await waitFor(admin, 'text=No pending orders match.');
      expect(pageErrors).toEqual([]);
    });
  },
);
