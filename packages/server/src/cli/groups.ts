/**
 * `kopitra groups …`: decide who copies whom from the command line, through the same group
 * service as the API (same validation, audit row and bus message). Gateways read
 * subscriptions at every signal, so a change applies to the next signal without a restart.
 */
import { AppError, GroupRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { parse } from '../http/parse.js';
import { openServices } from '../runtime.js';
import { createGroup, listGroups, subscribe, unsubscribe } from '../services/groups.js';
import { cliActor } from './actor.js';

const USAGE = `usage:
  kopitra groups list
  kopitra groups create --name NAME --master ACCOUNT_ID
  kopitra groups follow <groupId> <followerAccountId> [--settings '{"sizing":{"mode":"multiplier","multiplier":2}}']
  kopitra groups unfollow <groupId> <followerAccountId>`;

export async function groupsCommand(
  config: Config,
  args: string[],
  flags: { name?: string; master?: string; settings?: string; by?: string },
): Promise<number> {
  const [action, groupId, accountId] = args;
  const known =
    action === 'list' ||
    action === 'create' ||
    ((action === 'follow' || action === 'unfollow') && groupId && accountId);
  if (!known) {
    console.error(USAGE);
    return 2;
  }
  let settings: unknown = {};
  if (action === 'follow') {
    try {
      settings = flags.settings ? JSON.parse(flags.settings) : {};
    } catch {
      console.error('kopitra: --settings must be JSON');
      return 2;
    }
  }
  const services = await openServices(config);
  const deps = services.management;
  const actor = cliActor(flags.by);
  try {
    switch (action) {
      case 'list':
        for (const g of await listGroups(deps)) {
          console.log(
            `${g.groupId}\t${g.name}\tmaster ${g.masterAccountId}\t${g.status}\tcreated ${g.createdAt}`,
          );
          for (const f of g.followers ?? [])
            console.log(`  follower ${f.accountId}\t${JSON.stringify(f.settings)}`);
        }
        return 0;
      case 'create': {
        const request = parse(GroupRequest, { name: flags.name, masterAccountId: flags.master }, 'body');
        console.log((await createGroup(deps, actor, request)).groupId);
        return 0;
      }
      case 'follow':
        await subscribe(deps, actor, groupId!, accountId!, settings);
        console.log(`${accountId} follows ${groupId}`);
        return 0;
      default:
        await unsubscribe(deps, actor, groupId!, accountId!);
        console.log(`${accountId} no longer follows ${groupId}`);
        return 0;
    }
  } catch (err) {
    if (err instanceof AppError) {
      console.error(`kopitra: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await services.close();
  }
}
