/**
 * `POST /api/signals/{accountId}`: signals from outside MetaTrader (TradingView alerts, a
 * script) for a "virtual master" account. The sender proves the account's signal secret —
 * as a bearer token, in the body (TradingView cannot set headers) or as an HMAC signature
 * of the raw body with a timestamp — and the signal then takes the same path into the copy
 * engine as a master terminal's. Its `signalId` makes a replay copy nothing twice.
 */
import { createHmac } from 'node:crypto';
import {
  AppError,
  ExternalAlertSignal,
  ExternalNativeSignal,
  isoTime,
  type SignalRequest,
  type SignalResponse,
} from '@kopitra/contracts';
import { parse } from '../../http/parse.js';
import { getAccount } from '../../store/accounts.js';
import { masterPositionsOf } from '../../store/master-positions.js';
import { getSignalSource } from '../../store/signal-sources.js';
import type { GatewayDeps } from '../deps.js';
import { requestHash, type Reply } from '../idempotent.js';
import { safeEqual, signalSecretKey, unseal } from '../secrets.js';
import { checkOccurredAt, fanOutSignal } from './fanout.js';

export const EXTERNAL_SIGNALS_ROUTE = 'POST /api/signals';
/** The session id stored with external signals (they come through no session). */
export const EXTERNAL_SESSION = 'external';
/** How far a signature's timestamp may lie from server time. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;

export interface ExternalSignalInput {
  accountId: string;
  authorization: string | undefined;
  /** `X-Kopitra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
  signature: string | undefined;
  rawBody: string;
  body: unknown;
  clientIp: string;
}

export const signalSignature = (secret: string, timestampSec: number, rawBody: string): string =>
  `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${rawBody}`).digest('hex')}`;

export async function acceptExternalSignal(
  deps: GatewayDeps,
  input: ExternalSignalInput,
): Promise<Reply<SignalResponse>> {
  const subject = `signals\n${input.accountId}`;
  deps.failures.check(subject, input.clientIp);
  const fail = (code: 'signal_auth_failed' | 'signature_expired'): never => {
    deps.failures.record(subject, input.clientIp);
    throw new AppError(code);
  };
  const source = await getSignalSource(deps.db, input.accountId);
  if (!source) return fail('signal_auth_failed');
  const secret = unseal(signalSecretKey(deps.secret), source.secret_enc);
  verify(deps.clock.now(), secret, input, fail);
  const account = await getAccount(deps.db, input.accountId);
  if (account?.status !== 'active') throw new AppError('account_disabled');

  const body = input.body;
  const isAlert = typeof body === 'object' && body !== null && 'action' in body;
  const parsed = isAlert
    ? parse(ExternalAlertSignal, body, 'body')
    : parse(ExternalNativeSignal, body, 'body');
  const { secret: _secret, ...signed } = parsed;
  const now = deps.clock.now();
  const req = isAlert
    ? await fromAlert(deps, input.accountId, parsed as ExternalAlertSignal, now)
    : fromNative(parsed as ExternalNativeSignal, now);
  checkOccurredAt(req.occurredAt, now);
  return fanOutSignal(
    deps,
    { masterAccountId: input.accountId, sessionId: EXTERNAL_SESSION },
    // The signal id is the idempotency key; the hash covers the body as sent (without the
    // secret), so a replay answers as the original did even when `occurredAt` defaulted.
    {
      key: `signal:${req.signalId}`,
      route: EXTERNAL_SIGNALS_ROUTE,
      requestHash: requestHash(deps.secret, signed),
    },
    req,
  );
}

function verify(
  now: number,
  secret: string,
  input: ExternalSignalInput,
  fail: (code: 'signal_auth_failed' | 'signature_expired') => never,
): void {
  if (input.signature !== undefined) {
    const t = /^t=(\d{1,12}),v1=[0-9a-f]{64}$/.exec(input.signature)?.[1];
    if (t === undefined) fail('signal_auth_failed');
    const timestampSec = Number(t);
    if (Math.abs(now - timestampSec * 1000) > SIGNATURE_WINDOW_MS) fail('signature_expired');
    if (!safeEqual(signalSignature(secret, timestampSec, input.rawBody), input.signature))
      fail('signal_auth_failed');
    return;
  }
  const bearer = /^Bearer (.+)$/.exec(input.authorization ?? '')?.[1];
  const inBody =
    typeof input.body === 'object' && input.body !== null
      ? (input.body as { secret?: unknown }).secret
      : undefined;
  const presented = bearer ?? (typeof inBody === 'string' ? inBody : undefined);
  if (presented === undefined || !safeEqual(presented, secret)) fail('signal_auth_failed');
}

const fromNative = (s: ExternalNativeSignal, now: number): SignalRequest => {
  const { secret: _secret, occurredAt, ...rest } = s;
  return { ...rest, occurredAt: occurredAt ?? isoTime(now) };
};

/** Maps an alert to the master signal it stands for, completing it from the account's book. */
async function fromAlert(
  deps: GatewayDeps,
  accountId: string,
  a: ExternalAlertSignal,
  now: number,
): Promise<SignalRequest> {
  const base = {
    signalId: a.signalId,
    price: a.price,
    occurredAt: a.time ?? isoTime(now),
    ...(a.magic !== undefined ? { magic: a.magic } : {}),
    ...(a.comment !== undefined ? { comment: a.comment } : {}),
  };
  if (a.action === 'buy' || a.action === 'sell')
    return {
      ...base,
      type: 'position.opened',
      masterPositionId: a.positionId ?? a.signalId,
      symbol: a.symbol!,
      side: a.action,
      volume: a.volume!,
      sl: a.sl ?? null,
      tp: a.tp ?? null,
    };
  const held = (await masterPositionsOf(deps.db, accountId)).find(
    (p) => p.master_position_id === a.positionId,
  );
  if (!held)
    throw new AppError(
      'master_position_unknown',
      `Account ${accountId} holds no open position ${a.positionId}.`,
    );
  const position = { masterPositionId: held.master_position_id, symbol: held.symbol, side: held.side };
  switch (a.action) {
    case 'close':
      return { ...base, ...position, type: 'position.closed', volume: held.volume };
    case 'partial_close': {
      const volume = Math.min(a.volume!, held.volume);
      const remainingVolume = Math.max(0, Math.round((held.volume - volume) * 1e8) / 1e8);
      return { ...base, ...position, type: 'position.partially_closed', volume, remainingVolume };
    }
    case 'modify':
      return {
        ...base,
        ...position,
        type: 'position.modified',
        volume: held.volume,
        sl: a.sl !== undefined ? a.sl : held.sl,
        tp: a.tp !== undefined ? a.tp : held.tp,
      };
  }
}
