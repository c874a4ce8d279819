/**
 * Generated bad requests for the bad-input property tests (`http/generated-input.test.ts`):
 * which routes take what (the EA plane by hand, the management plane from its route specs),
 * the routes the app really serves (Fastify's own route tree), and requests built from the
 * contracts' values (bad-input.ts) with hostile bodies, content types, headers, queries and
 * path ids — each with the reasons the server must refuse it, when it must.
 */
import querystring from 'node:querystring';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { z } from 'zod';
import {
  CreateSessionRequest,
  ExecutionRequest,
  InboxRequest,
  ManualOrderRequest,
  OutboxQuery,
  ExternalAlertSignal,
  ExternalNativeSignal,
  SignalRequest,
  errorCatalogue,
} from '@kopitra/contracts';
import type { RouteSpec } from '../management/registry.js';
import { taskCatalogue } from '../services/tasks.js';
import { MAX_JSON_DEPTH, stripTrailingNul } from '../http/errors.js';
import { ODD_BUT_VALID_KINDS, jsonText, mutatedOf, seedOf, type SeedContext } from './bad-input.js';
import { BASE, idem } from './platform.js';

// --- what each route takes --------------------------------------------------------------------

export type Auth = 'none' | 'master' | 'follower' | 'admin' | 'signal';

export interface Target {
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
  /**
   * The client address to send from (default: the test client's). A route whose refused
   * credentials count against the sender's address in the failure limiter gets its own, so
   * its failures do not lock the other routes' sessions out.
   */
  remoteAddress?: string;
}

/** The EA plane is not a registry of specs: each route's inputs, by hand. A new route fails coverage until it is listed. */
export const EA_ROUTES: Record<string, Omit<Target, 'method' | 'url'>> = {
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
    if (!app.hasRoute({ method: r.method as 'GET', url: r.url }))
      throw new Error(`printRoutes listed ${r.method} ${r.url}, which the app does not find`);
  return out;
}

const fastifyUrl = (spec: RouteSpec) => spec.url.replace(/\{(\w+)\}/g, ':$1');

export interface Plan {
  targets: Target[];
  /** Routes under test that nothing describes. */
  missing: string[];
  /** Descriptions of routes the app does not serve. */
  stale: string[];
}

/** Gateway routes outside the EA protocol's base path, by hand like the EA plane's. */
export const GATEWAY_API_ROUTES: Record<string, Omit<Target, 'method' | 'url'>> = {
  'POST /api/signals/:accountId': {
    auth: 'signal',
    account: false,
    idempotent: false,
    body: z.union([ExternalNativeSignal, ExternalAlertSignal]),
    query: null,
    // Bad secrets count against the sender's address: not the address the EA cases come from.
    remoteAddress: '127.0.0.9',
  },
};

export function plan(app: FastifyInstance, specs: RouteSpec[]): Plan {
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
    } else if (GATEWAY_API_ROUTES[key]) {
      targets.push({ method: r.method, url: r.url, ...GATEWAY_API_ROUTES[key] });
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
  const stale = [...Object.keys(EA_ROUTES), ...Object.keys(GATEWAY_API_ROUTES)].filter(
    (k) => !servedKeys.has(k),
  );
  return { targets, missing, stale };
}

// --- request-level bad input ----------------------------------------------------------------

const BAD_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=----x',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/octet-stream',
  ';;;',
  'application/json, text/html',
  'a'.repeat(2000),
];

/** Bodies that are not JSON at all (or not one document), as bytes or text. */
const NOT_JSON: Array<string | Buffer> = [
  'a=1&b=2',
  '<?xml version="1.0"?><a>1</a>',
  '------x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n------x--',
  '{"a":1',
  '{"a":1}}',
  '{"a":1} trailing',
  "{'a':1}",
  '{a:1}',
  '[1,]',
  'NaN',
  '\ufeff{"a":1}',
  Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
  '\u0000\u0000{}',
];

/** Path ids that name nothing (or cannot name anything). */
const BAD_IDS = [
  'does-not-exist',
  '0',
  '-1',
  'null',
  'undefined',
  '..',
  '%2e%2e%2f%2e%2e%2f',
  encodeURIComponent("' OR '1'='1"),
  encodeURIComponent('💸'),
  encodeURIComponent('\u202eevil'),
  encodeURIComponent('\ud800'.replace(/\ud800/, '\ufffd')),
  '%ED%A0%80',
  '%FF',
  'x'.repeat(1000),
  encodeURIComponent('x'.repeat(70)),
  '%00',
  'a%00b',
  '%20',
];

/** What requests are made with: real credentials and real ids of a running platform. */
export interface World {
  adminToken: string;
  /** The secret of the virtual master that external signals are sent for. */
  signalSecret: string;
  master: { accountId: string; token: string };
  follower: { accountId: string; token: string; sessionId: string };
  /** Real ids for path parameters, by route pattern and parameter name. */
  param(url: string, name: string): fc.Arbitrary<string> | undefined;
  seeds: SeedContext;
  bodyLimitBytes: number;
}

// --- requests ----------------------------------------------------------------------------------

export interface Generated {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Why the server must refuse it; empty when the contract accepts it. */
  why: string[];
  /** A short description for failure messages. */
  label: string;
  remoteAddress?: string;
}

export const BAD_ACCOUNTS = ['', ' ', 'a'.repeat(65), 'acc ount', 'äccount', 'a/b', 'a,b'];
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

export type Mode = 'malformed' | 'valid';

export function requestArb(t: Target, fx: World, mode: Mode): fc.Arbitrary<Generated> {
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
      if (t.auth === 'signal') headers['authorization'] = `Bearer ${fx.signalSecret}`;
      if (session) headers['authorization'] = `Bearer ${session.token}`;
      if (t.account) {
        // A session create without a session: a new account each time, so valid ones get past the one-live-session rule.
        headers['x-tradeagent-account'] = g.account ?? session?.accountId ?? `FZ-N-${idem()}`;
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
      if (payload !== undefined && Buffer.byteLength(payload) > fx.bodyLimitBytes) why.push('too large');
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
        ...(t.remoteAddress !== undefined ? { remoteAddress: t.remoteAddress } : {}),
      };
    });
}

/** A coded error: a catalogued code, answered with its catalogued status. */
export function codedError(res: LightMyRequestResponse): string | null {
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
