/**
 * Session state machine and lease rules. Pure: callers pass the current state and `now`
 * (epoch milliseconds) and act on the decision.
 */

export const SESSION_STATES = [
  'pending',
  'authenticated',
  'retired',
  'terminated',
  'expired',
  'rejected',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];
export const isSessionState = (s: string): s is SessionState =>
  (SESSION_STATES as readonly string[]).includes(s);
export type KeyStatus = 'pending' | 'approved' | 'rejected';
export type AccountStatus = 'active' | 'disabled';
export type SessionPolicy = 'reject' | 'takeover';

export const liveStates: readonly SessionState[] = ['pending', 'authenticated'];
export const isLive = (state: SessionState): boolean => state === 'pending' || state === 'authenticated';

/** A lease lapses after three missed heartbeat intervals. */
export const LEASE_MISSED_INTERVALS = 3;
export const leaseDurationMs = (heartbeatIntervalSec: number): number =>
  heartbeatIntervalSec * LEASE_MISSED_INTERVALS * 1000;

/**
 * Renewing the lease on every request would turn each poll into a write; renewing once the
 * lease has aged by a fraction of one heartbeat interval keeps it fresh within a second.
 */
export const shouldRenewLease = (renewedAt: number, now: number, heartbeatIntervalSec: number): boolean =>
  now - renewedAt >= Math.min(1000, (heartbeatIntervalSec * 1000) / 4);

export interface KeyView {
  status: KeyStatus;
  expiresAt: number | null;
}

export interface LiveSessionView {
  sessionId: string;
  state: SessionState;
  keyFingerprint: string;
  leaseExpiresAt: number;
  createdAt: number;
}

export interface CreateSessionInput {
  now: number;
  account: { status: AccountStatus; sessionPolicy: SessionPolicy } | null;
  /** The key the EA presented, if the account already knows it. */
  key: KeyView | null;
  keyFingerprint: string;
  live: LiveSessionView | null;
}

export type CreateSessionDecision =
  | { kind: 'refuse'; code: 'account_disabled' | 'key_rejected'; reason: string }
  | { kind: 'conflict'; retryAfterSec: number; activeSince: number }
  | {
      kind: 'create';
      state: 'pending' | 'authenticated';
      /** The account was never seen: register it with this key pending. */
      registerAccount: boolean;
      /** The key was never seen for this account: record it pending. */
      registerKey: boolean;
      /** A live session whose lease lapsed: mark it expired first. */
      expire: string | null;
      /** A live session replaced under the takeover policy. */
      retire: string | null;
    };

export const keyIsUsable = (key: KeyView, now: number): boolean =>
  key.status === 'approved' && (key.expiresAt === null || key.expiresAt > now);

/** Decide what `POST /sessions` does. Refusals are checked before conflicts so a bad key never learns about a live session. */
export function decideCreateSession(input: CreateSessionInput): CreateSessionDecision {
  const { account, key, live, now } = input;
  if (account?.status === 'disabled')
    return { kind: 'refuse', code: 'account_disabled', reason: 'account disabled' };
  if (key?.status === 'rejected') return { kind: 'refuse', code: 'key_rejected', reason: 'key rejected' };
  if (key && key.status === 'approved' && key.expiresAt !== null && key.expiresAt <= now) {
    return { kind: 'refuse', code: 'key_rejected', reason: 'key expired' };
  }
  let expire: string | null = null;
  let retire: string | null = null;
  if (live && isLive(live.state)) {
    if (live.leaseExpiresAt <= now) {
      expire = live.sessionId;
    } else if (account?.sessionPolicy === 'takeover' && live.keyFingerprint === input.keyFingerprint) {
      retire = live.sessionId;
    } else {
      return {
        kind: 'conflict',
        retryAfterSec: Math.max(1, Math.ceil((live.leaseExpiresAt - now) / 1000)),
        activeSince: live.createdAt,
      };
    }
  }
  return {
    kind: 'create',
    state: key && keyIsUsable(key, now) ? 'authenticated' : 'pending',
    registerAccount: account === null,
    registerKey: key === null,
    expire,
    retire,
  };
}

export type AccessDecision =
  | { kind: 'allow'; renew: boolean }
  | { kind: 'expire' }
  | { kind: 'deny'; code: 'session_expired' | 'session_terminated' };

/** Decide whether an authenticated request by this session may proceed. */
export function decideAccess(
  session: { state: SessionState; leaseExpiresAt: number; leaseRenewedAt: number },
  now: number,
  heartbeatIntervalSec: number,
): AccessDecision {
  if (session.state === 'expired') return { kind: 'deny', code: 'session_expired' };
  if (!isLive(session.state)) return { kind: 'deny', code: 'session_terminated' };
  if (session.leaseExpiresAt <= now) return { kind: 'expire' };
  return { kind: 'allow', renew: shouldRenewLease(session.leaseRenewedAt, now, heartbeatIntervalSec) };
}

export type AuthDecisionEffect =
  { kind: 'approve'; sessionIds: string[] } | { kind: 'reject'; sessionIds: string[] };

/** Which live sessions an operator decision on a key affects: those presenting that key. */
export function sessionsAffectedByKeyDecision(
  decision: 'approve' | 'reject',
  sessions: readonly { sessionId: string; state: SessionState; keyFingerprint: string }[],
  fingerprint: string,
): AuthDecisionEffect {
  const matching = sessions.filter((s) => s.keyFingerprint === fingerprint);
  if (decision === 'approve')
    return {
      kind: 'approve',
      sessionIds: matching.filter((s) => s.state === 'pending').map((s) => s.sessionId),
    };
  return { kind: 'reject', sessionIds: matching.filter((s) => isLive(s.state)).map((s) => s.sessionId) };
}
