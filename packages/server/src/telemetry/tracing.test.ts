/**
 * Traces with an in-memory exporter: the copy chain (signal → fan-out → delivery →
 * acknowledgement → execution) is one trace continuing the master's `traceparent`, the follower
 * side linked to its own requests; management requests get a span; bus messages carry the
 * publisher's context to the consumer on every adapter.
 */
import { randomBytes } from 'node:crypto';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import { NatsBus } from '../bus/nats/nats-bus.js';
import { natsTarget } from '../bus/nats/target.js';
import type { Bus, BusMessage } from '../bus/bus.js';
import { openNotifier } from '../runtime.js';
import type { Notifier } from '../notify/notifier.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from '../store/database.js';
import { dialects, dropTarget, freshTarget, NATS_URL, natsOrSkip } from '../testing/databases.js';
import { ADMIN, BASE, eventually, idem, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import { startTracing } from './sdk.js';
import { inSpan, type Tracing } from './tracing.js';
import { traceBus } from './traced-bus.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(() => {
  tracing = startTracing({ serviceName: 'kopitra-test', serviceVersion: 'test', exporter, immediate: true });
});
afterAll(async () => {
  await tracing.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const one = (name: string, where: (s: ReadableSpan) => boolean = () => true): ReadableSpan => {
  const found = named(name).filter(where);
  expect(found, `exactly one span ${name}`).toHaveLength(1);
  return found[0]!;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const ids = (s: ReadableSpan) => s.spanContext();
const linkedTo = (s: ReadableSpan, target: SpanContext) =>
  s.links.some((l) => l.context.traceId === target.traceId && l.context.spanId === target.spanId);

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

describe.each(dialects)('traces on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect, {}, undefined, { tracing });
    exporter.reset();
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('follows a signal through fan-out, delivery, acknowledgement and execution in the master’s trace', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'TM').connect();
    const follower = await new SimFollower(p.platform, 'TF').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    await master.heartbeat(10_000);
    const db = p.platform.database.db;
    const group = await insertGroup(db, { name: 'traced', masterAccountId: 'TM' }, p.clock.now());
    await putSubscription(
      db,
      { groupId: group.group_id, followerAccountId: 'TF', settings: { sizing: { mode: 'mirror' } } },
      p.clock.now(),
    );
    exporter.reset();

    // The master's terminal (or a proxy in front of it) sent its own trace context.
    const signal = await p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/signals`,
      headers: {
        ...master.headers(false),
        'idempotency-key': idem(),
        traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
        tracestate: 'vendor=1',
      },
      payload: {
        occurredAt: new Date(p.clock.now()).toISOString(),
        type: 'position.opened',
        masterPositionId: '7001',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.5,
        price: 1.1,
      },
    });
    expect(signal.statusCode).toBe(202);
    const orderId = signal.json().copies[0].orderId as string;

    const poll = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${follower.cursor}`,
      headers: follower.headers(false),
    });
    const events = poll.json().events as Array<{
      eventId: string;
      sequence: number;
      payload: { orderId?: string };
    }>;
    const event = events.find((e) => e.payload.orderId === orderId);
    expect(event).toBeDefined();
    await follower.inbox(
      events.map((e) => ({ eventType: 'OutboxAck', eventId: e.eventId, sequence: e.sequence })),
    );
    const execution = await follower.execution({
      orderId,
      status: 'filled',
      ticket: '555',
      price: 1.1002,
      volume: 0.5,
    });
    expect(execution.statusCode).toBe(200);
    // The audit consumer handles the signal.accepted message in the background.
    await eventually(async () =>
      named('process trade-agent-events').some(
        (s) => s.attributes['kopitra.message.type'] === 'signal.accepted',
      ),
    );

    const request = one('POST /trade-agent/v1/signals');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(ids(request).traceId).toBe(CLIENT_TRACE);
    expect(parentOf(request)).toBe(CLIENT_SPAN);
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/trade-agent/v1/signals',
      'http.response.status_code': 202,
      'kopitra.plane': 'gateway',
      'kopitra.account_id': 'TM',
    });

    const fanout = one('copy.fanout');
    expect(parentOf(fanout)).toBe(ids(request).spanId);
    expect(fanout.attributes).toMatchObject({
      'kopitra.master_account_id': 'TM',
      'kopitra.signal.type': 'position.opened',
      'kopitra.copies': 1,
      'kopitra.skipped': 0,
    });
    const write = one('copy.outbox.write');
    expect(parentOf(write)).toBe(ids(fanout).spanId);
    expect(write.attributes['kopitra.outbox.events']).toBe(1);

    // The follower's requests are traces of their own; each step joins the signal's trace
    // as a child of the fan-out, linked to the request that did it.
    const pollSpan = one('GET /trade-agent/v1/sessions/current/outbox');
    const ackRequest = one('POST /trade-agent/v1/sessions/current/inbox');
    const executionRequest = one('POST /trade-agent/v1/executions');
    for (const r of [pollSpan, ackRequest, executionRequest]) expect(ids(r).traceId).not.toBe(CLIENT_TRACE);

    const deliver = one('copy.deliver');
    const ack = one('copy.acknowledge');
    const executed = one('copy.execution');
    for (const step of [deliver, ack, executed]) {
      expect(ids(step).traceId).toBe(CLIENT_TRACE);
      expect(parentOf(step)).toBe(ids(fanout).spanId);
    }
    expect(linkedTo(deliver, ids(pollSpan))).toBe(true);
    expect(linkedTo(ack, ids(ackRequest))).toBe(true);
    expect(linkedTo(executed, ids(executionRequest))).toBe(true);
    expect(deliver.attributes).toMatchObject({
      'kopitra.follower_account_id': 'TF',
      'kopitra.outbox.event_id': event!.eventId,
      'kopitra.delivery.channel': 'poll',
      'kopitra.redelivery': false,
    });
    expect(ack.attributes).toMatchObject({
      'kopitra.outbox.event_id': event!.eventId,
      'kopitra.ack.channel': 'inbox',
    });
    expect(executed.attributes).toMatchObject({
      'kopitra.order_id': orderId,
      'kopitra.order.status': 'filled',
      'kopitra.order.ticket': '555',
    });

    // The fan-out's bus message carries the trace to the management side's consumer.
    const published = one(
      'publish trade-agent-events',
      (s) => s.attributes['kopitra.message.type'] === 'signal.accepted',
    );
    expect(published.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(published)).toBe(ids(fanout).spanId);
    const consumed = named('process trade-agent-events').filter(
      (s) => s.attributes['kopitra.message.type'] === 'signal.accepted',
    );
    expect(consumed.length).toBeGreaterThanOrEqual(1);
    for (const c of consumed) {
      expect(c.kind).toBe(SpanKind.CONSUMER);
      expect(ids(c).traceId).toBe(CLIENT_TRACE);
      expect(parentOf(c)).toBe(ids(published).spanId);
    }
    // Stored with the rows, so another replica could continue it.
    const row = await db
      .selectFrom('copy_orders')
      .select('trace_context')
      .where('order_id', '=', orderId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.trace_context!).traceparent).toBe(`00-${CLIENT_TRACE}-${ids(fanout).spanId}-01`);
    expect(JSON.parse(row.trace_context!).tracestate).toBe('vendor=1');
  });

  it('traces delivery and acknowledgement over the WebSocket stream, and ends the upgrade’s span', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'WM').connect();
    const follower = await new SimFollower(p.platform, 'WF').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    await master.heartbeat(10_000);
    const db = p.platform.database.db;
    const group = await insertGroup(db, { name: 'streamed', masterAccountId: 'WM' }, p.clock.now());
    await putSubscription(
      db,
      { groupId: group.group_id, followerAccountId: 'WF', settings: { sizing: { mode: 'mirror' } } },
      p.clock.now(),
    );
    const messages: Array<{
      type: string;
      event?: { eventId: string; sequence: number; payload: { orderId?: string } };
    }> = [];
    const ws = await p.platform.app.injectWS(
      `${BASE}/sessions/current/stream?cursor=${follower.cursor}`,
      { headers: follower.headers(false) },
      { onInit: (socket) => socket.on('message', (data) => messages.push(JSON.parse(String(data)))) },
    );
    await eventually(async () => messages.some((m) => m.type === 'hello'));
    // The upgrade's span ends with the handshake, not with the socket.
    expect(one('GET /trade-agent/v1/sessions/current/stream').attributes['http.response.status_code']).toBe(
      101,
    );
    exporter.reset();

    const { copies } = await master.signal({
      type: 'position.opened',
      masterPositionId: '7002',
      symbol: 'EURUSD',
      side: 'sell',
      volume: 0.2,
      price: 1.2,
    });
    const pushed = await eventually(async () =>
      messages.find((m) => m.type === 'event' && m.event?.payload.orderId === copies[0].orderId),
    );
    ws.send(
      JSON.stringify({ type: 'ack', eventId: pushed.event!.eventId, sequence: pushed.event!.sequence }),
    );
    await eventually(async () => named('copy.acknowledge').length === 1);
    ws.terminate();

    const fanout = one('copy.fanout');
    const deliver = one('copy.deliver');
    const ack = one('copy.acknowledge');
    for (const step of [deliver, ack]) {
      expect(ids(step).traceId).toBe(ids(fanout).traceId);
      expect(parentOf(step)).toBe(ids(fanout).spanId);
    }
    // Handed over from memory to the parked stream, or read by it after a wake-up.
    expect(['handoff', 'stream']).toContain(deliver.attributes['kopitra.delivery.channel']);
    expect(ack.attributes['kopitra.ack.channel']).toBe('stream');
  });

  it('traces management requests (continuing a caller’s traceparent) but not health checks', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const login = await p.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      payload: ADMIN,
    });
    expect(login.statusCode).toBe(200);
    const refused = await p.platform.app.inject({ method: 'GET', url: '/api/admin/accounts' });
    expect(refused.statusCode).toBe(401);
    await p.platform.app.inject({ method: 'GET', url: '/api/health' });
    await p.platform.app.inject({ method: 'GET', url: `${BASE}/health` });

    const span = one('POST /api/auth/login');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(ids(span).traceId).toBe(CLIENT_TRACE);
    expect(parentOf(span)).toBe(CLIENT_SPAN);
    expect(span.attributes).toMatchObject({
      'kopitra.plane': 'management',
      'http.response.status_code': 200,
    });
    const unauthorized = one('GET /api/admin/accounts');
    expect(unauthorized.attributes['http.response.status_code']).toBe(401);
    expect(unauthorized.parentSpanContext).toBeUndefined();
    expect(spans().filter((s) => s.name.includes('health'))).toEqual([]);
  });
});

