/**
 * Operator actions that must reach the API. Tasks that touch followers' books: confirming "Pause a group" or "Close a follower's copied
 * positions" in the console must reach the API — the run is recorded, the group is paused and
 * the audit log says who did it. (Closing the dialog without a request once let an operator
 * believe positions were closed.)
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Spawned } from '../e2e/support.js';
import {
  adminApi,
  chromiumProblem,
  servicesRequired,
  signIn,
  stopServer,
  waitFor,
  watchCsp,
  startSuite,
} from './support.js';

const ADMIN = { email: 'admin@tasks.local', password: 'admin-password-tasks-0123' };
const problem = chromiumProblem();
if (problem && !servicesRequired) console.warn(`skipping browser suite: ${problem}`);

describe.skipIf(problem !== null && !servicesRequired)('tasks in Chromium', () => {
  let server: Spawned;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[] = [];
  let api: Awaited<ReturnType<typeof adminApi>>;
  let groupId = '';

  beforeAll(async () => {
    [server, browser] = await startSuite(problem, ADMIN);
    api = await adminApi(server.url, ADMIN);
    for (const accountId of ['M-T', 'F-T'])
      expect((await api('POST', '/api/admin/accounts', { accountId, platform: 'MT5' })).status).toBe(201);
    const group = await api('POST', '/api/admin/groups', { name: 'Tasks group', masterAccountId: 'M-T' });
    groupId = group.body.groupId;
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    cspViolations = await watchCsp(page);
    page.setDefaultTimeout(10_000);
    await page.goto(`${server.url}/login`);
    await signIn(page, ADMIN);
    await page.waitForURL(`${server.url}/`);
  });

  // The console runs under the server's Content-Security-Policy: any violation fails the test.
  afterEach(() => {
    expect(cspViolations).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await stopServer(server);
  });

  const runConfirmed = async (taskId: string, fill: Record<string, string>) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    const card = page.getByTestId(`task-${taskId}`);
    for (const [name, value] of Object.entries(fill)) await card.locator(`[name=${name}]`).fill(value);
    await card.getByRole('button', { name: 'Run' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Run task' }).click();
    await waitFor(page, `[data-testid=task-run-row][data-task-id=${taskId}][data-status=completed]`);
    expect(await dialog.count()).toBe(0);
  };

  it('pauses a group after the confirmation, with an audit row', async () => {
    await runConfirmed('pause-group', { groupId });
    expect((await api('GET', `/api/admin/groups/${groupId}`)).body.status).toBe('paused');
    const audit = await api('GET', `/api/admin/audit?targetId=${groupId}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('group.pause');
  });

  it("queues the close of a follower's copied positions after the confirmation", async () => {
    await runConfirmed('close-follower-positions', { accountId: 'F-T' });
    const runs = await api('GET', '/api/admin/tasks');
    const run = runs.body.recentRuns.find((r: { taskId: string }) => r.taskId === 'close-follower-positions');
    expect(run).toMatchObject({
      status: 'completed',
      requestedBy: ADMIN.email,
      params: { accountId: 'F-T' },
    });
    expect(run.result).toEqual({ closesQueued: 0 });
  });

  it('explains an audit export with empty dates in words, then downloads a finished export as a file', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    const card = page.getByTestId('task-export-audit');
    await card.getByRole('button', { name: 'Run' }).click();
    await waitFor(page, '[data-testid=task-export-audit] [data-testid=error-notice]');
    expect(await card.getByTestId('error-message').textContent()).toBe(
      'Export the audit log: Enter the start date and time (from). Enter the end date and time (to).',
    );
    expect(await card.locator('.error-code').textContent()).toBe('invalid_task_params');

    await card.locator('[name=from]').fill('2020-01-01T00:00:00');
    await card.locator('[name=to]').fill('2099-01-01T00:00:00');
    await card.locator('[name=format]').selectOption('csv');
    await card.getByRole('button', { name: 'Run' }).click();
    const row = '[data-testid=task-run-row][data-task-id=export-audit][data-status=completed]';
    await waitFor(page, row);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`${row} [data-testid=download-report]`).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^run_.+-audit-20\d\d-\d\d-\d\d_2099-01-01\.csv$/);
    const saved = await download.path();
    const csv = fs.readFileSync(saved, 'utf8');
    expect(csv.split('\n')[0]).toBe('at,actor,action,target_type,target_id,before,after');
    expect(csv).toContain('group.pause');
    // The run shows the report, not the audit log inline.
    const runs = await api('GET', '/api/admin/tasks');
    const run = runs.body.recentRuns.find((r: { taskId: string }) => r.taskId === 'export-audit');
    expect(run.result.csv).toBeUndefined();
    expect(run.report).toMatchObject({
      contentType: 'text/csv; charset=utf-8',
      size: fs.statSync(saved).size,
    });
  });

  it("changes the signed-in operator's own password from the console", async () => {
    await page.getByRole('link', { name: 'Password' }).click();
    const form = page.getByTestId('password-form');
    await form.getByLabel('Current password').fill('not-the-password-0123');
    await form.getByLabel('New password', { exact: true }).fill('a-new-password-0123456');
    await form.getByLabel('Repeat the new password').fill('a-new-password-0123456');
    await form.getByRole('button', { name: 'Change password' }).click();
    await waitFor(page, '[data-testid=password-form] [data-testid=error-notice]');
    expect(await form.getByTestId('error-notice').textContent()).toContain('current_password_wrong');

    await form.getByLabel('Current password').fill(ADMIN.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    await waitFor(page, '[data-testid=password-changed]');
    const login = (password: string) =>
      fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: ADMIN.email, password }),
      }).then((r) => r.status);
    expect(await login(ADMIN.password)).toBe(401);
    expect(await login('a-new-password-0123456')).toBe(200);
    // This browser stays signed in.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    await waitFor(page, '[data-testid=task-resync-follower]');
  });
});
