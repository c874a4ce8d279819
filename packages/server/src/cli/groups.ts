/**
 * `kopitra groups …`: decide who copies whom from the command line, through the same group
 * service as the API (same validation, audit row and bus message). Gateways read
 * subscriptions at every signal, so a change applies to the next signal without a restart.
 */
import { GroupRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { openServices } from '../runtime.js';
import { createGroup, listGroups, subscribe, unsubscribe } from '../services/groups.js';
import { cliActor } from './actor.js';
import { parseInput, usage, UsageError, type CliValues } from './commands.js';

export async function groupsCommand(
  config: Config,
  sub: string,
  args: string[],
  values: CliValues,
): Promise<number> {
  const [groupId, accountId] = args;
  let settings: unknown = {};
  if (sub === 'follow' && typeof values['settings'] === 'string') {
    try {
      settings = JSON.parse(values['settings']);
    } catch {
      throw new UsageError('--settings must be JSON', usage('groups'));
    }
  }
  const request =
    sub === 'create'
      ? parseInput(
          GroupRequest,
          { name: values['name'], masterAccountId: values['master'] },
          { name: '--name', masterAccountId: '--master' },
          'groups',
        )
      : undefined;
  const services = await openServices(config);
  const deps = services.management;
  const actor = cliActor(typeof values['by'] === 'string' ? values['by'] : undefined);
  try {
    switch (sub) {
      case 'list': {
        const groups = await listGroups(deps);
        if (values['json']) {
          console.log(JSON.stringify(groups, null, 2));
          return 0;
        }
        for (const g of groups) {
          console.log(
            `${g.groupId}\t${g.name}\tmaster ${g.masterAccountId}\t${g.status}\tcreated ${g.createdAt}`,
          );
          for (const f of g.followers ?? [])
            console.log(`  follower ${f.accountId}\t${JSON.stringify(f.settings)}`);
        }
        return 0;
      }
      case 'create':
        console.log((await createGroup(deps, actor, request!)).groupId);
        return 0;
      case 'follow':
        await subscribe(deps, actor, groupId!, accountId!, settings);
        console.log(`${accountId} follows ${groupId}`);
        return 0;
      default:
        await unsubscribe(deps, actor, groupId!, accountId!);
        console.log(`${accountId} no longer follows ${groupId}`);
        return 0;
    }
  } finally {
    await services.close();
  }
}
