import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '@kopitra/contracts';
import { insertAccount } from '../store/accounts.js';
import { dialects } from '../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { insertValidGroup, putValidSubscription } from './groups.js';

const code = async (p: Promise<unknown>) =>
  await p.then(
    () => 'ok',
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  );

describe.each(dialects)('copy group administration on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('validates masters, followers and settings before changing anything', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const now = p.clock.now();
    expect(await code(insertValidGroup(db, { name: 'g', masterAccountId: 'nobody' }, now))).toBe(
      'account_not_found',
    );
    await insertAccount(db, { accountId: 'M', registeredBy: 'operator' }, now);
    await insertAccount(db, { accountId: 'F', registeredBy: 'operator' }, now);
    const g = await insertValidGroup(db, { name: 'g', masterAccountId: 'M' }, now);
    expect(await code(putValidSubscription(db, g.group_id, 'M', {}, now))).toBe('follower_is_master');
    expect(await code(putValidSubscription(db, 'grp_missing', 'F', {}, now))).toBe('group_not_found');
    expect(await code(putValidSubscription(db, g.group_id, 'nobody', {}, now))).toBe('account_not_found');
    expect(
      await code(putValidSubscription(db, g.group_id, 'F', { sizing: { mode: 'fixed', lots: 0 } }, now)),
    ).toBe('invalid_request');
    expect(await code(putValidSubscription(db, g.group_id, 'F', { minVolume: 2, maxVolume: 1 }, now))).toBe(
      'invalid_request',
    );
    expect(await code(putValidSubscription(db, g.group_id, 'F', { unknownSetting: true }, now))).toBe(
      'invalid_request',
    );
    expect(await db.selectFrom('subscriptions').selectAll().execute()).toEqual([]);
    expect(
      await putValidSubscription(db, g.group_id, 'F', { sizing: { mode: 'multiplier', multiplier: 2 } }, now),
    ).toEqual({ sizing: { mode: 'multiplier', multiplier: 2 } });
    // Subscribing again replaces the settings; it never creates a second subscription.
    await putValidSubscription(db, g.group_id, 'F', { mode: 'close_only' }, now);
    const rows = await db.selectFrom('subscriptions').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.settings)).toEqual({ mode: 'close_only' });
  });
});
