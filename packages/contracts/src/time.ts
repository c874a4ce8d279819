/**
 * The one date helper: every time on the wire (EA HTTP, management HTTP, bus messages) is
 * ISO-8601 UTC text with milliseconds; inside, times are epoch milliseconds.
 */

/** ISO-8601 UTC text of an epoch-ms time (PostgreSQL bigints may arrive as text). */
export const isoTime = (ms: number | string): string => new Date(Number(ms)).toISOString();

/** ISO-8601 UTC text of an epoch-ms time, or null when there is no time. */
export const isoTimeOrNull = (ms: number | string | null | undefined): string | null =>
  ms === null || ms === undefined ? null : isoTime(ms);
