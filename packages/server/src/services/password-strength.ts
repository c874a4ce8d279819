/**
 * The one password rule for every place an operator's password is chosen (API, console, CLI):
 * at least MIN_PASSWORD_LENGTH characters and a zxcvbn score of at least MIN_PASSWORD_SCORE
 * (guesses ≥ 10^8: "password1234" scores 1), judged against the common and English
 * dictionaries and the operator's own e-mail and name.
 */
import { AppError } from '@kopitra/contracts';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_PASSWORD_LENGTH = 12;
export const MIN_PASSWORD_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;

/** Throws 400 `password_too_weak` with zxcvbn's feedback when the password is too guessable. */
export function assertStrongPassword(password: string, userInputs: readonly string[] = []): void {
  const tooShort = [...password].length < MIN_PASSWORD_LENGTH;
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  // Inputs are split into words so "jane.doe@example.com" also penalises "jane" and "doe".
  const inputs = userInputs
    .flatMap((u) => [u, ...u.toLowerCase().split(/[^a-z0-9]+/)])
    .filter((u) => u.length > 2);
  const result = estimator.check(password.slice(0, 256), inputs);
  if (!tooShort && result.score >= MIN_PASSWORD_SCORE) return;
  const warning = tooShort ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : result.feedback.warning;
  throw new AppError(
    'password_too_weak',
    [warning, ...result.feedback.suggestions].filter(Boolean).join(' ') ||
      'The password is too easy to guess.',
    {
      feedback: { warning: warning ?? null, suggestions: result.feedback.suggestions },
      score: result.score,
      minScore: MIN_PASSWORD_SCORE,
      minLength: MIN_PASSWORD_LENGTH,
    },
  );
}
