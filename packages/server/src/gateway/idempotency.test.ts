/**
 * SPEC §2: a repeated Idempotency-Key replays only the identical request; the same key with
 * a different body is 422 `idempotency_key_reused` and changes nothing; a session-create
 * replay proves the authKey again before the token is handed back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { BASE, idem, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

const count = async (tp: TestPlatform, table: 'signals' | 'inbox_events' | 'copy_orders' | 'sessions') =>
  Number(
    (
      await tp.platform.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const open = (id: string, volume = 1) => ({
  type: 'position.opened',
  masterPositionId: id,
  symbol: 'EURUSD',
  side: 'buy',
  volume,
  price: 1.1,
});

describe.each(dialects)('idempotency keys on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('never hands a session token to a replay without the right authKey', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const key = idem();
    const owner = terminal(p.platform, '9101', 'the-real-key-0123456789');
    const first = await owner.create({}, key);
    expect(first.statusCode).toBe(201);

    const thief = terminal(p.platform, '9101', 'a-guessed-key-987654321');
    const stolen = await thief.create({}, key);
    expect(stolen.statusCode).toBe(403);
    expect(stolen.json().error).toBe('key_rejected');
    expect(stolen.body).not.toContain(first.json().token);

    // The owner's own retry still gets the original answer, token included.
    const retry = await owner.create({}, key);
    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toEqual(first.json());
    expect(await count(p, 'sessions')).toBe(1);
  });

  it('refuses a session-create key reused with a different body', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const key = idem();
    const ea = terminal(p.platform, '9102');
    expect((await ea.create({}, key)).statusCode).toBe(201);
    const changed = await ea.create({ eaVersion: '2.0.0' }, key);
    expect(changed.statusCode).toBe(422);
    expect(changed.json().error).toBe('idempotency_key_reused');
    expect(await count(p, 'sessions')).toBe(1);
  });

  it('refuses a signal sent under another signal’s key instead of answering for the first', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-idem').connect();
    const key = idem();
    await master.signal(open('701'), key);
    // The identical retry replays.
    await master.signal(open('701'), key);
    expect(await count(p, 'signals')).toBe(1);
    await expect(master.signal(open('702'), key)).rejects.toThrow(/422.*idempotency_key_reused/);
    expect(await count(p, 'signals')).toBe(1);
  });

  it('refuses an inbox batch and an execution report sent under a used key with another body', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-idem2').connect();
    const follower = await new SimFollower(p.platform, 'F-idem2').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    await master.heartbeat(10_000);
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'M-idem2' }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: 'F-idem2', settings: { sizing: { mode: 'mirror' } } },
      p.clock.now(),
    );

    const key = idem();
    const hb = (balance: number) => [
      { eventType: 'ea.heartbeat', payload: { balance, equity: balance, margin: 0, openPositions: 0 } },
    ];
    const post = (url: string, payload: Record<string, unknown>, k: string) =>
      p.platform.app.inject({
        method: 'POST',
        url: `${BASE}${url}`,
        headers: { ...follower.headers(false), 'idempotency-key': k },
        payload,
      });
    expect((await post('/sessions/current/inbox', { events: hb(10_000) }, key)).statusCode).toBe(202);
    const before = await count(p, 'inbox_events');
    const reused = await post('/sessions/current/inbox', { events: hb(20_000) }, key);
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error).toBe('idempotency_key_reused');
    expect(await count(p, 'inbox_events')).toBe(before);

    const accepted = await master.signal(open('801'));
    const orderId = accepted.copies[0].orderId as string;
    const report = (price: number) => ({
      orderId,
      status: 'filled',
      ticket: '5001',
      price,
      volume: 1,
      executedAt: new Date(p.clock.now()).toISOString(),
    });
    const execKey = idem();
    expect((await post('/executions', report(1.1), execKey)).statusCode).toBe(200);
    const again = await post('/executions', report(1.1), execKey);
    expect(again.statusCode).toBe(200);
    const other = await post('/executions', report(1.2), execKey);
    expect(other.statusCode).toBe(422);
    expect(other.json().error).toBe('idempotency_key_reused');
    const row = await db
      .selectFrom('copy_orders')
      .selectAll()
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    expect(row?.fill_price).toBe(1.1);
  });

  it('refuses a release under a key already used for another route', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = terminal(p.platform, '9103');
    await ea.create();
    const key = idem();
    const hb = { eventType: 'ea.heartbeat', payload: { balance: 1, equity: 1, margin: 0, openPositions: 0 } };
    expect((await ea.inbox([hb], key)).statusCode).toBe(202);
    const release = await ea.release(key);
    expect(release.statusCode).toBe(422);
    expect(release.json().error).toBe('idempotency_key_reused');
    const again = idem();
    expect((await ea.release(again)).statusCode).toBe(200);
    expect((await ea.release(again)).statusCode).toBe(200);
  });
});
