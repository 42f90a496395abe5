import type { Queue } from 'bullmq';
import type { Logger } from '../../lib/logger.js';

/** How often the interactive queues are looked at when something may change soon. */
const CHECK_MS = 20;
/**
 * With an activity source, how often they are looked at otherwise while the catalog runs: the
 * safety net for an event missed, or a job that was already running when the catalog started.
 */
const QUIET_CHECK_MS = 1000;
/** After a yield that hit its limit, the catalog runs at least this long before yielding again. */
const RUN_WINDOW_MS = 1000;

export interface Yieldable {
  /** Freeze (true) or thaw (false) the catalog's running steps. */
  setFrozen(frozen: boolean): void;
  /** True while catalog steps are in flight: with none there is nothing to freeze, and nothing to check. */
  busy(): boolean;
}

/** Subscribes to "interactive work arrived or started" (queue-activity.ts); returns how to stop. */
export type ActivitySource = (onActivity: () => void) => { stop(): void };

/**
 * The catalog lane uses only spare capacity: while interactive work waits or runs (render,
 * inference or publish queue), the catalog's step processes are frozen (SIGSTOP) and thawed when
 * it is done; the items' work outside them waits meanwhile (StepPool.thawed).
 * A yield lasts at most `maxYieldMs`, then the catalog runs for a while, so a steady stream of
 * uploads slows a batch down but never stops it. Niceness alone leaves memory bandwidth and
 * caches shared; freezing leaves the cores to interactive work entirely.
 * The queues are read only while the catalog has steps in flight (or is frozen): an idle worker
 * asked Redis 150 times a second for nothing (about 23 ms of CPU a second, measured). With an
 * `activity` source they are read every {@link CHECK_MS} only while there is reason to (the
 * catalog frozen, interactive work seen at the last reading, an event since, the catalog just
 * started), else every {@link QUIET_CHECK_MS}: a running catalog asked 150 times a second too,
 * about a quarter of the Redis writes of a small catalog item.
 */
export function startYieldGovernor(opts: {
  interactive: Queue[];
  target: Yieldable;
  maxYieldMs: number;
  logger: Logger;
  activity?: ActivitySource;
}): {
  stop(): void;
} {
  let frozenSince: number | undefined;
  let runUntil = 0;
  let checking = false;
  let lastCheck = 0;
  let sawInteractive = false;
  let woken = false;
  let wasRunning = false;
  const watch = opts.activity?.(() => (woken = true));
  const timer = setInterval(() => {
    const running = opts.target.busy();
    const started = running && !wasRunning;
    wasRunning = running;
    if (checking || (frozenSince === undefined && !running)) return;
    const now = Date.now();
    const due = !opts.activity || frozenSince !== undefined || sawInteractive || woken || started || now - lastCheck >= QUIET_CHECK_MS;
    if (!due) return;
    woken = false;
    lastCheck = now;
    checking = true;
    void Promise.all(opts.interactive.map((q) => q.getJobCounts('waiting', 'active')))
      .then((all) => {
        const busy = all.some((c) => (c.waiting ?? 0) + (c.active ?? 0) > 0);
        sawInteractive = busy;
        const now = Date.now();
        if (frozenSince === undefined) {
          if (busy && now >= runUntil) {
            frozenSince = now;
            opts.target.setFrozen(true);
          }
        } else if (!busy || now - frozenSince >= opts.maxYieldMs) {
          if (busy) runUntil = now + RUN_WINDOW_MS;
          frozenSince = undefined;
          opts.target.setFrozen(false);
        }
      })
      .catch((err: unknown) => {
        sawInteractive = false;
        // Without a reading, never leave the catalog frozen.
        if (frozenSince !== undefined) opts.target.setFrozen(false);
        frozenSince = undefined;
        opts.logger.warn({ err }, 'catalog yield check failed');
      })
      .finally(() => {
        checking = false;
      });
  }, CHECK_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      watch?.stop();
      if (frozenSince !== undefined) opts.target.setFrozen(false);
      frozenSince = undefined;
    },
  };
}
