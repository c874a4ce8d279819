/**
 * Session use cases: create, authenticate a request, release, operator decisions from the
 * bus, and lease expiry. Each opens its transaction here, at the edge.
 */
import {
  AppError,
  AuthDecision,
  type CreateSessionRequest,
  type CreateSessionResponse,
  isoTime,
} from '@kopitra/contracts';
import {
  decideAccess,
  decideCreateSession,
  leaseDurationMs,
  sessionsAffectedByKeyDecision,
} from '@kopitra/engine';
import { getAccount, insertAccount, lockAccount } from '../store/accounts.js';
import { findKey, insertKey, decideKey } from '../store/keys.js';
import { findIdempotent, type IdempotencyRow } from '../store/idempotency.js';
import { newId } from '../store/ids.js';
import { resumeSequence } from '../store/outbox.js';
import {
  findLiveSession,
  getSession,
  insertSession,
  liveSessionsForKey,
  liveSessionsWithLapsedLease,
  renewLease,
  transitionSession,
  type SessionRow,
} from '../store/sessions.js';
import { inTransaction, type Tx } from '../store/transaction.js';
import type { BusMessage, HandlerContext } from '../bus/bus.js';
import type { GatewayDeps } from './deps.js';
import { remember, replayFor, requestHash, type IdempotentCall, type Reply } from './idempotent.js';
import {
  keyFingerprint,
  keyHash,
  safeEqual,
  sessionToken,
  tokenHash,
  verifySessionToken,
} from './secrets.js';
import { assertRegistrationAllowed } from './pending-limits.js';
import { publishStateChange, queueInitAck, queueShutdown } from './session-events.js';

const CREATE_ROUTE = 'POST /sessions';
const RELEASE_ROUTE = 'DELETE /sessions/current';

export async function createSession(
  deps: GatewayDeps,
  r: { accountId: string; idempotencyKey: string; request: CreateSessionRequest; clientIp: string },
): Promise<Reply<CreateSessionResponse>> {
  deps.failures.check(`account:${r.accountId}`, r.clientIp);
  const fingerprint = keyFingerprint(r.accountId, r.request.authKey);
  const presentedHash = keyHash(deps.secret, r.accountId, r.request.authKey);
  const call: IdempotentCall = {
    scope: r.accountId,
    key: r.idempotencyKey,
    route: CREATE_ROUTE,
    requestHash: requestHash(deps.secret, r.request),
  };
  try {
    const reply = await inTransaction(deps.db, async (tx) => {
      const stored = await findIdempotent(tx.trx, r.accountId, r.idempotencyKey);
      // The token is never handed out without the key: a replay proves the key again first.
      if (stored?.route === CREATE_ROUTE)
        await recheckReplayKey(tx, stored, r.accountId, fingerprint, presentedHash);
      const replay = await replayFor(tx.trx, call);
      if (replay) return { replayed: true, reply: replay as Reply<Omit<CreateSessionResponse, 'token'>> };
      return {
        replayed: false,
        reply: await createInTransaction(deps, tx, r, call, fingerprint, presentedHash),
      };
    });
    if (reply.replayed)
      deps.logger.info(
        { accountId: r.accountId, sessionId: reply.reply.body.sessionId },
        'session create replayed',
      );
    // The token is derived, never stored: a replay re-issues the same one.
    return {
      statusCode: reply.reply.statusCode,
      body: { ...reply.reply.body, token: sessionToken(deps.secret, reply.reply.body.sessionId) },
    };
  } catch (err) {
    if (err instanceof AppError && (err.code === 'key_rejected' || err.code === 'account_disabled')) {
      deps.failures.record(`account:${r.accountId}`, r.clientIp);
      deps.logger.warn(
        { accountId: r.accountId, fingerprint, clientIp: r.clientIp, code: err.code },
        'session refused',
      );
    }
    throw err;
  }
}

/**
 * Refuses a session-create replay unless the presented key is the one the original session
 * was created with, and that key and its account are still in good standing.
 */
async function recheckReplayKey(
  tx: Tx,
  stored: IdempotencyRow,
  accountId: string,
  fingerprint: string,
  presentedHash: string,
): Promise<void> {
  const original = JSON.parse(stored.body) as { sessionId?: unknown };
  const session =
    typeof original.sessionId === 'string' ? await getSession(tx.trx, original.sessionId) : undefined;
  const key = await findKey(tx.trx, accountId, fingerprint);
  const account = await getAccount(tx.trx, accountId);
  if (
    !session ||
    !key ||
    session.key_fingerprint !== fingerprint ||
    !safeEqual(key.key_hash, presentedHash) ||
    key.status === 'rejected'
  )
    throw new AppError('key_rejected', 'The key does not match the one this session was created with.');
  if (account?.status === 'disabled') throw new AppError('account_disabled');
}

