/**
 * Kopitra as several replicas on a shared PostgreSQL and NATS JetStream: three gateway and
 * two management processes on their own ports, a master on gateway 1 and thirty followers
 * spread over gateways 2 and 3 (the ones on gateway 2 behind a balancer that fails over to
 * gateway 3). A terminal nobody approved yet waits on gateway 3 and is approved through
 * management 2. The master trades 200 times while gateway 2 is SIGKILLed; in the second run
 * also NATS is stopped for 20 s and every PostgreSQL connection of gateway 3 is terminated.
 * Afterwards: every follower's book is the book the server expects and the master's, one copy
 * order per signal and follower, contiguous outbox sequences, each webhook delivered once,
 * each audit row once, and every surviving replica still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SimFollower, SimMaster, type FollowerOptions } from '../../packages/ea-sdk/src/index.js';
import {
  dropTarget,
  freshTarget,
  POSTGRES_URL,
  servicesRequired,
  tempDir,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import { eventually } from '../../packages/server/src/testing/platform.js';
import type { DatabaseTarget } from '../../packages/server/src/store/database.js';
import { allPages, runKopitra, spawnKopitra, type Spawned } from './support.js';

const NATS_BIN = '/usr/sbin/nats-server';
const ADMIN = { email: 'admin@replicas.local', password: 'admin-password-replicas-0123' };
const SIGNALS = 200;
const FOLLOWERS = 30;
/** The follower that registers with a key nobody approved yet, on gateway 3. */
const LATE = `F${FOLLOWERS}`;

interface Step {
  at: number;
  what: string;
}

