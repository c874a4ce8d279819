import { AppError } from '@kopitra/contracts';
import type { z } from 'zod';

/** Parses with a contract schema; a mismatch becomes one coded `invalid_request` listing every issue. */
export function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params',
): z.infer<S> {
  if (where === 'body' && value === undefined)
    throw new AppError('invalid_request', 'The request body is empty; a JSON document is required.');
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 20)
    .map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message, code: i.code }));
  throw new AppError(
    'invalid_request',
    `Invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    { issues },
  );
}

/**
 * A route that takes no body refuses one (anything but nothing or `{}`): fields sent to it
 * would be silently ignored, and the action done anyway.
 */
export function noBody(value: unknown): void {
  if (value === undefined) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    return;
  throw new AppError('invalid_request', 'This route takes no request body; send none (or {}).', {
    issues: [{ path: 'body', message: 'expected no body', code: 'unrecognized_keys' }],
  });
}
