/**
 * Generated bad input for every EA route and every management write route, derived from the
 * zod contracts (testing/bad-input.ts), sent to a real in-process server on a real database,
 * authenticated as a real admin and real approved EA sessions so requests reach validation.
 *
 * - Malformed requests (the contract, the JSON parser or a path id refuses them) get a coded
 *   4xx — a catalogued error code with its catalogued status — never a 5xx, and change nothing:
 *   every table's checksum is compared before and after each batch.
 * - Odd but schema-valid input (odd Unicode, extremes within the bounds) never gets a 5xx.
 *
 * Routes are listed from the app itself; a route without a generator fails the coverage test.
 * `npm run fuzz` (KOPITRA_FUZZ_RUNS=10000) runs the long pass and prints per-route counts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { AccountId } from '@kopitra/contracts';
import { managementRouteSpecs } from '../management/app.js';
import { taskCatalogue } from '../services/tasks.js';
import {
  BAD_ACCOUNTS,
  EA_ROUTES,
  codedError,
  plan,
  requestArb,
  type Generated,
  type Target,
  type World,
} from '../testing/bad-requests.js';
import { changedTables, tableChecksums } from '../testing/db-scan.js';
import { dialects, type DialectName } from '../testing/databases.js';
import { ADMIN, BASE, idem, sessionBody, startTestPlatform, type TestPlatform } from '../testing/platform.js';

const FUZZ_RUNS = Number(process.env['KOPITRA_FUZZ_RUNS'] ?? '0');
/** Cases per route: a few hundred in CI on SQLite, fewer on PostgreSQL; `npm run fuzz` raises both. */
const runsFor = (dialect: DialectName, kind: 'malformed' | 'valid') => {
  const runs = FUZZ_RUNS > 0 ? FUZZ_RUNS : 200;
  const share =
    dialect === 'sqlite' ? (kind === 'malformed' ? 1 : 1 / 10) : kind === 'malformed' ? 1 / 10 : 1 / 20;
  return Math.ceil(runs * share);
};
/** Checksums are compared after every this many requests (and at the end of each route). */
const BATCH = 50;

// --- the world the requests are sent into ------------------------------------------------------

interface Fixture extends World {
  tp: TestPlatform;
  /** Creates the follower's session again after a case released it. */
  revive(): Promise<void>;
}

