import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { insertUser } from './operators.js';
import type { ManagementDeps } from './management-deps.js';
import { appendAudit } from './audit.js';

/**
 * The first admin: from KOPITRA_ADMIN_EMAIL / KOPITRA_ADMIN_PASSWORD, else with a one-time
 * password printed once on the console (never logged) to be changed after signing in.
 */
export async function ensureFirstAdmin(
  deps: ManagementDeps,
  config: Config,
  print: (line: string) => void = (l) => console.log(l),
): Promise<void> {
  const any = await deps.db.selectFrom('users').select('user_id').limit(1).executeTakeFirst();
  if (any) return;
  const email = config.adminEmail ?? 'admin@kopitra.local';
  const password = config.adminPassword ?? randomBytes(12).toString('base64url');
  const user = await insertUser(
    deps.db,
    { email, displayName: 'Administrator', role: 'admin', password },
    deps.clock.now(),
  );
  await appendAudit(
    deps.db,
    {
      actor: 'system',
      action: 'user.create',
      targetType: 'user',
      targetId: user.user_id,
      after: { email, role: 'admin' },
    },
    deps.clock.now(),
  );
  if (!config.adminPassword) {
    print(
      `\n  First admin created: ${email}\n  One-time password:   ${password}\n  Sign in and change it (PATCH /api/admin/users/${user.user_id}).\n`,
    );
  }
}
