/** Copy groups and subscriptions with the validation operators expect. */
import { AppError, SubscriptionSettings as SettingsSchema, type GroupRequest } from '@kopitra/contracts';
import { settingsProblems, withDefaults, type SubscriptionInput } from '@kopitra/engine';
import { getAccount } from '../store/accounts.js';
import { getGroup, insertGroup, putSubscription, type GroupRow } from '../store/copy.js';
import type { Db } from '../store/schema.js';
import { parse } from '../http/parse.js';

export async function createGroup(db: Db, req: GroupRequest, now: number): Promise<GroupRow> {
  if (!(await getAccount(db, req.masterAccountId)))
    throw new AppError('account_not_found', undefined, { accountId: req.masterAccountId });
  return insertGroup(db, { name: req.name, masterAccountId: req.masterAccountId }, now);
}

/** Creates or replaces a follower's subscription; `settings` is validated in full before anything changes. */
export async function subscribe(
  db: Db,
  groupId: string,
  followerAccountId: string,
  settings: unknown,
  now: number,
): Promise<SubscriptionInput> {
  const input = parse(SettingsSchema, settings ?? {}, 'body') as SubscriptionInput;
  const problems = settingsProblems(withDefaults(input));
  if (problems.length) {
    throw new AppError('invalid_request', `Invalid subscription settings: ${problems.join('; ')}`, {
      issues: problems.map((message) => ({
        path: `body.${message.split(/[ [.]/)[0]}`,
        message,
        code: 'custom',
      })),
    });
  }
  const group = await getGroup(db, groupId);
  if (!group) throw new AppError('group_not_found', undefined, { groupId });
  if (group.master_account_id === followerAccountId) throw new AppError('follower_is_master');
  if (!(await getAccount(db, followerAccountId)))
    throw new AppError('account_not_found', undefined, { accountId: followerAccountId });
  await putSubscription(db, { groupId, followerAccountId, settings: input }, now);
  return input;
}