describe('replicas on PostgreSQL + NATS JetStream', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const clean of cleanups.splice(0).reverse()) await clean().catch(() => undefined);
  });

  it.for([
    { name: 'gateway 2 killed mid-run', outages: false },
    { name: 'gateway 2 killed, NATS stopped for 20 s, gateway 3 cut from PostgreSQL', outages: true },
  ])('$name: every book converges, nothing lost or doubled', { timeout: 420_000 }, async (run, t) => {
    const target = await freshTarget('postgres');
    if (!target || target.dialect !== 'postgres') return t.skip();
    cleanups.push(() => dropTarget(target));
    if (!fs.existsSync(NATS_BIN)) {
      if (servicesRequired) throw new Error(`${NATS_BIN} is missing; KOPITRA_REQUIRE_SERVICES=1`);
      console.warn(`skipping replicas suite: ${NATS_BIN} is missing`);
      return t.skip();
    }
    const started = Date.now();
    const steps: Step[] = [];
    const step = (what: string) => {
      steps.push({ at: Date.now() - started, what });
      if (process.env['KOPITRA_E2E_VERBOSE'])
        console.log(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}`);
    };

    const nats = new NatsServer();
    await nats.start();
    cleanups.push(() => nats.stop());
    const webhooks = await WebhookReceiver.start();
    cleanups.push(() => webhooks.close());

    const databaseUrl = urlWithSchema(target);
    const secret = 'replicas-e2e-secret-0123456789abcdef0123456789';
    const common = {
      DATABASE_URL: databaseUrl,
      KOPITRA_BUS_URL: nats.url,
      KOPITRA_SECRET: secret,
      KOPITRA_ADMIN_EMAIL: ADMIN.email,
      KOPITRA_ADMIN_PASSWORD: ADMIN.password,
      KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8',
      KOPITRA_RECONCILE_INTERVAL_SEC: '1',
      KOPITRA_HEARTBEAT_INTERVAL_SEC: '2',
      KOPITRA_BUS_POLL_MS: '100',
      KOPITRA_LOG_LEVEL: 'warn',
    };
    await runKopitra(['migrate'], common);
    const processes = new Map<string, Spawned>();
    const start = async (name: string, role: 'gateway' | 'management') => {
      const spawned = await spawnKopitra([role], {
        ...common,
        KOPITRA_DATA_DIR: tempDir(),
        PGAPPNAME: `e2e-${name}-${path.basename(target.schema ?? 'x')}`,
        KOPITRA_LOG_LEVEL: 'info',
        // A CPU profile of each process (written when it stops), for finding where the time goes.
        ...(process.env['KOPITRA_E2E_PROFILE']
          ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env['KOPITRA_E2E_PROFILE']}/${name}` }
          : {}),
      });
      processes.set(name, spawned);
      cleanups.push(() => spawned.kill('SIGTERM'));
      return spawned;
    };
    const [g1, g2, g3, m1, m2] = await Promise.all([
      start('g1', 'gateway'),
      start('g2', 'gateway'),
      start('g3', 'gateway'),
      start('m1', 'management'),
      start('m2', 'management'),
    ]);
    step('five processes healthy');
    // The followers "on gateway 2" reach it through a balancer that fails over to gateway 3.
    const balancer = new Balancer([new URL(g2!.url), new URL(g3!.url)]);
    await balancer.listen();
    cleanups.push(() => balancer.close());

    const api = (base: Spawned, token = '') => {
      return async <T = any>(method: string, route: string, body?: unknown): Promise<T> => {
        const res = await fetch(`${base.url}${route}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const json = (await res.json()) as T;
        if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
    };
    const { token } = await api(m1!)<{ token: string }>('POST', '/api/auth/login', ADMIN);
    const admin1 = api(m1!, token);
    const admin2 = api(m2!, token);

    await admin1('POST', '/api/admin/webhooks', {
      url: webhooks.url,
      eventTypes: ['signal.accepted', 'session.state_changed'],
    });
    const ids = Array.from({ length: FOLLOWERS }, (_, i) => `F${String(i + 1).padStart(2, '0')}`);
    const keys = new Map<string, string>();
    for (const id of ['M1', ...ids.filter((id) => id !== LATE)]) {
      await admin1('POST', '/api/admin/accounts', { accountId: id, platform: 'MT5' });
      keys.set(id, (await admin1<{ key: string }>('POST', `/api/admin/accounts/${id}/keys`, {})).key);
    }
    const group = await admin1<{ groupId: string }>('POST', '/api/admin/groups', {
      name: 'replicas',
      masterAccountId: 'M1',
    });
    // Opens stay valid for 15 min: on a loaded 2-core machine a follower can fall a minute
    // behind, and this test is about what replicas lose or double, not about latency.
    const settingsOf = (i: number) => ({
      maxSignalAgeSec: 900,
      ...(i % 5 === 4 ? { sizing: { mode: 'multiplier', multiplier: 2 } } : {}),
    });
    for (const [i, id] of ids.entries())
      if (id !== LATE)
        await admin1('PUT', `/api/admin/groups/${group.groupId}/followers/${id}`, settingsOf(i));

    // Odd followers on gateway 2 (behind the balancer), even ones on gateway 3; every third by stream.
    const terminals: Array<{ stop(opts?: { crash?: boolean }): Promise<void> }> = [];
    cleanups.push(() => Promise.all(terminals.map((x) => x.stop({ crash: true }))));
    const followers = new Map<string, SimFollower>();
    // What the terminals said, for a failure's message.
    const terminalLog: string[] = [];
    // Request times by route, for the log when KOPITRA_E2E_VERBOSE is set.
    const timings = new Map<string, number[]>();
    const timed = async (input: string, init: RequestInit) => {
      const route = `${init.method ?? 'GET'} ${new URL(input).pathname.replace(/^\/trade-agent\/v1/, '')}`;
      const t0 = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        const list = timings.get(route) ?? [];
        list.push(performance.now() - t0);
        timings.set(route, list);
      }
    };
    const optionsOf = (id: string, i: number): FollowerOptions => ({
      gateway: i % 2 === 0 ? balancer.url : g3!.url,
      accountId: id,
      authKey: keys.get(id) ?? `${id}-key-nobody-approved-0123456789`,
      seed: `replicas-${id}`,
      latencyMs: [1, 3],
      slippagePoints: 0,
      snapshotIntervalMs: 5000,
      wait: 10,
      transport: i % 3 === 2 ? 'websocket' : 'poll',
      fetch: timed,
      log: (line) => terminalLog.push(line),
    });
    await Promise.all(
      ids.map(async (id, i) => {
        if (id === LATE) return;
        const sim = new SimFollower(optionsOf(id, i));
        terminals.push(sim);
        followers.set(id, await sim.start());
      }),
    );
    step(`${followers.size} followers connected`);

    // A terminal with a key nobody approved waits on gateway 3; management 2 approves it and it wakes.
    const late = new SimFollower(optionsOf(LATE, FOLLOWERS - 1));
    terminals.push(late);
    const lateStarted = late.start();
    await eventually(async () => late.awaitingApproval, 30_000);
    const sessionId = late.client.session!.sessionId;
    await admin2('POST', `/api/admin/sessions/${sessionId}/approve`, {});
    await admin2('PUT', `/api/admin/groups/${group.groupId}/followers/${LATE}`, settingsOf(0));
    followers.set(LATE, await lateStarted);
    step('pending terminal on gateway 3 approved through management 2 and woken');

    let natsDown = false;
    let acceptedWhileNatsDown = 0;
    let healthWhileNatsDown = '';
    const master = new SimMaster({
      gateway: g1!.url,
      accountId: 'M1',
      authKey: keys.get('M1')!,
      seed: 'replicas-master',
      fetch: timed,
      intervalMs: run.outages ? 150 : 40,
      maxOpenPositions: 8,
      onSignal: () => {
        const sent = master.sent.length;
        if (sent === 60) {
          step('SIGKILL gateway 2');
          void g2!.kill('SIGKILL');
        }
        if (natsDown) acceptedWhileNatsDown++;
        if (run.outages && sent === 90) {
          step('NATS stopped');
          natsDown = true;
          void nats.stop().then(async () => {
            const restart = new Promise((r) => setTimeout(r, 20_000));
            // The gateway says so while the broker is away, and goes on copying.
            await eventually(async () => {
              const health = await fetch(`${g1!.url}/trade-agent/v1/health`);
              healthWhileNatsDown = `${health.status} ${await health.text()}`;
              return health.status === 503;
            }, 15_000).catch(() => undefined);
            await restart;
            step(`NATS started again; ${acceptedWhileNatsDown} signals accepted meanwhile`);
            natsDown = false;
            await nats.start();
          });
        }
        if (run.outages && sent === 110) {
          step('PostgreSQL connections of gateway 3 terminated');
          void terminateBackends(`e2e-g3-${target.schema}`).then((n) =>
            step(`${n} backends of gateway 3 terminated`),
          );
        }
      },
    });
    terminals.push(master);
    await master.start();
    expect(await master.run({ trades: SIGNALS })).toBe(SIGNALS);
    step(`master sent ${SIGNALS} signals; ${describeTimings(timings)}`);
    for (const { response } of master.sent)
      expect(response.copies.length + response.skipped.length).toBe(FOLLOWERS);
    if (run.outages) await eventually(async () => nats.running, 40_000);

    // Wait until every book matches the server's links and no copy order is in flight, twice in a row.
    type Link = {
      masterPositionId: string;
      ticket: string | null;
      symbol: string;
      side: string;
      openVolume: number;
    };
    const linksOf = async (id: string) =>
      (
        await admin1<{ items: Link[] }>(
          'GET',
          `/api/admin/positions?status=open&followerAccountId=${id}&limit=500`,
        )
      ).items;
    const bookOf = (id: string) =>
      [...followers.get(id)!.account.positions.values()]
        .map((p) => `${p.ticket} ${p.symbol} ${p.side} ${p.volume}`)
        .sort();
    const expectedOf = async (id: string) =>
      (await linksOf(id)).map((l) => `${l.ticket} ${l.symbol} ${l.side} ${l.openVolume}`).sort();
    let stable = 0;
    let mismatch = '';
    for (const deadline = Date.now() + 120_000; stable < 2;) {
      if (Date.now() > deadline)
        throw new Error(
          `books did not converge:\n${mismatch}\nsteps:\n${format(steps)}\n${diagnostics(processes, terminalLog)}`,
        );
      await new Promise((r) => setTimeout(r, 1000));
      mismatch = '';
      for (const id of ids) {
        const [book, expected] = [bookOf(id), await expectedOf(id)];
        if (JSON.stringify(book) !== JSON.stringify(expected))
          mismatch += `${id}\n  book     ${book.join(' | ')}\n  expected ${expected.join(' | ')}\n`;
      }
      let inFlight = 0;
      for (const status of ['queued', 'delivered', 'acknowledged'])
        inFlight += (
          await admin1<{ items: unknown[] }>('GET', `/api/admin/orders?status=${status}&limit=500`)
        ).items.length;
      if (inFlight > 0) mismatch += `${inFlight} copy orders in flight\n`;
      stable = mismatch === '' ? stable + 1 : 0;
    }
    step(`every book converged; ${describeTimings(timings)}`);

    // The expected books are the master's: every open master position, sized.
    const masterBook = master.account.positions;
    const wrong: string[] = [];
    for (const [i, id] of ids.entries()) {
      const factor = id === LATE ? 1 : i % 5 === 4 ? 2 : 1;
      const copied = (await linksOf(id)).map((l) => `${l.masterPositionId} ${l.openVolume}`).sort();
      const expected = [...masterBook]
        .map(([mp, p]) => `${mp} ${Math.round(p.volume * factor * 100) / 100}`)
        .sort();
      if (JSON.stringify(copied) !== JSON.stringify(expected)) {
        const { items } = await admin1<{
          items: Array<{ kind: string; status: string; reason: string | null }>;
        }>('GET', `/api/admin/orders?followerAccountId=${id}&limit=500`);
        const tally = new Map<string, number>();
        for (const o of items)
          tally.set(
            `${o.kind} ${o.status} ${o.reason ?? ''}`,
            (tally.get(`${o.kind} ${o.status} ${o.reason ?? ''}`) ?? 0) + 1,
          );
        wrong.push(
          `${id} (${optionsOf(id, i).transport} via ${i % 2 === 0 ? 'gateway 2' : 'gateway 3'}): copies ${copied.join(', ')}; master ${expected.join(', ')}; orders ${[...tally].map(([k, n]) => `${n}× ${k}`).join(', ')}`,
        );
      }
    }
    expect(wrong, `books that are not the master's\nsteps:\n${format(steps)}`).toEqual([]);

    // One copy order per signal and follower.
    type Order = { orderId: string; signalId: string | null; followerAccountId: string; origin: string };
    const orders = await allPages<Order>((path) => admin1('GET', path), '/api/admin/orders?limit=500');
    expect(new Set(orders.map((o) => o.orderId)).size).toBe(orders.length);
    const fromSignals = orders.filter((o) => o.origin === 'signal');
    expect(fromSignals).toHaveLength(SIGNALS * FOLLOWERS);
    expect(new Set(fromSignals.map((o) => `${o.signalId} ${o.followerAccountId}`)).size).toBe(
      SIGNALS * FOLLOWERS,
    );

    // Contiguous outbox sequences per account, from 1.
    const gaps = await onPostgres(
      target,
      async (c) =>
        (
          await c.query<{ account_id: string; n: string; lo: string; hi: string }>(
            `select account_id, count(*) as n, min(sequence) as lo, max(sequence) as hi
             from outbox_events group by account_id
           having count(*) <> max(sequence) - min(sequence) + 1 or min(sequence) <> 1`,
          )
        ).rows,
    );
    expect(gaps).toEqual([]);

    // Each webhook delivered once: one signal.accepted per signal, no delivery twice.
    await eventually(async () => webhooks.count('signal.accepted') >= SIGNALS, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(webhooks.duplicates()).toEqual([]);
    expect(
      new Set(webhooks.received.filter((w) => w.event === 'signal.accepted').map((w) => w.body.signalId))
        .size,
    ).toBe(SIGNALS);
    expect(webhooks.count('signal.accepted')).toBe(SIGNALS);

    // Each audit row once: no session reaches the same state twice in the log.
    const audit = await onPostgres(
      target,
      async (c) =>
        (
          await c.query<{ target_id: string; action: string; n: string }>(
            `select target_id, action, count(*) as n from audit_log
            where target_type = 'session' group by target_id, action having count(*) > 1`,
          )
        ).rows,
    );
    expect(audit).toEqual([]);
    const approved = await onPostgres(
      target,
      async (c) =>
        (
          await c.query(`select 1 from audit_log where target_id = $1 and action = 'session.authenticated'`, [
            sessionId,
          ])
        ).rowCount,
    );
    expect(approved).toBe(1);

    // Followers carried on with the sessions they had: a gateway lost, NATS or PostgreSQL
    // away for a while, none had to register again.
    expect(timings.get('POST /sessions')?.length).toBe(FOLLOWERS + 1);

    // The replicas that were not killed are still the processes that were started.
    for (const [name, p] of processes)
      if (name !== 'g2') expect(p.child.exitCode, `${name} exited`).toBeNull();
    if (run.outages) {
      // Copying went on without the broker; its health named the bus meanwhile.
      expect(acceptedWhileNatsDown).toBeGreaterThan(0);
      expect(healthWhileNatsDown).toMatch(/^503 .*bus/);
      // Wake-ups go over NATS when the bus is NATS: they recovered from its outage.
      expect(g3!.logs.join('\n')).toContain('NATS wake-ups reconnected');
      // Gateway 3 recovered from losing its PostgreSQL connections without a restart.
      expect((await fetch(`${g3!.url}/trade-agent/v1/health`)).status).toBe(200);
    }
    step('checked');
  });
});

