/**
 * Secrets at rest: after a whole chain — an admin with a known password, operator tokens,
 * passwords changed and reset, EA keys issued and generated and used by a master and a
 * follower, a webhook registered and delivering, a signal copied and executed — no table
 * holds any of those secrets in the clear (nor hex- or base64-encoded). Every column of every
 * table is read, tables added later included. The webhook secret, which must stay usable for
 * HMAC signing, is sealed under a key derived from the configured instance secret: nothing in
 * the database opens it, and the configured secret itself is stored nowhere.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, type DialectName } from '../testing/databases.js';
import { cellText, tableNames, tableRows } from '../testing/db-scan.js';
import {
  ADMIN,
  BASE,
  eventually,
  idem,
  sessionBody,
  startTestPlatform,
  type TestPlatform,
} from '../testing/platform.js';
import { spec } from '../testing/sim.js';
import { managementRouteSpecs } from '../management/app.js';
import { tokenKeyFrom } from './operators.js';
import { openSecret } from './webhooks.js';

const CONFIGURED_SECRET = 'configured-instance-secret-0123456789-abcdef';

/** A webhook receiver on loopback that checks each delivery's signature. */
async function receiver() {
  const bodies: Array<{ signature: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push({ signature: String(req.headers['x-kopitra-signature'] ?? ''), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Everything a database dump must not reveal, found along the chain. */
interface Secrets {
  [name: string]: string;
}

async function wholeChain(
  tp: TestPlatform,
  hookUrl: string,
): Promise<{ secrets: Secrets; webhookSecret: string }> {
  const { app } = tp.platform;
  const secrets: Secrets = {};
  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    token: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  // Operators: the admin's known password and token; an operator who changes a password; a
  // viewer invited without one (a one-time password) and then reset (another one).
  secrets['admin password'] = ADMIN.password;
  const admin = (await call('POST', '/api/auth/login', null, ADMIN)).token as string;
  secrets['admin token'] = admin;
  const operatorPassword = 'an operator passphrase 7731 kestrel';
  await call('POST', '/api/admin/users', admin, {
    email: 'operator@test.local',
    role: 'operator',
    password: operatorPassword,
  });
  secrets['operator password'] = operatorPassword;
  const operator = (
    await call('POST', '/api/auth/login', null, { email: 'operator@test.local', password: operatorPassword })
  ).token as string;
  secrets['operator token'] = operator;
  const changed = 'a changed passphrase 9902 osprey';
  await call('POST', '/api/auth/password', operator, {
    currentPassword: operatorPassword,
    newPassword: changed,
  });
  secrets['changed password'] = changed;
  const operator2 = (
    await call('POST', '/api/auth/login', null, { email: 'operator@test.local', password: changed })
  ).token as string;
  secrets['second operator token'] = operator2;
  const viewer = await call('POST', '/api/admin/users', admin, {
    email: 'viewer@test.local',
    role: 'viewer',
  });
  secrets['invitation password'] = viewer.oneTimePassword;
  const reset = await call('POST', `/api/admin/users/${viewer.userId}/reset-password`, admin);
  secrets['reset password'] = reset.oneTimePassword ?? reset.password;

  // A stream ticket, where the API issues one (a POST route named for tickets).
  const ticketRoute = managementRouteSpecs(tp.platform.management).find(
    (r) => r.method === 'POST' && /ticket/i.test(r.url),
  );
  if (ticketRoute) {
    const issued = await call('POST', ticketRoute.url, operator2, ticketRoute.body ? {} : undefined);
    for (const [k, v] of Object.entries(issued))
      if (typeof v === 'string' && v.length >= 16 && /ticket|token/i.test(k)) secrets[`stream ${k}`] = v;
    expect(
      Object.keys(secrets).some((k) => k.startsWith('stream ')),
      'a stream ticket in the answer',
    ).toBe(true);
  }

  // Terminals: pre-shared keys for a master and a follower; a key the EA generated itself,
  // approved by an operator.
  const keys: Record<string, string> = {};
  for (const accountId of ['SR-M', 'SR-F']) {
    await call('POST', '/api/admin/accounts', operator2, { accountId, platform: 'MT5' });
    keys[accountId] = (await call('POST', `/api/admin/accounts/${accountId}/keys`, operator2, {})).key;
    secrets[`key of ${accountId}`] = keys[accountId]!;
  }
  const ea = (accountId: string, token: string, mutating = true) => ({
    'x-tradeagent-account': accountId,
    authorization: `Bearer ${token}`,
    ...(mutating ? { 'idempotency-key': idem() } : {}),
  });
  const open = async (accountId: string, role: 'master' | 'follower', key: string) =>
    call('POST', `${BASE}/sessions`, null, sessionBody(key, { role }), {
      'x-tradeagent-account': accountId,
      'idempotency-key': idem(),
    });
  const master = await open('SR-M', 'master', keys['SR-M']!);
  const follower = await open('SR-F', 'follower', keys['SR-F']!);
  expect([master.status, follower.status]).toEqual(['authenticated', 'authenticated']);
  secrets['master session token'] = master.token;
  secrets['follower session token'] = follower.token;
  const ownKey = 'an-ea-generated-key-5f2c9a7e1b3d';
  secrets['EA-generated key'] = ownKey;
  const generated = await open('SR-G', 'follower', ownKey);
  expect(generated.status).toBe('pending');
  await call('POST', `/api/admin/sessions/${generated.sessionId}/approve`, operator2, {});

  // A webhook with its secret, shown once; its deliveries must be signed with it.
  const webhook = await call('POST', '/api/admin/webhooks', admin, {
    url: hookUrl,
    eventTypes: ['signal.accepted', 'copy_order.updated'],
  });
  secrets['webhook secret'] = webhook.secret;

  // A signal copied: master → fan-out → follower polls, fills, reports and acknowledges.
  const group = await call('POST', '/api/admin/groups', operator2, {
    name: 'chain',
    masterAccountId: 'SR-M',
  });
  await call('PUT', `/api/admin/groups/${group.groupId}/followers/SR-F`, operator2, {
    sizing: { mode: 'mirror' },
  });
  await call(
    'POST',
    `${BASE}/sessions/current/inbox`,
    null,
    { events: [{ eventType: 'ea.symbol_catalog', payload: { symbols: [spec('EURUSD')] } }] },
    ea('SR-F', follower.token),
  );
  const signal = await call(
    'POST',
    `${BASE}/signals`,
    null,
    {
      type: 'position.opened',
      masterPositionId: '77',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      occurredAt: new Date(tp.clock.now()).toISOString(),
    },
    ea('SR-M', master.token),
  );
  expect(signal.copies).toHaveLength(1);
  const polled = await call(
    'GET',
    `${BASE}/sessions/current/outbox?cursor=0`,
    null,
    undefined,
    ea('SR-F', follower.token, false),
  );
  const started = polled.events.find((e: any) => e.type === 'trade.started');
  expect(started).toBeDefined();
  const fill = await call(
    'POST',
    `${BASE}/executions`,
    null,
    {
      orderId: started.payload.orderId,
      status: 'filled',
      ticket: '5001',
      price: 1.1,
      volume: 1,
      executedAt: new Date(tp.clock.now()).toISOString(),
    },
    ea('SR-F', follower.token),
  );
  expect(fill.status).toBe('filled');
  await call(
    'POST',
    `${BASE}/sessions/current/inbox`,
    null,
    {
      events: polled.events.map((e: any) => ({
        eventType: 'OutboxAck',
        eventId: e.eventId,
        sequence: e.sequence,
      })),
    },
    ea('SR-F', follower.token),
  );

  // Sign out (the revocation is stored, by token id).
  await call('POST', '/api/auth/logout', operator);
  return { secrets, webhookSecret: webhook.secret };
}

/** Each secret as stored text might hold it: as is, hex, base64 and base64url. */
function encodings(secret: string): string[] {
  const b = Buffer.from(secret, 'utf8');
  const forms = [secret, b.toString('hex'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
  // A token's credential part alone (a JWT's signature, an EA session token's HMAC).
  const tail = secret.split('.').at(-1)!;
  if (tail !== secret && tail.length >= 16) forms.push(tail);
  if (secret.startsWith('whsec_')) forms.push(secret.slice('whsec_'.length));
  return forms;
}

async function findInDatabase(tp: TestPlatform, needles: Record<string, string>) {
  const found: string[] = [];
  let cells = 0;
  const tables = await tableNames(tp.platform.database);
  for (const table of tables)
    for (const row of await tableRows(tp.platform.database, table))
      for (const [column, value] of Object.entries(row)) {
        cells++;
        const text = cellText(value);
        for (const [name, secret] of Object.entries(needles))
          for (const form of encodings(secret))
            if (text.includes(form))
              found.push(`${name} in ${table}.${column}${form === secret ? '' : ' (encoded)'}`);
      }
  return { found, cells, tables };
}

describe.each(dialects)('secrets at rest on %s', (dialect: DialectName) => {
  let tp: TestPlatform | null = null;
  let hook: Awaited<ReturnType<typeof receiver>> | null = null;
  afterEach(async () => {
    await tp?.close();
    await hook?.close();
  });

  const start = async (env: Record<string, string> = {}) => {
    hook = await receiver();
    tp = await startTestPlatform(dialect, { KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8', ...env });
    return tp;
  };

  it('stores no password, key, token or webhook secret in the clear', async (t) => {
    const p = await start();
    if (!p) return t.skip();
    const { secrets, webhookSecret } = await wholeChain(p, hook!.url);
    // The secret is usable: deliveries arrive signed with it.
    const delivered = await eventually(async () => hook!.bodies.length > 0 && hook!.bodies[0]);
    const t0 = /t=(\d+)/.exec(delivered.signature)![1];
    expect(delivered.signature).toBe(
      `t=${t0},v1=${createHmac('sha256', webhookSecret).update(`${t0}.${delivered.body}`).digest('hex')}`,
    );

    const { found, cells, tables } = await findInDatabase(p, secrets);
    expect(found).toEqual([]);
    // The scan does see stored text: what is kept in the clear on purpose is found.
    const probe = await findInDatabase(p, { 'webhook url': hook!.url, 'account id': 'SR-F' });
    expect(probe.found).toEqual(
      expect.arrayContaining(['webhook url in webhooks.url', 'account id in accounts.account_id']),
    );
    // The scan saw the chain: every kind of secret was produced and the tables hold its traces.
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(14);
    expect(tables).toEqual(
      expect.arrayContaining([
        'users',
        'operator_tokens',
        'account_keys',
        'sessions',
        'webhooks',
        'idempotency_keys',
        'audit_log',
        'bus_messages',
        'webhook_deliveries',
      ]),
    );
    expect(cells).toBeGreaterThan(500);
  });

  it('seals the webhook secret under the configured secret, which is stored nowhere', async (t) => {
    const p = await start({ KOPITRA_SECRET: CONFIGURED_SECRET });
    if (!p) return t.skip();
    const { secrets, webhookSecret } = await wholeChain(p, hook!.url);
    const { found } = await findInDatabase(p, { ...secrets, 'configured secret': CONFIGURED_SECRET });
    expect(found).toEqual([]);

    const sealed = (await tableRows(p.platform.database, 'webhooks'))[0]!['secret_enc'] as string;
    expect(openSecret(tokenKeyFrom(CONFIGURED_SECRET), sealed)).toBe(webhookSecret);
    // No value in the database is the key: a dump alone does not open the secret.
    for (const table of await tableNames(p.platform.database))
      for (const row of await tableRows(p.platform.database, table))
        for (const value of Object.values(row)) {
          const text = cellText(value);
          expect(() => openSecret(tokenKeyFrom(text), sealed)).toThrow();
        }
  });
});
