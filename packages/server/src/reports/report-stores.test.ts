/**
 * Both report stores against real storage: files in a temp directory, and Blob Storage in
 * Azurite (spawned from the npm package on loopback). The same behaviour is asked of each —
 * put, read back, link, delete — then what is particular to each: the file store's signed
 * links (tampered or expired ones are refused, on an injected clock) and blob SAS links that
 * Blob Storage itself refuses once tampered with or expired.
 */
import fs from 'node:fs';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { resolveReports } from '../config.js';
import { azuriteOrSkip, type Azurite } from '../testing/azurite.js';
import { tempDir } from '../testing/databases.js';
import { ADMIN, eventually, startTestPlatform } from '../testing/platform.js';
import { BlobReportStore } from './blob-store.js';
import { FileReportStore } from './file-store.js';
import { assertReportName, type ReportStore } from './report-store.js';

const CSV = 'at,actor\n"2026-01-01T00:00:00.000Z","ops@example.com"\n';

function storeContract(
  name: string,
  make: () => ReportStore | null,
  fetchLink: (url: string) => Promise<Response>,
) {
  describe(name, () => {
    it('writes a report, reads it back with its size and type, and deletes it', async (t) => {
      const store = make();
      if (!store) return t.skip();
      const stored = await store.put('run_1-audit.csv', CSV, 'text/csv; charset=utf-8');
      expect(stored).toEqual({
        name: 'run_1-audit.csv',
        size: Buffer.byteLength(CSV),
        contentType: 'text/csv; charset=utf-8',
      });
      const opened = await store.open('run_1-audit.csv');
      expect(opened).toMatchObject({ size: stored.size, contentType: 'text/csv; charset=utf-8' });
      expect(await text(opened!.body)).toBe(CSV);
      // Overwrites: a run taken over by another worker writes the same name again.
      await store.put('run_1-audit.csv', `${CSV}x\n`, 'text/csv; charset=utf-8');
      expect(await text((await store.open('run_1-audit.csv'))!.body)).toBe(`${CSV}x\n`);
      await store.delete('run_1-audit.csv');
      expect(await store.open('run_1-audit.csv')).toBeNull();
      await store.delete('run_1-audit.csv');
      expect(await store.open('never-written.json')).toBeNull();
    });

    it('refuses names that are not one plain path segment', async (t) => {
      const store = make();
      if (!store) return t.skip();
      for (const bad of ['../kopitra.db', 'a/b.csv', '', '.hidden', 'a..b'])
        await expect(store.put(bad, 'x', 'text/plain')).rejects.toThrow(/invalid report name/);
    });

    it('makes a link that downloads the report as a file', async (t) => {
      const store = make();
      if (!store) return t.skip();
      const stored = await store.put('run_2-audit.json', '{"entries":[]}', 'application/json');
      const now = Date.now();
      const link = await store.link(stored, { now, expiresAt: now + 300_000 });
      expect(link.expiresAt).toBe(now + 300_000);
      const res = await fetchLink(link.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="run_2-audit.json"');
      expect(await res.text()).toBe('{"entries":[]}');
    });
  });
}

describe('file report store', () => {
  const dir = path.join(tempDir(), 'reports');
  const store = new FileReportStore(dir, 'x'.repeat(32));
  afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  // Its links are served by the management plane; here the link is checked and the file read as that route does.
  storeContract(
    'contract',
    () => store,
    async (url) => {
      const u = new URL(url, 'http://localhost');
      const name = decodeURIComponent(u.pathname.split('/').pop()!);
      const check = store.verifyLink(
        name,
        u.searchParams.get('expires') ?? undefined,
        u.searchParams.get('signature') ?? undefined,
        Date.now(),
      );
      if (check !== 'ok') return new Response(check, { status: 403 });
      const opened = (await store.open(name))!;
      return new Response(await text(opened.body), {
        headers: {
          'content-type': opened.contentType,
          'content-disposition': `attachment; filename="${name}"`,
        },
      });
    },
  );

  it('signs links: a changed name, expiry or signature is invalid; past the expiry, expired', async () => {
    const clock = new ManualClock();
    const stored = await store.put('run_3-audit.csv', CSV, 'text/csv; charset=utf-8');
    const { url } = await store.link(stored, { now: clock.now(), expiresAt: clock.now() + 60_000 });
    const u = new URL(url, 'http://localhost');
    expect(u.pathname).toBe('/api/reports/run_3-audit.csv');
    const expires = u.searchParams.get('expires')!;
    const signature = u.searchParams.get('signature')!;
    expect(store.verifyLink('run_3-audit.csv', expires, signature, clock.now())).toBe('ok');
    expect(store.verifyLink('run_4-audit.csv', expires, signature, clock.now())).toBe('invalid');
    expect(store.verifyLink('run_3-audit.csv', String(Number(expires) + 1), signature, clock.now())).toBe(
      'invalid',
    );
    expect(
      store.verifyLink(
        'run_3-audit.csv',
        expires,
        signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        clock.now(),
      ),
    ).toBe('invalid');
    expect(store.verifyLink('run_3-audit.csv', expires, undefined, clock.now())).toBe('invalid');
    expect(store.verifyLink('run_3-audit.csv', 'soon', signature, clock.now())).toBe('invalid');
    // A link of another instance (another secret) is not valid here.
    const other = new FileReportStore(dir, 'y'.repeat(32));
    expect(other.verifyLink('run_3-audit.csv', expires, signature, clock.now())).toBe('invalid');
    clock.advance(60_000);
    expect(store.verifyLink('run_3-audit.csv', expires, signature, clock.now())).toBe('ok');
    clock.advance(1);
    expect(store.verifyLink('run_3-audit.csv', expires, signature, clock.now())).toBe('expired');
  });

  it('survives a restart: a new store on the same directory reads what the old one wrote', async () => {
    await store.put('run_5-audit.json', '[]', 'application/json');
    const again = new FileReportStore(dir, 'x'.repeat(32));
    expect(await text((await again.open('run_5-audit.json'))!.body)).toBe('[]');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});

describe('Blob Storage report store (Azurite)', () => {
  let azurite: Azurite | null = null;
  let store: BlobReportStore | null = null;
  beforeAll(async () => {
    azurite = await azuriteOrSkip();
    if (azurite)
      store = new BlobReportStore({ connectionString: azurite.connectionString, container: 'reports-test' });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await azurite?.stop();
  });

  storeContract(
    'contract',
    () => store,
    (url) => fetch(url),
  );

  it('SAS links: Blob Storage refuses a tampered or expired one', async (t) => {
    if (!store) return t.skip();
    const stored = await store.put('run_6-audit.csv', CSV, 'text/csv; charset=utf-8');
    const now = Date.now();
    const { url } = await store.link(stored, { now, expiresAt: now + 300_000 });
    expect(new URL(url).searchParams.get('sp')).toBe('r');
    expect((await fetch(url)).status).toBe(200);
    const sig = new URL(url).searchParams.get('sig')!;
    const forged = new URL(url);
    forged.searchParams.set('sig', `${sig.slice(0, -2)}${sig.endsWith('A=') ? 'B=' : 'A='}`);
    expect((await fetch(forged)).status).toBe(403);
    const longer = new URL(url);
    longer.searchParams.set('se', new Date(now + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect((await fetch(longer)).status).toBe(403);
    const otherBlob = url.replace('run_6-audit.csv', 'run_7-audit.csv');
    expect((await fetch(otherBlob)).status).toBe(403);
    // A link made by a clock an hour behind has already lapsed for Blob Storage.
    const clock = new ManualClock(now - 3_600_000);
    const old = await store.link(stored, { now: clock.now(), expiresAt: clock.now() + 300_000 });
    expect((await fetch(old.url)).status).toBe(403);
  });

  it('an audit export goes to the container and the operator downloads it through a SAS link', async (t) => {
    if (!azurite) return t.skip();
    const tp = await startTestPlatform('sqlite', {
      KOPITRA_REPORTS_URL: azurite.connectionString,
      KOPITRA_REPORTS_CONTAINER: 'exports',
    });
    try {
      const app = tp!.platform.app;
      const token = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })).json()
        .token;
      const auth = { authorization: `Bearer ${token}` };
      const started = await app.inject({
        method: 'POST',
        url: '/api/admin/tasks/export-audit/run',
        headers: auth,
        payload: { params: { from: '2020-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z', format: 'csv' } },
      });
      const runId = started.json().runId as string;
      await eventually(
        async () =>
          (await app.inject({ method: 'GET', url: `/api/admin/task-runs/${runId}`, headers: auth })).json()
            .status === 'completed',
        // Generous: the worker, the emulator and parallel test files share two cores.
        30_000,
      );
      const link = (
        await app.inject({ method: 'GET', url: `/api/admin/task-runs/${runId}/report`, headers: auth })
      ).json();
      expect(link.url).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/exports\/run_.+-audit-2020-01-01_2099-01-01\.csv\?/,
      );
      const res = await fetch(link.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const body = await res.text();
      expect(Buffer.byteLength(body)).toBe(link.size);
      expect(body).toContain('user.create');
      // The management plane does not serve blob reports itself.
      const direct = await app.inject({
        method: 'GET',
        url: `/api/reports/${link.name}?expires=1&signature=${'0'.repeat(64)}`,
      });
      expect(direct.json().error).toBe('report_link_invalid');
      // Nothing was written to the data directory.
      expect(fs.existsSync(path.join(tp!.config.dataDir, 'reports'))).toBe(false);
    } finally {
      await tp?.close();
    }
  }, 60_000);
});

describe('KOPITRA_REPORTS_URL', () => {
  it('selects files by default, a path, a connection string or an account URL', () => {
    expect(resolveReports(undefined, '/data')).toEqual({ kind: 'file', dir: '/data/reports' });
    expect(resolveReports('/srv/reports', '/data')).toEqual({ kind: 'file', dir: '/srv/reports' });
    expect(resolveReports('file:///srv/r', '/data')).toEqual({ kind: 'file', dir: '/srv/r' });
    expect(resolveReports('UseDevelopmentStorage=true', '/data')).toEqual({
      kind: 'blob',
      target: { connectionString: 'UseDevelopmentStorage=true', container: 'reports' },
    });
    expect(
      resolveReports('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k', '/data', 'x'),
    ).toMatchObject({
      kind: 'blob',
      target: { container: 'x' },
    });
    expect(resolveReports('https://acct.blob.core.windows.net/exports', '/data')).toEqual({
      kind: 'blob',
      target: { accountUrl: 'https://acct.blob.core.windows.net', container: 'exports' },
    });
    expect(resolveReports('https://acct.blob.core.windows.net', '/data', 'r2')).toEqual({
      kind: 'blob',
      target: { accountUrl: 'https://acct.blob.core.windows.net', container: 'r2' },
    });
    expect(() => resolveReports('https://acct.blob.core.windows.net/r?sv=1&sig=x', '/data')).toThrow(
      /without a SAS/,
    );
    expect(() => resolveReports('s3://bucket', '/data')).toThrow(/unsupported store "s3:"/);
    expect(assertReportName('run_1-audit-2026-01-01_2026-02-01.csv')).toBe(
      'run_1-audit-2026-01-01_2026-02-01.csv',
    );
  });
});
