/**
 * Test databases: a fresh SQLite file, or a private schema in the real PostgreSQL. When
 * PostgreSQL is not reachable, its suites skip with a message — unless
 * KOPITRA_REQUIRE_SERVICES=1 (set by CI), where an absent service is a failure.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../store/database.js';

export const POSTGRES_URL =
  process.env['KOPITRA_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const servicesRequired = process.env['KOPITRA_REQUIRE_SERVICES'] === '1';

let pgAvailable: Promise<string | null> | undefined;

/** null when PostgreSQL answers, else the reason it does not. */
export function postgresProblem(): Promise<string | null> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (err) {
      return `PostgreSQL at ${POSTGRES_URL} is not reachable (${err instanceof Error ? err.message : String(err)})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

export const NATS_URL = process.env['KOPITRA_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
let natsAvailable: Promise<string | null> | undefined;

/** null when a NATS server answers at NATS_URL (its greeting is an INFO line), else why not. */
export function natsProblem(): Promise<string | null> {
  natsAvailable ??= new Promise((resolve) => {
    const [host, port] = NATS_URL.replace(/^nats:\/\//, '')
      .split(',')[0]!
      .split(':');
    const socket = net.connect({ host: host!, port: Number(port) });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(2000, () => done(`NATS at ${NATS_URL} did not answer`));
    socket.once('data', (chunk) =>
      done(chunk.toString().startsWith('INFO') ? null : `${NATS_URL} is not a NATS server`),
    );
    socket.once('error', (err) => done(`NATS at ${NATS_URL} is not reachable (${err.message})`));
  });
  return natsAvailable;
}

/** True to run a NATS suite; false (skip with a message) when absent and not required. */
export async function natsOrSkip(): Promise<boolean> {
  const problem = await natsProblem();
  if (!problem) return true;
  if (servicesRequired) throw new Error(`${problem}; KOPITRA_REQUIRE_SERVICES=1 makes this a failure`);
  console.warn(`skipping NATS suite: ${problem}`);
  return false;
}

export type DialectName = 'sqlite' | 'postgres';
export const dialects: DialectName[] = ['sqlite', 'postgres'];

export function tempDir(prefix = 'kopitra-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fresh, empty database of the dialect; null (skip) when PostgreSQL is absent and not required. */
export async function freshTarget(dialect: DialectName): Promise<DatabaseTarget | null> {
  if (dialect === 'sqlite') return { dialect: 'sqlite', file: path.join(tempDir(), 'kopitra.db') };
  const problem = await postgresProblem();
  if (problem) {
    if (servicesRequired) throw new Error(`${problem}; KOPITRA_REQUIRE_SERVICES=1 makes this a failure`);
    console.warn(`skipping PostgreSQL suite: ${problem}`);
    return null;
  }
  const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
  return { dialect: 'postgres', url: POSTGRES_URL, schema, poolSize: 5 };
}

/** Drops a test schema (PostgreSQL) or the temp file (SQLite). */
export async function dropTarget(target: DatabaseTarget | null): Promise<void> {
  if (!target) return;
  if (target.dialect === 'sqlite') {
    fs.rmSync(path.dirname(target.file), { recursive: true, force: true });
    return;
  }
  if (!target.schema) return;
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${target.schema} cascade`);
  } finally {
    await client.end();
  }
}

/** A connection URL that puts a PostgreSQL test schema first on the search path (for spawned servers). */
export function urlWithSchema(target: Extract<DatabaseTarget, { dialect: 'postgres' }>): string {
  const url = new URL(target.url);
  if (target.schema) url.searchParams.set('options', `-c search_path=${target.schema}`);
  return url.toString();
}
