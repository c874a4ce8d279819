// Investigation harness (not part of the bench): per-statement SQLite time while a master
// posts open/close pairs to 100 followers that never poll (the sustained pattern).
import BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const stats = new Map(); let window = 'early';
const origPrepare = BetterSqlite3.prototype.prepare;
BetterSqlite3.prototype.prepare = function (text) {
  const st = origPrepare.call(this, text);
  for (const m of ['all', 'run', 'get']) {
    const f = st[m].bind(st);
    st[m] = (...a) => { const t = performance.now(); try { return f(...a); } finally {
      const k = `${window}\t${text.slice(0, 150)}`; const e = stats.get(k) ?? { n: 0, ms: 0 }; e.n++; e.ms += performance.now() - t; stats.set(k, e); } };
  }
  return st;
};
const { migrate, openDatabase } = await import('./packages/server/dist/store/database.js');
const { insertAccount } = await import('./packages/server/dist/store/accounts.js');
const { insertKey } = await import('./packages/server/dist/store/keys.js');
const { insertGroup, putSubscription } = await import('./packages/server/dist/store/copy.js');
const { keyFingerprint, keyHash } = await import('./packages/server/dist/gateway/secrets.js');
const { loadConfig, startPlatform } = await import('./packages/server/dist/index.js');
const { Terminal } = await import('./bench/lib/terminal.js');
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqltime-')); const target = { dialect: 'sqlite', file: path.join(dir, 'k.db') };
const spec = JSON.stringify({ symbol: 'EURUSD', digits: 5, point: 0.00001, tickSize: 0.00001, tickValue: 1, contractSize: 100000, volumeMin: 0.01, volumeMax: 100, volumeStep: 0.01, tradeMode: 'full' });
const d = await openDatabase(target); await migrate(d); const now = Date.now();
const acct = async (id) => { await insertAccount(d.db, { accountId: id, platform: 'MT5', registeredBy: 'operator' }, now); await insertKey(d.db, { accountId: id, fingerprint: keyFingerprint(id, `key-${id}-0123456789abcdef`), keyHash: keyHash(SECRET, id, `key-${id}-0123456789abcdef`), status: 'approved', origin: 'operator', expiresAt: null }, now); };
await acct('M'); const g = await insertGroup(d.db, { name: 'g', masterAccountId: 'M' }, now);
for (let i = 0; i < 100; i++) { const id = `F${i}`; await acct(id); await d.db.insertInto('account_symbols').values({ account_id: id, symbol: 'EURUSD', spec, updated_at: now }).execute(); await putSubscription(d.db, { groupId: g.group_id, followerAccountId: id, settings: { sizing: { mode: 'multiplier', multiplier: 1 }, maxSignalAgeSec: 3600 } }, now); }
await d.close();
const platform = await startPlatform(loadConfig({ PORT: '0', KOPITRA_HOST: '127.0.0.1', KOPITRA_DATA_DIR: dir, KOPITRA_LOG_LEVEL: 'silent', KOPITRA_SECRET: SECRET, KOPITRA_RECONCILE_INTERVAL_SEC: '86400' }), { databaseTarget: target, serve: { gateway: true, management: false }, consoleDir: null });
const m = new Terminal(platform.url, 'M', { role: 'master', authKey: 'key-M-0123456789abcdef' }); await m.createSession();
const PAIRS = Number(process.argv[2] ?? 300); const perPair = [];
for (let k = 0; k < PAIRS; k++) {
  window = k < 25 ? 'early' : k >= PAIRS - 25 ? 'late' : 'mid';
  const t = performance.now();
  for (const open of [true, false]) { const r = await m.signal({ type: open ? 'position.opened' : 'position.closed', masterPositionId: String(5000 + k), symbol: 'EURUSD', side: 'buy', volume: 0.1, price: 1.1, occurredAt: new Date().toISOString() }); if (r.status !== 202 || r.json().copies.length !== 100) throw new Error(r.text.slice(0, 300)); }
  perPair.push(performance.now() - t);
}
console.log(`pair ms: first 25 avg ${(perPair.slice(0, 25).reduce((a, b) => a + b) / 25).toFixed(1)}, last 25 avg ${(perPair.slice(-25).reduce((a, b) => a + b) / 25).toFixed(1)}`);
for (const w of ['early', 'late']) {
  console.log(`== ${w} (25 pairs = 50 signals): statement ms total, calls`);
  [...stats].filter(([k]) => k.startsWith(w)).sort((a, b) => b[1].ms - a[1].ms).slice(0, 12).forEach(([k, v]) => console.log(`${v.ms.toFixed(1).padStart(8)} ${String(v.n).padStart(6)}  ${k.split('\t')[1]}`));
}
await m.close(); await platform.stop(); fs.rmSync(dir, { recursive: true, force: true });
