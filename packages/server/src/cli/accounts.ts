/**
 * `kopitra accounts …`: trading accounts and their keys from the command line, through the
 * same account service as the API (same validation, audit row and bus message).
 */
import { AccountRequest, KeyCreateRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { openServices } from '../runtime.js';
import { accountKeys, createAccount, issueKey, listAccounts, revokeKey } from '../services/accounts.js';
import { cliActor } from './actor.js';
import { parseInput, type CliValues } from './commands.js';

const str = (v: CliValues, k: string) => (typeof v[k] === 'string' ? v[k] : undefined);

export async function accountsCommand(
  config: Config,
  sub: string,
  args: string[],
  values: CliValues,
): Promise<number> {
  // Parse before opening anything: a bad command line changes nothing.
  const request =
    sub === 'create'
      ? parseInput(
          AccountRequest,
          {
            accountId: args[0],
            platform: str(values, 'platform')?.toUpperCase(),
            displayName: str(values, 'name'),
            broker: str(values, 'broker'),
            server: str(values, 'server'),
            currency: str(values, 'currency'),
            sessionPolicy: str(values, 'session-policy'),
          },
          {
            accountId: 'ACCOUNT_ID',
            platform: '--platform',
            displayName: '--name',
            broker: '--broker',
            server: '--server',
            currency: '--currency',
            sessionPolicy: '--session-policy',
          },
          'accounts',
        )
      : undefined;
  const keyRequest =
    sub === 'keys issue'
      ? parseInput(
          KeyCreateRequest,
          { expiresAt: str(values, 'expires-at') },
          { expiresAt: '--expires-at' },
          'accounts',
        )
      : undefined;
  const services = await openServices(config);
  const deps = services.management;
  const actor = cliActor(str(values, 'by'));
  try {
    switch (sub) {
      case 'list': {
        const items = [];
        let cursor: string | undefined;
        do {
          const page = await listAccounts(deps, { limit: 200, cursor });
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (values['json']) console.log(JSON.stringify(items, null, 2));
        else {
          console.log(['ACCOUNT', 'PLATFORM', 'STATUS', 'NAME', 'BROKER', 'CREATED'].join('\t'));
          for (const a of items)
            console.log(
              [a.accountId, a.platform, a.status, a.displayName ?? '', a.broker ?? '', a.createdAt].join(
                '\t',
              ),
            );
        }
        return 0;
      }
      case 'create': {
        const account = await createAccount(deps, actor, request!);
        console.log(`created ${account.platform} account ${account.accountId}`);
        return 0;
      }
      case 'keys list': {
        const keys = await accountKeys(deps, args[0]!);
        if (values['json']) console.log(JSON.stringify(keys, null, 2));
        else {
          console.log(['FINGERPRINT', 'STATUS', 'ORIGIN', 'EXPIRES', 'CREATED'].join('\t'));
          for (const k of keys)
            console.log([k.fingerprint, k.status, k.origin, k.expiresAt ?? 'never', k.createdAt].join('\t'));
        }
        return 0;
      }
      case 'keys issue': {
        const issued = await issueKey(deps, actor, args[0]!, keyRequest!);
        console.log(
          `key for account ${args[0]} (fingerprint ${issued.fingerprint}, expires ${issued.expiresAt ?? 'never'}); shown this once:\n${issued.key}`,
        );
        return 0;
      }
      default: {
        const key = await revokeKey(deps, actor, args[0]!, args[1]!);
        console.log(`key ${key.fingerprint} of account ${args[0]} revoked; sessions using it end`);
        return 0;
      }
    }
  } finally {
    await services.close();
  }
}
