/**
 * Failed credentials are throttled per caller address: a bogus token never counts against
 * the account it names, a correct credential from elsewhere is never refused for someone
 * else's failures, and spraying many accounts or e-mails from one address is throttled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, BASE, idem, sessionBody, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower } from '../testing/sim.js';
import { insertAccount } from '../store/accounts.js';

const ATTACKER = '203.0.113.9';
const ELSEWHERE = '198.51.100.7';

describe('authentication failure limits', () => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform('sqlite');
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('does not lock a terminal out because bogus tokens named its account', async () => {
    const p = tp!;
    const victim = await new SimFollower(p.platform, 'victim').connect();
    const poll = (authorization: string, remoteAddress?: string) =>
      p.platform.app.inject({
        method: 'GET',
        url: `${BASE}/sessions/current/outbox`,
        headers: { 'x-tradeagent-account': 'victim', authorization },
        ...(remoteAddress ? { remoteAddress } : {}),
      });
    for (let i = 0; i < 12; i++) expect((await poll(`Bearer bogus.${i}`)).statusCode).toBe(401);
    // Same address, even: the real token is valid, so the limiter never stands in its way.
    expect((await poll(`Bearer ${victim.token}`)).statusCode).toBe(200);
    expect((await poll(`Bearer ${victim.token}`, ELSEWHERE)).statusCode).toBe(200);
    // The address that sprays bogus tokens is throttled.
    let last = 0;
    for (let i = 0; i < 30; i++) last = (await poll(`Bearer bogus.${i}`, ATTACKER)).statusCode;
    expect(last).toBe(429);
  });

  it('throttles one address spraying keys across many accounts, but not a correct key from elsewhere', async () => {
    const p = tp!;
    const create = (accountId: string, authKey: string, remoteAddress: string) =>
      p.platform.app.inject({
        method: 'POST',
        url: `${BASE}/sessions`,
        headers: { 'x-tradeagent-account': accountId, 'idempotency-key': idem() },
        payload: sessionBody(authKey),
        remoteAddress,
      });
    // Disabled accounts refuse every key: each attempt is a failure.
    const db = p.platform.database.db;
    const now = p.clock.now();
    for (let i = 0; i < 30; i++)
      await insertAccount(db, { accountId: `acct-${i}`, platform: 'MT5', registeredBy: 'test' }, now);
    await db.updateTable('accounts').set({ status: 'disabled' }).execute();
    const codes: number[] = [];
    for (let i = 0; i < 30; i++)
      codes.push((await create(`acct-${i}`, 'sprayed-key-0123456789', ATTACKER)).statusCode);
    expect(codes.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(codes.at(-1)).toBe(429);
    const fromElsewhere = await create('fresh-account', 'a-correct-new-key-0123456789', ELSEWHERE);
    expect(fromElsewhere.statusCode).toBe(201);
  });

  it('throttles one address trying many e-mails, and lets the right password in from elsewhere', async () => {
    const p = tp!;
    const login = (email: string, password: string, remoteAddress: string) =>
      p.platform.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email, password },
        remoteAddress,
      });
    const codes: number[] = [];
    for (let i = 0; i < 30; i++)
      codes.push((await login(`user${i}@example.com`, 'wrong-password-123', ATTACKER)).statusCode);
    expect(codes[0]).toBe(401);
    expect(codes.at(-1)).toBe(429);
    for (let i = 0; i < 10; i++) await login(ADMIN.email, 'wrong-password-123', ATTACKER);
    expect((await login(ADMIN.email, ADMIN.password, ELSEWHERE)).statusCode).toBe(200);
  });
});
