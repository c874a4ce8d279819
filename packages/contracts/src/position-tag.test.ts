import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MT_COMMENT_MAX,
  parsePositionTag,
  positionTag,
  shortHash,
  tagIdMatches,
  tagMatches,
} from './position-tag.js';

describe('position tag', () => {
  it('names the copy group and the master position', () => {
    expect(shortHash('grp_1')).toMatch(/^[0-9a-f]{8}$/);
    expect(positionTag('grp_1', '123456789')).toBe(`kp:${shortHash('grp_1')}:123456789`);
    expect(parsePositionTag(positionTag('grp_1', '123456789'))).toEqual({
      group: shortHash('grp_1'),
      masterPositionId: '123456789',
      maybeTruncated: false,
    });
  });

  it('hashes as the EA does: FNV-1a over UTF-16 code units (vectors shared with ea/test)', () => {
    expect(shortHash('')).toBe('811c9dc5');
    expect(shortHash('a')).toBe('e40c292c');
    expect(shortHash('foobar')).toBe('bf9cf968');
  });

  it('keeps two groups with the same master position id apart', () => {
    const a = parsePositionTag(positionTag('group-a', '1001'))!;
    expect(tagMatches(a, 'group-a', '1001')).toBe(true);
    expect(tagMatches(a, 'group-b', '1001')).toBe(false);
    expect(tagMatches(a, 'group-a', '10011')).toBe(false);
  });

  it("fits MetaTrader's 31 characters and still matches a cut id by prefix", () => {
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const tag = positionTag('g', long);
    expect(tag).toHaveLength(MT_COMMENT_MAX);
    const parsed = parsePositionTag(tag)!;
    expect(parsed.maybeTruncated).toBe(true);
    expect(parsed.masterPositionId).toBe(long.slice(0, 19));
    expect(tagMatches(parsed, 'g', long)).toBe(true);
    expect(tagMatches(parsed, 'g', 'abc')).toBe(false);
    expect(tagMatches(parsed, 'h', long)).toBe(false);
  });

  it('still reads the legacy kopitra: tag, which names no group', () => {
    const legacy = parsePositionTag('kopitra:1001')!;
    expect(legacy).toEqual({ group: null, masterPositionId: '1001', maybeTruncated: false });
    expect(tagMatches(legacy, 'any-group', '1001')).toBe(true);
    expect(tagMatches(legacy, 'any-group', '1002')).toBe(false);
    const cut = parsePositionTag(`kopitra:${'7'.repeat(30)}`)!;
    expect(cut.maybeTruncated).toBe(true);
    expect(tagIdMatches(cut, '7'.repeat(40))).toBe(true);
  });

  it('ignores comments that are not ours', () => {
    expect(parsePositionTag('from #12345')).toBeNull();
    expect(parsePositionTag('kopitra:')).toBeNull();
    expect(parsePositionTag('kp:')).toBeNull();
    expect(parsePositionTag('kp:xyz:1')).toBeNull();
    expect(parsePositionTag('kp:0123abcd:')).toBeNull();
    expect(parsePositionTag(undefined)).toBeNull();
    expect(tagMatches(parsePositionTag('kopitra:12')!, 'g', '123')).toBe(false);
  });

  it('round-trips any group and id: the tag fits, parses, and matches its own group and id only', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (group, other, id) => {
          const tag = positionTag(group, id);
          expect(tag.length).toBeLessThanOrEqual(MT_COMMENT_MAX);
          const parsed = parsePositionTag(tag)!;
          expect(parsed).not.toBeNull();
          expect(tagMatches(parsed, group, id)).toBe(true);
          if (shortHash(other) !== shortHash(group)) expect(tagMatches(parsed, other, id)).toBe(false);
          // A longer id fits only a tag that may have been cut.
          expect(tagMatches(parsed, group, `${id}x`)).toBe(parsed.maybeTruncated);
        },
      ),
      { numRuns: 500 },
    );
  });
});