const logger = pino({ level: 'silent' });

interface BusCase {
  name: string;
  open(database: Database, notifier: Notifier, topic: string): Promise<Bus | null>;
}

const natsCleanups: Array<() => Promise<void>> = [];
const embedded = async (database: Database, notifier: Notifier) =>
  new EmbeddedBus({
    db: database.db,
    dialect: database.dialect,
    notifier,
    clock: systemClock,
    logger,
    pollMs: 50,
  });

const busCases: BusCase[] = [
  { name: 'embedded', open: embedded },
  {
    name: 'NATS',
    open: async (database, notifier, topic) => {
      if (!(await natsOrSkip())) return null;
      const target = natsTarget(NATS_URL, `t${randomBytes(4).toString('hex')}`)!;
      natsCleanups.push(async () => {
        const nc = await connect({ servers: [...target.servers] });
        try {
          const jsm = await jetstreamManager(nc);
          for await (const name of jsm.streams.names())
            if (name.startsWith(`${target.namespace}_`)) await jsm.streams.delete(name);
        } finally {
          await nc.close();
        }
      });
      return new NatsBus({
        target,
        db: database.db,
        outbox: await embedded(database, notifier),
        topics: [topic],
        logger,
        onDeadLetter: async () => undefined,
      });
    },
  },
];

