/**
 * The simulator without a gateway: seeded determinism, a master script that keeps a sane
 * book, and a follower executor that mirrors any master history it is handed, executes
 * each copy order once, and follows MT4's new tickets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignalRequest, type OutboxEvent } from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import { SimAccount } from './account.js';
import { SimBroker } from './broker.js';
import { positionTag as groupTag } from '@kopitra/contracts';
import { FollowerExecutor } from './executor.js';

const positionTag = (masterPositionId: string) => groupTag('g1', masterPositionId);
import { MasterScript } from './master-script.js';
import { PriceFeed } from './price-feed.js';
import { Prng } from './prng.js';
import { roundVolume, suffixSymbolMap, symbolCatalogue } from './symbols.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const clock: Clock = { now: () => T0, sleep: async () => undefined };

function script(seed: number | string, suffix = '') {
  const prng = new Prng(seed);
  const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue({ suffix }));
  const account = new SimAccount({ balance: 100_000 });
  return new MasterScript(prng.fork('trades'), account, feed);
}

const run = (s: MasterScript, steps: number) =>
  Array.from({ length: steps }, (_, i) => SignalRequest.parse(s.next(T0 + i * 1000).request));

describe('Prng', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    const draw = (seed: number | string) => {
      const p = new Prng(seed);
      return Array.from({ length: 50 }, () => p.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw('7')).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('forks independent streams: drawing from one leaves another unchanged', () => {
    const a = new Prng(1);
    const b = new Prng(1);
    const prices = a.fork('prices');
    for (let i = 0; i < 100; i++) prices.next();
    expect(a.fork('broker').next()).toBe(b.fork('broker').next());
    expect(a.fork('broker').next()).not.toBe(a.fork('prices').next());
  });

  it('keeps int and pick in range', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        (seed, lo, span) => {
          const p = new Prng(seed);
          for (let i = 0; i < 20; i++) {
            const v = p.int(lo, lo + span);
            if (v < lo || v > lo + span || !Number.isInteger(v)) return false;
          }
          return ['a', 'b', 'c'].includes(p.pick(['a', 'b', 'c']));
        },
      ),
    );
  });
});

describe('MasterScript', () => {
  it('is deterministic: the same seed gives the same signals, another seed others', () => {
    expect(run(script(42), 200)).toEqual(run(script(42), 200));
    expect(run(script(42), 50)).not.toEqual(run(script(43), 50));
  });

  it('sends valid signals about positions it holds, on the volume grid, with unique deal tickets', () => {
    const s = script('book');
    const open = new Map<string, number>();
    const deals = new Set<string>();
    const kinds = new Set<string>();
    for (const req of run(s, 400)) {
      expect(SignalRequest.safeParse(req).success).toBe(true);
      kinds.add(req.type);
      const spec = s.feed.symbol(req.symbol)!.spec;
      expect(roundVolume(req.volume, spec.volumeStep)).toBe(req.volume);
      if (req.dealTicket !== undefined) {
        expect(deals.has(req.dealTicket)).toBe(false);
        deals.add(req.dealTicket);
      }
      const id = req.masterPositionId;
      if (req.type === 'position.opened') {
        expect(open.has(id)).toBe(false);
        open.set(id, req.volume);
        continue;
      }
      expect(open.has(id)).toBe(true);
      if (req.type === 'position.partially_closed') {
        expect(req.remainingVolume).toBe(roundVolume(open.get(id)! - req.volume, spec.volumeStep));
        open.set(id, req.remainingVolume!);
      }
      if (req.type === 'position.closed') open.delete(id);
    }
    expect(kinds).toEqual(
      new Set(['position.opened', 'position.modified', 'position.partially_closed', 'position.closed']),
    );
    expect([...open.keys()].sort()).toEqual([...s.account.positions.keys()].sort());
    expect(s.account.positions.size).toBeLessThanOrEqual(6);
  });
});

/** What the gateway sends a mirror follower (suffix map applied) for one master signal. */
function eventFor(req: SignalRequest, seq: number, suffix: string, follower: SimAccount): OutboxEvent {
  const symbol = suffixSymbolMap(suffix)[req.symbol] ?? req.symbol;
  const orderId = `ord-${seq}`;
  const linked = follower.find(null, positionTag(req.masterPositionId))?.ticket ?? null;
  // As the gateway says it: the copy spans several positions (a hedging follower's adds).
  const held = follower.netting ? 1 : follower.tagged(positionTag(req.masterPositionId)).length;
  const spans = held > 1 ? { positions: held } : {};
  const base = { eventId: `evt-${seq}`, sequence: seq, occurredAt: req.occurredAt };
  switch (req.type) {
    case 'position.opened':
      return {
        ...base,
        type: 'trade.started',
        payload: {
          orderId,
          masterAccountId: 'M',
          masterPositionId: req.masterPositionId,
          symbol,
          side: req.side,
          volume: req.volume,
          sl: req.sl ?? null,
          tp: req.tp ?? null,
          masterPrice: req.price,
          maxSlippage: null,
          expiresAt: new Date(T0 + 3_600_000).toISOString(),
          comment: positionTag(req.masterPositionId),
        },
      };
    case 'position.increased':
      return {
        ...base,
        type: 'trade.increased',
        payload: {
          orderId,
          masterAccountId: 'M',
          masterPositionId: req.masterPositionId,
          ticket: linked,
          symbol,
          side: req.side,
          volume: req.volume,
          sl: req.sl ?? null,
          tp: req.tp ?? null,
          masterPrice: req.price,
          maxSlippage: null,
          expiresAt: new Date(T0 + 3_600_000).toISOString(),
          comment: positionTag(req.masterPositionId),
        },
      };
    case 'position.modified':
      return {
        ...base,
        type: 'trade.modified',
        payload: {
          orderId,
          masterPositionId: req.masterPositionId,
          comment: positionTag(req.masterPositionId),
          ticket: linked,
          symbol,
          sl: req.sl ?? null,
          tp: req.tp ?? null,
        },
      };
    case 'position.partially_closed':
      return {
        ...base,
        type: 'trade.partial_close',
        payload: {
          orderId,
          masterPositionId: req.masterPositionId,
          comment: positionTag(req.masterPositionId),
          ticket: linked,
          symbol,
          volume: req.volume,
          ...spans,
        },
      };
    case 'position.closed':
      return {
        ...base,
        type: 'trade.closed',
        payload: {
          orderId,
          masterPositionId: req.masterPositionId,
          comment: positionTag(req.masterPositionId),
          ticket: linked,
          symbol,
          volume: req.volume,
          ...spans,
        },
      };
  }
}

