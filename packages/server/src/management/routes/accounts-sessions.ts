import { randomBytes } from 'node:crypto';
import {
  AccountPatchRequest,
  AccountRequest,
  AppError,
  ApproveRequest,
  KeyCreateRequest,
  ListQuery,
  ReasonRequest,
  SessionsQuery,
  topics,
  type AuthApproval,
  type AuthReject,
} from '@kopitra/contracts';

import { getAccount, insertAccount, updateAccount } from '../../store/accounts.js';
import { isUniqueViolation } from '../../store/database.js';
import { decideKey, findKey, insertKey, listKeys } from '../../store/keys.js';
import { getSession, transitionSession } from '../../store/sessions.js';
import { getTelemetry } from '../../store/inbox.js';
import { inTransaction } from '../../store/transaction.js';
import { keyFingerprint, keyHash } from '../../services/secrets.js';
import { publishStateChange, queueShutdown } from '../../services/session-events.js';
import { sweepExpiredSessions } from '../../services/sessions.js';
import { appendAudit } from '../../services/audit.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { listNewestFirst } from '../pagination.js';
import { route } from '../registry.js';
import { accountView, keyView, sessionView } from '../../services/views.js';

export const accountSessionRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/accounts',
    role: 'viewer',
    tag: 'accounts',
    summary: 'Trading accounts',
    query: ListQuery,
    handler: async ({ query }) => {
      return listNewestFirst(
        deps.db.selectFrom('accounts').selectAll(),
        { time: 'created_at', id: 'account_id', key: (r) => ({ t: r.created_at, id: r.account_id }) },
        query,
        accountView,
      );
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/accounts',
    role: 'operator',
    tag: 'accounts',
    summary: 'Create a trading account',
    body: AccountRequest,
    status: 201,
    handler: async ({ body, operator }) => {
      try {
        return await inTransaction(
          deps.db,
          async ({ trx }) => {
            const now = deps.clock.now();
            const row = await insertAccount(trx, { ...body, registeredBy: operator.email }, now);
            await appendAudit(
              trx,
              {
                actor: operator.email,
                action: 'account.create',
                targetType: 'account',
                targetId: row.account_id,
                after: accountView(row),
              },
              now,
            );
            return accountView(row);
          },
          0,
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('account_exists');
        throw err;
      }
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/accounts/{accountId}',
    role: 'viewer',
    tag: 'accounts',
    summary: 'One account with its telemetry, keys and live session',
    handler: async ({ params }) => {
      const account = await getAccount(deps.db, params['accountId']!);
      if (!account) throw new AppError('account_not_found');
      const [telemetry, keys, live] = await Promise.all([
        getTelemetry(deps.db, account.account_id),
        listKeys(deps.db, account.account_id),
        deps.db
          .selectFrom('sessions')
          .selectAll()
          .where('account_id', '=', account.account_id)
          .orderBy('created_at', 'desc')
          .limit(1)
          .executeTakeFirst(),
      ]);
      return {
        ...accountView(account),
        telemetry: telemetry
          ? {
              balance: telemetry.balance,
              equity: telemetry.equity,
              margin: telemetry.margin,
              freeMargin: telemetry.free_margin,
              openPositions: telemetry.open_positions,
              latencyMs: telemetry.latency_ms,
              autotradeEnabled:
                telemetry.autotrade_enabled === null ? null : telemetry.autotrade_enabled === 1,
              lastHeartbeatAt: telemetry.last_heartbeat_at
                ? new Date(telemetry.last_heartbeat_at).toISOString()
                : null,
            }
          : null,
        keys: keys.map(keyView),
        latestSession: live ? sessionView(live) : null,
      };
    },
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/accounts/{accountId}',
    role: 'operator',
    tag: 'accounts',
    summary: 'Change an account (status, session policy, details)',
    body: AccountPatchRequest,
    handler: async ({ body, params, operator }) =>
      inTransaction(deps.db, async (tx) => {
        const now = deps.clock.now();
        const before = await getAccount(tx.trx, params['accountId']!);
        if (!before) throw new AppError('account_not_found');
        const after = await updateAccount(
          tx.trx,
          before.account_id,
          {
            ...(body.displayName !== undefined ? { display_name: body.displayName } : {}),
            ...(body.platform !== undefined ? { platform: body.platform } : {}),
            ...(body.broker !== undefined ? { broker: body.broker } : {}),
            ...(body.server !== undefined ? { server: body.server } : {}),
            ...(body.currency !== undefined ? { currency: body.currency } : {}),
            ...(body.status !== undefined ? { status: body.status } : {}),
            ...(body.sessionPolicy !== undefined ? { session_policy: body.sessionPolicy } : {}),
          },
          now,
        );
        // Disabling an account stops its terminal at once.
        if (body.status === 'disabled' && before.status !== 'disabled') {
          const live = await tx.trx
            .selectFrom('sessions')
            .selectAll()
            .where('account_id', '=', before.account_id)
            .where('status', 'in', ['pending', 'authenticated'])
            .execute();
          for (const s of live)
            await endSession(
              deps,
              tx,
              s.session_id,
              'terminated',
              'account disabled',
              operator.email,
              'disabled',
            );
        }
        await appendAudit(
          tx.trx,
          {
            actor: operator.email,
            action: 'account.update',
            targetType: 'account',
            targetId: before.account_id,
            before: accountView(before),
            after: accountView(after!),
          },
          now,
        );
        return accountView(after!);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/accounts/{accountId}/keys',
    role: 'viewer',
    tag: 'accounts',
    summary: "An account's keys (fingerprints only)",
    handler: async ({ params }) => {
      if (!(await getAccount(deps.db, params['accountId']!))) throw new AppError('account_not_found');
      return { items: (await listKeys(deps.db, params['accountId']!)).map(keyView), nextCursor: null };
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/accounts/{accountId}/keys',
    role: 'operator',
    tag: 'accounts',
    summary: 'Issue a pre-shared key; it is shown once',
    body: KeyCreateRequest,
    status: 201,
    handler: async ({ body, params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const accountId = params['accountId']!;
        if (!(await getAccount(trx, accountId))) throw new AppError('account_not_found');
        const key = randomBytes(24).toString('base64url');
        const now = deps.clock.now();
        const expiresAt = body.expiresAt ? Date.parse(body.expiresAt) : null;
        const row = await insertKey(
          trx,
          {
            accountId,
            fingerprint: keyFingerprint(accountId, key),
            keyHash: keyHash(deps.gateway.secret, accountId, key),
            status: 'approved',
            origin: 'operator',
            expiresAt,
            decidedBy: operator.email,
          },
          now,
        );
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'key.issue',
            targetType: 'account',
            targetId: accountId,
            after: keyView(row),
          },
          now,
        );
        return { key, fingerprint: row.fingerprint, expiresAt: body.expiresAt ?? null };
      }),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/accounts/{accountId}/keys/{fingerprint}',
    role: 'operator',
    tag: 'accounts',
    summary: 'Revoke a key; sessions using it end',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const key = await findKey(trx, params['accountId']!, params['fingerprint']!);
        if (!key) throw new AppError('key_not_found');
        const now = deps.clock.now();
        const after = await decideKey(
          trx,
          key.account_id,
          key.fingerprint,
          { status: 'rejected', by: operator.email, reason: 'revoked' },
          now,
        );
        const message: AuthReject = {
          type: 'AuthReject',
          accountId: key.account_id,
          authKeyFingerprint: key.fingerprint,
          reason: 'key revoked',
          rejectedBy: operator.email,
        };
        await deps.bus.publish(topics.authApprovals, message, { db: trx });
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'key.revoke',
            targetType: 'account',
            targetId: key.account_id,
            before: keyView(key),
            after: keyView(after!),
          },
          now,
        );
        return keyView(after!);
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/sessions',
    role: 'viewer',
    tag: 'sessions',
    summary: 'Terminal sessions (filter by status, account)',
    query: SessionsQuery,
    handler: async ({ query }) => {
      // Lapsed leases are expired before listing, so the list never shows a stale live session.
      await sweepExpiredSessions(deps.gateway);
      let q = deps.db.selectFrom('sessions').selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.accountId) q = q.where('account_id', '=', query.accountId);
      return listNewestFirst(
        q,
        { time: 'created_at', id: 'session_id', key: (r) => ({ t: r.created_at, id: r.session_id }) },
        query,
        sessionView,
      );
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/approve',
    role: 'operator',
    tag: 'sessions',
    summary: "Approve the terminal's key (AuthApproval on the bus)",
    body: ApproveRequest,
    handler: async ({ body, params, operator }) =>
      decide(deps, params['sessionId']!, operator.email, {
        approve: true,
        expiresAt: body.expiresAt ?? null,
      }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/reject',
    role: 'operator',
    tag: 'sessions',
    summary: "Reject the terminal's key (AuthReject on the bus)",
    body: ReasonRequest,
    handler: async ({ body, params, operator }) =>
      decide(deps, params['sessionId']!, operator.email, { approve: false, reason: body.reason }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/sessions/{sessionId}/terminate',
    role: 'operator',
    tag: 'sessions',
    summary: 'End a live session; its EA receives session.shutdown',
    body: ReasonRequest,
    handler: async ({ body, params, operator }) =>
      inTransaction(deps.db, async (tx) => {
        const session = await getSession(tx.trx, params['sessionId']!);
        if (!session) throw new AppError('session_not_found');
        if (
          !(await endSession(
            deps,
            tx,
            session.session_id,
            'terminated',
            body.reason,
            operator.email,
            'terminated',
          ))
        )
          throw new AppError('session_not_live', undefined, { sessionStatus: session.status });
        await appendAudit(
          tx.trx,
          {
            actor: operator.email,
            action: 'session.terminate',
            targetType: 'session',
            targetId: session.session_id,
            before: sessionView(session),
            after: { status: 'terminated', reason: body.reason },
          },
          deps.clock.now(),
        );
        return sessionView((await getSession(tx.trx, session.session_id))!);
      }),
  }),
];

async function endSession(
  deps: ManagementDeps,
  tx: Parameters<typeof queueShutdown>[1],
  sessionId: string,
  to: 'terminated',
  reason: string,
  actor: string,
  why: 'terminated' | 'disabled',
): Promise<boolean> {
  const before = await getSession(tx.trx, sessionId);
  const s = await transitionSession(
    tx.trx,
    sessionId,
    ['pending', 'authenticated'],
    to,
    reason,
    deps.clock.now(),
  );
  if (!s || !before) return false;
  await queueShutdown(deps.gateway, tx, s.account_id, sessionId, {
    reason: why,
    message: reason,
    reconnectAfterSec: null,
  });
  await publishStateChange(deps.gateway, tx, {
    accountId: s.account_id,
    sessionId,
    from: before.status,
    to,
    reason,
    actor,
  });
  return true;
}

async function decide(
  deps: ManagementDeps,
  sessionId: string,
  actor: string,
  d: { approve: true; expiresAt: string | null } | { approve: false; reason: string },
) {
  return inTransaction(deps.db, async ({ trx }) => {
    const session = await getSession(trx, sessionId);
    if (!session) throw new AppError('session_not_found');
    const message: AuthApproval | AuthReject = d.approve
      ? {
          type: 'AuthApproval',
          accountId: session.account_id,
          authKeyFingerprint: session.key_fingerprint,
          approvedBy: actor,
          expiresAt: d.expiresAt,
        }
      : {
          type: 'AuthReject',
          accountId: session.account_id,
          authKeyFingerprint: session.key_fingerprint,
          reason: d.reason,
          rejectedBy: actor,
        };
    const messageId = await deps.bus.publish(topics.authApprovals, message, { db: trx });
    await appendAudit(
      trx,
      {
        actor,
        action: d.approve ? 'session.approve' : 'session.reject',
        targetType: 'session',
        targetId: sessionId,
        before: sessionView(session),
        after: message,
      },
      deps.clock.now(),
    );
    return {
      sessionId,
      accountId: session.account_id,
      keyFingerprint: session.key_fingerprint,
      decision: message.type,
      messageId,
    };
  });
}
