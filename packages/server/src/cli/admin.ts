/**
 * `kopitra admin create-user …` and `kopitra admin reset-password EMAIL`: operators from the
 * command line of the machine that holds the database (the way back in when every admin
 * password is lost).
 */
import { AppError, UserCreateRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { appendAudit } from '../services/audit.js';
import { insertUser, oneTimePassword } from '../services/operators.js';
import { resetPassword } from '../services/passwords.js';
import { assertStrongPassword } from '../services/password-strength.js';
import { isUniqueViolation, migrate, openDatabase } from '../store/database.js';
import { databaseTargetFor } from '../runtime.js';

export const ADMIN_USAGE = `usage:
  kopitra admin create-user --email E --role viewer|operator|admin [--password P] [--name N]
      a new operator; without --password a random one is printed once
  kopitra admin reset-password EMAIL [--password P]
      a new password for an operator (signs them out everywhere); without --password a random one is printed once`;

const cliActor = () => `cli:${process.env['USER'] ?? 'operator'}`;

function usageError(problem: string): number {
  console.error(`kopitra admin: ${problem}\n\n${ADMIN_USAGE}`);
  return 2;
}

/** Names the flag a schema issue is about, in the command line's words. */
const flagOf: Record<string, string> = {
  email: '--email',
  role: '--role',
  password: '--password',
  displayName: '--name',
};

export async function adminCommand(
  config: Config,
  args: string[],
  flags: { email?: string; role?: string; password?: string; name?: string },
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create-user') {
    if (rest.length) return usageError(`unexpected argument "${rest[0]}"`);
    if (!flags.email) return usageError('create-user needs --email');
    if (!flags.role) return usageError('create-user needs --role (viewer, operator or admin)');
    const generated = flags.password === undefined;
    const password = flags.password ?? oneTimePassword();
    const parsed = UserCreateRequest.safeParse({
      email: flags.email,
      role: flags.role,
      password,
      displayName: flags.name,
    });
    if (!parsed.success)
      return usageError(
        parsed.error.issues
          .map((i) => `${flagOf[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`)
          .join('; '),
      );
    const request = parsed.data;
    const weak = weakness(password, [request.email, request.displayName ?? '']);
    if (weak) return usageError(`--password: ${weak}`);
    const database = await openDatabase(databaseTargetFor(config));
    try {
      await migrate(database);
      const user = await insertUser(database.db, { ...request, password }, Date.now());
      await appendAudit(
        database.db,
        {
          actor: cliActor(),
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
        console.error(`kopitra admin: an operator with email ${request.email} already exists`);
        return 1;
      }
      throw err;
    } finally {
      await database.close();
    }
  }
  if (sub === 'reset-password') {
    const [email, extra] = rest;
    if (!email) return usageError("reset-password needs the operator's EMAIL");
    if (extra) return usageError(`unexpected argument "${extra}"`);
    const generated = flags.password === undefined;
    const password = flags.password ?? oneTimePassword();
    const weak = weakness(password, [email]);
    if (weak) return usageError(`--password: ${weak}`);
    const database = await openDatabase(databaseTargetFor(config));
    try {
      await migrate(database);
      const user = await resetPassword(database.db, email, password, cliActor(), Date.now());
      console.log(
        `new password set for ${user.email}; their sessions are signed out${generated ? `\npassword: ${password}` : ''}`,
      );
      return 0;
    } catch (err) {
      if (err instanceof AppError && err.code === 'user_not_found') {
        console.error(`kopitra admin: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await database.close();
    }
  }
  return usageError(sub ? `unknown subcommand "${sub}"` : 'which subcommand?');
}

/** Why a chosen password is refused (the API's rule), or undefined when it is strong enough. */
function weakness(password: string, userInputs: string[]): string | undefined {
  try {
    assertStrongPassword(password, userInputs);
    return undefined;
  } catch (err) {
    if (err instanceof AppError) return err.message;
    throw err;
  }
}
