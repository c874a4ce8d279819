/**
 * Every reason the server writes on a copy order is a code of the reason catalogue: the
 * compiler holds every writer to the catalogue's type, and a chain that produces every kind of
 * outcome (skips, broker rejections, terminal failures, expiry, withdrawal, the closes a
 * partial close, a risk limit, reconciliation or an operator cause) is scanned afterwards —
 * the stored orders, the messages the management side receives, and the operators' API.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { topics } from '@kopitra/contracts';
import { isReasonCode, type ReasonCode, type SubscriptionInput } from '@kopitra/engine';
import { readTopic } from '../../bus/embedded/embedded-bus.js';
import { insertGroup, putSubscription, type CopyOrderRow } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { ADMIN, eventually, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

/** The statuses that say something was not done as asked; each must carry its reason. */
const UNDONE = new Set(['skipped', 'rejected', 'failed', 'expired', 'withdrawn']);

describe('the reason stored on a copy order', () => {
  it('is typed by the catalogue, so free text does not compile', () => {
    expectTypeOf<CopyOrderRow['reason']>().toEqualTypeOf<ReasonCode | null>();
    // @ts-expect-error -- the kind of text earlier versions stored
    const text: CopyOrderRow['reason'] = 'orphan';
    expect(text).toBe('orphan');
  });
});

