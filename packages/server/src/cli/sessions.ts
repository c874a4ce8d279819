/**
 * `kopitra sessions …`: operators without the console list terminals and approve or reject
 * them, through the same session service as the API: the decision is published on
 * `ea-auth-approvals` (every running gateway applies it) and written to the audit log.
 */
import type { Config } from '../config.js';
import { openServices } from '../runtime.js';
import { decideSession, listSessions } from '../services/session-control.js';
import { cliActor } from './actor.js';
import { usage, UsageError, type CliValues } from './commands.js';

export async function sessionsCommand(
  config: Config,
  sub: string,
  args: string[],
  values: CliValues,
): Promise<number> {
  const sessionId = args[0];
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const expiresAt = str('expires-at');
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt)))
    throw new UsageError('--expires-at must be an ISO-8601 time', usage('sessions'));
  const services = await openServices(config);
  try {
    if (sub === 'list') {
      const { items } = await listSessions(services.management, { status: str('status'), limit: 200 });
      if (values['json']) {
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
    const actor = cliActor(str('by'));
    const decision =
      sub === 'approve'
        ? await decideSession(services.management, actor, sessionId!, {
            approve: true,
            expiresAt: expiresAt ? new Date(expiresAt).toISOString() : null,
          })
        : await decideSession(services.management, actor, sessionId!, {
            approve: false,
            reason: str('reason')!,
          });
    const what = sub === 'approve' ? 'approval' : 'rejection';
    console.log(
      `${what} for ${decision.accountId} key ${decision.keyFingerprint} published (${decision.messageId})`,
    );
    return 0;
  } finally {
    await services.close();
  }
}
