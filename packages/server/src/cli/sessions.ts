/**
 * `kopitra sessions …`: operators without the console list terminals and approve or reject
 * them. Decisions are published on `ea-auth-approvals`, exactly as the console does, and every
 * running gateway applies them.
 */
import { topics, type AuthApproval, type AuthReject } from '@kopitra/contracts';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { systemClock, iso } from '../clock.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { migrate, openDatabase } from '../store/database.js';
import { getSession, listSessions } from '../store/sessions.js';
import { databaseTargetFor, openNotifier } from '../runtime.js';

export async function sessionsCommand(
  config: Config,
  args: string[],
  flags: { expiresAt?: string; reason?: string; by?: string; status?: string; json?: boolean },
): Promise<number> {
  const [action, sessionId] = args;
  const database = await openDatabase(databaseTargetFor(config));
  const notifier = await openNotifier(database);
  try {
    await migrate(database);
    if (action === 'list') {
      const rows = await listSessions(database.db, {
        ...(flags.status ? { status: flags.status } : {}),
        limit: 200,
      });
      if (flags.json) {
        console.log(
          JSON.stringify(
            rows.map((r) => ({
              sessionId: r.session_id,
              accountId: r.account_id,
              role: r.role,
              status: r.status,
              keyFingerprint: r.key_fingerprint,
              createdAt: iso(r.created_at),
            })),
            null,
            2,
          ),
        );
      } else {
        console.log(['SESSION', 'ACCOUNT', 'ROLE', 'STATUS', 'KEY', 'CREATED'].join('\t'));
        for (const r of rows)
          console.log(
            [r.session_id, r.account_id, r.role, r.status, r.key_fingerprint, iso(r.created_at)].join('\t'),
          );
      }
      return 0;
    }
    if ((action !== 'approve' && action !== 'reject') || !sessionId) {
      console.error(
        'usage: kopitra sessions list [--status pending] | approve <sessionId> [--expires-at ISO] | reject <sessionId> --reason TEXT',
      );
      return 2;
    }
    const session = await getSession(database.db, sessionId);
    if (!session) {
      console.error(`kopitra: no session ${sessionId}`);
      return 1;
    }
    const bus = new EmbeddedBus({
      db: database.db,
      dialect: database.dialect,
      notifier,
      clock: systemClock,
      logger: createLogger('warn'),
      pollMs: config.busPollMs,
    });
    const by = flags.by ?? `cli:${process.env['USER'] ?? 'operator'}`;
    if (action === 'approve') {
      if (flags.expiresAt && Number.isNaN(Date.parse(flags.expiresAt))) {
        console.error('kopitra: --expires-at must be an ISO-8601 time');
        return 2;
      }
      const message: AuthApproval = {
        type: 'AuthApproval',
        accountId: session.account_id,
        authKeyFingerprint: session.key_fingerprint,
        approvedBy: by,
        expiresAt: flags.expiresAt ? new Date(flags.expiresAt).toISOString() : null,
      };
      const id = await bus.publish(topics.authApprovals, message);
      console.log(`approval for ${session.account_id} key ${session.key_fingerprint} published (${id})`);
    } else {
      if (!flags.reason) {
        console.error('kopitra: reject needs --reason');
        return 2;
      }
      const message: AuthReject = {
        type: 'AuthReject',
        accountId: session.account_id,
        authKeyFingerprint: session.key_fingerprint,
        reason: flags.reason,
        rejectedBy: by,
      };
      const id = await bus.publish(topics.authApprovals, message);
      console.log(`rejection for ${session.account_id} key ${session.key_fingerprint} published (${id})`);
    }
    return 0;
  } finally {
    await notifier.close();
    await database.close();
  }
}
