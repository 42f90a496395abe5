import type { Queue } from 'bullmq';
import type { Logger } from '../../lib/logger.js';

/** How often the interactive queues are looked at. */
const CHECK_MS = 20;
/** After a yield that hit its limit, the catalog runs at least this long before yielding again. */
const RUN_WINDOW_MS = 1000;

export interface Yieldable {
  /** Freeze (true) or thaw (false) the catalog's running steps. */
  setFrozen(frozen: boolean): void;
  /** True while catalog steps are in flight: with none there is nothing to freeze, and nothing to check. */
  busy(): boolean;
}

/**
 * The catalog lane uses only spare capacity: while interactive work waits or runs (render,
 * inference or publish queue), the catalog's step processes are frozen (SIGSTOP) and thawed when
 * it is done; the items' work outside them waits meanwhile (StepPool.thawed).
 * A yield lasts at most `maxYieldMs`, then the catalog runs for a while, so a steady stream of
 * uploads slows a batch down but never stops it. Niceness alone leaves memory bandwidth and
 * caches shared; freezing leaves the cores to interactive work entirely.
 * The queues are read only while the catalog has steps in flight (or is frozen): an idle worker
 * asked Redis 150 times a second for nothing (about 23 ms of CPU a second, measured).
 */
export function startYieldGovernor(opts: { interactive: Queue[]; target: Yieldable; maxYieldMs: number; logger: Logger }): {
  stop(): void;
} {
  let frozenSince: number | undefined;
  let runUntil = 0;
  let checking = false;
  const timer = setInterval(() => {
    if (checking || (frozenSince === undefined && !opts.target.busy())) return;
    checking = true;
    void Promise.all(opts.interactive.map((q) => q.getJobCounts('waiting', 'active')))
      .then((all) => {
        const busy = all.some((c) => (c.waiting ?? 0) + (c.active ?? 0) > 0);
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
      if (frozenSince !== undefined) opts.target.setFrozen(false);
      frozenSince = undefined;
    },
  };
}
