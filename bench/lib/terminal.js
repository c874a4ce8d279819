/**
 * One EA terminal speaking the gateway protocol over a single keep-alive undici connection,
 * the way a real EA holds one connection to the gateway.
 */
import { randomBytes } from 'node:crypto';
import { Client, WebSocket } from 'undici';

const BASE = '/trade-agent/v1';

export class Terminal {
  /** `authKey`: a key already approved through the store (else a new random, pending one). */
  constructor(url, accountId, { role = 'follower', authKey } = {}) {
    this.url = url;
    this.accountId = accountId;
    this.role = role;
    this.authKey = authKey ?? `bench-${randomBytes(12).toString('hex')}`;
    // pipelining 1: requests on the one connection strictly one after another, like an EA.
    this.client = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 });
    // Unique across the terminals (and clones) of a process, so no two requests share a key.
    this.keyPrefix = `bench-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.keys = 0;
    this.token = undefined;
    this.sessionId = undefined;
  }

  /** Another connection speaking for the same session (a master sending on several sockets). */
  clone() {
    const twin = new Terminal(this.url, this.accountId, { role: this.role, authKey: this.authKey });
    twin.token = this.token;
    twin.sessionId = this.sessionId;
    return twin;
  }

  idempotencyKey() {
    return `${this.keyPrefix}-${++this.keys}`;
  }

  get authHeaders() {
    return { 'x-tradeagent-account': this.accountId, authorization: `Bearer ${this.token}` };
  }

  async #send(method, path, headers, body) {
    const res = await this.client.request({
      method,
      path: `${BASE}${path}`,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // The clock stops once the whole body is in, before any parsing.
    const text = await res.body.text();
    const at = performance.now();
    return { status: res.statusCode, text, at, json: () => JSON.parse(text) };
  }

  async createSession() {
    const res = await this.#send(
      'POST',
      '/sessions',
      { 'x-tradeagent-account': this.accountId, 'idempotency-key': this.idempotencyKey() },
      {
        authMethod: 'account_session_key',
        authKey: this.authKey,
        platform: 'MT5',
        role: this.role,
        eaVersion: '1.0.0',
        terminalBuild: 4410,
      },
    );
    expectStatus(res, 201, 'create session');
    const body = res.json();
    this.token = body.token;
    this.sessionId = body.sessionId;
    return body;
  }

  /** GET outbox; resolves with the response and the instant its body was fully received. */
  poll(cursor, waitSec) {
    return this.#send('GET', `/sessions/current/outbox?cursor=${cursor}&wait=${waitSec}`, this.authHeaders);
  }

  async ack(events) {
    const res = await this.#send(
      'POST',
      '/sessions/current/inbox',
      { ...this.authHeaders, 'idempotency-key': this.idempotencyKey() },
      {
        events: events.map((e) => ({ eventType: 'OutboxAck', eventId: e.eventId, sequence: e.sequence })),
      },
    );
    expectStatus(res, 202, 'ack');
    return res;
  }

  /** POST /signals (master sessions); the caller checks the status. */
  signal(body) {
    return this.#send(
      'POST',
      '/signals',
      { ...this.authHeaders, 'idempotency-key': this.idempotencyKey() },
      body,
    );
  }

  /** POST /executions: what became of a copy order. */
  async execution(body) {
    const res = await this.#send(
      'POST',
      '/executions',
      { ...this.authHeaders, 'idempotency-key': this.idempotencyKey() },
      body,
    );
    expectStatus(res, 200, 'execution report');
    return res;
  }

  async release() {
    if (!this.token) return;
    await this.#send('DELETE', '/sessions/current', {
      ...this.authHeaders,
      'idempotency-key': this.idempotencyKey(),
    });
  }

  close() {
    return this.client.close();
  }
}

export function expectStatus(res, status, what) {
  if (res.status !== status)
    throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}

/**
 * The terminal's outbox over the WebSocket stream (`GET …/stream?cursor=`): collects pushed
 * events with the instant each arrived, and acknowledges on the socket as an EA may.
 */
export async function openStream(terminal, cursor) {
  const url = `${terminal.url.replace(/^http/, 'ws')}${BASE}/sessions/current/stream?cursor=${cursor}`;
  const ws = new WebSocket(url, { headers: terminal.authHeaders });
  const stream = {
    ws,
    events: [],
    acks: 0,
    errors: [],
    waiter: null,
    /** Resolves with `{ event, at }` once an event past `sequence` has arrived. */
    next(sequence) {
      const found = stream.events.find((e) => e.event.sequence > sequence);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => (stream.waiter = { sequence, resolve }));
    },
    ack(event) {
      ws.send(JSON.stringify({ type: 'ack', eventId: event.eventId, sequence: event.sequence }));
    },
    close() {
      ws.close();
    },
  };
  ws.addEventListener('message', (m) => {
    const at = performance.now();
    const msg = JSON.parse(String(m.data));
    if (msg.type === 'event') {
      const item = { event: msg.event, at };
      stream.events.push(item);
      if (stream.events.length > 64) stream.events.splice(0, stream.events.length - 64);
      const w = stream.waiter;
      if (w && msg.event.sequence > w.sequence) {
        stream.waiter = null;
        w.resolve(item);
      }
    } else if (msg.type === 'ack_result') {
      if (msg.result === 'acked' || msg.result === 'already_acked') stream.acks++;
      else stream.errors.push(`ack ${msg.eventId}: ${msg.result}`);
    } else if (msg.type === 'error') stream.errors.push(JSON.stringify(msg));
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', (e) => reject(new Error(`stream of ${terminal.accountId}: ${e.message}`)), {
      once: true,
    });
  });
  return stream;
}