async function call(
  tp: TestPlatform,
  method: 'POST' | 'PUT' | 'PATCH',
  url: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<any> {
  const res = await tp.platform.app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    payload: body as object,
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Waits until nothing changes in the background (bus consumers, jobs) for a few polls. */
async function settled(tp: TestPlatform): Promise<Record<string, string>> {
  let last = await tableChecksums(tp.platform.database);
  for (let stable = 0, i = 0; stable < 3 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await tableChecksums(tp.platform.database);
    stable = changedTables(last, now).length === 0 ? stable + 1 : 0;
    last = now;
  }
  return last;
}

async function startFixture(dialect: DialectName): Promise<Fixture | null> {
  const tp = await startTestPlatform(dialect, { KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8' });
  if (!tp) return null;
  const login = await call(tp, 'POST', '/api/auth/login', null, ADMIN);
  const admin = login.token as string;
  const api = (method: 'POST' | 'PUT' | 'PATCH', url: string, body: unknown = {}) =>
    call(tp, method, url, admin, body);

  const accounts = ['FZ-M', 'FZ-F', 'FZ-V', 'FZ-F2', 'FZ-X'];
  const keys: Record<string, { key: string; fingerprint: string }> = {};
  for (const accountId of accounts) {
    await api('POST', '/api/admin/accounts', { accountId, platform: 'MT5' });
    keys[accountId] = await api('POST', `/api/admin/accounts/${accountId}/keys`, {});
  }
  const session = async (accountId: string, role: 'master' | 'follower', key: string) =>
    call(tp, 'POST', `${BASE}/sessions`, null, sessionBody(key, { role }), {
      'x-tradeagent-account': accountId,
      'idempotency-key': idem(),
    });
  const m = await session('FZ-M', 'master', keys['FZ-M']!.key);
  const f = await session('FZ-F', 'follower', keys['FZ-F']!.key);
  expect([m.status, f.status]).toEqual(['authenticated', 'authenticated']);
  const pending = await session('FZ-P', 'follower', 'an-unknown-key-0123456789');
  expect(pending.status).toBe('pending');

  const group = await api('POST', '/api/admin/groups', { name: 'fuzz', masterAccountId: 'FZ-M' });
  await api('PUT', `/api/admin/groups/${group.groupId}/followers/FZ-F`, { sizing: { mode: 'mirror' } });
  const victimGroup = await api('POST', '/api/admin/groups', { name: 'victim', masterAccountId: 'FZ-V' });
  await api('PUT', `/api/admin/groups/${victimGroup.groupId}/followers/FZ-F2`, {});
  const user = await api('POST', '/api/admin/users', {
    email: 'victim@test.local',
    role: 'viewer',
    password: 'a victim passphrase 0451',
  });
  const webhook = await api('POST', '/api/admin/webhooks', {
    url: 'http://127.0.0.1:9/hook',
    eventTypes: ['alert.raised'],
  });
  // Disabled, so no delivery runs in the background while checksums are compared.
  await api('PATCH', `/api/admin/webhooks/${webhook.webhookId}`, { status: 'disabled' });

  const real: Record<string, fc.Arbitrary<string>> = {
    accountId: fc.constant('FZ-V'),
    groupId: fc.constant(victimGroup.groupId),
    userId: fc.constant(user.userId),
    webhookId: fc.constant(webhook.webhookId),
    fingerprint: fc.constant(keys['FZ-V']!.fingerprint),
    taskId: fc.constantFrom(...Object.keys(taskCatalogue)),
    // Decisions apply to the pending terminal; orders go to the live follower.
    sessionId: fc.constant(pending.sessionId),
    alertId: fc.constant('alert-none'),
    stopoutId: fc.constant('stopout-none'),
  };
  // A virtual master: external signals are sent for it with its secret.
  const signalSource = await api('POST', '/api/admin/accounts/FZ-X/signal-secret', {});
  const follower = { accountId: 'FZ-F', token: f.token as string, sessionId: f.sessionId as string };
  return {
    tp,
    adminToken: admin,
    signalSecret: signalSource.secret as string,
    master: { accountId: 'FZ-M', token: m.token },
    follower,
    revive: async () => {
      const again = await session('FZ-F', 'follower', keys['FZ-F']!.key);
      follower.token = again.token;
      follower.sessionId = again.sessionId;
    },
    param: (url, name) => {
      if (name === 'sessionId' && url.endsWith('/orders'))
        return fc.constant(null).map(() => follower.sessionId);
      if (name === 'accountId' && url.includes('/followers/')) return fc.constant('FZ-F2');
      if (name === 'accountId' && url.startsWith('/api/signals/')) return fc.constant('FZ-X');
      return real[name];
    },
    bodyLimitBytes: tp.config.bodyLimitBytes,
    seeds: {
      now: tp.clock.now(),
      fields: {
        accountId: fc.constantFrom('FZ-V', 'FZ-F2'),
        masterAccountId: fc.constant('FZ-V'),
      },
    },
  };
}

async function send(app: FastifyInstance, g: Generated, s: RouteStats): Promise<LightMyRequestResponse> {
  const started = performance.now();
  const res = await app.inject({
    method: g.method as 'POST',
    url: g.url,
    headers: g.headers,
    ...(g.payload !== undefined ? { payload: g.payload } : {}),
    ...(g.remoteAddress !== undefined ? { remoteAddress: g.remoteAddress } : {}),
  });
  const ms = performance.now() - started;
  s.injectMs += ms;
  if (ms > s.slowest.ms) s.slowest = { ms, label: g.label.slice(0, 400) };
  return res;
}

interface RouteStats {
  route: string;
  cases: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  ms: number;
  injectMs: number;
  slowest: { ms: number; label: string };
}

const stats = new Map<string, RouteStats>();
/** Counts the answer; returns its error code when it is a coded error. */
function record(s: RouteStats, res: LightMyRequestResponse): string | null {
  s.cases++;
  s.statuses[res.statusCode] = (s.statuses[res.statusCode] ?? 0) + 1;
  const code = codedError(res);
  if (code) s.codes[code] = (s.codes[code] ?? 0) + 1;
  return code;
}

const tally = (dialect: string, kind: string, t: Target) => {
  const key = `${dialect} ${kind} ${t.method} ${t.url}`;
  let s = stats.get(key);
  if (!s)
    stats.set(
      key,
      (s = {
        route: key,
        cases: 0,
        statuses: {},
        codes: {},
        ms: 0,
        injectMs: 0,
        slowest: { ms: 0, label: '' },
      }),
    );
  return s;
};

// --- the properties ---------------------------------------------------------------------------

describe.each(dialects)('generated bad input on %s', (dialect) => {
  let fx: Fixture | null = null;
  let targets: Target[] = [];
  beforeAll(async () => {
    fx = await startFixture(dialect);
  }, 60_000);
  afterAll(async () => {
    await fx?.tp.close();
    if (FUZZ_RUNS > 0 || process.env['KOPITRA_FUZZ_DEBUG']) printStats(dialect);
  });

  it('has a generator for every EA route and every management write route', (t) => {
    if (!fx) return t.skip();
    const p = plan(fx.tp.platform.app, managementRouteSpecs(fx.tp.platform.management));
    expect(p.missing, 'routes without a generator').toEqual([]);
    expect(p.stale, 'generators for routes the app does not serve').toEqual([]);
    for (const target of p.targets)
      for (const [, name] of target.url.matchAll(/:(\w+)/g))
        expect(fx.param(target.url, name!), `no real id for :${name} in ${target.url}`).toBeDefined();
    expect(p.targets.filter((r) => r.url.startsWith(BASE)).length).toBe(Object.keys(EA_ROUTES).length);
    expect(p.targets.length).toBeGreaterThan(30);
    const only = process.env['KOPITRA_FUZZ_ROUTES'];
    targets = only ? p.targets.filter((r) => new RegExp(only).test(`${r.method} ${r.url}`)) : p.targets;
  });

  it(
    'answers malformed requests with a coded 4xx and changes nothing',
    async (t) => {
      if (!fx || targets.length === 0) return t.skip();
      const { app, database } = fx.tp.platform;
      let baseline = await settled(fx.tp);
      for (const target of targets) {
        const s = tally(dialect, 'malformed', target);
        if (process.env['KOPITRA_FUZZ_DEBUG']) console.log('malformed', target.method, target.url);
        const started = Date.now();
        let batch: string[] = [];
        const compare = async () => {
          const now = await tableChecksums(database);
          const changed = changedTables(baseline, now);
          if (changed.length > 0) {
            baseline = now;
            throw new Error(
              `${target.method} ${target.url}: malformed requests changed the database:\n${changed.join('\n')}\nrequests of the batch:\n${batch.join('\n')}`,
            );
          }
          batch = [];
        };
        // A route without input (health) must answer junk as it answers a clean request.
        const clean = target.inputless
          ? (await app.inject({ method: 'GET', url: target.url })).statusCode
          : 0;
        await fc.assert(
          fc.asyncProperty(requestArb(target, fx, target.inputless ? 'valid' : 'malformed'), async (g) => {
            fc.pre(target.inputless === true || g.why.length > 0);
            const res = await send(app, g, s);
            const code = record(s, res);
            batch.push(g.label);
            if (target.inputless && g.why.length === 0) {
              if (res.statusCode !== clean)
                throw new Error(`${res.statusCode} ${res.body.slice(0, 500)}\nfor ${g.label}`);
            } else if (res.statusCode < 400 || res.statusCode >= 500 || !code)
              throw new Error(`${res.statusCode} ${res.body.slice(0, 500)}\nfor ${g.label}`);
            if (batch.length >= BATCH) await compare();
          }),
          { numRuns: runsFor(dialect, 'malformed'), maxSkipsPerRun: 10 },
        );
        await compare();
        s.ms += Date.now() - started;
      }
    },
    FUZZ_RUNS > 0 ? 4 * 3600_000 : 240_000,
  );

  it(
    'never answers odd but schema-valid input with a 5xx',
    async (t) => {
      if (!fx || targets.length === 0) return t.skip();
      const { app } = fx.tp.platform;
      // Deletions last: a deleted group or webhook would leave the other routes only 404s.
      const ordered = [...targets].sort(
        (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
      );
      for (const target of ordered) {
        // Signing out or changing the admin's own password would end the session the rest runs as.
        if (/\/auth\/(logout|password)$/.test(target.url)) continue;
        const s = tally(dialect, 'valid', target);
        if (process.env['KOPITRA_FUZZ_DEBUG']) console.log('valid', target.method, target.url);
        const started = Date.now();
        await fc.assert(
          fc.asyncProperty(requestArb(target, fx, 'valid'), async (g) => {
            fc.pre(g.why.length === 0);
            const res = await send(app, g, s);
            const code = record(s, res);
            if (res.statusCode >= 500 || (res.statusCode >= 400 && !code))
              throw new Error(`${res.statusCode} ${res.body.slice(0, 500)}\nfor ${g.label}`);
            // A release ends the terminal's session: the next case needs a live one.
            if (res.statusCode < 300 && /\/sessions\/current(\/release)?$/.test(target.url))
              await fx!.revive();
          }),
          { numRuns: runsFor(dialect, 'valid'), maxSkipsPerRun: 10 },
        );
        s.ms += Date.now() - started;
      }
    },
    FUZZ_RUNS > 0 ? 4 * 3600_000 : 240_000,
  );
});

function printStats(dialect: string) {
  const rows = [...stats.values()].filter((s) => s.route.startsWith(`${dialect} `));
  const lines = rows.map(
    (s) =>
      `${String(s.cases).padStart(7)}  ${(s.ms / 1000).toFixed(1).padStart(7)} s  ${s.route.slice(dialect.length + 1)}  ${JSON.stringify(s.statuses)}` +
      (process.env['KOPITRA_FUZZ_DEBUG']
        ? `\n      in requests ${(s.injectMs / 1000).toFixed(1)} s; slowest ${s.slowest.ms.toFixed(0)} ms: ${s.slowest.label}`
        : ''),
  );
  const total = rows.reduce((n, s) => n + s.cases, 0);
  const ms = rows.reduce((n, s) => n + s.ms, 0);
  console.log(
    `generated requests on ${dialect}: ${total} in ${(ms / 1000).toFixed(1)} s\n${lines.join('\n')}`,
  );
}

// The account id contract is what the header check uses; keep the bad samples honest.
it('bad account headers are ones the contract refuses', () => {
  for (const a of BAD_ACCOUNTS.filter((x) => x.trim() !== ''))
    expect(AccountId.safeParse(a).success, a).toBe(false);
});
