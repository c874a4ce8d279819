/**
 * Multi-row inserts of the fan-out (copy orders, outbox events, links) without the query
 * builder. Kysely turns every value of a multi-row insert into nodes and compiles them anew
 * on every call — about 20 ms for 1,000 copy-order rows of 38 columns, more than SQLite takes
 * to store them (docs/performance.md). The rows of one table always have the same columns,
 * so a statement's text depends only on the table, the columns, the conflict clause and the
 * row count: it is built once per shape (and SQLite prepares it once, store/database.ts),
 * and the values go as one flat parameter list.
 */
import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { DB, Db } from './schema.js';

/** Every column of a table, each named once: a column added to the table and not here does not compile. */
export const columnsOf = <Row>(all: { readonly [K in keyof Row]-?: true }): ReadonlyArray<
  keyof Row & string
> => Object.keys(all) as Array<keyof Row & string>;

export interface BulkInsert<Row> {
  readonly table: keyof DB & string;
  readonly columns: ReadonlyArray<keyof Row & string>;
  /** Rows per statement: columns × rows stays under SQLite's 32,766 bound parameters. */
  readonly chunk: number;
  /** On a conflict on these columns, every other column takes the new row's value. */
  readonly upsertOn?: ReadonlyArray<keyof Row & string>;
}

const quote = (name: string) => `"${name}"`;

/** The statement text per shape; a handful of shapes per table, so it stays small. */
const texts = new Map<string, string>();

function statementText<Row>(spec: BulkInsert<Row>, rows: number, postgres: boolean): string {
  const key = `${spec.table}:${rows}:${postgres ? 'pg' : 'sqlite'}`;
  let text = texts.get(key);
  if (text) return text;
  const width = spec.columns.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const marks: string[] = [];
    for (let c = 0; c < width; c++) marks.push(postgres ? `$${r * width + c + 1}` : '?');
    tuples.push(`(${marks.join(', ')})`);
  }
  text = `insert into ${quote(spec.table)} (${spec.columns.map(quote).join(', ')}) values ${tuples.join(', ')}`;
  if (spec.upsertOn) {
    const keys = new Set<string>(spec.upsertOn);
    const updates = spec.columns.filter((c) => !keys.has(c)).map((c) => `${quote(c)} = excluded.${quote(c)}`);
    text += ` on conflict (${spec.upsertOn.map(quote).join(', ')}) do update set ${updates.join(', ')}`;
  }
  texts.set(key, text);
  return text;
}

/** Inserts (or upserts) the rows, `spec.chunk` per statement, inside the caller's transaction. */
export async function insertMany<Row>(db: Db, spec: BulkInsert<Row>, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (let from = 0; from < rows.length; from += spec.chunk) {
    const to = Math.min(rows.length, from + spec.chunk);
    const parameters: unknown[] = [];
    for (let r = from; r < to; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (const c of spec.columns) parameters.push(row[c] ?? null);
    }
    await db.executeQuery(CompiledQuery.raw(statementText(spec, to - from, postgres), parameters));
  }
}
