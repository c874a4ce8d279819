/** `kopitra admin create-user --email E --role R [--password P]`: operators from the command line. */
import { randomBytes } from 'node:crypto';
import { UserCreateRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { parse } from '../http/parse.js';
import { appendAudit } from '../services/audit.js';
import { insertUser } from '../services/operators.js';
import { isUniqueViolation, migrate, openDatabase } from '../store/database.js';
import { databaseTargetFor } from '../runtime.js';

export async function adminCommand(
  config: Config,
  args: string[],
  flags: { email?: string; role?: string; password?: string; name?: string },
): Promise<number> {
  if (args[0] !== 'create-user') {
    console.error(
      'usage: kopitra admin create-user --email E --role viewer|operator|admin [--password P] [--name N]',
    );
    return 2;
  }
  const generated = flags.password === undefined;
  const password = flags.password ?? randomBytes(12).toString('base64url');
  let request;
  try {
    request = parse(
      UserCreateRequest,
      { email: flags.email, role: flags.role, password, displayName: flags.name },
      'body',
    );
  } catch (err) {
    console.error(`kopitra: ${(err as Error).message}`);
    return 2;
  }
  const database = await openDatabase(databaseTargetFor(config));
  try {
    await migrate(database);
    const user = await insertUser(database.db, request, Date.now());
    await appendAudit(
      database.db,
      {
        actor: `cli:${process.env['USER'] ?? 'operator'}`,
        action: 'user.create',
        targetType: 'user',
        targetId: user.user_id,
        after: { email: user.email, role: user.role },
      },
      Date.now(),
    );
    console.log(
      `created ${user.role} ${user.email} (${user.user_id})${generated ? `\npassword: ${password}` : ''}`,
    );
    return 0;
  } catch (err) {
    if (isUniqueViolation(err)) {
      console.error(`kopitra: an operator with email ${request.email} already exists`);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}
