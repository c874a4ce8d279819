/**
 * Traces in the built server. Off (the default), the OpenTelemetry SDK is never loaded and no
 * span is started or context propagated while terminals copy trades; on, the same run is
 * exported over OTLP/HTTP (protobuf) to a collector on loopback. A probe loaded with
 * `--import` lists every module the server loads and counts use of the global API.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SimFollower, SimMaster } from '../../packages/ea-sdk/src/index.js';
import { tempDir } from '../../packages/server/src/testing/databases.js';
import { ROOT, spawnKopitra, type Spawned } from './support.js';

const ADMIN = { email: 'admin@traces-e2e.local', password: 'admin-password-traces-0123' };
const PROBE = path.join(ROOT, 'tests/e2e/fixtures/trace-probe.mjs');
const TRADES = 12;
/** The SDK's packages: none may be loaded with traces off. */
const SDK = /@opentelemetry\/(sdk-|exporter-|otlp-|resources|core|context-async-hooks)|telemetry\/sdk\.js/;

interface Probe {
  modules: string[];
  spans: number;
  propagations: number;
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Spawns `kopitra up` with the probe, copies TRADES trades to a polling and a streaming follower, stops it. */
async function copyTrades(env: Record<string, string>): Promise<Probe> {
  const dir = tempDir('kopitra-traces-');
  const out = path.join(dir, 'probe.json');
  const server: Spawned = await spawnKopitra(['up'], {
    KOPITRA_DATA_DIR: dir,
    KOPITRA_ADMIN_EMAIL: ADMIN.email,
    KOPITRA_ADMIN_PASSWORD: ADMIN.password,
    KOPITRA_BUS_POLL_MS: '50',
    KOPITRA_PROBE_OUT: out,
    NODE_OPTIONS: `--import ${pathToFileURL(PROBE).href}`,
    // Whatever the machine's environment says, only `env` decides.
    KOPITRA_TRACES: '',
    OTEL_TRACES_EXPORTER: '',
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
    ...env,
  });
  stops.push(() => server.kill('SIGTERM'));
  const api = async <T>(method: string, url: string, body?: unknown, token?: string): Promise<T> => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as T;
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const { token } = await api<{ token: string }>('POST', '/api/auth/login', ADMIN);
  const keys = new Map<string, string>();
  for (const id of ['TM', 'TP', 'TS']) {
    await api('POST', '/api/admin/accounts', { accountId: id, platform: 'MT5' }, token);
    keys.set(id, (await api<{ key: string }>('POST', `/api/admin/accounts/${id}/keys`, {}, token)).key);
  }
  const group = await api<{ groupId: string }>(
    'POST',
    '/api/admin/groups',
    { name: 'traced', masterAccountId: 'TM' },
    token,
  );
  for (const id of ['TP', 'TS'])
    await api('PUT', `/api/admin/groups/${group.groupId}/followers/${id}`, {}, token);
  const terminals = [
    new SimFollower({ gateway: server.url, accountId: 'TP', authKey: keys.get('TP')!, seed: 'tp', wait: 5 }),
    new SimFollower({
      gateway: server.url,
      accountId: 'TS',
      authKey: keys.get('TS')!,
      seed: 'ts',
      transport: 'websocket',
    }),
  ];
  for (const t of terminals) await t.start();
  const master = new SimMaster({
    gateway: server.url,
    accountId: 'TM',
    authKey: keys.get('TM')!,
    seed: 'tm',
    intervalMs: 10,
    maxOpenPositions: 3,
  });
  await master.start();
  expect(await master.run({ trades: TRADES })).toBe(TRADES);
  // Every copy executed and acknowledged: nothing left in flight, something filled.
  const count = async (status: string) =>
    (await api<{ items: unknown[] }>('GET', `/api/admin/orders?status=${status}&limit=500`, undefined, token))
      .items.length;
  const deadline = Date.now() + 30_000;
  for (;;) {
    let inFlight = 0;
    for (const status of ['queued', 'delivered', 'acknowledged']) inFlight += await count(status);
    if (inFlight === 0 && (await count('filled')) > 0) break;
    if (Date.now() > deadline) throw new Error(`${inFlight} copy orders still in flight`);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const t of [master, ...terminals]) await t.stop();
  await server.kill('SIGTERM');
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Probe;
}

describe('traces in the built server', () => {
  it(
    'off by default: the SDK is never loaded, and no span is started while trades are copied',
    { timeout: 120_000 },
    async () => {
      const probe = await copyTrades({});
      // The probe sees the server's modules, the API included...
      expect(probe.modules.some((m) => m.includes('packages/server/dist/telemetry/tracing.js'))).toBe(true);
      expect(probe.modules.some((m) => m.includes('@opentelemetry/api/'))).toBe(true);
      // ...and nothing of the SDK.
      expect(probe.modules.filter((m) => SDK.test(m))).toEqual([]);
      expect(probe.spans).toBe(0);
      expect(probe.propagations).toBe(0);
    },
  );

  it('on: the same run is exported over OTLP/HTTP protobuf', { timeout: 120_000 }, async () => {
    const requests: Array<{ url: string; type: string; body: Buffer }> = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          url: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => collector.close(() => resolve())));
    const port = (collector.address() as AddressInfo).port;

    const probe = await copyTrades({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_SERVICE_NAME: 'kopitra-e2e',
    });
    expect(probe.modules.some((m) => /@opentelemetry\/sdk-trace-base/.test(m))).toBe(true);
    // The SDK's provider is handed to the code, never registered globally.
    expect(probe.spans).toBe(0);

    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.url).toBe('/v1/traces');
      expect(r.type).toBe('application/x-protobuf');
    }
    const all = Buffer.concat(requests.map((r) => r.body));
    for (const name of [
      'kopitra-e2e',
      'POST /trade-agent/v1/signals',
      'copy.fanout',
      'copy.deliver',
      'copy.acknowledge',
      'copy.execution',
      'POST /api/admin/groups',
      'publish trade-agent-events',
      'process trade-agent-events',
    ])
      expect(all.includes(name), name).toBe(true);
  });
});
