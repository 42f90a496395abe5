import { describe, expect, it } from 'vitest';
import { batchPace, ETA_WINDOW_ITEMS, type BatchPaceInput } from './rates.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const base: BatchPaceInput = { startedAt: T0, now: T0, finished: 0, pending: 40, running: true, recentFinishes: [] };
/** `n` finishes, one every `everyMs` after the start, newest first. */
const finishes = (n: number, everyMs: number, from = T0) =>
  Array.from({ length: n }, (_, i) => from + (n - i) * everyMs).slice(0, ETA_WINDOW_ITEMS);

describe('batch pace', () => {
  it('measures throughput from the batch start, not from its first finished item', () => {
    // 40 items, one every 150 ms from the start: 400 items/min. Counting from the first finish
    // (40 items over 5.85 s) would say 410.
    const pace = batchPace({
      ...base,
      now: T0 + 6000,
      finished: 40,
      pending: 0,
      running: false,
      recentFinishes: finishes(40, 150),
      finishedAt: T0 + 6000,
    });
    expect(pace.throughputPerMinute).toBe(400);
    expect(pace.etaSeconds).toBe(0);
  });

  it('freezes throughput when the batch ends', () => {
    const done = { ...base, finished: 40, pending: 0, running: false, recentFinishes: finishes(40, 150), finishedAt: T0 + 6000 };
    expect(batchPace({ ...done, now: T0 + 6000 }).throughputPerMinute).toBe(400);
    expect(batchPace({ ...done, now: T0 + 36_000 }).throughputPerMinute).toBe(400);
    expect(batchPace({ ...done, now: T0 + 3_600_000 }).throughputPerMinute).toBe(400);
  });

  it('takes the ETA from the recent pace, not the average since the start', () => {
    // 20 items at 1 s each, then 20 more at 100 ms each: the average is 40 items over 22 s, the
    // recent pace 19 items over 1.9 s, so the 60 left take 6 s, not 33.
    const slow = Array.from({ length: 20 }, (_, i) => T0 + (i + 1) * 1000);
    const fast = Array.from({ length: 20 }, (_, i) => T0 + 20_000 + (i + 1) * 100);
    const recentFinishes = [...slow, ...fast].reverse().slice(0, ETA_WINDOW_ITEMS);
    const pace = batchPace({ ...base, now: T0 + 22_000, finished: 40, pending: 60, recentFinishes });
    expect(pace.etaSeconds).toBe(6);
    expect(pace.throughputPerMinute).toBe(109.1);
  });

  it('lengthens the ETA while nothing finishes', () => {
    const recentFinishes = finishes(20, 100);
    const now = batchPace({ ...base, now: T0 + 2000, finished: 20, pending: 19, recentFinishes });
    const later = batchPace({ ...base, now: T0 + 20_100, finished: 20, pending: 19, recentFinishes });
    expect(now.etaSeconds).toBe(2);
    expect(later.etaSeconds).toBe(20);
  });

  it('uses every finish since the start until the window is full', () => {
    const pace = batchPace({ ...base, now: T0 + 10_000, finished: 5, pending: 10, recentFinishes: finishes(5, 2000) });
    expect(pace.throughputPerMinute).toBe(30);
    expect(pace.etaSeconds).toBe(20);
  });

  it('has no ETA while paused or before anything finished', () => {
    expect(batchPace({ ...base, now: T0 + 5000, finished: 3, recentFinishes: finishes(3, 1000), running: false }).etaSeconds).toBeNull();
    expect(batchPace({ ...base, now: T0 + 5000 })).toEqual({ throughputPerMinute: 0, etaSeconds: null });
  });
});
