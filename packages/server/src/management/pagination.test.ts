import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

describe.each(dialects)('cursor pagination on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('walks every copy order exactly once, newest first, including rows written in the same millisecond', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token;
    const master = await new SimMaster(p.platform, 'PM').connect();
    const followers = [
      await new SimFollower(p.platform, 'PF1').connect(),
      await new SimFollower(p.platform, 'PF2').connect(),
    ];
    const g = await insertGroup(p.platform.database.db, { name: 'g', masterAccountId: 'PM' }, p.clock.now());
    for (const f of followers) {
      await f.catalog([spec('EURUSD')]);
      await putSubscription(
        p.platform.database.db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: {} },
        p.clock.now(),
      );
    }
    // Seven signals, two per clock tick: copy orders share timestamps, so the id breaks ties.
    for (let i = 1; i <= 7; i++) {
      await master.signal({
        type: 'position.opened',
        masterPositionId: String(i),
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        price: 1.1,
      });
      if (i % 2 === 0) p.clock.advance(1000);
    }
    const seen: Array<{ orderId: string; written: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { statusCode: number; json(): any } = await p.platform.app.inject({
        method: 'GET',
        url: `/api/admin/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      const body: { items: any[]; nextCursor: string | null } = res.json();
      seen.push(...body.items.map((o: any) => ({ orderId: o.orderId, written: o.times.written })));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(14);
    expect(new Set(seen.map((s) => s.orderId)).size).toBe(14);
    const times = seen.map((s) => Date.parse(s.written));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const bad = await p.platform.app.inject({
      method: 'GET',
      url: '/api/admin/orders?cursor=not-a-cursor',
      headers: { authorization: `Bearer ${token}` },
    });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_request']);
  });
});
