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
import querystring from 'node:querystring';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { z } from 'zod';
import {
  AccountId,
  CreateSessionRequest,
  ExecutionRequest,
  InboxRequest,
  ManualOrderRequest,
  OutboxQuery,
  SignalRequest,
  errorCatalogue,
} from '@kopitra/contracts';
import { managementRouteSpecs } from '../management/app.js';
import type { RouteSpec } from '../management/registry.js';
import { taskCatalogue } from '../services/tasks.js';
import { MAX_JSON_DEPTH, stripTrailingNul } from './errors.js';
import {
  BAD_CONTENT_TYPES,
  BAD_IDS,
  NOT_JSON,
  ODD_BUT_VALID_KINDS,
  jsonText,
  mutatedOf,
  seedOf,
  type SeedContext,
} from '../testing/bad-input.js';
import { changedTables, tableChecksums } from '../testing/db-scan.js';
import { dialects, type DialectName } from '../testing/databases.js';
import { ADMIN, BASE, idem, sessionBody, startTestPlatform, type TestPlatform } from '../testing/platform.js';

const FUZZ_RUNS = Number(process.env['KOPITRA_FUZZ_RUNS'] ?? '0');
/** Cases per route: a few hundred in CI on SQLite, fewer on PostgreSQL; `npm run fuzz` raises both. */
const runsFor = (dialect: DialectName) =>
  FUZZ_RUNS > 0
    ? dialect === 'sqlite'
      ? FUZZ_RUNS
      : Math.ceil(FUZZ_RUNS / 10)
    : dialect === 'sqlite'
      ? 200
      : 40;
/** Checksums are compared after every this many requests (and at the end of each route). */
const BATCH = 25;

// --- what each route takes --------------------------------------------------------------------

type Auth = 'none' | 'master' | 'follower' | 'admin';

interface Target {
  method: string;
  /** Fastify's pattern (`:param`). */
  url: string;
  auth: Auth;
  /** EA requests carry X-TradeAgent-Account; mutating ones an Idempotency-Key. */
  account: boolean;
  idempotent: boolean;
  /** null: the route takes no body (an empty one, or `{}`). */
  body: z.ZodType | null;
  query: z.ZodType | null;
  /** The body the service takes once the path is known (a task's own parameters), if narrower than `body`. */
  bodyFor?: (params: Record<string, string>) => z.ZodType | undefined;
  /** A WebSocket route: plain HTTP requests reach only its pre-upgrade checks. */
  websocket?: boolean;
  /** Takes no input at all: junk must not change its answer. */
  inputless?: boolean;
}

/** The EA plane is not a registry of specs: each route's inputs, by hand. A new route fails coverage until it is listed. */
const EA_ROUTES: Record<string, Omit<Target, 'method' | 'url'>> = {
  [`POST ${BASE}/sessions`]: {
    auth: 'none',
    account: true,
    idempotent: true,
    body: CreateSessionRequest,
    query: null,
  },
  [`DELETE ${BASE}/sessions/current`]: {
    auth: 'follower',
    account: true,
    idempotent: true,
    body: null,
    query: null,
  },
  [`POST ${BASE}/sessions/current/release`]: {
    auth: 'follower',
    account: true,
    idempotent: true,
    body: null,
    query: null,
  },
  [`GET ${BASE}/sessions/current/outbox`]: {
    auth: 'follower',
    account: true,
    idempotent: false,
    body: null,
    query: OutboxQuery,
  },
  [`POST ${BASE}/sessions/current/inbox`]: {
    auth: 'follower',
    account: true,
    idempotent: true,
    body: InboxRequest,
    query: null,
  },
  [`POST ${BASE}/signals`]: {
    auth: 'master',
    account: true,
    idempotent: true,
    body: SignalRequest,
    query: null,
  },
  [`POST ${BASE}/executions`]: {
    auth: 'follower',
    account: true,
    idempotent: true,
    body: ExecutionRequest,
    query: null,
  },
  [`POST ${BASE}/sessions/:sessionId/orders`]: {
    auth: 'admin',
    account: false,
    idempotent: true,
    body: ManualOrderRequest,
    query: null,
  },
  [`GET ${BASE}/sessions/current/stream`]: {
    auth: 'follower',
    account: true,
    idempotent: false,
    body: null,
    query: OutboxQuery,
    websocket: true,
  },
  [`GET ${BASE}/health`]: {
    auth: 'none',
    account: false,
    idempotent: false,
    body: null,
    query: null,
    inputless: true,
  },
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every route the app serves, from Fastify's own route tree (`printRoutes`). */
function servedRoutes(app: FastifyInstance): Array<{ method: string; url: string }> {
  const out: Array<{ method: string; url: string }> = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.replace(/\u00a0/g, ' '));
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) out.push({ method, url: stack.join('') });
  }
  // The parse is only as good as its check: each route must be one the app finds.
  for (const r of out)
    expect(app.hasRoute({ method: r.method as 'GET', url: r.url }), `${r.method} ${r.url}`).toBe(true);
  return out;
}

