/**
 * What-if replay as a whole chain: a master trades to a follower through the gateway (real
 * storage, both dialects), then the what-if task replays the recorded signals. With the
 * current settings its orders and curve equal what live copying wrote; with proposed ones
 * it answers what those would have done, through start → progress → completed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTopic } from '../bus/embedded/embedded-bus.js';
import { dialects } from '../testing/databases.js';
import { eventually, operatorApi, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import { TASK_EVENTS } from './tasks.js';

interface Side {
  summary: { opens: number; skipped: number; skipReasons: Record<string, number>; finalEquity: number };
  orders: Array<{
    action: string;
    masterPositionId: string;
    symbol: string;
    side: string;
    volume: number | null;
    reason: string | null;
  }>;
  curve: Array<{ at: string; equity: number; openPositions: number; openLots: number }>;
}

const comparable = (s: Side) =>
  s.orders.map(({ action, masterPositionId, symbol, side, volume, reason }) => ({
    action,
    masterPositionId,
    symbol,
    side,
    volume,
    reason,
  }));

describe.each(dialects)('what-if replay on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('replays recorded signals: unchanged settings give what live copying did, proposed ones what they would have', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const start = new Date(p.clock.now() - 1000).toISOString();
    const master = await new SimMaster(p.platform, 'WM').connect();
    const follower = await new SimFollower(p.platform, 'WF').connect();
    await follower.catalog([spec('EURUSD'), spec('GBPUSD'), spec('EURUSD.x')]);
    await follower.heartbeat(10_000);
    await master.heartbeat(20_000);
    const api = await operatorApi(p.platform);
    const groupId = await api.group('w', 'WM', ['WF']);
    const current = {
      sizing: { mode: 'multiplier', multiplier: 2 },
      maxOpenPositions: 2,
      symbolFilter: { exclude: ['GBPUSD'] },
    };
    expect((await api.put(`/api/admin/groups/${groupId}/followers/WF`, current)).statusCode).toBe(200);

    const trade = async (body: Record<string, unknown>) => {
      p.clock.advance(1000);
      await master.signal(body);
      await follower.drain();
    };
    const pos = (id: string, symbol: string, side: string, volume: number) => ({
      masterPositionId: id,
      symbol,
      side,
      volume,
    });
    await trade({ type: 'position.opened', ...pos('1', 'EURUSD', 'buy', 0.1), price: 1.1, sl: 1.09 });
    await trade({ type: 'position.opened', ...pos('2', 'GBPUSD', 'sell', 0.2), price: 1.3 });
    await trade({ type: 'position.opened', ...pos('3', 'EURUSD', 'sell', 0.3), price: 1.101 });
    await trade({ type: 'position.opened', ...pos('4', 'EURUSD', 'buy', 0.1), price: 1.102 });
    await trade({ type: 'position.modified', ...pos('1', 'EURUSD', 'buy', 0.1), price: 1.103, sl: 1.1 });
    await trade({
      type: 'position.partially_closed',
      ...pos('3', 'EURUSD', 'sell', 0.1),
      remainingVolume: 0.2,
      price: 1.104,
    });
    await trade({ type: 'position.closed', ...pos('1', 'EURUSD', 'buy', 0.1), price: 1.106 });
    await trade({ type: 'position.closed', ...pos('3', 'EURUSD', 'sell', 0.2), price: 1.1 });
    await trade({ type: 'position.opened', ...pos('5', 'EURUSD', 'buy', 0.05), price: 1.1 });
    expect(follower.book.size).toBe(1);
    p.clock.advance(1000);
    const end = new Date(p.clock.now()).toISOString();

    const whatIf = async (settings?: unknown) => {
      const res = await api.post('/api/admin/tasks/what-if/run', {
        params: { groupId, followerAccountId: 'WF', from: start, to: end, ...(settings ? { settings } : {}) },
      });
      expect(res.statusCode, res.body).toBe(202);
      const runId = res.json().runId as string;
      const run = await eventually(async () => {
        const r = (await api.get(`/api/admin/task-runs/${runId}`)).json();
        return r.status === 'completed' || r.status === 'failed' ? r : undefined;
      }, 20_000);
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      const eventsOf = async () =>
        (await readTopic(p.platform.database.db, TASK_EVENTS))
          .map((m) => m.body as { runId: string; status: string; progress: number })
          .filter((m) => m.runId === runId);
      // The completed event is published once the run's row says so: wait for it.
      const events = await eventually(async () => {
        const list = await eventsOf();
        return list.some((e) => e.status === 'completed') ? list : undefined;
      });
      expect(events.map((e) => e.status)).toEqual(['running', 'running', 'running', 'running', 'completed']);
      return run.result as { signals: number; proposed: Side; current: Side };
    };

    // Unchanged settings: the replay's answer is what live copying did, order by order.
    const same = await whatIf();
    expect(same.signals).toBe(9);
    expect(comparable(same.proposed)).toEqual(comparable(same.current));
    expect(same.proposed.curve).toEqual(same.current.curve);
    expect(same.current.summary.skipReasons).toEqual({ symbol_excluded: 1, max_open_positions: 1 });
    expect(same.proposed.orders.filter((o) => o.action === 'open').map((o) => o.volume)).toEqual([
      0.2, 0.6, 0.1,
    ]);
    // Position 1: 0.2 lots bought at 1.1, closed at 1.106 (value 1 per point of 0.00001 per lot).
    // Position 3: 0.6 sold at 1.101, 0.2 closed at 1.104, 0.4 at 1.1.
    const realized = 0.006 * 0.2 * 100_000 - 0.003 * 0.2 * 100_000 + 0.001 * 0.4 * 100_000;
    expect(same.current.curve.at(-1)).toMatchObject({
      equity: Math.round((10_000 + realized) * 100) / 100,
      openPositions: 1,
      openLots: 0.1,
    });

    // Proposed: mirror sizing, GBPUSD allowed, no cap on positions, and a symbol map.
    const proposed = await whatIf({ sizing: { mode: 'mirror' }, symbolMap: { EURUSD: 'EURUSD.x' } });
    expect(proposed.proposed.summary).toMatchObject({ opens: 5, skipped: 0, skipReasons: {} });
    expect(
      proposed.proposed.orders
        .filter((o) => o.action === 'open')
        .map((o) => [o.masterPositionId, o.symbol, o.volume]),
    ).toEqual([
      ['1', 'EURUSD.x', 0.1],
      ['2', 'GBPUSD', 0.2],
      ['3', 'EURUSD.x', 0.3],
      ['4', 'EURUSD.x', 0.1],
      ['5', 'EURUSD.x', 0.05],
    ]);
    expect(proposed.proposed.curve.at(-1)).toMatchObject({ openPositions: 3 });
    expect(comparable(proposed.current)).toEqual(comparable(same.current));

    // Bad parameters are refused before a run is recorded.
    const bad = await api.post('/api/admin/tasks/what-if/run', {
      params: { groupId, followerAccountId: 'nobody', from: start, to: end },
    });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_task_params']);
  });
});
