import type { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { startYieldGovernor } from './yield-governor.js';

/** A queue stand-in whose counts the test sets. */
function fakeQueue() {
  const counts = { waiting: 0, active: 0 };
  const reads = { n: 0 };
  return { counts, reads, queue: { getJobCounts: async () => (reads.n++, { ...counts }) } as unknown as Queue };
}

describe('the catalog yield governor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('freezes the catalog while interactive work waits or runs, and thaws it after', async () => {
    const render = fakeQueue();
    const calls: boolean[] = [];
    const governor = startYieldGovernor({
      interactive: [render.queue],
      target: { setFrozen: (f) => void calls.push(f), busy: () => true },
      maxYieldMs: 5000,
      logger: createLogger('silent'),
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([]);
    render.counts.waiting = 1;
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toEqual([true]);
    render.counts.waiting = 0;
    render.counts.active = 1;
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toEqual([true]);
    render.counts.active = 0;
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toEqual([true, false]);
    governor.stop();
  });

  it('never freezes longer than the limit, then lets the catalog run before yielding again', async () => {
    const render = fakeQueue();
    render.counts.active = 1;
    const calls: Array<[boolean, number]> = [];
    const governor = startYieldGovernor({
      interactive: [render.queue],
      target: { setFrozen: (f) => void calls.push([f, Date.now()]), busy: () => true },
      maxYieldMs: 1000,
      logger: createLogger('silent'),
    });
    await vi.advanceTimersByTimeAsync(3000);
    const [freeze, thaw, refreeze] = calls;
    expect(calls.map(([f]) => f).slice(0, 3)).toEqual([true, false, true]);
    expect(thaw![1] - freeze![1]).toBeGreaterThanOrEqual(1000);
    expect(refreeze![1] - thaw![1]).toBeGreaterThanOrEqual(1000);
    governor.stop();
    expect(calls.at(-1)![0]).toBe(false); // stopping never leaves it frozen
  });

  it('reads no queue while the catalog has no steps in flight, and freezes as soon as it has', async () => {
    const render = fakeQueue();
    render.counts.waiting = 1;
    let busy = false;
    const calls: boolean[] = [];
    const governor = startYieldGovernor({
      interactive: [render.queue],
      target: { setFrozen: (f) => void calls.push(f), busy: () => busy },
      maxYieldMs: 5000,
      logger: createLogger('silent'),
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(render.reads.n).toBe(0);
    expect(calls).toEqual([]);
    busy = true;
    await vi.advanceTimersByTimeAsync(40);
    expect(calls).toEqual([true]);
    // Frozen, it keeps reading (to thaw) even though nothing runs.
    busy = false;
    render.counts.waiting = 0;
    await vi.advanceTimersByTimeAsync(40);
    expect(calls).toEqual([true, false]);
    const reads = render.reads.n;
    await vi.advanceTimersByTimeAsync(1000);
    expect(render.reads.n).toBe(reads);
    governor.stop();
  });

  describe('with an activity source (events of the interactive queues)', () => {
    /** A source the test fires by hand, as queue-activity.ts does on a `waiting` or `active` event. */
    function manualActivity() {
      const listeners = new Set<() => void>();
      let stopped = 0;
      return {
        fire: () => listeners.forEach((l) => l()),
        stopped: () => stopped,
        source: (onActivity: () => void) => {
          listeners.add(onActivity);
          return { stop: () => (listeners.delete(onActivity), stopped++) };
        },
      };
    }

    it('reads the queues about once a second while a catalog runs alone, not every 20 ms', async () => {
      const render = fakeQueue();
      const activity = manualActivity();
      const governor = startYieldGovernor({
        interactive: [render.queue],
        target: { setFrozen: () => undefined, busy: () => true },
        maxYieldMs: 5000,
        logger: createLogger('silent'),
        activity: activity.source,
      });
      await vi.advanceTimersByTimeAsync(5000);
      // One reading as the catalog starts, then one a second (polling read 250 times here).
      expect(render.reads.n).toBeGreaterThanOrEqual(5);
      expect(render.reads.n).toBeLessThanOrEqual(7);
      governor.stop();
      expect(activity.stopped()).toBe(1);
    });

    it('freezes within a check of an event, polls fast until the interactive work is done, then slows down', async () => {
      const render = fakeQueue();
      const activity = manualActivity();
      const calls: Array<[boolean, number]> = [];
      const governor = startYieldGovernor({
        interactive: [render.queue],
        target: { setFrozen: (f) => void calls.push([f, Date.now()]), busy: () => true },
        maxYieldMs: 5000,
        logger: createLogger('silent'),
        activity: activity.source,
      });
      await vi.advanceTimersByTimeAsync(300);
      render.counts.waiting = 1;
      const arrived = Date.now();
      activity.fire();
      await vi.advanceTimersByTimeAsync(100);
      expect(calls.map(([f]) => f)).toEqual([true]);
      expect(calls[0]![1] - arrived).toBeLessThanOrEqual(40);
      render.counts.waiting = 0;
      const done = Date.now();
      await vi.advanceTimersByTimeAsync(100);
      expect(calls.map(([f]) => f)).toEqual([true, false]);
      expect(calls[1]![1] - done).toBeLessThanOrEqual(40);
      const reads = render.reads.n;
      await vi.advanceTimersByTimeAsync(2000);
      expect(render.reads.n - reads).toBeLessThanOrEqual(3);
      governor.stop();
    });

    it('still finds interactive work that sent no event (already running when the catalog started) within a second', async () => {
      const render = fakeQueue();
      const calls: boolean[] = [];
      let busy = false;
      const governor = startYieldGovernor({
        interactive: [render.queue],
        target: { setFrozen: (f) => void calls.push(f), busy: () => busy },
        maxYieldMs: 5000,
        logger: createLogger('silent'),
        activity: manualActivity().source,
      });
      busy = true;
      await vi.advanceTimersByTimeAsync(300);
      render.counts.active = 1; // started without an event this governor saw
      await vi.advanceTimersByTimeAsync(1100);
      expect(calls).toEqual([true]);
      governor.stop();
    });
  });
});