async function createInTransaction(
  deps: GatewayDeps,
  tx: Tx,
  r: { accountId: string; idempotencyKey: string; request: CreateSessionRequest; clientIp: string },
  call: IdempotentCall,
  fingerprint: string,
  presentedHash: string,
): Promise<Reply<Omit<CreateSessionResponse, 'token'>>> {
  const now = deps.clock.now();
  const { trx } = tx;
  const account = (await lockAccount(trx, r.accountId, now)) ?? null;
  const key = account ? ((await findKey(trx, r.accountId, fingerprint)) ?? null) : null;
  if (key && !safeEqual(key.key_hash, presentedHash)) {
    // Same fingerprint, different key: only possible with a different instance secret. Treat as a rejected key.
    throw new AppError('key_rejected', 'The key does not match the one on record.');
  }
  const live = account ? ((await findLiveSession(trx, r.accountId)) ?? null) : null;
  const decision = decideCreateSession({
    now,
    account: account
      ? {
          status: account.status,
          sessionPolicy: account.session_policy,
        }
      : null,
    key: key ? { status: key.status, expiresAt: key.expires_at } : null,
    keyFingerprint: fingerprint,
    live: live
      ? {
          sessionId: live.session_id,
          state: live.status,
          keyFingerprint: live.key_fingerprint,
          leaseExpiresAt: live.lease_expires_at,
          createdAt: live.created_at,
        }
      : null,
  });
  if (decision.kind === 'refuse') {
    throw new AppError(
      decision.code,
      decision.reason === 'key expired' ? 'The account key has expired.' : undefined,
    );
  }
  if (decision.kind === 'conflict') {
    throw new AppError('session_conflict', undefined, {
      retryAfterSec: decision.retryAfterSec,
      activeSince: isoTime(decision.activeSince),
    });
  }
  // Anyone can register: what waits for an operator is capped before anything is written.
  const registeredFrom =
    decision.registerAccount || decision.registerKey
      ? await assertRegistrationAllowed(deps, tx, r.clientIp)
      : null;
  if (decision.registerAccount) {
    await insertAccount(
      trx,
      {
        accountId: r.accountId,
        platform: r.request.platform,
        broker: r.request.broker ?? null,
        server: r.request.server ?? null,
        registeredBy: 'terminal',
      },
      now,
    );
  }
  if (decision.registerKey) {
    await insertKey(
      trx,
      {
        accountId: r.accountId,
        fingerprint,
        keyHash: presentedHash,
        status: 'pending',
        origin: 'ea',
        expiresAt: null,
        registeredFrom,
      },
      now,
    );
  }
  if (decision.expire && live) {
    await transitionSession(
      trx,
      live.session_id,
      ['pending', 'authenticated'],
      'expired',
      'lease lapsed',
      now,
    );
    await publishStateChange(deps, tx, {
      accountId: r.accountId,
      sessionId: live.session_id,
      from: live.status,
      to: 'expired',
      reason: 'lease lapsed',
      actor: 'gateway',
    });
  }
  if (decision.retire && live) {
    await transitionSession(trx, live.session_id, ['pending', 'authenticated'], 'retired', 'taken over', now);
    await queueShutdown(deps, tx, r.accountId, live.session_id, {
      reason: 'takeover',
      message: 'Another terminal took over this account.',
      reconnectAfterSec: null,
    });
    await publishStateChange(deps, tx, {
      accountId: r.accountId,
      sessionId: live.session_id,
      from: live.status,
      to: 'retired',
      reason: 'taken over',
      actor: 'gateway',
    });
  }

  const sessionId = newId('ses');
  const leaseExpiresAt = now + leaseDurationMs(deps.heartbeatIntervalSec);
  const row: SessionRow = {
    session_id: sessionId,
    account_id: r.accountId,
    key_fingerprint: fingerprint,
    role: r.request.role,
    platform: r.request.platform,
    ea_version: r.request.eaVersion,
    terminal_build: r.request.terminalBuild,
    broker: r.request.broker ?? null,
    server: r.request.server ?? null,
    client_ip: r.clientIp,
    status: decision.state,
    status_reason: decision.state === 'pending' ? 'awaiting approval' : 'key approved',
    token_hash: tokenHash(sessionToken(deps.secret, sessionId)),
    lease_expires_at: leaseExpiresAt,
    lease_renewed_at: now,
    created_at: now,
    authenticated_at: decision.state === 'authenticated' ? now : null,
    ended_at: null,
  };
  await insertSession(trx, row);
  await publishStateChange(deps, tx, {
    accountId: r.accountId,
    sessionId,
    from: null,
    to: decision.state,
    reason: row.status_reason ?? '',
    actor: 'terminal',
  });
  if (decision.state === 'authenticated')
    await queueInitAck(deps, tx, { accountId: r.accountId, sessionId, role: r.request.role });

  const reply: Reply<Omit<CreateSessionResponse, 'token'>> = {
    statusCode: 201,
    body: {
      sessionId,
      status: decision.state,
      heartbeatIntervalSec: deps.heartbeatIntervalSec,
      leaseExpiresAt: isoTime(leaseExpiresAt),
      lastSequence: await resumeSequence(trx, r.accountId, sessionId),
    },
  };
  await remember(trx, call, reply, now);
  return reply;
}

