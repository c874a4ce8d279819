import { ACCOUNT_HEADER, AccountId, AppError, IDEMPOTENCY_HEADER } from '@kopitra/contracts';
import type { FastifyRequest } from 'fastify';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function accountOf(request: FastifyRequest): string {
  const raw = header(request, ACCOUNT_HEADER)?.trim();
  if (!raw) throw new AppError('missing_account_header');
  const parsed = AccountId.safeParse(raw);
  if (!parsed.success)
    throw new AppError(
      'missing_account_header',
      'X-TradeAgent-Account must be 1-64 letters, digits, dots, underscores, colons or dashes.',
    );
  return parsed.data;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

export function idempotencyKeyOf(request: FastifyRequest): string {
  const raw = header(request, IDEMPOTENCY_HEADER)?.trim();
  if (!raw || !IDEMPOTENCY_KEY.test(raw)) throw new AppError('missing_idempotency_key');
  return raw;
}
