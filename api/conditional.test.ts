import { describe, expect, it } from 'vitest';
import { parseEntityTags, stronglyMatches, weaklyMatches } from './conditional.js';

describe('entity-tag comparison (RFC 9110 §8.8.3.2, §13.1)', () => {
  it('reads *, single tags, weak tags and lists whose tags hold commas', () => {
    expect(parseEntityTags(' * ')).toBe('*');
    expect(parseEntityTags('"a", W/"b,c" ,"d"')).toEqual([
      { weak: false, opaque: '"a"' },
      { weak: true, opaque: '"b,c"' },
      { weak: false, opaque: '"d"' },
    ]);
    // An unquoted tag ends the list: nothing after it can match by accident.
    expect(parseEntityTags('"a", b, "c"')).toEqual([{ weak: false, opaque: '"a"' }]);
  });

  it.each([
    ['"1"', '"1"', true, true],
    ['W/"1"', 'W/"1"', true, false],
    ['W/"1"', '"1"', true, false],
    ['"1"', 'W/"1"', true, false],
    ['W/"1"', '"2"', false, false],
    ['"0", "1"', '"1"', true, true],
    ['*', '"1"', true, true],
  ])('%s against %s: weak %s, strong %s', (header, etag, weak, strong) => {
    expect(weaklyMatches(header, etag)).toBe(weak);
    expect(stronglyMatches(header, etag)).toBe(strong);
  });

  it('never matches strongly when nothing exists, not even *', () => {
    expect(stronglyMatches('*', undefined)).toBe(false);
  });
});