export interface SessionContext {
  readonly session: SessionRow;
  /** The session has ended but may still fetch and acknowledge the events addressed to it (its shutdown). */
  readonly ended: boolean;
}

/**
 * Resolves the bearer token of an EA request to its session, applies lease rules and
 * renews the lease. `allowEnded` lets an ended session read its own `session.shutdown`.
 */
export async function authenticate(
  deps: GatewayDeps,
  r: { accountId: string; authorization: string | undefined; clientIp: string; allowEnded: boolean },
): Promise<SessionContext> {
  // A token is cheap to verify, so a valid one is never refused by the limiter; a failed one
  // counts against the caller's address only — never against the account it names.
  const failed = (code: 'unauthorized' | 'token_account_mismatch'): never => {
    deps.failures.record(null, r.clientIp);
    deps.failures.check(null, r.clientIp);
    throw new AppError(code);
  };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(r.authorization ?? '');
  const sessionId = match?.[1] ? verifySessionToken(deps.secret, match[1]) : null;
  const session = sessionId ? await getSession(deps.db, sessionId) : undefined;
  if (!session) return failed('unauthorized');
  if (session.account_id !== r.accountId) return failed('token_account_mismatch');
  const now = deps.clock.now();
  const access = decideAccess(
    {
      state: session.status,
      leaseExpiresAt: session.lease_expires_at,
      leaseRenewedAt: session.lease_renewed_at,
    },
    now,
    deps.heartbeatIntervalSec,
  );
  switch (access.kind) {
    case 'allow':
      if (access.renew) {
        await renewLease(deps.db, session.session_id, now + leaseDurationMs(deps.heartbeatIntervalSec), now);
        session.lease_expires_at = now + leaseDurationMs(deps.heartbeatIntervalSec);
        session.lease_renewed_at = now;
      }
      return { session, ended: false };
    case 'expire':
      await expireSession(deps, session);
      if (r.allowEnded) return { session: { ...session, status: 'expired' }, ended: true };
      throw new AppError('session_expired');
    case 'deny':
      if (r.allowEnded) return { session, ended: true };
      throw new AppError(access.code, undefined, {
        sessionStatus: session.status,
        reason: session.status_reason,
      });
  }
}

async function expireSession(deps: GatewayDeps, session: SessionRow): Promise<boolean> {
  return inTransaction(deps.db, async (tx) => {
    const updated = await transitionSession(
      tx.trx,
      session.session_id,
      ['pending', 'authenticated'],
      'expired',
      'lease lapsed',
      deps.clock.now(),
    );
    if (!updated) return false;
    await publishStateChange(deps, tx, {
      accountId: session.account_id,
      sessionId: session.session_id,
      from: session.status,
      to: 'expired',
      reason: 'lease lapsed',
      actor: 'gateway',
    });
    return true;
  });
}

