/**
 * Symbols that need no hand-work, on the whole chain: settings and synonyms through the
 * management API, a master and followers over the EA API, real storage on both dialects.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { operatorApi, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const GOLD = { digits: 2, point: 0.01, tickSize: 0.01, contractSize: 100 };
const INDEX = { digits: 1, point: 0.1, tickSize: 0.1, contractSize: 1, volumeMin: 0.1, volumeStep: 0.1 };

const open = (masterPositionId: string, symbol: string, price: number, volume = 0.5) => ({
  type: 'position.opened',
  masterPositionId,
  symbol,
  side: 'buy',
  volume,
  price,
});

describe.each(dialects)('symbol resolution on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it("copies EURUSD, XAUUSD and DJ30 to a broker's EURUSD.m, GOLD and US30.cash with no symbol map", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('auto', 'SM', ['SF-auto', 'SF-plain']);
    const master = await new SimMaster(p.platform, 'SM').connect();
    await master.inbox([
      {
        eventType: 'ea.symbol_catalog',
        payload: {
          symbols: [spec('EURUSD'), spec('XAUUSD', GOLD), spec('DJ30', INDEX), spec('AUDNZD')],
        },
      },
    ]);
    const auto = await new SimFollower(p.platform, 'SF-auto').connect();
    const plain = await new SimFollower(p.platform, 'SF-plain').connect();
    const broker = [
      spec('EURUSD.m'),
      spec('GBPUSD.m'),
      spec('GOLD', GOLD),
      spec('SILVER', GOLD),
      spec('US30.cash', INDEX),
      spec('US300', INDEX),
    ];
    for (const f of [auto, plain]) {
      await f.catalog(broker);
      await f.drain();
    }
    const put = (accountId: string, settings: unknown) =>
      api.put(`/api/admin/groups/${groupId}/followers/${accountId}`, settings);
    expect((await put('SF-auto', { symbolRules: { auto: true } })).statusCode).toBe(200);
    // Without `auto` nothing changes from before: names are taken as they are.
    expect((await put('SF-plain', {})).statusCode).toBe(200);

    // The console's view: how each master symbol resolves, and which resolve to nothing.
    const view = (await api.get(`/api/admin/groups/${groupId}/followers/SF-auto/symbols`)).json();
    expect(view).toMatchObject({
      automatic: true,
      followerCatalogSize: 6,
      masterCatalogSize: 4,
      unresolved: 1,
    });
    expect(
      Object.fromEntries(view.items.map((i: any) => [i.masterSymbol, [i.followerSymbol, i.via, i.listed]])),
    ).toEqual({
      AUDNZD: [null, 'none', false],
      DJ30: ['US30.cash', 'synonym', true],
      EURUSD: ['EURUSD.m', 'affix', true],
      XAUUSD: ['GOLD', 'synonym', true],
    });
    const plainView = (await api.get(`/api/admin/groups/${groupId}/followers/SF-plain/symbols`)).json();
    expect(plainView.unresolved).toBe(4);

    const opened = [
      await master.signal(open('1', 'EURUSD', 1.1)),
      await master.signal(open('2', 'XAUUSD', 2400.5)),
      await master.signal(open('3', 'DJ30', 39_000.5)),
    ];
    for (const r of opened) {
      expect(r.copies.map((c: any) => c.followerAccountId)).toEqual(['SF-auto']);
      expect(r.skipped.map((s: any) => [s.followerAccountId, s.reason])).toEqual([
        ['SF-plain', 'symbol_unknown'],
      ]);
    }
    await auto.drain();
    expect([...auto.book.values()].map((b) => [b.comment, b.symbol, b.volume])).toEqual([
      [positionTag(groupId, '1'), 'EURUSD.m', 0.5],
      [positionTag(groupId, '2'), 'GOLD', 0.5],
      [positionTag(groupId, '3'), 'US30.cash', 0.5],
    ]);

    // Exits follow the link's symbol, with its own volume step (0.1 for the index).
    await master.signal({
      ...open('3', 'DJ30', 39_010),
      type: 'position.partially_closed',
      volume: 0.3,
      remainingVolume: 0.2,
    });
    await master.signal({ ...open('2', 'XAUUSD', 2401), type: 'position.closed' });
    await auto.drain();
    expect([...auto.book.values()].map((b) => [b.symbol, b.volume])).toEqual([
      ['EURUSD.m', 0.5],
      ['US30.cash', 0.2],
    ]);
  });

  it("resolves by the deployment's synonym groups, which operators replace and reset", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('syn', 'YM', ['YF']);
    const master = await new SimMaster(p.platform, 'YM').connect();
    const f = await new SimFollower(p.platform, 'YF').connect();
    await f.catalog([spec('GOLD', GOLD), spec('DAX.i', INDEX)]);
    await f.drain();
    await api.put(`/api/admin/groups/${groupId}/followers/YF`, { symbolRules: { auto: true } });

    const builtIn = (await api.get('/api/admin/symbol-synonyms')).json();
    expect(builtIn.builtIn).toBe(true);
    expect(builtIn.groups).toContainEqual(['XAUUSD', 'GOLD']);

    // A name in two groups is refused and changes nothing.
    const bad = await api.put('/api/admin/symbol-synonyms', {
      groups: [
        ['DE40', 'DAX'],
        ['GER40', 'dax'],
      ],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_request', issues: [{ path: 'body.groups.1.1' }] });
    expect((await api.get('/api/admin/symbol-synonyms')).json().builtIn).toBe(true);

    const saved = await api.put('/api/admin/symbol-synonyms', { groups: [['DE40', 'DAX']] });
    expect(saved.json()).toEqual({ groups: [['DE40', 'DAX']], builtIn: false });
    const de40 = await master.signal(open('10', 'DE40', 18_000));
    const gold = await master.signal(open('11', 'XAUUSD', 2400));
    expect(de40.copies).toHaveLength(1);
    expect(gold.skipped.map((s: any) => s.reason)).toEqual(['symbol_unknown']);
    await f.drain();
    expect([...f.book.values()].map((b) => b.symbol)).toEqual(['DAX.i']);

    expect((await api.delete('/api/admin/symbol-synonyms')).json().builtIn).toBe(true);
    expect((await master.signal(open('12', 'XAUUSD', 2400))).copies).toHaveLength(1);
    const audit = (await api.get('/api/admin/audit?targetId=deployment')).json();
    expect(audit.items.map((a: any) => a.action).sort()).toEqual([
      'symbol_synonyms.reset',
      'symbol_synonyms.update',
    ]);
  });

  it('refuses to guess between two listed symbols, and the affix rule settles it', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('amb', 'AM', ['AF']);
    const master = await new SimMaster(p.platform, 'AM').connect();
    const f = await new SimFollower(p.platform, 'AF').connect();
    await f.catalog([spec('EURUSD.m'), spec('EURUSD.pro')]);
    await f.drain();
    const path = `/api/admin/groups/${groupId}/followers/AF`;
    await api.put(path, { symbolRules: { auto: true } });
    const first = await master.signal(open('1', 'EURUSD', 1.1));
    expect(first.skipped).toMatchObject([
      { reason: 'symbol_ambiguous', detail: expect.stringContaining('EURUSD.m, EURUSD.pro') },
    ]);
    await api.put(path, { symbolRules: { auto: true, followerSuffix: '.pro' } });
    expect((await master.signal(open('2', 'EURUSD', 1.1))).copies).toHaveLength(1);
    await f.drain();
    expect([...f.book.values()].map((b) => b.symbol)).toEqual(['EURUSD.pro']);
  });
});
