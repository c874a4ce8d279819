import { describe, expect, it } from 'vitest';
import { MT_COMMENT_MAX, parsePositionTag, positionTag, tagMatches } from './position-tag.js';

describe('position tag', () => {
  it('round-trips a usual master position id', () => {
    expect(positionTag('123456789')).toBe('kopitra:123456789');
    expect(parsePositionTag(positionTag('123456789'))).toEqual({
      masterPositionId: '123456789',
      maybeTruncated: false,
    });
  });

  it("fits MetaTrader's 31 characters and still matches a cut id by prefix", () => {
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const tag = positionTag(long);
    expect(tag).toHaveLength(MT_COMMENT_MAX);
    const parsed = parsePositionTag(tag)!;
    expect(parsed.maybeTruncated).toBe(true);
    expect(tagMatches(parsed, long)).toBe(true);
    expect(tagMatches(parsed, 'abc')).toBe(false);
  });

  it('ignores comments that are not ours', () => {
    expect(parsePositionTag('from #12345')).toBeNull();
    expect(parsePositionTag('kopitra:')).toBeNull();
    expect(parsePositionTag(undefined)).toBeNull();
    expect(tagMatches(parsePositionTag('kopitra:12')!, '123')).toBe(false);
  });
});