/** Releases the lease. Idempotent: releasing an ended session answers the same. */
export async function releaseSession(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
): Promise<Reply> {
  const accountId = ctx.session.account_id;
  const call = {
    scope: accountId,
    key: idempotencyKey,
    route: RELEASE_ROUTE,
    requestHash: requestHash(deps.secret, {}),
  };
  return inTransaction(deps.db, async (tx) => {
    const replay = await replayFor(tx.trx, call);
    if (replay) return replay;
    const now = deps.clock.now();
    const updated = await transitionSession(
      tx.trx,
      ctx.session.session_id,
      ['pending', 'authenticated'],
      'terminated',
      'released by terminal',
      now,
    );
    if (updated) {
      await publishStateChange(deps, tx, {
        accountId,
        sessionId: ctx.session.session_id,
        from: ctx.session.status,
        to: 'terminated',
        reason: 'released by terminal',
        actor: 'terminal',
      });
      await deps.notifier.notify(tx.trx, `account:${accountId}`);
    }
    const current = updated ?? (await getSession(tx.trx, ctx.session.session_id)) ?? ctx.session;
    const reply: Reply = {
      statusCode: 200,
      body: { sessionId: current.session_id, status: current.status, released: true },
    };
    await remember(tx.trx, call, reply, now);
    return reply;
  });
}

/**
 * Applies an operator's `AuthApproval` / `AuthReject` from `ea-auth-approvals`, inside the
 * bus delivery's transaction. Idempotent: a redelivered decision finds nothing left to change.
 */
export async function applyAuthDecision(
  deps: GatewayDeps,
  message: BusMessage,
  ctx: HandlerContext,
): Promise<void> {
  const parsed = AuthDecision.safeParse(message.body);
  if (!parsed.success) {
    deps.logger.error(
      { messageId: message.messageId, issues: parsed.error.issues },
      'ignoring malformed auth decision',
    );
    return;
  }
  const d = parsed.data;
  const now = deps.clock.now();
  const tx: Tx = { trx: ctx.db as Tx['trx'], afterCommit: ctx.afterCommit };
  const account = await getAccount(tx.trx, d.accountId);
  const key = account ? await findKey(tx.trx, d.accountId, d.authKeyFingerprint) : undefined;
  if (!key) {
    deps.logger.warn(
      { accountId: d.accountId, fingerprint: d.authKeyFingerprint, messageId: message.messageId },
      'auth decision for an unknown key ignored',
    );
    return;
  }
  const sessions = await liveSessionsForKey(tx.trx, d.accountId, d.authKeyFingerprint);
  const views = sessions.map((s) => ({
    sessionId: s.session_id,
    state: s.status,
    keyFingerprint: s.key_fingerprint,
  }));
  if (d.type === 'AuthApproval') {
    await decideKey(
      tx.trx,
      d.accountId,
      d.authKeyFingerprint,
      {
        status: 'approved',
        by: d.approvedBy,
        reason: null,
        expiresAt: d.expiresAt ? Date.parse(d.expiresAt) : null,
      },
      now,
    );
    for (const sessionId of sessionsAffectedByKeyDecision('approve', views, d.authKeyFingerprint)
      .sessionIds) {
      const s = await transitionSession(
        tx.trx,
        sessionId,
        ['pending'],
        'authenticated',
        `approved by ${d.approvedBy}`,
        now,
      );
      if (!s) continue;
      await publishStateChange(deps, tx, {
        accountId: d.accountId,
        sessionId,
        from: 'pending',
        to: 'authenticated',
        reason: 'key approved',
        actor: d.approvedBy,
      });
      await queueInitAck(deps, tx, { accountId: d.accountId, sessionId, role: s.role });
    }
  } else {
    await decideKey(
      tx.trx,
      d.accountId,
      d.authKeyFingerprint,
      { status: 'rejected', by: d.rejectedBy, reason: d.reason },
      now,
    );
    for (const sessionId of sessionsAffectedByKeyDecision('reject', views, d.authKeyFingerprint).sessionIds) {
      const before = sessions.find((s) => s.session_id === sessionId);
      const s = await transitionSession(
        tx.trx,
        sessionId,
        ['pending', 'authenticated'],
        'rejected',
        d.reason,
        now,
      );
      if (!s) continue;
      await queueShutdown(deps, tx, d.accountId, sessionId, {
        reason: 'rejected',
        message: d.reason,
        reconnectAfterSec: null,
      });
      await publishStateChange(deps, tx, {
        accountId: d.accountId,
        sessionId,
        from: before?.status ?? null,
        to: 'rejected',
        reason: d.reason,
        actor: d.rejectedBy,
      });
    }
  }
}

/** Marks live sessions whose lease lapsed as expired. Run periodically; lazy checks cover the gaps. */
export async function sweepExpiredSessions(deps: GatewayDeps): Promise<number> {
  const lapsed = await liveSessionsWithLapsedLease(deps.db, deps.clock.now());
  let expired = 0;
  for (const s of lapsed) if (await expireSession(deps, s)) expired++;
  return expired;
}
