/**
 * The deployment's symbol synonym groups, one JSON document in `kv`. Absent means the engine's
 * built-in groups; an operator's list replaces them whole, and resetting deletes it again.
 */
import type { Db } from './schema.js';

const KEY = 'symbol_synonyms';

/** The stored groups, or null when the built-in ones apply. */
export async function storedSymbolSynonyms(db: Db): Promise<string[][] | null> {
  const row = await db.selectFrom('kv').select('value').where('key', '=', KEY).executeTakeFirst();
  return row ? (JSON.parse(row.value) as string[][]) : null;
}

/** Stores the groups; null deletes them (back to the built-in ones). */
export async function putSymbolSynonyms(db: Db, groups: string[][] | null): Promise<void> {
  if (groups === null) {
    await db.deleteFrom('kv').where('key', '=', KEY).execute();
    return;
  }
  const value = JSON.stringify(groups);
  await db
    .insertInto('kv')
    .values({ key: KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
