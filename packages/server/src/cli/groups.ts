/**
 * `kopitra groups …`: decide who copies whom from the command line. Gateways read
 * subscriptions at every signal, so a change applies to the next signal without a restart.
 */
import { AppError, GroupRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { iso } from '../clock.js';
import { createGroup, subscribe } from '../services/groups.js';
import { migrate, openDatabase } from '../store/database.js';
import { databaseTargetFor } from '../runtime.js';
import { parse } from '../http/parse.js';

const USAGE = `usage:
  kopitra groups list
  kopitra groups create --name NAME --master ACCOUNT_ID
  kopitra groups follow <groupId> <followerAccountId> [--settings '{"sizing":{"mode":"multiplier","multiplier":2}}']
  kopitra groups unfollow <groupId> <followerAccountId>`;

export async function groupsCommand(
  config: Config,
  args: string[],
  flags: { name?: string; master?: string; settings?: string },
): Promise<number> {
  const [action, groupId, accountId] = args;
  const database = await openDatabase(databaseTargetFor(config));
  try {
    await migrate(database);
    const db = database.db;
    const now = Date.now();
    switch (action) {
      case 'list': {
        const groups = await db.selectFrom('copy_groups').selectAll().orderBy('created_at').execute();
        const subs = await db.selectFrom('subscriptions').selectAll().execute();
        for (const g of groups) {
          console.log(
            `${g.group_id}\t${g.name}\tmaster ${g.master_account_id}\t${g.status}\tcreated ${iso(g.created_at)}`,
          );
          for (const s of subs.filter((x) => x.group_id === g.group_id))
            console.log(`  follower ${s.follower_account_id}\t${s.settings}`);
        }
        return 0;
      }
      case 'create': {
        const group = await createGroup(
          db,
          parse(GroupRequest, { name: flags.name, masterAccountId: flags.master }, 'body'),
          now,
        );
        console.log(group.group_id);
        return 0;
      }
      case 'follow': {
        if (!groupId || !accountId) break;
        let settings: unknown = {};
        try {
          settings = flags.settings ? JSON.parse(flags.settings) : {};
        } catch {
          console.error('kopitra: --settings must be JSON');
          return 2;
        }
        await subscribe(db, groupId, accountId, settings, now);
        console.log(`${accountId} follows ${groupId}`);
        return 0;
      }
      case 'unfollow': {
        if (!groupId || !accountId) break;
        const res = await db
          .deleteFrom('subscriptions')
          .where('group_id', '=', groupId)
          .where('follower_account_id', '=', accountId)
          .executeTakeFirst();
        console.log(
          Number(res.numDeletedRows) ? `${accountId} no longer follows ${groupId}` : 'no such subscription',
        );
        return 0;
      }
      default:
        break;
    }
    console.error(USAGE);
    return 2;
  } catch (err) {
    if (err instanceof AppError) {
      console.error(`kopitra: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}
