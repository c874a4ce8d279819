/**
 * The comment a copied position carries so a restarted EA, and reconciliation, can tell
 * which master position it copies. MetaTrader keeps at most 31 characters of a comment, so
 * long master position ids are cut; a cut tag still matches by prefix when unambiguous.
 * Brokers may rewrite comments (MT4 gives the rest of a partial close "from #ticket"), so
 * tickets are matched first and the tag is the fallback.
 */

export const TAG_PREFIX = 'kopitra:';
export const MT_COMMENT_MAX = 31;

export const positionTag = (masterPositionId: string): string =>
  `${TAG_PREFIX}${masterPositionId}`.slice(0, MT_COMMENT_MAX);

export interface ParsedTag {
  /** The id as far as the comment holds it. */
  readonly masterPositionId: string;
  /** The comment is at the length limit, so the id may continue beyond it. */
  readonly maybeTruncated: boolean;
}

export function parsePositionTag(comment: string | null | undefined): ParsedTag | null {
  if (!comment || !comment.startsWith(TAG_PREFIX)) return null;
  const id = comment.slice(TAG_PREFIX.length);
  if (id === '') return null;
  return { masterPositionId: id, maybeTruncated: comment.length >= MT_COMMENT_MAX };
}

/** Whether a reported comment is this master position's tag. */
export function tagMatches(tag: ParsedTag, masterPositionId: string): boolean {
  return tag.maybeTruncated
    ? masterPositionId.startsWith(tag.masterPositionId)
    : tag.masterPositionId === masterPositionId;
}