function describeTimings(timings: Map<string, number[]>): string {
  return [...timings]
    .map(([route, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
      return `${route} n=${list.length} p50=${at(0.5)} p99=${at(0.99)} ms`;
    })
    .join('; ');
}

/** The warnings and errors of every process and the terminals' notable lines, for a failure's message. */
function diagnostics(processes: Map<string, Spawned>, terminalLog: string[]): string {
  const notable = (line: string) => !/ (executed|filled|opened|closed|modified|sent) /.test(line);
  const lines = [...processes].flatMap(([name, p]) =>
    p.logs
      .filter((l) => /"level":(40|50|60)/.test(l))
      .slice(-15)
      .map((l) => `${name} ${l.slice(0, 300)}`),
  );
  return `process warnings:\n${lines.join('\n')}\nterminals:\n${terminalLog.filter(notable).slice(-60).join('\n')}`;
}

function format(steps: Step[]): string {
  return steps.map((s) => `  ${(s.at / 1000).toFixed(1)} s ${s.what}`).join('\n');
}

async function onPostgres<T>(
  target: Extract<DatabaseTarget, { dialect: 'postgres' }>,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: urlWithSchema(target) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function terminateBackends(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const result = await client.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`,
      [applicationName],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A nats-server with JetStream of the test's own, on a free loopback port, that can be stopped and started again. */
class NatsServer {
  private child: ChildProcess | null = null;
  private port = 0;
  private readonly dir = tempDir('kopitra-nats-');
  private readonly output: string[] = [];

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => this.output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => this.output.push(c.toString()));
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited:\n${this.output.join('')}`);
      return this.output.join('').includes('Server is ready');
    }, 20_000);
    this.child = child;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

