import type { Config } from '../config.js';
import { insertUser, oneTimePassword } from './operators.js';
import type { ManagementDeps } from './management-deps.js';
import { appendAudit } from './audit.js';
import { anyUser, firstActiveAdminEmail } from '../store/users.js';

/** Who to sign in as, for the start-up banner; the password only when it was just generated. */
export interface FirstAdmin {
  email: string;
  oneTimePassword: string | null;
}

/**
 * The first admin: from KOPITRA_ADMIN_EMAIL / KOPITRA_ADMIN_PASSWORD, else with a one-time
 * password that only the start-up banner shows (never logged), to be changed after signing in.
 * With operators already there it creates nothing and names the longest-standing active admin.
 */
export async function ensureFirstAdmin(deps: ManagementDeps, config: Config): Promise<FirstAdmin> {
  const existing = async () => {
    const email = await firstActiveAdminEmail(deps.db);
    return { email: email ?? '(no active admin)', oneTimePassword: null };
  };
  if (await anyUser(deps.db)) return existing();
  const email = config.adminEmail ?? 'admin@kopitra.local';
  const password = config.adminPassword ?? oneTimePassword();
  let user;
  try {
    user = await insertUser(
      deps.db,
      { email, displayName: 'Administrator', role: 'admin', password },
      deps.clock.now(),
    );
  } catch (err) {
    // Management replicas started together: another one created the first admin first.
    if (await anyUser(deps.db)) return existing();
    throw err;
  }
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
  return { email, oneTimePassword: config.adminPassword ? null : password };
}