function follower(
  seed: string,
  opts: { suffix?: string; mt4?: boolean; rejectRate?: number; netting?: boolean } = {},
) {
  const prng = new Prng(seed);
  const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue({ suffix: opts.suffix ?? '' }));
  const account = new SimAccount({ netting: opts.netting ?? false });
  const broker = new SimBroker(prng.fork('broker'), feed, clock, {
    rejectRate: opts.rejectRate ?? 0,
    slippagePoints: 3,
  });
  return {
    account,
    executor: new FollowerExecutor(account, feed, broker, clock, {
      newTicketOnPartialClose: opts.mt4 === true,
    }),
  };
}

describe('FollowerExecutor', () => {
  it('mirrors any master history: same positions (by tag), sides and volumes, whatever the suffix or MT4 tickets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.constantFrom('', '.m', '-ECN'),
        fc.boolean(),
        fc.integer({ min: 1, max: 120 }),
        async (seed, suffix, mt4, steps) => {
          const master = script(seed);
          const f = follower(`f${seed}`, { suffix, mt4 });
          let seq = 0;
          for (const req of run(master, steps)) {
            const done = await f.executor.execute(eventFor(req, ++seq, suffix, f.account));
            if (done?.report.status !== 'filled') return false;
          }
          const want = [...master.account.positions.values()]
            .map((p) => `${positionTag(p.ticket)} ${p.symbol}${suffix} ${p.side} ${p.volume} ${p.sl} ${p.tp}`)
            .sort();
          const got = [...f.account.positions.values()]
            .map((p) => `${p.comment} ${p.symbol} ${p.side} ${p.volume} ${p.sl} ${p.tp}`)
            .sort();
          expect(got).toEqual(want);
          return true;
        },
      ),
      { numRuns: 40 },
    );
  });

  it('executes a copy order once: a redelivered event gets the original report', async () => {
    const f = follower('once');
    const master = script('once-m');
    const [open] = run(master, 1);
    const event = eventFor(open!, 1, '', f.account);
    const first = await f.executor.execute(event);
    const again = await f.executor.execute(event);
    expect(first!.replayed).toBe(false);
    expect(again!.replayed).toBe(true);
    expect(again!.report).toEqual(first!.report);
    expect(f.account.positions.size).toBe(1);
  });

  it('looks for the tagged position before judging expiry: an open done before a crash is reported filled', async () => {
    const f = follower('recover');
    const master = script('recover-m');
    const [open] = run(master, 1);
    const event = eventFor(open!, 1, '', f.account);
    const payload = event.payload as { expiresAt: string; comment: string };
    const first = await f.executor.execute(event);
    expect(first!.report.status).toBe('filled');
    // The crash lost the journal, and the replay arrives after expiresAt.
    f.account.executed.clear();
    const late = { ...event, payload: { ...payload, expiresAt: new Date(T0 - 1000).toISOString() } };
    const again = await f.executor.execute(late);
    expect(again!.report).toMatchObject({ status: 'filled', ticket: first!.report.ticket });
    expect(f.account.positions.size).toBe(1);
    // Without the position, a late open is not executed and reported failed: expired.
    const other = eventFor(run(script('recover-m2'), 1)[0]!, 2, '', f.account);
    const expired = await f.executor.execute({
      ...other,
      payload: {
        ...(other.payload as object),
        masterPositionId: 'never-opened',
        comment: positionTag('never-opened'),
        expiresAt: new Date(T0 - 1000).toISOString(),
      },
    });
    expect(expired!.report).toMatchObject({ status: 'failed', errorCode: 'expired' });
  });

  it('gives the rest of an MT4 partial close a new ticket and says so', async () => {
    const f = follower('mt4', { mt4: true });
    const tag = positionTag('777');
    const pos = f.account.open({
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      openPrice: 1.08,
      sl: null,
      tp: null,
      comment: tag,
      magic: '0',
      openedAt: T0,
    });
    const done = await f.executor.execute({
      eventId: 'e',
      sequence: 1,
      type: 'trade.partial_close',
      occurredAt: new Date(T0).toISOString(),
      payload: { orderId: 'o1', masterPositionId: '777', ticket: pos.ticket, symbol: 'EURUSD', volume: 0.4 },
    });
    const rest = f.account.find(null, tag)!;
    expect(rest.ticket).not.toBe(pos.ticket);
    expect(rest.volume).toBe(0.6);
    expect(done!.report).toMatchObject({ status: 'filled', ticket: rest.ticket, volume: 0.4 });
    expect(done!.notice).toMatchObject({ ticket: rest.ticket, previousTicket: pos.ticket });
  });

  it('rejects about the configured share of requests and reports what it cannot find', async () => {
    const f = follower('rejects', { rejectRate: 0.25 });
    const master = script('rejects-m');
    let rejected = 0;
    let total = 0;
    for (const req of run(master, 400).filter((r) => r.type === 'position.opened')) {
      const done = await f.executor.execute(eventFor(req, ++total, '', f.account));
      if (done!.report.status === 'rejected') rejected++;
    }
    expect(rejected / total).toBeGreaterThan(0.12);
    expect(rejected / total).toBeLessThan(0.4);
    const missing = await f.executor.execute({
      eventId: 'x',
      sequence: 999,
      type: 'trade.closed',
      occurredAt: new Date(T0).toISOString(),
      payload: { orderId: 'o-missing', masterPositionId: 'nope', ticket: null, symbol: 'EURUSD' },
    });
    expect(missing!.report).toMatchObject({ status: 'failed', errorCode: 4108 });
  });

  it('keeps a book across a restart through toJSON / fromJSON', () => {
    const a = new SimAccount({ balance: 5000 });
    a.open({
      symbol: 'XAUUSD',
      side: 'sell',
      volume: 0.2,
      openPrice: 2350,
      sl: 2360,
      tp: null,
      comment: positionTag('9'),
      magic: '0',
      openedAt: T0,
    });
    a.executed.set('o1', { orderId: 'o1', status: 'filled', executedAt: new Date(T0).toISOString() });
    const deal = a.issueDeal();
    const b = SimAccount.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect([...b.positions.values()]).toEqual([...a.positions.values()]);
    expect(b.executed.get('o1')).toEqual(a.executed.get('o1'));
    expect(b.issueTicket()).toBe(a.issueTicket());
    expect(Number(b.issueDeal())).toBe(Number(deal) + 1);
  });
});

