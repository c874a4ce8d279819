/**
 * A small copying set-up for browser tests, made through the same API and EA protocol an
 * operator and a terminal use: a master and a follower (each with an operator-issued key), a
 * copy group whose follower skips GBPUSD and a second follower that skips all but XAUUSD, and simulated terminals that trade, so lists, charts
 * and detail pages have rows to show.
 */
import { SimFollower, SimMaster } from '@kopitra/ea-sdk';
import type { adminApi } from './support.js';

export interface Seeded {
  master: string;
  follower: string;
  groupId: string;
  sims: Array<SimMaster | SimFollower>;
  /** How many master trades the simulated master sent. */
  trades: number;
}

export async function seedCopying(
  url: string,
  api: Awaited<ReturnType<typeof adminApi>>,
  opts: { master: string; follower: string; trades: number },
): Promise<Seeded> {
  const must = async (method: string, route: string, body?: unknown) => {
    const res = await api(method, route, body);
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  await must('POST', '/api/admin/accounts', { accountId: opts.master, platform: 'MT5', currency: 'USD' });
  await must('POST', '/api/admin/accounts', { accountId: opts.follower, platform: 'MT5', currency: 'EUR' });
  const group = await must('POST', '/api/admin/groups', {
    name: 'Seeded group',
    masterAccountId: opts.master,
  });
  await must('PUT', `/api/admin/groups/${group.groupId}/followers/${opts.follower}`, {
    sizing: { mode: 'multiplier', multiplier: 1 },
    symbolFilter: { exclude: ['GBPUSD'] },
  });
  // A second follower that copies nothing but XAUUSD, which the master never trades: every
  // signal leaves it a skipped copy order.
  const picky = `${opts.follower}-X`;
  await must('POST', '/api/admin/accounts', { accountId: picky, platform: 'MT5' });
  await must('PUT', `/api/admin/groups/${group.groupId}/followers/${picky}`, {
    symbolFilter: { include: ['XAUUSD'] },
  });
  const masterKey = (await must('POST', `/api/admin/accounts/${opts.master}/keys`, {})).key as string;
  const followerKey = (await must('POST', `/api/admin/accounts/${opts.follower}/keys`, {})).key as string;
  const sims: Seeded['sims'] = [];
  const follower = new SimFollower({
    gateway: url,
    accountId: opts.follower,
    authKey: followerKey,
    symbols: ['EURUSD', 'GBPUSD'],
    log: () => undefined,
  });
  sims.push(follower);
  await follower.start();
  const master = new SimMaster({
    gateway: url,
    accountId: opts.master,
    authKey: masterKey,
    symbols: ['EURUSD', 'GBPUSD'],
    seed: 7,
    log: () => undefined,
  });
  sims.push(master);
  await master.start();
  const trades = await master.run({ trades: opts.trades, intervalMs: 40 });
  return { master: opts.master, follower: opts.follower, groupId: group.groupId, sims, trades };
}

export const stopSims = (seeded: Seeded | undefined) =>
  Promise.all((seeded?.sims ?? []).map((s) => s.stop({ crash: true }).catch(() => undefined)));
