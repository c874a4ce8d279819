import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { dialects } from '../testing/databases.js';
import { ensureFirstAdmin } from './first-admin.js';

describe.each(dialects)('the first admin on %s', (dialect) => {
  let t: TestPlatform | null = null;
  afterEach(async () => {
    await t?.close();
    t = null;
  });

  it('is created once when management replicas start together', async (ctx) => {
    t = await startTestPlatform(dialect);
    if (!t) return ctx.skip();
    const { management } = t.platform;
    // A fresh database: no operator yet (the platform's own start made one; take it away).
    await management.db.deleteFrom('users').execute();
    await management.db.deleteFrom('audit_log').execute();
    const config = { ...t.config, adminEmail: 'first@replicas.local', adminPassword: undefined };

    const [a, b, c] = await Promise.all([
      ensureFirstAdmin(management, config),
      ensureFirstAdmin(management, config),
      ensureFirstAdmin(management, config),
    ]);
    const users = await management.db.selectFrom('users').select(['email', 'role']).execute();
    expect(users).toEqual([{ email: 'first@replicas.local', role: 'admin' }]);
    // Exactly one start made it, and only that one may show a one-time password.
    expect([a, b, c].map((r) => r.email)).toEqual(Array(3).fill('first@replicas.local'));
    expect([a, b, c].filter((r) => r.oneTimePassword !== null)).toHaveLength(1);
    const created = await management.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'user.create')
      .execute();
    expect(created).toHaveLength(1);
  });
});