describe('netting masters that add to a position', () => {
  function nettingScript(seed: number | string) {
    const prng = new Prng(seed);
    const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue({ suffix: '' }));
    const account = new SimAccount({ balance: 100_000, netting: true });
    return new MasterScript(prng.fork('trades'), account, feed, { addRate: 0.25 });
  }

  it('adds to its one position per symbol and says what the position holds after each add', () => {
    const s = nettingScript('adds');
    const held = new Map<string, number>();
    let adds = 0;
    for (const req of run(s, 300)) {
      const spec = s.feed.symbol(req.symbol)!.spec;
      if (req.type === 'position.opened') {
        expect(held.has(req.masterPositionId)).toBe(false);
        held.set(req.masterPositionId, req.volume);
      } else if (req.type === 'position.increased') {
        adds++;
        expect(req.remainingVolume).toBe(
          roundVolume(held.get(req.masterPositionId)! + req.volume, spec.volumeStep),
        );
        held.set(req.masterPositionId, req.remainingVolume!);
      } else if (req.type === 'position.partially_closed')
        held.set(req.masterPositionId, req.remainingVolume!);
      else if (req.type === 'position.closed') held.delete(req.masterPositionId);
      const symbols = [...s.account.positions.values()].map((p) => p.symbol);
      expect(new Set(symbols).size, 'one position per symbol').toBe(symbols.length);
    }
    expect(adds).toBeGreaterThan(10);
    expect([...held.keys()].sort()).toEqual([...s.account.positions.keys()].sort());
  });

  it('refuses an add with nothing of its copy open (its open was refused), on hedging and netting accounts', async () => {
    for (const netting of [false, true]) {
      const master = nettingScript(`no-copy-${netting}`);
      const f = follower(`no-copy-${netting}`, { netting });
      const reqs = run(master, 300);
      const add = reqs.find((r) => r.type === 'position.increased');
      const open = reqs.find(
        (r) => r.type === 'position.opened' && r.masterPositionId === add?.masterPositionId,
      );
      expect(open).toBeDefined();
      expect(add).toBeDefined();
      // The open never reached the book (refused by the broker): the add finds no copy.
      const done = await f.executor.execute(eventFor(add!, 2, '', f.account));
      expect(done!.report).toMatchObject({ status: 'failed', errorCode: 'position_not_found' });
      expect(f.account.positions.size).toBe(0);
      // With its copy open, the same add is made.
      const g = follower(`copy-${netting}`, { netting });
      await g.executor.execute(eventFor(open!, 1, '', g.account));
      expect((await g.executor.execute(eventFor(add!, 2, '', g.account)))!.report.status).toBe('filled');
    }
  });

  it('a hedging follower holds the copy in several tagged positions, a netting one in one; both hold the master’s volume', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 150 }),
        async (seed, netting, mt4, steps) => {
          const master = nettingScript(seed);
          const f = follower(`n${seed}`, { netting, mt4: mt4 && !netting });
          let seq = 0;
          for (const req of run(master, steps)) {
            const done = await f.executor.execute(eventFor(req, ++seq, '', f.account));
            if (done?.report.status !== 'filled') return false;
          }
          const byTag = new Map<string, number>();
          for (const p of f.account.positions.values())
            byTag.set(p.comment, roundVolume((byTag.get(p.comment) ?? 0) + p.volume, 0.01));
          const want = [...master.account.positions.values()]
            .map((p) => `${positionTag(p.ticket)} ${p.volume}`)
            .sort();
          expect([...byTag].map(([tag, v]) => `${tag} ${v}`).sort()).toEqual(want);
          if (netting) expect(byTag.size).toBe(f.account.positions.size);
          return true;
        },
      ),
      { numRuns: 40 },
    );
  });
});
