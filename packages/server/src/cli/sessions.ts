/**
 * `kopitra sessions …`: operators without the console list terminals and approve or reject
 * them, through the same session service as the API: the decision is published on
 * `ea-auth-approvals` (every running gateway applies it) and written to the audit log.
 */
import { AppError } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { openServices } from '../runtime.js';
import { decideSession, listSessions } from '../services/session-control.js';
import { cliActor } from './actor.js';

const USAGE =
  'usage: kopitra sessions list [--status pending] | approve <sessionId> [--expires-at ISO] | reject <sessionId> --reason TEXT';

export async function sessionsCommand(
  config: Config,
  args: string[],
  flags: { expiresAt?: string; reason?: string; by?: string; status?: string; json?: boolean },
): Promise<number> {
  const [action, sessionId] = args;
  if (action !== 'list' && ((action !== 'approve' && action !== 'reject') || !sessionId)) {
    console.error(USAGE);
    return 2;
  }
  if (action === 'approve' && flags.expiresAt && Number.isNaN(Date.parse(flags.expiresAt))) {
    console.error('kopitra: --expires-at must be an ISO-8601 time');
    return 2;
  }
  if (action === 'reject' && !flags.reason) {
    console.error('kopitra: reject needs --reason');
    return 2;
  }
  const services = await openServices(config);
  try {
    if (action === 'list') {
      const { items } = await listSessions(services.management, { status: flags.status, limit: 200 });
      if (flags.json) {
        const rows = items.map((r) => ({
          sessionId: r.sessionId,
          accountId: r.accountId,
          role: r.role,
          status: r.status,
          keyFingerprint: r.keyFingerprint,
          createdAt: r.createdAt,
        }));
        console.log(JSON.stringify(rows, null, 2));
      } else {
        console.log(['SESSION', 'ACCOUNT', 'ROLE', 'STATUS', 'KEY', 'CREATED'].join('\t'));
        for (const r of items)
          console.log([r.sessionId, r.accountId, r.role, r.status, r.keyFingerprint, r.createdAt].join('\t'));
      }
      return 0;
    }
    const actor = cliActor(flags.by);
    const decision =
      action === 'approve'
        ? await decideSession(services.management, actor, sessionId!, {
            approve: true,
            expiresAt: flags.expiresAt ? new Date(flags.expiresAt).toISOString() : null,
          })
        : await decideSession(services.management, actor, sessionId!, {
            approve: false,
            reason: flags.reason!,
          });
    const what = action === 'approve' ? 'approval' : 'rejection';
    console.log(
      `${what} for ${decision.accountId} key ${decision.keyFingerprint} published (${decision.messageId})`,
    );
    return 0;
  } catch (err) {
    if (err instanceof AppError) {
      console.error(`kopitra: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await services.close();
  }
}
