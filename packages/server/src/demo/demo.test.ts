/**
 * `kopitra up --demo`: provisions on an empty database and copies within seconds over real
 * HTTP; a restart on the same database restarts the terminals on their saved books; a
 * database that already holds other accounts is left alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { startPlatform, type Platform } from '../runtime.js';
import { insertAccount } from '../store/accounts.js';
import { eventually } from '../testing/platform.js';
import { dropTarget, freshTarget, tempDir } from '../testing/databases.js';
import type { DatabaseTarget } from '../store/database.js';
import { DEMO_MASTER, startDemo, type Demo } from './demo.js';

const start = (target: DatabaseTarget, dataDir: string) =>
  startPlatform(
    loadConfig({
      PORT: '0',
      KOPITRA_HOST: '127.0.0.1',
      KOPITRA_DATA_DIR: dataDir,
      KOPITRA_BUS_POLL_MS: '50',
    }),
    {
      databaseTarget: target,
      consoleDir: null,
      logger: pino({ level: 'silent' }),
    },
  );

const filledOpens = async (p: Platform) =>
  (
    await p.database.db
      .selectFrom('copy_orders')
      .select('follower_account_id')
      .where('kind', '=', 'open')
      .where('status', '=', 'filled')
      .execute()
  ).map((o) => o.follower_account_id);

describe('the live demo', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('provisions a master and three followers that copy, then restarts on the same books', async () => {
    const target = (await freshTarget('sqlite'))!;
    const dataDir = tempDir();
    cleanup.push(() => dropTarget(target));
    let platform = await start(target, dataDir);
    const lines: string[] = [];
    let demo: Demo = await startDemo(platform, {
      dataDir,
      intervalMs: 60,
      print: (l) => lines.push(l),
    });
    cleanup.push(async () => {
      await demo.stop();
      await platform.stop();
    });
    expect(demo.provisioned).toBe(true);
    expect(demo.terminals).toHaveLength(4);
    expect(lines.join('\n')).toMatch(/accounts created/);
    const subs = await platform.database.db.selectFrom('subscriptions').selectAll().execute();
    expect(subs.map((s) => JSON.parse(s.settings).sizing.mode).sort()).toEqual([
      'equity_ratio',
      'mirror',
      'multiplier',
    ]);
    await eventually(async () => new Set(await filledOpens(platform)).size === 3, 15_000);
    const keys = await platform.database.db.selectFrom('account_keys').select(['status', 'origin']).execute();
    expect(keys).toHaveLength(4);
    expect(keys.every((k) => k.status === 'approved')).toBe(true);

    await demo.stop();
    await platform.stop();
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-books.json'), 'utf8')) as Record<
      string,
      { nextDeal: number }
    >;
    expect(Object.keys(saved).sort()).toEqual(['DEMO-EQ', 'DEMO-MASTER', 'DEMO-MIRROR', 'DEMO-X2']);

    platform = await start(target, dataDir);
    const before = (await filledOpens(platform)).length;
    lines.length = 0;
    demo = await startDemo(platform, { dataDir, intervalMs: 60, print: (l) => lines.push(l) });
    expect(demo.provisioned).toBe(false);
    expect(lines.join('\n')).toMatch(/restarted/);
    expect(await platform.database.db.selectFrom('accounts').select('account_id').execute()).toHaveLength(4);
    await eventually(async () => (await filledOpens(platform)).length > before + 3, 15_000);
    // The restarted master continued its deal numbering, so its deals were copied rather than
    // answered as repeats of the first run's.
    const deals = await platform.database.db
      .selectFrom('signals')
      .select('deal_ticket')
      .where('master_account_id', '=', DEMO_MASTER)
      .execute();
    expect(
      deals.filter((d) => d.deal_ticket !== null && Number(d.deal_ticket) >= saved[DEMO_MASTER]!.nextDeal)
        .length,
    ).toBeGreaterThan(0);
  });

  it('leaves a database that already has other accounts alone', async () => {
    const target = (await freshTarget('sqlite'))!;
    cleanup.push(() => dropTarget(target));
    const platform = await start(target, tempDir());
    cleanup.push(() => platform.stop());
    await insertAccount(platform.database.db, { accountId: 'REAL-1', registeredBy: 'operator' }, Date.now());
    const lines: string[] = [];
    const demo = await startDemo(platform, { print: (l) => lines.push(l) });
    expect(demo.terminals).toEqual([]);
    expect(lines.join('\n')).toMatch(/Demo skipped/);
    expect(await platform.database.db.selectFrom('accounts').select('account_id').execute()).toEqual([
      { account_id: 'REAL-1' },
    ]);
  });
});