describe.each(busCases)('traced bus: $name', (c) => {
  let target: DatabaseTarget | null;
  let database: Database;
  let notifier: Notifier;
  let bus: Bus | null;
  const topic = `traced.${Math.random().toString(36).slice(2, 8)}`;

  beforeEach(async () => {
    target = await freshTarget('postgres');
    if (!target) return;
    database = await openDatabase(target);
    await migrate(database);
    notifier = await openNotifier(database);
    const inner = await c.open(database, notifier, topic);
    bus = inner && traceBus(inner, tracing, c.name === 'NATS' ? 'nats' : 'kopitra-embedded');
    exporter.reset();
  });
  afterEach(async () => {
    if (!target) return;
    await bus?.close();
    for (const fn of natsCleanups.splice(0)) await fn();
    await notifier.close();
    await database.close();
    await dropTarget(target);
  });

  it('carries the publisher’s trace context to the consumer, whose span continues it', async (t) => {
    if (!target || !bus) return t.skip();
    const b = bus;
    const received: BusMessage[] = [];
    const sub = b.subscribe(topic, 'traced', async (m) => void received.push(m));
    await inSpan(tracing, 'caller', {}, () =>
      b.publish(topic, { type: 'probe', n: 1 }, { messageId: 'traced-1' }),
    );
    await eventually(async () => received.length === 1 && named(`process ${topic}`).length === 1, 20_000);
    await sub.close();

    const caller = one('caller');
    const publish = one(`publish ${topic}`);
    const process = one(`process ${topic}`);
    expect(parentOf(publish)).toBe(ids(caller).spanId);
    expect(publish.attributes).toMatchObject({
      'messaging.destination.name': topic,
      'messaging.message.id': 'traced-1',
      'kopitra.message.type': 'probe',
    });
    expect(received[0]!.headers?.['traceparent']).toBe(
      `00-${ids(publish).traceId}-${ids(publish).spanId}-01`,
    );
    expect(ids(process).traceId).toBe(ids(caller).traceId);
    expect(parentOf(process)).toBe(ids(publish).spanId);
    expect(process.attributes).toMatchObject({
      'messaging.system': c.name === 'NATS' ? 'nats' : 'kopitra-embedded',
      'messaging.operation.type': 'process',
      'messaging.destination.subscription.name': 'traced',
      'messaging.message.id': 'traced-1',
    });
  }, 60_000);
});
