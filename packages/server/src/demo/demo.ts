/**
 * `kopitra up --demo`: a master and three followers trading through the real gateway, so
 * the console shows live copying. On a fresh database it provisions them (accounts,
 * pre-approved keys, one copy group with three sizing modes and broker suffixes); with the
 * demo already there it restarts the terminals on their saved books. The terminals are the
 * SDK's simulators speaking HTTP to `platform.url`, exactly as third-party EAs would.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  SimAccount,
  SimFollower,
  SimMaster,
  suffixSymbolMap,
  type SimAccountState,
  type SimTerminal,
} from '@kopitra/ea-sdk';
import type { Platform } from '../runtime.js';
import { anyAccount, getAccount, insertAccount } from '../store/accounts.js';
import { insertKey } from '../store/keys.js';
import { inTransaction } from '../store/transaction.js';
import { keyFingerprint, keyHash } from '../services/secrets.js';
import { insertValidGroup, putValidSubscription } from '../services/groups.js';
import { appendAudit } from '../services/audit.js';

export interface DemoOptions {
  /** Where the terminals' books are kept between runs (default: none, books start empty). */
  dataDir?: string;
  /** Mean pause between the master's trades (default 2500 ms). */
  intervalMs?: number;
  /** Seed of the master's schedule (default 42). */
  seed?: number;
  /** Share of follower trade requests the simulated brokers reject (default 0.02). */
  rejectRate?: number;
  /** Receives what the demo does and where to look (default: stdout). */
  print?: (line: string) => void;
}

export interface Demo {
  /** True when this run created the demo accounts (a fresh database). */
  readonly provisioned: boolean;
  readonly terminals: readonly SimTerminal[];
  stop(): Promise<void>;
}

interface DemoAccount {
  accountId: string;
  role: 'master' | 'follower';
  platform: 'MT4' | 'MT5';
  broker: string;
  suffix: string;
  balance: number;
  /** The broker's clock minus UTC the terminal reports (brokers commonly run at UTC+2/+3). */
  serverUtcOffsetSec?: number;
  settings?: Record<string, unknown>;
  label: string;
}

export const DEMO_MASTER = 'DEMO-MASTER';

const ACCOUNTS: readonly DemoAccount[] = [
  {
    accountId: DEMO_MASTER,
    role: 'master',
    platform: 'MT5',
    broker: 'Demo Markets',
    suffix: '',
    balance: 100_000,
    label: 'master',
  },
  {
    accountId: 'DEMO-MIRROR',
    role: 'follower',
    platform: 'MT5',
    broker: 'Demo Markets',
    suffix: '',
    balance: 20_000,
    settings: { sizing: { mode: 'mirror' } },
    label: 'mirror',
  },
  {
    accountId: 'DEMO-X2',
    role: 'follower',
    platform: 'MT5',
    broker: 'Other Broker (.m)',
    suffix: '.m',
    balance: 50_000,
    serverUtcOffsetSec: 2 * 3600,
    settings: { sizing: { mode: 'multiplier', multiplier: 2 }, symbolMap: suffixSymbolMap('.m') },
    label: 'multiplier 2, symbols EURUSD → EURUSD.m',
  },
  {
    accountId: 'DEMO-EQ',
    role: 'follower',
    platform: 'MT4',
    broker: 'ECN Broker (-ECN)',
    suffix: '-ECN',
    balance: 50_000,
    serverUtcOffsetSec: 3 * 3600,
    settings: { sizing: { mode: 'equity_ratio', multiplier: 1 }, symbolMap: suffixSymbolMap('-ECN') },
    label: 'equity ratio (half the master), MT4, symbols EURUSD → EURUSD-ECN',
  },
];

/** The demo terminals' keys, derived from the instance secret so a restart needs nothing stored in the clear. */
const demoKey = (secret: string, accountId: string): string =>
  createHmac('sha256', secret).update(`kopitra-demo-key\n${accountId}`).digest('base64url');

/** Creates the demo accounts, keys, group and subscriptions in one transaction. */
async function provision(platform: Platform): Promise<void> {
  const now = platform.gateway.clock.now();
  const secret = platform.gateway.secret;
  await inTransaction(platform.database.db, async ({ trx }) => {
    for (const a of ACCOUNTS) {
      await insertAccount(
        trx,
        {
          accountId: a.accountId,
          platform: a.platform,
          broker: a.broker,
          currency: 'USD',
          displayName: `Demo ${a.label}`,
          sessionPolicy: 'takeover',
          registeredBy: 'demo',
        },
        now,
      );
      const key = demoKey(secret, a.accountId);
      await insertKey(
        trx,
        {
          accountId: a.accountId,
          fingerprint: keyFingerprint(a.accountId, key),
          keyHash: keyHash(secret, a.accountId, key),
          status: 'approved',
          origin: 'operator',
          expiresAt: null,
          decidedBy: 'demo',
        },
        now,
      );
    }
    const group = await insertValidGroup(trx, { name: 'Demo signals', masterAccountId: DEMO_MASTER }, now);
    for (const a of ACCOUNTS)
      if (a.role === 'follower')
        await putValidSubscription(trx, group.group_id, a.accountId, a.settings ?? {}, now);
    await appendAudit(
      trx,
      {
        actor: 'demo',
        action: 'demo.provision',
        targetType: 'group',
        targetId: group.group_id,
        after: { accounts: ACCOUNTS.map((a) => a.accountId) },
      },
      now,
    );
  });
}

