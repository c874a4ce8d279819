import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressAllowed,
  BLOCKED,
  checkWebhookUrl,
  NO_RESPONSE,
  parseRanges,
  webhookSender,
  type Resolve,
  type WebhookSender,
} from './webhook-target.js';

const none = parseRanges([]);

describe('webhook target addresses', () => {
  it('allows public unicast and refuses every internal range', () => {
    expect(addressAllowed('93.184.216.34', none)).toBe(true);
    expect(addressAllowed('2606:4700::1111', none)).toBe(true);
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      'not-an-ip',
    ])
      expect({ ip, allowed: addressAllowed(ip, none) }).toEqual({ ip, allowed: false });
  });

  it('lets an explicitly allowed range through, and only that range', () => {
    const allow = parseRanges(['127.0.0.0/8', '10.0.0.5']);
    expect(addressAllowed('127.0.0.1', allow)).toBe(true);
    expect(addressAllowed('::ffff:127.0.0.1', allow)).toBe(true);
    expect(addressAllowed('10.0.0.5', allow)).toBe(true);
    expect(addressAllowed('10.0.0.6', allow)).toBe(false);
    expect(addressAllowed('::1', allow)).toBe(false);
  });

  it('reads odd spellings of loopback as loopback', () => {
    const policy = { allowPrivate: [] };
    for (const url of [
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://017700000001/',
      'http://[::1]:80/',
      'http://[::ffff:127.0.0.1]/',
      'http://LOCALHOST./',
      'http://a.localhost/',
      'http://metadata.google.internal/',
    ])
      expect(() => checkWebhookUrl(url, policy), url).toThrow(
        expect.objectContaining({ code: 'webhook_target_forbidden' }),
      );
    expect(() => checkWebhookUrl('https://hooks.example.com/x', policy)).not.toThrow();
  });
});

describe('webhook sender', () => {
  const servers: Array<http.Server | net.Server> = [];
  const senders: WebhookSender[] = [];
  afterEach(async () => {
    await Promise.all(senders.splice(0).map((s) => s.close()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const listen = async <S extends http.Server | net.Server>(server: S) => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  const counting = () => {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.statusCode = 204;
      res.end();
    });
    return { server, hits };
  };
  const init = () => ({
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(5000),
  });
  const sender = (allowPrivate: string[], resolve?: Resolve) => {
    const s = webhookSender({ allowPrivate, ...(resolve ? { resolve } : {}) });
    senders.push(s);
    return s;
  };

  it('checks the address it connects to: a name that resolves to loopback is refused (DNS rebinding)', async () => {
    const target = counting();
    const port = await listen(target.server);
    // The name passed the registration check; at delivery time it resolves to loopback.
    const rebinding: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    const refused = await sender([], rebinding).send(`http://hooks.example.test:${port}/x`, init());
    expect(refused).toEqual({ error: BLOCKED });
    expect(target.hits).toEqual([]);
    // The same resolver is what the connection really uses: allowed, it reaches the listener.
    const allowed = await sender(['127.0.0.0/8'], rebinding).send(
      `http://hooks.example.test:${port}/x`,
      init(),
    );
    expect(allowed).toEqual({ status: 204 });
    expect(target.hits).toEqual(['/x']);
  });

  it('refuses literal internal addresses without connecting', async () => {
    const target = counting();
    const port = await listen(target.server);
    expect(await sender([]).send(`http://127.0.0.1:${port}/`, init())).toEqual({ error: BLOCKED });
    expect(await sender([]).send(`http://127.1:${port}/`, init())).toEqual({ error: BLOCKED });
    expect(target.hits).toEqual([]);
  });

  it('follows no redirect', async () => {
    const elsewhere = counting();
    const elsewherePort = await listen(elsewhere.server);
    const redirecting = http.createServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${elsewherePort}/internal` });
      res.end();
    });
    const port = await listen(redirecting);
    expect(await sender(['127.0.0.0/8']).send(`http://127.0.0.1:${port}/`, init())).toEqual({ status: 302 });
    expect(elsewhere.hits).toEqual([]);
  });

  it('says the same about a closed port and an open port that does not speak HTTP', async () => {
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    servers.splice(servers.indexOf(closed), 1);
    const silent = net.createServer((socket) => socket.destroy());
    const openPort = await listen(silent);
    const s = sender(['127.0.0.0/8']);
    const a = await s.send(`http://127.0.0.1:${closedPort}/`, init());
    const b = await s.send(`http://127.0.0.1:${openPort}/`, init());
    expect(a).toEqual({ error: NO_RESPONSE });
    expect(b).toEqual({ error: NO_RESPONSE });
  });
});
