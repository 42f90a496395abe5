import { describe, expect, it } from 'vitest';
import { assignVariant, BUCKETS, cutPoints, variantAt, visitorBucket } from './experiment-assignment.js';

describe('experiment assignment', () => {
  it('hashes like varnish directors.shard().key(): last four SHA-256 bytes, little-endian', () => {
    // Values read from varnishd 7.1 (`h.key("exp_1:visitor-42")` = 1075287500).
    expect(visitorBucket('exp_1', 'visitor-42')).toBe(1075287500 % BUCKETS);
  });

  it('turns weights into cut points that add up exactly', () => {
    expect(cutPoints([1, 1])).toEqual([5000, 10000]);
    expect(cutPoints([1, 1, 1])).toEqual([3334, 6667, 10000]);
    expect(cutPoints([90, 10])).toEqual([9000, 10000]);
    expect(variantAt([5000, 10000], 4999)).toBe(0);
    expect(variantAt([5000, 10000], 5000)).toBe(1);
  });

  it('is deterministic and matches the weights within 1% over 100,000 synthetic visitors', () => {
    const weights = [50, 30, 20];
    const cuts = cutPoints(weights);
    const counts = [0, 0, 0];
    const first: number[] = [];
    for (let v = 0; v < 100_000; v++) {
      const index = assignVariant('exp_split', `visitor-${v}`, cuts)!;
      if (v < 1000) first.push(index);
      counts[index]! += 1;
    }
    // The same visitors again get the same variants.
    for (let v = 0; v < 1000; v++) if (assignVariant('exp_split', `visitor-${v}`, cuts) !== first[v]) throw new Error(`visitor-${v} moved`);
    counts.forEach((n, i) => expect(Math.abs(n / 100_000 - weights[i]! / 100)).toBeLessThan(0.01));
  });

  it('gives no variant to a missing or malformed visitor id', () => {
    expect(assignVariant('exp', undefined, [10000])).toBeUndefined();
    expect(assignVariant('exp', 'a b', [10000])).toBeUndefined();
    expect(assignVariant('exp', 'x'.repeat(129), [10000])).toBeUndefined();
  });
});
