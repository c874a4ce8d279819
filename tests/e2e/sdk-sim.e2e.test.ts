/**
 * The whole chain with the SDK's simulated terminals against the spawned all-in-one server:
 * one master (an MT5 netting account that also adds to its positions) trading a few hundred
 * times on a seeded schedule — market trades and pending orders placed, moved, cancelled,
 * expired and filled by its price walk —, ten followers with mixed sizing modes, broker
 * suffixes, MT4 and MT5, hedging and netting, polling and WebSocket, brokers rejecting 5 % of
 * requests, one with a stops level, pending orders copied, skipped, opened at market on the
 * master's fill or replaced by a market open, and one follower killed mid-run and restarted on
 * the same book. Afterwards reconciliation must have brought every follower's book —
 * positions and pending orders — to the book the server expects, with no copy order doubled
 * and analytics counting every one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  parsePositionTag,
  positionTag,
  type OrderSignalRequest,
  type SignalRequest,
} from '@kopitra/contracts';
import {
  SimFollower,
  SimMaster,
  suffixSymbolMap,
  type FollowerOptions,
} from '../../packages/ea-sdk/src/index.js';
import {
  dialects,
  dropTarget,
  freshTarget,
  tempDir,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import type { DatabaseTarget } from '../../packages/server/src/store/database.js';
import { pendingBookProblems } from '../../bench/lib/books.js';
import { allPages, spawnKopitra, type Spawned } from './support.js';

const ADMIN = { email: 'admin@sdk-e2e.local', password: 'admin-password-sdk-0123' };
const TRADES = 300;
const RESTART_AFTER = 120;
const REJECT_RATE = 0.05;

interface FollowerSpec {
  id: string;
  settings: Record<string, unknown>;
  options?: Partial<FollowerOptions>;
}

const FOLLOWERS: FollowerSpec[] = [
  { id: 'F01', settings: {} },
  {
    id: 'F02',
    settings: { sizing: { mode: 'multiplier', multiplier: 2 }, symbolMap: suffixSymbolMap('.m') },
    options: { suffix: '.m', stopsLevelPoints: 30 },
  },
  {
    id: 'F03',
    settings: { sizing: { mode: 'fixed', lots: 0.05 }, symbolMap: suffixSymbolMap('-ECN') },
    options: { suffix: '-ECN', platform: 'MT4' },
  },
  {
    id: 'F04',
    settings: { sizing: { mode: 'equity_ratio', multiplier: 1 }, pendingOrders: 'skip' },
    options: { balance: 50_000, transport: 'websocket' },
  },
  {
    id: 'F05',
    settings: {
      sizing: { mode: 'balance_ratio', multiplier: 2 },
      symbolMap: suffixSymbolMap('.pro'),
      pendingOnMasterFill: 'market',
      maxSlippagePoints: 50,
    },
    options: { suffix: '.pro', balance: 25_000 },
  },
  { id: 'F06', settings: { sizing: { mode: 'multiplier', multiplier: 0.5 }, reverse: true } },
  { id: 'F07', settings: { sizing: { mode: 'risk_percent', percent: 0.5 } }, options: { balance: 20_000 } },
  {
    id: 'F08',
    settings: { symbolMap: suffixSymbolMap('.m') },
    options: { suffix: '.m', platform: 'MT4', transport: 'websocket' },
  },
  // A netting account: every copy of a master position is its one position on the symbol; the
  // master's pending orders reach it only as market opens once they fill.
  {
    id: 'F09',
    settings: { sizing: { mode: 'contract_size' }, pendingOrders: 'market_on_fill' },
    // Refusals here too: a refused close followed by the master's next position on the same
    // symbol leaves two links on one net position, which reconciliation nets per symbol.
    options: { netting: true },
  },
  {
    id: 'F10',
    settings: {
      sizing: { mode: 'multiplier', multiplier: 1.5 },
      maxOpenPositions: 4,
      symbolFilter: { exclude: ['US30'] },
    },
  },
];
const RESTARTED = 'F10';

/** The master position (or, for a pending order, the master order) a signal is about. */
const masterIdOf = (req: SignalRequest | OrderSignalRequest): string =>
  'masterOrderId' in req ? (req.masterPositionId ?? req.masterOrderId) : req.masterPositionId;
const MIRROR = 'F01';

