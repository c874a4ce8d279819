/**
 * `kopitra admin create-user …` and `kopitra admin reset-password EMAIL`: operators from the
 * command line of the machine that holds the database (the way back in when every admin
 * password is lost), through the same operator services as the API.
 */
import { AppError, UserCreateRequest } from '@kopitra/contracts';
import type { Config } from '../config.js';
import { openServices } from '../runtime.js';
import { createOperator, oneTimePassword } from '../services/operators.js';
import { assertStrongPassword } from '../services/password-strength.js';
import { resetPassword } from '../services/passwords.js';
import { cliActor } from './actor.js';
import { parseInput, usage, UsageError, type CliValues } from './commands.js';

export async function adminCommand(
  config: Config,
  sub: string,
  args: string[],
  values: CliValues,
): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const generated = str('password') === undefined;
  const password = str('password') ?? oneTimePassword();
  const actor = cliActor(str('by'));
  if (sub === 'create-user') {
    // Without --password the service makes a one-time password and answers it this once.
    const request = parseInput(
      UserCreateRequest,
      { email: str('email'), role: str('role'), password: str('password'), displayName: str('name') },
      { email: '--email', role: '--role', password: '--password', displayName: '--name' },
      'admin',
    );
    const weak = request.password && weakness(request.password, [request.email, request.displayName ?? '']);
    if (weak) throw new UsageError(`--password: ${weak}`, usage('admin'));
    const services = await openServices(config);
    try {
      const user = await createOperator(services.management, actor, request);
      console.log(
        `created ${user.role} ${user.email} (${user.userId})${user.oneTimePassword ? `\npassword: ${user.oneTimePassword}` : ''}`,
      );
      return 0;
    } finally {
      await services.close();
    }
  }
  const weak = generated ? undefined : weakness(password, [args[0]!]);
  if (weak) throw new UsageError(`--password: ${weak}`, usage('admin'));
  const services = await openServices(config);
  try {
    const user = await resetPassword(services.management, actor, args[0]!, password);
    console.log(
      `new password set for ${user.email}; their sessions are signed out${generated ? `\npassword: ${password}` : ''}`,
    );
    return 0;
  } finally {
    await services.close();
  }
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
