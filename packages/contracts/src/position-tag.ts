/**
 * The comment a copied position (or a follower's pending order) carries so a restarted EA,
 * and reconciliation, can tell which copy group and master position it copies:
 * `kp:<group>:<masterPositionId>`, where `<group>` is `shortHash(copyGroupId)`. Two masters
 * may use the same position id; the group part keeps a follower subscribed to both from
 * taking one master's copy for the other's.
 *
 * MetaTrader keeps at most 31 characters of a comment, so master position ids longer than
 * 19 characters are cut; a cut tag still matches by prefix when unambiguous. Brokers may
 * rewrite comments (MT4 gives the rest of a partial close "from #ticket"), so tickets are
 * matched first and the tag is the fallback.
 *
 * Positions opened before group tags existed carry `kopitra:<masterPositionId>` (the legacy
 * tag, no group): they are still recognised, for any group, where only one group of the
 * follower has that master position id.
 */

export const TAG_PREFIX = 'kp:';
export const LEGACY_TAG_PREFIX = 'kopitra:';
export const MT_COMMENT_MAX = 31;

/**
 * FNV-1a (32 bits) over the UTF-16 code units of `s`, as 8 lowercase hex digits: the EA's
 * `KpShortHash` (ea/include/Kopitra/Logic.mqh) computes the same, which a shared test vector proves.
 */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The tag of a copy group's copy of one master position (or master pending order). */
export const positionTag = (groupId: string, masterPositionId: string): string =>
  `${TAG_PREFIX}${shortHash(groupId)}:${masterPositionId}`.slice(0, MT_COMMENT_MAX);

export interface ParsedTag {
  /** `shortHash` of the copy group; `null` for a legacy `kopitra:` tag, which names no group. */
  readonly group: string | null;
  /** The id as far as the comment holds it. */
  readonly masterPositionId: string;
  /** The comment is at the length limit, so the id may continue beyond it. */
  readonly maybeTruncated: boolean;
}

const NEW_TAG = /^kp:([0-9a-f]{8}):(.+)$/s;

export function parsePositionTag(comment: string | null | undefined): ParsedTag | null {
  if (!comment) return null;
  const maybeTruncated = comment.length >= MT_COMMENT_MAX;
  const m = NEW_TAG.exec(comment);
  if (m) return { group: m[1]!, masterPositionId: m[2]!, maybeTruncated };
  if (!comment.startsWith(LEGACY_TAG_PREFIX)) return null;
  const id = comment.slice(LEGACY_TAG_PREFIX.length);
  return id === '' ? null : { group: null, masterPositionId: id, maybeTruncated };
}

/** Whether the tag's id part is this master position id (by prefix when the comment may be cut). */
export const tagIdMatches = (tag: ParsedTag, masterPositionId: string): boolean =>
  tag.maybeTruncated
    ? masterPositionId.startsWith(tag.masterPositionId)
    : tag.masterPositionId === masterPositionId;

/**
 * Whether a reported comment is this copy group's tag of this master position. A legacy tag
 * names no group and matches on the id alone: where another group of the follower has a live
 * link of the same id, reconciliation (engine `reconcile`) matches it by ticket only.
 */
export const tagMatches = (tag: ParsedTag, groupId: string, masterPositionId: string): boolean =>
  (tag.group === null || tag.group === shortHash(groupId)) && tagIdMatches(tag, masterPositionId);
