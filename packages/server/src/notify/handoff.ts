/**
 * In-process hand-off of committed outbox events to the long polls and streams of this
 * process that are parked waiting for them. A fan-out already holds the rows it wrote, so a
 * follower waiting here is answered from memory instead of reading its outbox again; only
 * followers that are not waiting here are woken through the notifier (and read the database).
 *
 * A reader takes events only when they continue exactly from the last sequence it has seen,
 * so what it answers is what a database read would have returned. Anything else — a gap, a
 * reader busy reading, a session that is no longer live — falls back to the notifier.
 *
 * The rows come from a fan-out committed in this process, or carried from another replica in
 * its wake-up (nats-notifier.ts): both go through the same claim, delivery mark and take.
 */
import type { OutboxRow } from '../store/outbox.js';

export interface ParkedReader {
  /** The session the reader answers for; events go only to the account's live session. */
  readonly sessionId: string;
  /** The last sequence the reader has seen: it waits for what comes after. */
  readonly cursor: number;
  /**
   * Reserves the reader for `rows` (ascending, contiguous sequences of one account). Returns
   * false when it cannot take them as they are; once it returns true, exactly one of `take`
   * or `release` follows.
   */
  claim(rows: readonly OutboxRow[]): boolean;
  /** The events, already marked delivered. */
  take(rows: readonly OutboxRow[]): void;
  /** The hand-off failed after the claim: read the database instead. */
  release(): void;
}

export interface Claim {
  readonly readers: ParkedReader[];
  /** Readers of the account that did not take the rows and must be woken the ordinary way. */
  readonly others: number;
}

export class OutboxHandoff {
  private readonly readers = new Map<string, Set<ParkedReader>>();

  /** Registers a parked reader for an account; returns the function that removes it. */
  park(accountId: string, reader: ParkedReader): () => void {
    let set = this.readers.get(accountId);
    if (!set) this.readers.set(accountId, (set = new Set()));
    set.add(reader);
    return () => {
      const current = this.readers.get(accountId);
      if (!current?.delete(reader)) return;
      if (current.size === 0) this.readers.delete(accountId);
    };
  }

  /** The accounts among `accountIds` with at least one reader parked in this process. */
  parkedAmong(accountIds: Iterable<string>): string[] {
    const out: string[] = [];
    for (const id of accountIds) if (this.readers.has(id)) out.push(id);
    return out;
  }

  /**
   * Every account with readers parked here: the lowest cursor among them and their sessions
   * (what the periodic re-check compares with the outbox).
   */
  waiting(): Map<string, { cursor: number; sessionIds: Set<string> }> {
    const out = new Map<string, { cursor: number; sessionIds: Set<string> }>();
    for (const [accountId, set] of this.readers) {
      let cursor = Infinity;
      const sessionIds = new Set<string>();
      for (const reader of set) {
        cursor = Math.min(cursor, reader.cursor);
        sessionIds.add(reader.sessionId);
      }
      out.set(accountId, { cursor, sessionIds });
    }
    return out;
  }

  /** Claims every reader of the account's live session that can take `rows` now. */
  claim(accountId: string, liveSessionId: string, rows: readonly OutboxRow[]): Claim {
    const set = this.readers.get(accountId);
    if (!set) return { readers: [], others: 0 };
    const readers: ParkedReader[] = [];
    let others = 0;
    for (const reader of set) {
      if (reader.sessionId === liveSessionId && reader.claim(rows)) readers.push(reader);
      else others++;
    }
    return { readers, others };
  }

  /** Parked readers in this process (for health and benches). */
  get size(): number {
    let n = 0;
    for (const set of this.readers.values()) n += set.size;
    return n;
  }
}

/** True when `rows` continue exactly after `cursor`: ascending, no gap, untargeted or for `sessionId`. */
export function continuesFrom(rows: readonly OutboxRow[], cursor: number, sessionId: string): boolean {
  let expected = cursor + 1;
  for (const r of rows) {
    if (Number(r.sequence) !== expected++) return false;
    if (r.target_session_id !== null && r.target_session_id !== sessionId) return false;
  }
  return rows.length > 0;
}
