/**
 * Who may hold the console's live stream open. A browser's EventSource cannot send headers,
 * and a token in the URL ends up in logs and proxies, so the stream opens with a ticket: 256
 * random bits, valid for 30 s, taken on first use, stored only as a hash and bound to the
 * operator token it was issued under. An open stream then lives only as long as that token:
 * `StreamGuard` closes it when the token is revoked (sign-out, password change or reset) or
 * expires, or the operator is disabled or changes role — at once on the replica that made
 * the change, and on every other replica through the notifier (PostgreSQL NOTIFY) or, should
 * a notification be lost, at the next tick.
 */
import { randomBytes } from 'node:crypto';
import { AppError, isoTime, type Role } from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import { OPERATOR_ACCESS_CHANNEL, type Notifier } from '../notify/notifier.js';
import type { Db } from '../store/schema.js';
import { insertStreamTicket, takeStreamTicket } from '../store/stream-tickets.js';
import { tokensWithUsers } from '../store/users.js';
import type { Logger } from 'pino';
import type { ManagementDeps } from './management-deps.js';
import { operatorFromToken, roleAtLeast, type Operator } from './operators.js';
import { tokenHash } from './secrets.js';

export const STREAM_TICKET_TTL_MS = 30_000;
/** How often each replica re-reads the tokens of its open streams when nothing woke it. */
export const STREAM_RECHECK_MS = 500;

/** Calls `fn` every `everyMs` until the returned function is called; tests tick by hand. */
export type Ticker = (everyMs: number, fn: () => void) => () => void;

export const intervalTicker: Ticker = (everyMs, fn) => {
  const timer = setInterval(fn, everyMs);
  timer.unref();
  return () => clearInterval(timer);
};

/** Issues a ticket for the operator behind `operator`'s token. */
export async function issueStreamTicket(
  deps: Pick<ManagementDeps, 'db' | 'clock'>,
  operator: Operator,
): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  const expiresAt = now + STREAM_TICKET_TTL_MS;
  await insertStreamTicket(
    deps.db,
    { ticketHash: tokenHash(ticket), userId: operator.userId, tokenId: operator.tokenId, expiresAt },
    now,
  );
  return { ticket, expiresAt: isoTime(expiresAt) };
}

/** Takes a ticket (it cannot be used again) and answers the operator it was issued to, as they are now. */
export async function redeemStreamTicket(
  deps: Pick<ManagementDeps, 'db' | 'clock'>,
  ticket: unknown,
): Promise<Operator> {
  if (typeof ticket !== 'string' || ticket.length === 0 || ticket.length > 128)
    throw new AppError('stream_ticket_invalid');
  const row = await takeStreamTicket(deps.db, tokenHash(ticket));
  if (!row || row.expires_at <= deps.clock.now()) throw new AppError('stream_ticket_invalid');
  return operatorFromToken(deps, row.token_id, row.user_id);
}

interface Watched {
  readonly operator: Operator;
  readonly required: Role;
  readonly close: (reason: string) => void;
}

/** The open streams of this process, each closed once its token or operator no longer allows it. */
export class StreamGuard {
  private readonly watched = new Set<Watched>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopTicker: (() => void) | null = null;
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly deps: { db: Db; notifier: Notifier; clock: Clock; logger: Logger },
    private readonly ticker: Ticker = intervalTicker,
  ) {}

  /** Watches a stream until the returned function is called; `close` is called at most once. */
  watch(operator: Operator, required: Role, close: (reason: string) => void): () => void {
    let closed = false;
    const entry: Watched = {
      operator,
      required,
      close: (reason) => {
        if (closed) return;
        closed = true;
        this.watched.delete(entry);
        close(reason);
      },
    };
    this.watched.add(entry);
    if (!this.stopTicker) {
      this.stopListening = this.deps.notifier.on(OPERATOR_ACCESS_CHANNEL, () => void this.recheck());
      this.stopTicker = this.ticker(STREAM_RECHECK_MS, () => void this.recheck());
    }
    return () => {
      this.watched.delete(entry);
      if (this.watched.size === 0) this.idle();
    };
  }

  /**
   * Re-reads the tokens of every open stream in one query and closes those no longer allowed.
   * Calls made while a pass runs are folded into one more pass.
   */
  recheck(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.watched.size === 0) return;
    const entries = [...this.watched];
    let rows: Awaited<ReturnType<typeof tokensWithUsers>>;
    try {
      rows = await tokensWithUsers(this.deps.db, [...new Set(entries.map((e) => e.operator.tokenId))]);
    } catch (err) {
      // The database is away: the streams cannot be checked, and cannot read events either.
      this.deps.logger.warn({ err }, 'stream access check failed');
      return;
    }
    const byToken = new Map(rows.map((r) => [r.token_id, r]));
    const now = this.deps.clock.now();
    for (const e of entries) {
      const row = byToken.get(e.operator.tokenId);
      const reason = !row
        ? 'token unknown'
        : row.revoked_at !== null
          ? 'token revoked'
          : row.expires_at <= now
            ? 'token expired'
            : row.status !== 'active'
              ? 'operator disabled'
              : row.role !== e.operator.role || !roleAtLeast(row.role, e.required)
                ? 'role changed'
                : null;
      if (reason) e.close(reason);
    }
  }

  private idle(): void {
    this.stopTicker?.();
    this.stopListening?.();
    this.stopTicker = this.stopListening = null;
  }
}