/** A TCP balancer: each new connection goes to the first upstream that accepts it. */
class Balancer {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  url = '';

  constructor(private readonly upstreams: URL[]) {}

  listen(): Promise<void> {
    const server = net.createServer((client) => {
      this.sockets.add(client);
      client.pause();
      const connect = (i: number) => {
        const to = this.upstreams[i];
        if (!to) return void client.destroy();
        const upstream = net.connect(Number(to.port), to.hostname);
        upstream.once('error', () => {
          if (!upstream.readyState.startsWith('open') && upstream.bytesWritten === 0) connect(i + 1);
          else client.destroy();
        });
        upstream.once('connect', () => {
          this.sockets.add(upstream);
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
          const end = () => {
            client.destroy();
            upstream.destroy();
            this.sockets.delete(client);
            this.sockets.delete(upstream);
          };
          client.on('close', end).on('error', end);
          upstream.on('close', end).on('error', end);
        });
      };
      connect(0);
    });
    this.server = server;
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        resolve();
      }),
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Collects webhook deliveries on a loopback port. */
class WebhookReceiver {
  readonly received: Array<{ event: string; delivery: string; body: any }> = [];
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static start(): Promise<WebhookReceiver> {
    const receiver: { value?: WebhookReceiver } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receiver.value!.received.push({
          event: String(req.headers['x-kopitra-event']),
          delivery: String(req.headers['x-kopitra-delivery']),
          body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
        });
        res.writeHead(204).end();
      });
    });
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        receiver.value = new WebhookReceiver(server, `http://127.0.0.1:${port}/hook`);
        resolve(receiver.value);
      }),
    );
  }

  count(event: string): number {
    return this.received.filter((w) => w.event === event).length;
  }

  /** Deliveries received more than once. */
  duplicates(): string[] {
    const seen = new Map<string, number>();
    for (const w of this.received) seen.set(w.delivery, (seen.get(w.delivery) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([d]) => d);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
