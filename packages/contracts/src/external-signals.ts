/**
 * External signals: `POST /api/signals/{accountId}` for an account whose trades come from
 * outside MetaTrader (a "virtual master": TradingView alerts, a script). Two body shapes: the
 * EA's own signal (`type`) and a TradingView-style alert (`action`), both mapped to the same
 * signal types and copied like any master's.
 */
import { z } from 'zod';
import { Magic, SignalType, Side, Timestamp } from './ea-http.js';

const Ticket = z.union([z.string().min(1).max(64), z.number().int().nonnegative()]).transform(String);
const Volume = z.number().positive().max(1_000_000);
const SymbolName = z.string().min(1).max(64);
const Level = z.number().nonnegative().nullable().optional();

/** Every external signal names itself: a replay with the same `signalId` copies nothing twice. */
const common = {
  /** The account's signal secret, for senders that cannot set headers (TradingView). */
  secret: z.string().min(1).max(256).optional(),
  signalId: z.string().min(1).max(64),
  price: z.number().nonnegative(),
  sl: Level,
  tp: Level,
  magic: Magic.optional(),
  comment: z.string().max(64).optional(),
};

/** The EA's signal shape; `occurredAt` defaults to the time of receipt. */
export const ExternalNativeSignal = z.object({
  ...common,
  type: SignalType,
  symbol: SymbolName,
  masterPositionId: Ticket,
  side: Side,
  volume: Volume,
  remainingVolume: z.number().nonnegative().optional(),
  occurredAt: Timestamp.optional(),
});
export type ExternalNativeSignal = z.infer<typeof ExternalNativeSignal>;

/**
 * A TradingView-style alert: `buy` / `sell` open `positionId` (default: the `signalId`);
 * `close`, `partial_close` (of `volume` lots) and `modify` (to `sl` / `tp`) act on a position
 * this account opened, whose symbol and side the server already knows.
 */
export const ExternalAlertSignal = z
  .object({
    ...common,
    action: z.enum(['buy', 'sell', 'close', 'partial_close', 'modify']),
    /** Required to open; a close or modification takes the position's own. */
    symbol: SymbolName.optional(),
    positionId: Ticket.optional(),
    volume: Volume.optional(),
    time: Timestamp.optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.action === 'buy' || s.action === 'sell') && s.symbol === undefined)
      ctx.addIssue({ code: 'custom', path: ['symbol'], message: `symbol is required for ${s.action}` });
    if ((s.action === 'buy' || s.action === 'sell' || s.action === 'partial_close') && s.volume === undefined)
      ctx.addIssue({ code: 'custom', path: ['volume'], message: `volume is required for ${s.action}` });
    if ((s.action === 'close' || s.action === 'partial_close' || s.action === 'modify') && !s.positionId)
      ctx.addIssue({
        code: 'custom',
        path: ['positionId'],
        message: `positionId is required for ${s.action}`,
      });
  });
export type ExternalAlertSignal = z.infer<typeof ExternalAlertSignal>;
