/**
 * Whole-database views for tests that must see every table, including ones added later:
 * per-table checksums ("did this change anything?") and every stored value as text ("is a
 * secret stored anywhere in the clear?"). Tables are listed from the database itself.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../store/database.js';

export async function tableNames(database: Database): Promise<string[]> {
  const rows =
    database.dialect === 'sqlite'
      ? await sql<{ name: string }>`
          select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name
        `.execute(database.db)
      : await sql<{ name: string }>`
          select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name
        `.execute(database.db);
  return rows.rows.map((r) => r.name);
}

export async function tableRows(database: Database, table: string): Promise<Array<Record<string, unknown>>> {
  const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(database.db);
  return result.rows;
}

/** A cell as text: strings as they are, bytes as UTF-8 and hex, everything else as JSON. */
export function cellText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    return `${b.toString('utf8')}\n${b.toString('hex')}`;
  }
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'undefined';
}

/** Row count and a content hash (independent of row order) per table. */
export async function tableChecksums(database: Database): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of await tableNames(database)) {
    const rows = (await tableRows(database, table))
      .map((r) =>
        Object.keys(r)
          .sort()
          .map((k) => `${k}=${cellText(r[k])}`)
          .join('\u0001'),
      )
      .sort();
    const hash = createHash('sha256');
    for (const r of rows) hash.update(r).update('\u0002');
    out[table] = `${rows.length}:${hash.digest('hex').slice(0, 16)}`;
  }
  return out;
}

/** The tables whose checksum differs, with before → after. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((t) => before[t] !== after[t])
    .map((t) => `${t}: ${before[t] ?? '(none)'} → ${after[t] ?? '(none)'}`);
}