const fastifyUrl = (spec: RouteSpec) => spec.url.replace(/\{(\w+)\}/g, ':$1');

interface Plan {
  targets: Target[];
  /** Routes under test that nothing describes. */
  missing: string[];
  /** Descriptions of routes the app does not serve. */
  stale: string[];
}

function plan(app: FastifyInstance, specs: RouteSpec[]): Plan {
  const served = servedRoutes(app);
  const specByRoute = new Map(specs.map((s) => [`${s.method} ${fastifyUrl(s)}`, s]));
  const targets: Target[] = [];
  const missing: string[] = [];
  for (const r of served) {
    const key = `${r.method} ${r.url}`;
    if (r.url.startsWith(`${BASE}/`)) {
      if (r.method === 'HEAD') continue; // Fastify's shadow of each GET
      const ea = EA_ROUTES[key];
      if (ea) targets.push({ method: r.method, url: r.url, ...ea });
      else missing.push(key);
    } else if (r.url.startsWith('/api/') && WRITE_METHODS.has(r.method)) {
      const spec = specByRoute.get(key);
      if (!spec) {
        missing.push(key);
        continue;
      }
      const task = /\/tasks\/:taskId\/run$/.test(r.url);
      targets.push({
        method: r.method,
        url: r.url,
        auth: spec.role === 'public' ? 'none' : 'admin',
        account: false,
        // Manual orders are queued under an Idempotency-Key on both planes.
        idempotent: /\/orders$/.test(r.url),
        body: spec.body ?? null,
        query: spec.query ?? null,
        ...(task
          ? {
              bodyFor: (params: Record<string, string>) => {
                const task = taskCatalogue[params['taskId']!];
                return task ? z.object({ params: task.params }) : undefined;
              },
            }
          : {}),
      });
    }
  }
  const servedKeys = new Set(served.map((r) => `${r.method} ${r.url}`));
  const stale = Object.keys(EA_ROUTES).filter((k) => !servedKeys.has(k));
  return { targets, missing, stale };
}

// --- the world the requests are sent into ------------------------------------------------------

interface Fixture {
  tp: TestPlatform;
  adminToken: string;
  master: { accountId: string; token: string };
  follower: { accountId: string; token: string; sessionId: string };
  /** Creates the follower's session again after a case released it. */
  revive(): Promise<void>;
  /** Real ids for path parameters, by route pattern and parameter name. */
  param(url: string, name: string): fc.Arbitrary<string> | undefined;
  seeds: SeedContext;
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

  const accounts = ['FZ-M', 'FZ-F', 'FZ-V', 'FZ-F2'];
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
  const follower = { accountId: 'FZ-F', token: f.token as string, sessionId: f.sessionId as string };
  return {
    tp,
    adminToken: admin,
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
      return real[name];
    },
    seeds: {
      now: tp.clock.now(),
      fields: {
        accountId: fc.constantFrom('FZ-V', 'FZ-F2'),
        masterAccountId: fc.constant('FZ-V'),
      },
    },
  };
}

// --- requests ----------------------------------------------------------------------------------

interface Generated {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Why the server must refuse it; empty when the contract accepts it. */
  why: string[];
  /** A short description for failure messages. */
  label: string;
}

const BAD_ACCOUNTS = ['', ' ', 'a'.repeat(65), 'acc ount', 'äccount', 'a/b', 'a,b'];
const BAD_KEYS = ['', ' ', 'k'.repeat(129), 'key with space', 'kéy'];

function depthOf(v: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x && typeof x === 'object') {
      max = Math.max(max, d + 1);
      for (const y of Object.values(x)) stack.push([y, d + 1]);
    }
  }
  return max;
}

const hasNul = (v: unknown): boolean =>
  typeof v === 'string'
    ? v.includes('\u0000')
    : !!v && typeof v === 'object' && Object.entries(v).some(([k, x]) => k.includes('\u0000') || hasNul(x));

