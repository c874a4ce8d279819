/** The database a bench runs against: a SQLite file in a temp dir, or a private PostgreSQL schema. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_URL =
  process.env['KOPITRA_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `{ dataDir, target, drop }`: `target` is a DatabaseTarget for startPlatform/openDatabase; `drop` removes everything. */
export async function openTarget(dialect, { poolSize = 10 } = {}) {
  const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kopitra-bench-'));
  if (dialect === 'sqlite') {
    const dataDir = tempDir();
    const target = { dialect: 'sqlite', file: path.join(dataDir, 'kopitra.db') };
    return { dataDir, target, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const schema = `bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withPg((c) => c.query(`create schema ${schema}`));
  const dataDir = tempDir();
  const target = { dialect: 'postgres', url: POSTGRES_URL, schema, poolSize };
  return {
    dataDir,
    target,
    drop: async () => {
      await withPg((c) => c.query(`drop schema if exists ${schema} cascade`));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function withPg(fn) {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function checkDialect(dialect) {
  if (dialect !== 'sqlite' && dialect !== 'postgres')
    throw new Error(`--dialect must be sqlite or postgres, not "${dialect}"`);
}

export const machine = () => ({
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model ?? 'unknown',
  platform: `${os.platform()} ${os.release()}`,
});

export function writeResult(out, result) {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}

/**
 * The end of every bench: the result written to `out` (when given), the machine-readable
 * `BENCH_RESULT` line, and exit code 1 when the run gave wrong answers.
 */
export function reportResult(result, { out, log, failed }) {
  if (out) {
    writeResult(out, result);
    log(`written to ${path.relative(process.cwd(), path.resolve(out))}`);
  }
  log(`BENCH_RESULT ${JSON.stringify(result)}`);
  if (failed) process.exitCode = 1;
  return result;
}