/** `http://0.0.0.0:8080` is where the server listens, not an address to call. */
function callableUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

function loadBooks(file: string | null): Record<string, SimAccountState> {
  if (!file || !fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, SimAccountState>;
  } catch {
    return {};
  }
}

/** Provisions (fresh database) or finds the demo, and starts its four terminals. */
export async function startDemo(platform: Platform, opts: DemoOptions = {}): Promise<Demo> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const logger = platform.logger.child({ component: 'demo' });
  if (!platform.url) throw new Error('the demo needs a listening platform (its terminals speak HTTP)');
  const db = platform.database.db;
  const hasAccounts = await anyAccount(db);
  const master = await getAccount(db, DEMO_MASTER);
  let provisioned = false;
  if (!hasAccounts) {
    await provision(platform);
    provisioned = true;
  } else if (!master) {
    print(
      '\n  Demo skipped: this database already has accounts and none of them is the demo.\n  Start with an empty --data-dir to see the demo.\n',
    );
    return { provisioned: false, terminals: [], stop: async () => undefined };
  }

  const booksFile = opts.dataDir ? path.join(opts.dataDir, 'demo-books.json') : null;
  const books = loadBooks(booksFile);
  const gateway = callableUrl(platform.url);
  const log = (line: string) => logger.info(line);
  const terminals: SimTerminal[] = [];
  const followers: SimFollower[] = [];
  for (const a of ACCOUNTS.filter((x) => x.role === 'follower')) {
    const state = books[a.accountId];
    followers.push(
      new SimFollower({
        gateway,
        accountId: a.accountId,
        authKey: demoKey(platform.gateway.secret, a.accountId),
        platform: a.platform,
        broker: a.broker,
        suffix: a.suffix,
        log,
        balance: a.balance,
        ...(a.serverUtcOffsetSec !== undefined ? { serverUtcOffsetSec: a.serverUtcOffsetSec } : {}),
        ...(state ? { account: SimAccount.fromJSON(state) } : {}),
        rejectRate: opts.rejectRate ?? 0.02,
        latencyMs: [20, 120],
        slippagePoints: 4,
        snapshotIntervalMs: 10_000,
      }),
    );
  }
  const m = ACCOUNTS[0]!;
  const masterState = books[m.accountId];
  const sim = new SimMaster({
    gateway,
    accountId: m.accountId,
    authKey: demoKey(platform.gateway.secret, m.accountId),
    platform: m.platform,
    broker: m.broker,
    log,
    balance: m.balance,
    ...(masterState ? { account: SimAccount.fromJSON(masterState) } : {}),
    // A restart continues the book with a fresh schedule rather than replaying the first one.
    seed: masterState ? `${opts.seed ?? 42}/${masterState.nextDeal}` : (opts.seed ?? 42),
    intervalMs: opts.intervalMs ?? 2500,
    maxOpenPositions: 6,
  });
  const running: Array<Promise<unknown>> = [];
  try {
    for (const f of followers) terminals.push(await f.start());
    terminals.push(await sim.start());
  } catch (err) {
    await Promise.all(terminals.map((t) => t.stop()));
    throw err;
  }
  running.push(sim.run().catch((err: unknown) => logger.error({ err }, 'demo master stopped')));

  print(
    [
      '',
      `  Demo: ${DEMO_MASTER} trades every ~${((opts.intervalMs ?? 2500) / 1000).toFixed(1)} s; ${followers.length} followers copy it${provisioned ? ' (accounts created)' : ' (restarted)'}:`,
      ...ACCOUNTS.filter((a) => a.role === 'follower').map((a) => `    ${a.accountId.padEnd(12)} ${a.label}`),
      '  Look at: Orders (one copy order per signal and follower, with latency and slippage), Positions (master ↔ follower tickets),',
      '  Analytics (replication rate, latency percentiles), Alerts (reconciliation at work: brokers reject ~2 % of requests), Sessions.',
      '',
    ].join('\n'),
  );

  let stopped = false;
  return {
    provisioned,
    terminals,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all(terminals.map((t) => t.stop()));
      await Promise.all(running);
      if (booksFile) {
        const state = Object.fromEntries(terminals.map((t) => [t.options.accountId, t.account.toJSON()]));
        fs.writeFileSync(booksFile, JSON.stringify(state));
      }
    },
  };
}