describe.each(dialects)('SDK simulators against the spawned all-in-one server on %s', (dialect) => {
  let server: Spawned | undefined;
  let target: DatabaseTarget | null = null;
  const terminals: Array<{ stop(opts?: { crash?: boolean }): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(terminals.map((t) => t.stop().catch(() => undefined)));
    await server?.kill('SIGTERM');
    await dropTarget(target);
  });

  it(
    'copies a few hundred trades to ten followers and reconciles every book',
    { timeout: 240_000 },
    async (t) => {
      target = await freshTarget(dialect);
      if (!target) return t.skip();
      server = await spawnKopitra(['up'], {
        DATABASE_URL: target.dialect === 'sqlite' ? target.file : urlWithSchema(target),
        KOPITRA_DATA_DIR: tempDir(),
        KOPITRA_ADMIN_EMAIL: ADMIN.email,
        KOPITRA_ADMIN_PASSWORD: ADMIN.password,
        KOPITRA_RECONCILE_INTERVAL_SEC: '1',
        KOPITRA_HEARTBEAT_INTERVAL_SEC: '1',
        KOPITRA_BUS_POLL_MS: '50',
      });
      const url = server.url;
      const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const json = (await res.json()) as T;
        if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      let token = '';
      token = (await api<{ token: string }>('POST', '/api/auth/login', ADMIN)).token;

      // Provisioning as an operator would: accounts, pre-shared keys, a group, subscriptions.
      const keys = new Map<string, string>();
      for (const id of ['M1', ...FOLLOWERS.map((f) => f.id)]) {
        const platform = FOLLOWERS.find((f) => f.id === id)?.options?.platform ?? 'MT5';
        await api('POST', '/api/admin/accounts', { accountId: id, platform });
        keys.set(id, (await api<{ key: string }>('POST', `/api/admin/accounts/${id}/keys`, {})).key);
      }
      const group = await api<{ groupId: string }>('POST', '/api/admin/groups', {
        name: 'sdk e2e',
        masterAccountId: 'M1',
      });
      for (const f of FOLLOWERS)
        await api('PUT', `/api/admin/groups/${group.groupId}/followers/${f.id}`, f.settings);

      const followerOptions = (f: FollowerSpec): FollowerOptions => ({
        gateway: url,
        accountId: f.id,
        authKey: keys.get(f.id)!,
        seed: `e2e-${f.id}`,
        rejectRate: REJECT_RATE,
        latencyMs: [1, 5],
        slippagePoints: 3,
        snapshotIntervalMs: 1000,
        wait: 10,
        ...f.options,
      });
      const followers = new Map<string, SimFollower>();
      for (const f of FOLLOWERS) {
        const sim = new SimFollower(followerOptions(f));
        terminals.push(sim);
        followers.set(f.id, await sim.start());
      }

      // Kill one follower mid-run (no release: its lease must lapse) and restart it on the same broker account.
      let restarted: Promise<SimFollower> | undefined;
      const restartWaits: string[] = [];
      const restartMidRun = async (): Promise<SimFollower> => {
        const old = followers.get(RESTARTED)!;
        await old.stop({ crash: true });
        await new Promise((r) => setTimeout(r, 500));
        const again = new SimFollower({
          ...followerOptions(FOLLOWERS.find((f) => f.id === RESTARTED)!),
          account: old.account,
          client: { onRetry: (i) => restartWaits.push(i.error.code) },
        });
        terminals.push(again);
        followers.set(RESTARTED, again);
        return again.start();
      };
      const master = new SimMaster({
        gateway: url,
        accountId: 'M1',
        authKey: keys.get('M1')!,
        seed: 'e2e-master',
        intervalMs: 12,
        maxOpenPositions: 6,
        netting: true,
        addRate: 0.1,
        pendingRate: 0.25,
        orderLifetimeMs: [1000, 8000],
        onSignal: () => {
          if (master.sent.length === RESTART_AFTER) restarted = restartMidRun();
        },
      });
      terminals.push(master);
      await master.start();
      expect(await master.run({ trades: TRADES })).toBe(TRADES);
      const again = await restarted!;
      // The killed terminal's lease was still live: the new one waited it out, then resumed after its last acknowledged event.
      expect(restartWaits).toContain('session_conflict');
      expect(again.client.session!.lastSequence).toBeGreaterThan(0);

      // Every signal reached every follower: copied or skipped with a reason.
      for (const { response } of master.sent)
        expect(response.copies.length + response.skipped.length).toBe(FOLLOWERS.length);

      type Link = {
        groupId: string;
        followerAccountId: string;
        masterPositionId: string;
        ticket: string | null;
        symbol: string;
        side: string;
        openVolume: number;
        status: string;
      };
      const linksOf = async (id: string, status: string) =>
        (
          await api<{ items: Link[] }>(
            'GET',
            `/api/admin/positions?status=${status}&followerAccountId=${id}&limit=500`,
          )
        ).items;
      // A copy is every position with its tag: a hedging follower holds one per add of the master.
      // A netting follower holds one position per symbol, whose comment is its first deal's: when
      // a master position closes and the next one on the symbol opens before the follower's close
      // went through (a broker refusal), the net position still carries the old copy's tag while
      // the server's links follow its ticket. There the book is the net volume per symbol.
      const netting = (id: string) => followers.get(id)!.account.netting;
      const round8 = (v: number) => Math.round(v * 1e8) / 1e8;
      const bookOf = (id: string) => {
        const copies = new Map<string, { symbol: string; side: string; volume: number }>();
        for (const p of followers.get(id)!.account.positions.values()) {
          const key = netting(id) ? p.symbol : p.comment;
          const c = copies.get(key);
          if (c) c.volume = round8(c.volume + p.volume);
          else copies.set(key, { symbol: p.symbol, side: p.side, volume: p.volume });
        }
        return [...copies].map(([key, c]) => `${key} ${c.symbol} ${c.side} ${c.volume}`).sort();
      };
      const expectedOf = async (id: string) => {
        const links = await linksOf(id, 'open');
        if (!netting(id))
          return links
            .map((l) => `${positionTag(l.groupId, l.masterPositionId)} ${l.symbol} ${l.side} ${l.openVolume}`)
            .sort();
        const net = new Map<string, number>();
        for (const l of links)
          net.set(
            l.symbol,
            round8((net.get(l.symbol) ?? 0) + (l.side === 'buy' ? l.openVolume : -l.openVolume)),
          );
        return [...net]
          .filter(([, v]) => v !== 0)
          .map(([symbol, v]) => `${symbol} ${symbol} ${v > 0 ? 'buy' : 'sell'} ${Math.abs(v)}`)
          .sort();
      };
      // Pending orders: the follower's book against the copies the server holds as pending.
      type OrderCopy = {
        masterOrderId: string;
        ticket: string | null;
        symbol: string;
        side: string;
        orderType: string;
        volume: number;
        price: number;
        status: string;
      };
      const orderCopiesOf = async (id: string, status: string) =>
        (
          await api<{ items: OrderCopy[] }>(
            'GET',
            `/api/admin/pending-orders?status=${status}&followerAccountId=${id}&limit=500`,
          )
        ).items;
      const inFlight = async () => {
        let n = 0;
        for (const status of ['queued', 'delivered', 'acknowledged'])
          n += (await api<{ items: unknown[] }>('GET', `/api/admin/orders?status=${status}&limit=500`)).items
            .length;
        return n;
      };

      // What the server knows about the master positions behind a mismatch, for the failure message.
      const explain = async (id: string, book: string[], expected: string[]) => {
        const tags = new Set(
          [...book, ...expected]
            .filter((x) => !(book.includes(x) && expected.includes(x)))
            .map((x) => x.split(' ')[0]!),
        );
        return history(
          id,
          [...tags].map((t) => parsePositionTag(t)?.masterPositionId ?? t),
        );
      };
      const history = async (id: string, masterPositionIds: string[]) => {
        const ids = new Set(masterPositionIds);
        const links = (
          await api<{ items: Link[] }>('GET', `/api/admin/positions?followerAccountId=${id}&limit=500`)
        ).items;
        const orders = (
          await api<{ items: Array<Record<string, unknown>> }>(
            'GET',
            `/api/admin/orders?followerAccountId=${id}&limit=500`,
          )
        ).items.filter((o) => ids.has(String(o['masterPositionId'])));
        const signals = master.sent
          .filter((x) => ids.has(masterIdOf(x.request)))
          .map(
            (x) =>
              `      master ${x.request.type} vol ${x.request.volume} rest ${'remainingVolume' in x.request ? (x.request.remainingVolume ?? '-') : '-'} at ${x.request.occurredAt}`,
          );
        return [...ids]
          .map((mp) =>
            [
              `    master ${mp} (master ${masterOpen().has(mp) ? 'open' : 'closed'}): link ${JSON.stringify(links.filter((l) => l.masterPositionId === mp).map((l) => [l.status, l.ticket, l.openVolume]))}`,
              ...signals,
              ...orders
                .filter((o) => o['masterPositionId'] === mp)
                .reverse()
                .map((o) => {
                  const t = o['times'] as Record<string, string | null>;
                  return `      ${o['origin']} ${o['kind']} ${o['status']} ${o['reason'] ?? ''} vol ${o['volume']} filled ${o['filledVolume']} ticket ${o['ticket']} written ${t['written']} executed ${t['executed']} reported ${t['reported']}`;
                }),
            ].join('\n'),
          )
          .join('\n');
      };
      const masterOpen = () => new Set(master.account.positions.keys());
      // A follower's copy of a pending order may fill before the master's does: its position
      // then stands for a master order still waiting.
      const masterLive = () => new Set([...master.account.positions.keys(), ...master.account.orders.keys()]);

      // Reconciliation runs every second on fresh snapshots: wait until every book matches, twice in a row.
      const deadline = Date.now() + 30_000;
      let stable = 0;
      let mismatch = '';
      while (stable < 2) {
        if (Date.now() > deadline) {
          let detail = '';
          for (const f of FOLLOWERS) {
            const [book, expected] = [bookOf(f.id), await expectedOf(f.id)];
            if (JSON.stringify(book) !== JSON.stringify(expected))
              detail += `${f.id}\n${await explain(f.id, book, expected)}\n`;
          }
          throw new Error(`books did not converge:\n${mismatch}${detail}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
        mismatch = '';
        for (const f of FOLLOWERS) {
          const [book, expected] = [bookOf(f.id), await expectedOf(f.id)];
          if (JSON.stringify(book) !== JSON.stringify(expected))
            mismatch += `${f.id}\n  book     ${book.join(' | ')}\n  expected ${expected.join(' | ')}\n`;
          // Every pending copy is on the book and stands for a master order still waiting, or for
          // the position a master order became that the copy is still waiting to match
          // (pendingOnMasterFill leave).
          for (const line of pendingBookProblems(
            f.id,
            followers.get(f.id)!.account,
            await orderCopiesOf(f.id, 'pending'),
            masterLive(),
          ))
            mismatch += `${line}\n`;
        }
        const pending = await inFlight();
        if (pending > 0) mismatch += `${pending} copy orders in flight\n`;
        stable = mismatch === '' ? stable + 1 : 0;
      }

      // The expected book is the master's: no copy outlives its master position, none was dropped by a race.
      const added = new Set(
        master.sent.filter((x) => x.request.type === 'position.increased').map((x) => masterIdOf(x.request)),
      );
      expect(added.size, 'the master added to some of its positions').toBeGreaterThan(0);
      for (const f of FOLLOWERS) {
        const book = [...followers.get(f.id)!.account.positions.values()];
        // Several positions with one tag are a copy the master added to (hedging), never a second copy.
        for (const tag of new Set(book.map((p) => p.comment)))
          if (book.filter((p) => p.comment === tag).length > 1)
            expect(
              added.has(parsePositionTag(tag)?.masterPositionId ?? tag),
              `${f.id} holds two copies of ${tag}`,
            ).toBe(true);
        for (const l of await linksOf(f.id, 'open')) {
          expect(
            masterLive().has(l.masterPositionId),
            `${f.id} holds a copy of closed master position ${l.masterPositionId}\n${await history(f.id, [l.masterPositionId])}`,
          ).toBe(true);
          // The link names one of the copy's positions; on a netting account the symbol's one
          // position, whichever copy's tag it carries (none while the links on it cancel out).
          const net = book.find((p) => p.symbol === l.symbol);
          if (netting(f.id)) {
            if (net) expect(l.ticket, `${f.id} link of ${l.masterPositionId}`).toBe(net.ticket);
          } else
            expect(
              book
                .filter((p) => p.comment === positionTag(l.groupId, l.masterPositionId))
                .map((p) => p.ticket),
              `${f.id} link of ${l.masterPositionId}`,
            ).toContain(l.ticket);
        }
        const detached = await linksOf(f.id, 'detached');
        // On a netting account every copy on the symbol had a hand in it.
        const symbols = new Set(detached.map((l) => l.symbol));
        const involved = netting(f.id)
          ? (
              await api<{ items: Link[] }>('GET', `/api/admin/positions?followerAccountId=${f.id}&limit=500`)
            ).items.filter((l) => symbols.has(l.symbol))
          : detached;
        expect(
          detached,
          `${f.id}: positions detached though nothing was closed by hand\n${await history(
            f.id,
            involved.map((l) => l.masterPositionId),
          )}`,
        ).toEqual([]);
      }
      // A mirror follower holds exactly the master's volume of every position it copies.
      for (const l of await linksOf(MIRROR, 'open')) {
        expect(
          l.openVolume,
          `mirror volume of ${l.masterPositionId}\n${await history(MIRROR, [l.masterPositionId])}`,
        ).toBe(
          (master.account.positions.get(l.masterPositionId) ?? master.account.orders.get(l.masterPositionId))!
            .volume,
        );
      }

      // One copy order per signal and follower, never two.
      type Order = {
        orderId: string;
        signalId: string | null;
        followerAccountId: string;
        origin: string;
        kind: string;
        status: string;
        reason: string | null;
      };
      const orders = await allPages<Order>((path) => api('GET', path), '/api/admin/orders?limit=500');
      expect(new Set(orders.map((o) => o.orderId)).size).toBe(orders.length);
      const fromSignals = orders.filter((o) => o.origin === 'signal');
      expect(fromSignals).toHaveLength(TRADES * FOLLOWERS.length);
      const perSignal = new Map<string, number>();
      for (const o of fromSignals)
        perSignal.set(
          `${o.signalId} ${o.followerAccountId}`,
          (perSignal.get(`${o.signalId} ${o.followerAccountId}`) ?? 0) + 1,
        );
      expect(perSignal.size).toBe(TRADES * FOLLOWERS.length);
      expect(new Set(fromSignals.map((o) => o.signalId)).size).toBe(TRADES);

      // The run exercised the safety net: brokers rejected, reconciliation corrected, the restarted terminal caught up.
      const stats = [...followers.values()].map((f) => f.stats);
      expect(stats.reduce((n, s) => n + s.rejected, 0)).toBeGreaterThan(0);
      expect(
        followers.get('F09')!.stats.rejected,
        'the netting follower’s broker refuses too',
      ).toBeGreaterThan(0);
      // And pending orders in every way: placed, moved, cancelled and filled on the master;
      // placed, filled by the follower's own walk, replaced at market and opened on the fill.
      const orderSignals = new Set(
        master.sent.map((x) => x.request.type).filter((t) => t.startsWith('order.')),
      );
      expect([...orderSignals].sort()).toEqual([
        'order.cancelled',
        'order.filled',
        'order.modified',
        'order.placed',
      ]);
      expect(stats.reduce((n, s) => n + s.placed, 0)).toBeGreaterThan(0);
      expect(stats.reduce((n, s) => n + s.ordersFilled, 0)).toBeGreaterThan(0);
      const byKind = (kind: string) => orders.filter((o) => o.kind === kind && o.status === 'filled');
      expect(byKind('place_order').length).toBeGreaterThan(0);
      expect(byKind('cancel_order').length).toBeGreaterThan(0);
      const masterFills = new Set(
        master.sent.filter((x) => x.request.type === 'order.filled').map((x) => x.response.signalId),
      );
      const openedOnFill = (id: string) =>
        orders.filter(
          (o) =>
            o.followerAccountId === id &&
            o.kind === 'open' &&
            o.status === 'filled' &&
            o.signalId !== null &&
            masterFills.has(o.signalId),
        );
      expect(openedOnFill('F09').length, 'F09 opens at market when the master order fills').toBeGreaterThan(
        0,
      );
      expect(
        openedOnFill('F05').every((o) => o.reason === 'order_filled_at_market'),
        "F05's opens on a master fill replace its waiting copy",
      ).toBe(true);
      const f04 = await orderCopiesOf('F04', 'pending');
      expect(f04, 'F04 skips pending orders').toEqual([]);
      expect(orders.some((o) => o.origin === 'reconcile')).toBe(true);
      expect(again.stats.executions).toBeGreaterThan(0);

      // Analytics count every copy order and every copied trade.
      const analytics = await api<{
        copyOrders: number;
        copiedTrades: number;
        byStatus: Record<string, number>;
      }>('GET', '/api/admin/analytics/replication');
      expect(analytics.copyOrders).toBe(orders.length);
      expect(analytics.copiedTrades).toBe(
        orders.filter((o) => o.kind === 'open' && o.status === 'filled').length,
      );
      const byStatus: Record<string, number> = {};
      for (const o of orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
      expect(analytics.byStatus).toEqual(byStatus);
    },
  );
});
