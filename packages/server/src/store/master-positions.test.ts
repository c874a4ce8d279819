import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects, dropTarget, freshTarget } from '../testing/databases.js';
import { insertSignal, type SignalRow } from './copy.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from './database.js';
import { applyMasterSignal, masterPositionsOf } from './master-positions.js';

let n = 0;
const signal = (over: Partial<SignalRow>): SignalRow => ({
  signal_id: `sig_${++n}`,
  master_account_id: 'M',
  session_id: 's',
  client_signal_id: null,
  deal_ticket: null,
  type: 'position.opened',
  master_position_id: 'P1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 1,
  remaining_volume: null,
  price: 1.1,
  sl: null,
  tp: null,
  magic: '7',
  comment: null,
  occurred_at: 1000 + n,
  received_at: 1000 + n,
  response: '{}',
  ...over,
});

// A master's history: P1 opened, partly closed (remaining given), modified; P2 opened and
// closed; P3 opened and partly closed without a remaining volume.
const history = (): SignalRow[] => [
  signal({ master_position_id: 'P1', volume: 1, sl: 1.09, tp: 1.12 }),
  signal({ master_position_id: 'P2', symbol: 'XAUUSD', side: 'sell', volume: 0.2, price: 2400 }),
  signal({ master_position_id: 'P1', type: 'position.partially_closed', volume: 0.4, remaining_volume: 0.6 }),
  signal({ master_position_id: 'P3', symbol: 'GBPUSD', volume: 0.5, price: 1.25 }),
  signal({ master_position_id: 'P1', type: 'position.modified', volume: 0.6, sl: 1.095, tp: 1.13 }),
  signal({ master_position_id: 'P2', type: 'position.closed', symbol: 'XAUUSD', side: 'sell', volume: 0.2 }),
  signal({ master_position_id: 'P3', type: 'position.partially_closed', symbol: 'GBPUSD', volume: 0.2 }),
];

const book = async (db: Database['db']) =>
  (await masterPositionsOf(db, 'M')).map((r) => [
    r.master_position_id,
    r.symbol,
    r.side,
    r.volume,
    r.open_price,
    r.sl,
    r.tp,
    r.magic,
  ]);

const expected = [
  ['P1', 'EURUSD', 'buy', 0.6, 1.1, 1.095, 1.13, '7'],
  ['P3', 'GBPUSD', 'buy', 0.3, 1.25, null, null, '7'],
];

describe.each(dialects)("the master's book on %s", (dialect) => {
  let target: DatabaseTarget | null;
  let database: Database;
  beforeEach(async () => {
    target = await freshTarget(dialect);
    if (!target) return;
    database = await openDatabase(target);
    await migrate(database);
  });
  afterEach(async () => {
    if (!target) return;
    await database.close();
    await dropTarget(target);
  });

  it('folds each accepted signal into the positions the master holds', async (t) => {
    if (!target) return t.skip();
    for (const s of history()) await applyMasterSignal(database.db, s, 5000);
    expect(
      (await book(database.db)).map((r) => r.map((v) => (typeof v === 'number' ? Number(v.toFixed(8)) : v))),
    ).toEqual(expected);
  });

  it('is filled from the signals already stored when the migration runs', async (t) => {
    if (!target) return t.skip();
    // Back to the schema before the table existed, with a history of signals.
    await sql`drop table master_positions`.execute(database.db);
    await sql`delete from kopitra_migrations where name = '0019_master_positions'`.execute(database.db);
    for (const s of history()) await insertSignal(database.db, s);
    expect(await migrate(database)).toEqual(['0019_master_positions']);
    expect(
      (await book(database.db)).map((r) => r.map((v) => (typeof v === 'number' ? Number(v.toFixed(8)) : v))),
    ).toEqual(expected);
  });
});
