import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideAccess,
  decideCreateSession,
  leaseDurationMs,
  sessionsAffectedByKeyDecision,
  type CreateSessionInput,
} from './rules.js';
import { retryAfterSec } from './failure-limiter.js';

const now = 1_000_000;
const base: CreateSessionInput = {
  now,
  account: { status: 'active', sessionPolicy: 'reject' },
  key: { status: 'approved', expiresAt: null },
  keyFingerprint: 'fp',
  live: null,
};
const live = {
  sessionId: 's1',
  state: 'authenticated' as const,
  keyFingerprint: 'fp',
  leaseExpiresAt: now + 10_000,
  createdAt: now - 5_000,
};

describe('decideCreateSession', () => {
  it('authenticates an approved key, leaves an unknown key pending and registers a new account', () => {
    expect(decideCreateSession(base)).toMatchObject({
      kind: 'create',
      state: 'authenticated',
      registerAccount: false,
      registerKey: false,
    });
    expect(decideCreateSession({ ...base, key: null })).toMatchObject({
      kind: 'create',
      state: 'pending',
      registerKey: true,
    });
    expect(decideCreateSession({ ...base, account: null, key: null })).toMatchObject({
      kind: 'create',
      state: 'pending',
      registerAccount: true,
      registerKey: true,
    });
    expect(decideCreateSession({ ...base, key: { status: 'pending', expiresAt: null } })).toMatchObject({
      state: 'pending',
      registerKey: false,
    });
  });

  it('refuses rejected or expired keys and disabled accounts before looking at live sessions', () => {
    expect(
      decideCreateSession({ ...base, key: { status: 'rejected', expiresAt: null }, live }),
    ).toMatchObject({ kind: 'refuse', code: 'key_rejected' });
    expect(decideCreateSession({ ...base, key: { status: 'approved', expiresAt: now } })).toMatchObject({
      kind: 'refuse',
      code: 'key_rejected',
    });
    expect(
      decideCreateSession({ ...base, account: { status: 'disabled', sessionPolicy: 'reject' }, live }),
    ).toMatchObject({ kind: 'refuse', code: 'account_disabled' });
  });

  it('conflicts with a live session, takes over only under the takeover policy with the same key, and expires lapsed leases', () => {
    expect(decideCreateSession({ ...base, live })).toEqual({
      kind: 'conflict',
      retryAfterSec: 10,
      activeSince: now - 5_000,
    });
    expect(
      decideCreateSession({ ...base, account: { status: 'active', sessionPolicy: 'takeover' }, live }),
    ).toMatchObject({ kind: 'create', retire: 's1' });
    expect(
      decideCreateSession({
        ...base,
        account: { status: 'active', sessionPolicy: 'takeover' },
        live: { ...live, keyFingerprint: 'other' },
      }),
    ).toMatchObject({ kind: 'conflict' });
    expect(decideCreateSession({ ...base, live: { ...live, leaseExpiresAt: now } })).toMatchObject({
      kind: 'create',
      expire: 's1',
      retire: null,
    });
  });

  it('never lets two sessions be live: a create with a live unexpired session either conflicts or retires it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('reject', 'takeover'),
        fc.constantFrom('fp', 'other'),
        fc.integer({ min: 1, max: 100_000 }),
        (policy, fp, remaining) => {
          const d = decideCreateSession({
            ...base,
            account: { status: 'active', sessionPolicy: policy as 'reject' | 'takeover' },
            keyFingerprint: fp,
            live: { ...live, leaseExpiresAt: now + remaining },
          });
          return d.kind === 'conflict' || (d.kind === 'create' && d.retire === 's1');
        },
      ),
    );
  });
});

describe('decideAccess and leases', () => {
  it('lasts three heartbeat intervals and is renewed at most about once a second', () => {
    expect(leaseDurationMs(10)).toBe(30_000);
    expect(
      decideAccess({ state: 'authenticated', leaseExpiresAt: now + 1, leaseRenewedAt: now - 500 }, now, 10),
    ).toEqual({ kind: 'allow', renew: false });
    expect(
      decideAccess({ state: 'pending', leaseExpiresAt: now + 1, leaseRenewedAt: now - 1000 }, now, 10),
    ).toEqual({ kind: 'allow', renew: true });
    expect(decideAccess({ state: 'authenticated', leaseExpiresAt: now, leaseRenewedAt: 0 }, now, 10)).toEqual(
      { kind: 'expire' },
    );
    expect(decideAccess({ state: 'expired', leaseExpiresAt: now + 1, leaseRenewedAt: 0 }, now, 10)).toEqual({
      kind: 'deny',
      code: 'session_expired',
    });
    for (const state of ['retired', 'terminated', 'rejected'] as const) {
      expect(decideAccess({ state, leaseExpiresAt: now + 1, leaseRenewedAt: 0 }, now, 10)).toEqual({
        kind: 'deny',
        code: 'session_terminated',
      });
    }
  });

  it('approves only pending sessions of the key, rejects every live one', () => {
    const sessions = [
      { sessionId: 'a', state: 'pending' as const, keyFingerprint: 'k' },
      { sessionId: 'b', state: 'authenticated' as const, keyFingerprint: 'k' },
      { sessionId: 'c', state: 'pending' as const, keyFingerprint: 'other' },
      { sessionId: 'd', state: 'expired' as const, keyFingerprint: 'k' },
    ];
    expect(sessionsAffectedByKeyDecision('approve', sessions, 'k').sessionIds).toEqual(['a']);
    expect(sessionsAffectedByKeyDecision('reject', sessions, 'k').sessionIds).toEqual(['a', 'b']);
  });
});

describe('failure limiter', () => {
  const window = { limit: 3, windowMs: 60_000 };
  it('limits after the limit within the window and frees up as failures age out', () => {
    expect(retryAfterSec([now - 10_000, now - 5_000], now, window)).toBe(0);
    expect(retryAfterSec([now - 10_000, now - 5_000, now - 1_000], now, window)).toBe(50);
    expect(retryAfterSec([now - 70_000, now - 5_000, now - 1_000], now, window)).toBe(0);
  });
});