describe.each(dialects)('reasons written by a whole chain on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('are all catalogue codes, on every order that was not done as asked', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'CM').connect();
    const a = await new SimFollower(p.platform, 'CA').connect();
    const rejecting = await new SimFollower(p.platform, 'CB', { rejectOpens: 1 }).connect();
    const closeOnly = await new SimFollower(p.platform, 'CC').connect();
    const away = await new SimFollower(p.platform, 'CD').connect();
    const risky = await new SimFollower(p.platform, 'CE').connect();
    // CA's broker lets no less than 0.1 lot stay open.
    await a.catalog([spec('EURUSD', { volumeMin: 0.1 }), spec('GBPUSD')]);
    for (const f of [rejecting, closeOnly, away, risky]) await f.catalog([spec('EURUSD'), spec('GBPUSD')]);
    await risky.heartbeat(10_000);
    for (const f of [a, rejecting, closeOnly, away, risky]) await f.drain();
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'CM' }, p.clock.now());
    const subscribe = (f: SimFollower, settings: SubscriptionInput) =>
      putSubscription(db, { groupId: g.group_id, followerAccountId: f.accountId, settings }, p.clock.now());
    for (const f of [a, rejecting, away]) await subscribe(f, {});
    await subscribe(closeOnly, { mode: 'close_only' });
    await subscribe(risky, {
      riskLimits: [{ period: 'lifetime', metric: 'equity_drawdown', maxAmount: 300, action: 'close_all' }],
    });
    const busy = [a, rejecting, closeOnly, risky];
    const drain = async () => {
      for (const f of busy) await f.drain();
    };
    const position = (id: string, symbol = 'EURUSD') => ({
      masterPositionId: id,
      symbol,
      side: 'buy',
      price: 1.1,
    });

    // 1: opened; CB's broker refuses, CC is close-only, CD does not poll.
    await master.signal({ type: 'position.opened', ...position('1'), volume: 1 });
    await drain();
    // CA's share leaves 0.05 open, under its minimum: its copy closes whole.
    await master.signal({
      type: 'position.partially_closed',
      ...position('1'),
      volume: 0.95,
      remainingVolume: 0.05,
    });
    await drain();
    // CD's open, and the partial close queued after it, are withdrawn by the close.
    await master.signal({ type: 'position.closed', ...position('1'), volume: 0.05 });
    await drain();

    // 2: CD's open waits past its expiry.
    await master.signal({ type: 'position.opened', ...position('2', 'GBPUSD'), volume: 0.5 });
    await drain();
    // Time passes with heartbeats, so every session but CD's stays alive.
    for (let i = 0; i < 7; i++) {
      p.clock.advance(9_000);
      for (const terminal of [master, ...busy]) await terminal.heartbeat(10_000);
    }
    await p.platform.reconcile();

    // 5: CA's copy is closed by hand, so the master's close finds nothing.
    await master.signal({ type: 'position.opened', ...position('5'), volume: 0.2 });
    await drain();
    const [handClosed] = [...a.book.values()].filter((x) => x.comment === positionTag(g.group_id, '5'));
    a.book.delete(handClosed!.ticket);
    await master.signal({ type: 'position.closed', ...position('5'), volume: 0.2 });
    await drain();

    // An orphan on CA: tagged for a master position no copy stands for.
    a.book.set('777', {
      ticket: '777',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      openPrice: 1.1,
      sl: null,
      tp: null,
      comment: 'kopitra:ghost',
    });
    p.clock.advance(1000);
    await a.snapshot();
    p.clock.advance(1000);
    await p.platform.reconcile();
    await drain();

    // CE's equity falls past its close_all limit: its copy of 2 closes.
    p.clock.advance(1000);
    await risky.heartbeat(10_000, 9_600);
    await drain();

    // 6: the master's partial close takes all it holds; CE is halted.
    await master.signal({ type: 'position.opened', ...position('6'), volume: 0.3 });
    await drain();
    await master.signal({
      type: 'position.partially_closed',
      ...position('6'),
      volume: 0.3,
      remainingVolume: 0,
    });
    await drain();

    // An operator closes what CA still holds (its copy of 2).
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token as string;
    const auth = { authorization: `Bearer ${token}` };
    const run = await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/tasks/close-follower-positions/run',
      headers: auth,
      payload: { params: { accountId: 'CA' } },
    });
    expect(run.statusCode).toBe(202);
    await eventually(
      async () =>
        (
          await p.platform.app.inject({
            method: 'GET',
            url: `/api/admin/task-runs/${run.json().runId}`,
            headers: auth,
          })
        ).json().status === 'completed',
      20_000,
    );
    await drain();
    expect(a.book.size).toBe(0);

    const orders = await db
      .selectFrom('copy_orders')
      .select(['order_id', 'status', 'reason', 'detail'])
      .execute();
    const undone = orders.filter((o) => UNDONE.has(o.status));
    expect(undone.filter((o) => o.reason === null)).toEqual([]);
    expect(orders.filter((o) => o.reason !== null && !isReasonCode(o.reason))).toEqual([]);
    const seen = new Set(orders.map((o) => o.reason));
    for (const code of [
      'mode_close_only',
      'no_linked_position',
      'execution_rejected',
      'execution_failed',
      'signal_too_old',
      'master_closed',
      'rest_below_minimum',
      'master_closed_all',
      'orphan_position',
      'risk_limit_close_all',
      'risk_limit_halted',
      'operator_close',
    ] satisfies ReasonCode[])
      expect(seen, code).toContain(code);
    expect(new Set(undone.map((o) => o.status))).toEqual(UNDONE);

    // What the management side was told is the same codes.
    const told = (await readTopic(db, topics.tradeAgentEvents))
      .map((m) => m.body as { type: string; reason?: string | null })
      .filter((m) => m.type === 'copy_order.updated' && m.reason != null)
      .map((m) => m.reason!);
    expect(told.length).toBeGreaterThan(0);
    expect(told.filter((r) => !isReasonCode(r))).toEqual([]);

    // Operators read every reason's sentence, and the broker's words in their own fields.
    const listed = (
      await p.platform.app.inject({ method: 'GET', url: '/api/admin/orders?limit=200', headers: auth })
    ).json().items as Array<{
      reason: string | null;
      reasonText: string | null;
      errorCode: string | null;
      message: string | null;
      status: string;
    }>;
    expect(listed).toHaveLength(orders.length);
    expect(listed.filter((o) => o.reason !== null && o.reasonText === null)).toEqual([]);
    expect(listed.find((o) => o.reason === 'execution_rejected')).toMatchObject({
      status: 'rejected',
      errorCode: '10006',
      message: 'Request rejected',
    });
    // A long chain with an operator task on a shared, loaded machine.
  }, 120_000);
});
