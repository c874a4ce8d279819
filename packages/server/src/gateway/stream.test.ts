import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '@kopitra/contracts';
import type { WebSocket } from 'ws';
import { getSession } from '../store/sessions.js';
import { dialects } from '../testing/databases.js';
import { BASE, eventually, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';

function collect(ws: WebSocket) {
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  return messages;
}

describe.each(dialects)('outbox WebSocket stream on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('pushes events as they are written and accepts acks on the socket', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = terminal(p.platform, '300');
    await ea.create();
    let messages: Array<Record<string, unknown>> = [];
    const ws = await p.platform.app.injectWS(
      `${BASE}/sessions/current/stream`,
      { headers: { 'x-tradeagent-account': '300', authorization: `Bearer ${ea.token}` } },
      { onInit: (socket) => (messages = collect(socket)) },
    );
    await eventually(async () => messages.find((m) => m['type'] === 'hello'));
    expect(messages[0]).toMatchObject({ type: 'hello', status: 'pending' });

    const s = await getSession(p.platform.database.db, ea.sessionId!);
    await p.platform.bus.publish(topics.authApprovals, {
      type: 'AuthApproval',
      accountId: '300',
      authKeyFingerprint: s!.key_fingerprint,
      approvedBy: 'ops',
      expiresAt: null,
    });
    const pushed = await eventually(async () => messages.find((m) => m['type'] === 'event'));
    const event = pushed['event'] as { eventId: string; type: string; sequence: number };
    expect(event).toMatchObject({ type: 'session.init_ack', sequence: 1 });

    ws.send(JSON.stringify({ type: 'ack', eventId: event.eventId, sequence: 1 }));
    await eventually(async () => messages.find((m) => m['type'] === 'ack_result'));
    expect(messages.find((m) => m['type'] === 'ack_result')).toMatchObject({
      eventId: event.eventId,
      result: 'acked',
    });
    expect((await ea.poll()).json().events).toEqual([]);

    ws.send('not json');
    await eventually(async () => messages.find((m) => m['error'] === 'malformed_json'));
    ws.terminate();
  });

  it('refuses an unauthenticated upgrade with a coded error', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const res = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/stream`,
      headers: {
        'x-tradeagent-account': '301',
        authorization: 'Bearer nope.nope',
        connection: 'upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('unauthorized');
  });
});
