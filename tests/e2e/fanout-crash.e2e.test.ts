/**
 * The gateway is killed with SIGKILL in the middle of 200-follower fan-outs and restarted;
 * the master retries what it got no answer for. Every follower ends with exactly one copy
 * order and one outbox event per signal: none lost, none doubled.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  dialects,
  dropTarget,
  freshTarget,
  tempDir,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import { migrate, openDatabase, type DatabaseTarget } from '../../packages/server/src/store/database.js';
import { insertAccount } from '../../packages/server/src/store/accounts.js';
import { insertKey } from '../../packages/server/src/store/keys.js';
import { insertGroup, putSubscription } from '../../packages/server/src/store/copy.js';
import { keyFingerprint, keyHash } from '../../packages/server/src/services/secrets.js';
import { spawnKopitra, type Spawned } from './support.js';

const FOLLOWERS = 200;
const SIGNALS = 12;
const SECRET = 'e2e-secret-0123456789abcdef0123456789';
const MASTER_KEY = 'master-key-0123456789abcdef';

async function seed(target: DatabaseTarget): Promise<void> {
  const database = await openDatabase(target);
  try {
    await migrate(database);
    const db = database.db;
    const now = Date.now();
    await insertAccount(db, { accountId: 'MASTER', platform: 'MT5', registeredBy: 'operator' }, now);
    await insertKey(
      db,
      {
        accountId: 'MASTER',
        fingerprint: keyFingerprint('MASTER', MASTER_KEY),
        keyHash: keyHash(SECRET, 'MASTER', MASTER_KEY),
        status: 'approved',
        origin: 'operator',
        expiresAt: null,
      },
      now,
    );
    const { group_id } = await insertGroup(db, { name: 'crash', masterAccountId: 'MASTER' }, now);
    const spec = JSON.stringify({
      symbol: 'EURUSD',
      digits: 5,
      point: 0.00001,
      tickSize: 0.00001,
      tickValue: 1,
      contractSize: 100000,
      volumeMin: 0.01,
      volumeMax: 100,
      volumeStep: 0.01,
      tradeMode: 'full',
    });
    for (let i = 0; i < FOLLOWERS; i++) {
      const id = `F${String(i).padStart(3, '0')}`;
      await insertAccount(db, { accountId: id, platform: 'MT5', registeredBy: 'operator' }, now);
      await db
        .insertInto('account_symbols')
        .values({ account_id: id, symbol: 'EURUSD', spec, updated_at: now })
        .execute();
      await putSubscription(
        db,
        {
          groupId: group_id,
          followerAccountId: id,
          settings: { sizing: { mode: 'multiplier', multiplier: 1 + (i % 3) }, maxSignalAgeSec: 3600 },
        },
        now,
      );
    }
  } finally {
    await database.close();
  }
}

describe.each(dialects)('fan-out survives SIGKILL on %s', (dialect) => {
  const running: Spawned[] = [];
  let target: DatabaseTarget | null = null;
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill('SIGKILL')));
    await dropTarget(target);
  });

  it('leaves exactly one copy order and one outbox event per signal and follower', async (t) => {
    target = await freshTarget(dialect);
    if (!target) return t.skip();
    await seed(target);
    const env = {
      KOPITRA_DATA_DIR: tempDir(),
      DATABASE_URL: target.dialect === 'sqlite' ? target.file : urlWithSchema(target),
      KOPITRA_SECRET: SECRET,
    };
    let server = await spawnKopitra(['up'], env);
    running.push(server);
    const headers = (extra: Record<string, string>) => ({
      'x-tradeagent-account': 'MASTER',
      'content-type': 'application/json',
      ...extra,
    });
    const created = await fetch(`${server.url}/trade-agent/v1/sessions`, {
      method: 'POST',
      headers: headers({ 'idempotency-key': 'master-session-1' }),
      body: JSON.stringify({
        authMethod: 'account_session_key',
        authKey: MASTER_KEY,
        platform: 'MT5',
        role: 'master',
        eaVersion: '1.0.0',
        terminalBuild: 4410,
      }),
    });
    expect(created.status).toBe(201);
    const { token, status } = (await created.json()) as { token: string; status: string };
    expect(status).toBe('authenticated');

    // An EA retries with the identical body (SPEC §2: another body under the key is a 422).
    const bodies = new Map<number, string>();
    const signal = (n: number) => ({
      type: 'position.opened',
      masterPositionId: String(1000 + n),
      symbol: 'EURUSD',
      side: n % 2 ? 'sell' : 'buy',
      volume: 0.1,
      price: 1.1,
      occurredAt: new Date().toISOString(),
      dealTicket: String(50_000 + n),
    });
    const send = async (url: string, n: number): Promise<number> => {
      try {
        const res = await fetch(`${url}/trade-agent/v1/signals`, {
          method: 'POST',
          headers: headers({ authorization: `Bearer ${token}`, 'idempotency-key': `sig-${n}` }),
          body: bodies.get(n) ?? bodies.set(n, JSON.stringify(signal(n))).get(n),
        });
        return res.status;
      } catch {
        return 0;
      }
    };

    // Fire every signal at once and kill the process while the fan-outs are being written.
    const first = Array.from({ length: SIGNALS }, (_, n) => send(server.url, n));
    await new Promise((r) => setTimeout(r, 150));
    await server.kill('SIGKILL');
    const before = await Promise.all(first);
    expect(before.some((s) => s !== 202)).toBe(true);

    server = await spawnKopitra(['up'], env);
    running.push(server);
    // The EA retries every signal it did not get a 202 for, with the same Idempotency-Key;
    // retrying the acknowledged ones too must change nothing.
    const after = [];
    for (let n = 0; n < SIGNALS; n++) after.push(await send(server.url, n));
    expect(after).toEqual(Array(SIGNALS).fill(202));

    const database = await openDatabase(target);
    try {
      const db = database.db;
      const perSignal = await db
        .selectFrom('copy_orders')
        .select(['signal_id', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('signal_id')
        .execute();
      expect(perSignal).toHaveLength(SIGNALS);
      expect(perSignal.every((r) => Number(r.n) === FOLLOWERS)).toBe(true);
      const signals = await db.selectFrom('signals').select('deal_ticket').execute();
      expect(signals.map((s) => s.deal_ticket).sort()).toEqual(
        Array.from({ length: SIGNALS }, (_, n) => String(50_000 + n)).sort(),
      );
      const perFollower = await db
        .selectFrom('outbox_events')
        .select([
          'account_id',
          (eb) => eb.fn.countAll<number>().as('n'),
          (eb) => eb.fn.min('sequence').as('lo'),
          (eb) => eb.fn.max('sequence').as('hi'),
        ])
        .where('type', '=', 'trade.started')
        .groupBy('account_id')
        .execute();
      expect(perFollower).toHaveLength(FOLLOWERS);
      // Contiguous per-account sequences: nothing half-written survived the kill.
      expect(
        perFollower.every((r) => Number(r.n) === SIGNALS && Number(r.lo) === 1 && Number(r.hi) === SIGNALS),
      ).toBe(true);
    } finally {
      await database.close();
    }
  });
});