/** The body as the server's JSON parser sees it: a value, nothing, or why it refuses. */
function parsedBody(payload: string | Buffer | undefined): { value?: unknown; refused?: string } {
  if (payload === undefined) return {};
  const text = stripTrailingNul(Buffer.isBuffer(payload) ? payload.toString('utf8') : payload);
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text);
    if (depthOf(value) > MAX_JSON_DEPTH) return { refused: 'deep JSON' };
    if (hasNul(value)) return { refused: 'NUL in JSON' };
    return { value };
  } catch {
    return { refused: 'not JSON' };
  }
}

/** A query string built by hand so odd values (lone surrogates) go out as raw bytes. */
function queryString(q: Record<string, unknown>): string {
  const enc = (s: string) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return Buffer.from(s, 'utf8').toString('hex').replace(/(..)/g, '%$1');
    }
  };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q))
    for (const item of Array.isArray(v) ? v : [v])
      parts.push(`${enc(k)}=${enc(typeof item === 'string' ? item : (JSON.stringify(item) ?? ''))}`);
  return parts.join('&');
}

type Mode = 'malformed' | 'valid';

function requestArb(t: Target, fx: Fixture, mode: Mode): fc.Arbitrary<Generated> {
  const malformed = mode === 'malformed';
  const paramNames = [...t.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const params = fc.tuple(
    ...paramNames.map((name) =>
      fc.oneof(
        { arbitrary: fx.param(t.url, name)!.map((id) => ({ id, bad: false })), weight: 5 },
        {
          arbitrary: fc.constantFrom(...BAD_IDS).map((id) => ({ id, bad: true })),
          weight: malformed ? 1 : 0,
        },
      ),
    ),
  );
  // Built once per schema: building an arbitrary (regular expressions and all) costs more than using it.
  const built = new Map<z.ZodType | null, fc.Arbitrary<string | Buffer | undefined>>();
  const bodyArb = (schema: z.ZodType | null) => {
    let arb = built.get(schema);
    if (!arb) built.set(schema, (arb = buildBodyArb(schema)));
    return arb;
  };
  const buildBodyArb = (schema: z.ZodType | null): fc.Arbitrary<string | Buffer | undefined> => {
    const bodySchema = schema ?? z.object({});
    return malformed
      ? fc.oneof(
          { arbitrary: mutatedOf(bodySchema, fx.seeds).map(jsonText), weight: schema ? 12 : 3 },
          { arbitrary: seedOf(bodySchema, fx.seeds).map((v) => JSON.stringify(v)), weight: schema ? 1 : 2 },
          { arbitrary: fc.constantFrom<string | Buffer | undefined>(...NOT_JSON), weight: 1 },
          { arbitrary: fc.constantFrom<string | undefined>(undefined, '', '  '), weight: schema ? 1 : 4 },
        )
      : schema
        ? fc.oneof(
            { arbitrary: seedOf(schema, fx.seeds).map((v) => JSON.stringify(v)), weight: 2 },
            { arbitrary: mutatedOf(schema, fx.seeds, ODD_BUT_VALID_KINDS).map(jsonText), weight: 3 },
          )
        : fc.constantFrom<string | undefined>(undefined, '', '{}');
  };
  const narrowed = new Map<string, z.ZodType | undefined>();
  const effectiveBody = (p: Array<{ id: string; bad: boolean }>) => {
    if (!t.bodyFor) return t.body;
    const real = Object.fromEntries(paramNames.map((name, i) => [name, p[i]!.id]));
    const key = JSON.stringify(real);
    if (!narrowed.has(key)) narrowed.set(key, t.bodyFor(real));
    return narrowed.get(key) ?? t.body;
  };
  const query = t.query
    ? fc.oneof(
        {
          arbitrary: mutatedOf(t.query, fx.seeds, malformed ? undefined : ODD_BUT_VALID_KINDS).map(
            (m) => m.value,
          ),
          weight: malformed ? 4 : 2,
        },
        { arbitrary: seedOf(t.query, fx.seeds), weight: 1 },
      )
    : t.inputless
      ? mutatedOf(z.object({ q: z.string() }), fx.seeds).map((m) => m.value)
      : fc.constant(undefined);
  const contentType = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 6 },
    { arbitrary: fc.constantFrom(...BAD_CONTENT_TYPES), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  const account = fc.oneof(
    { arbitrary: fc.constant<string | null>(null), weight: 10 },
    { arbitrary: fc.constantFrom(...BAD_ACCOUNTS), weight: malformed ? 1 : 0 },
  );
  const key = fc.oneof(
    { arbitrary: fc.constant<string | null>(null), weight: 10 },
    { arbitrary: fc.constantFrom(...BAD_KEYS), weight: malformed ? 1 : 0 },
  );
  return params
    .chain((p) =>
      fc.record({
        params: fc.constant(p),
        body: bodyArb(effectiveBody(p)),
        query,
        contentType,
        account,
        key,
      }),
    )
    .map((g) => {
      // A valid long poll would hold the request for up to 30 s: ask for an answer at once.
      if (!malformed && g.query && typeof g.query === 'object' && 'wait' in g.query)
        (g.query as any).wait = 0;
      const why: string[] = [];
      let url = t.url;
      paramNames.forEach((name, i) => {
        const p = g.params[i]!;
        url = url.replace(`:${name}`, p.id);
        if (p.bad) why.push(`bad ${name}`);
      });
      const headers: Record<string, string> = {};
      if (g.contentType !== undefined) headers['content-type'] = g.contentType;
      const session = t.auth === 'master' ? fx.master : t.auth === 'follower' ? fx.follower : null;
      if (t.auth === 'admin') headers['authorization'] = `Bearer ${fx.adminToken}`;
      if (session) headers['authorization'] = `Bearer ${session.token}`;
      if (t.account) {
        headers['x-tradeagent-account'] = g.account ?? session?.accountId ?? 'FZ-N1';
        if (g.account !== null) why.push('bad account header');
      }
      if (t.idempotent) {
        headers['idempotency-key'] = g.key ?? idem();
        if (g.key !== null) why.push('bad idempotency key');
      }
      if (g.query !== undefined) {
        const qs = queryString(
          g.query && typeof g.query === 'object' && !Array.isArray(g.query)
            ? (g.query as Record<string, unknown>)
            : { q: g.query },
        );
        url += `?${qs}`;
        if (t.query && !t.query.safeParse(querystring.parse(qs)).success) why.push('query');
      }
      if (/%00/.test(url)) why.push('NUL in the URL');
      const payload = t.method === 'GET' ? undefined : g.body;
      const parsed = parsedBody(payload);
      if (parsed.refused) why.push(parsed.refused);
      else if (t.method !== 'GET') {
        const schema = effectiveBody(g.params);
        if (schema) {
          if (parsed.value === undefined) why.push('no body');
          else if (!schema.safeParse(parsed.value).success) why.push('body');
        } else if (parsed.value !== undefined && !z.object({}).strict().safeParse(parsed.value).success)
          why.push('body on a route that takes none');
      }
      if (payload !== undefined && Buffer.byteLength(payload) > fx.tp.config.bodyLimitBytes)
        why.push('too large');
      const shown =
        typeof payload === 'string' && payload.length > 300
          ? `${payload.slice(0, 300)}… (${payload.length} chars)`
          : payload;
      return {
        method: t.method,
        url,
        headers,
        ...(payload !== undefined ? { payload } : {}),
        why,
        label: `${t.method} ${url.slice(0, 300)} ${JSON.stringify(headers)} ${JSON.stringify(shown)} [${why.join(', ')}]`,
      };
    });
}

async function send(app: FastifyInstance, g: Generated, s: RouteStats): Promise<LightMyRequestResponse> {
  const started = performance.now();
  const res = await app.inject({
    method: g.method as 'POST',
    url: g.url,
    headers: g.headers,
    ...(g.payload !== undefined ? { payload: g.payload } : {}),
  });
  const ms = performance.now() - started;
  if (ms > s.slowest.ms) s.slowest = { ms, label: g.label.slice(0, 400) };
  return res;
}

/** A coded error: a catalogued code, answered with its catalogued status. */
function codedError(res: LightMyRequestResponse): string | null {
  let body: any;
  try {
    body = res.json();
  } catch {
    return null;
  }
  const code = body?.error;
  const def =
    typeof code === 'string' ? (errorCatalogue as Record<string, { status: number }>)[code] : undefined;
  return def && def.status === res.statusCode && typeof body.message === 'string' ? code : null;
}

interface RouteStats {
  route: string;
  cases: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  ms: number;
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
      (s = { route: key, cases: 0, statuses: {}, codes: {}, ms: 0, slowest: { ms: 0, label: '' } }),
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
          { numRuns: runsFor(dialect), maxSkipsPerRun: 10 },
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
      for (const target of targets) {
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
          { numRuns: Math.ceil(runsFor(dialect) / 4), maxSkipsPerRun: 10 },
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
        ? `\n      slowest ${s.slowest.ms.toFixed(0)} ms: ${s.slowest.label}`
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
