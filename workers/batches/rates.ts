/**
 * A batch's pace, as its status reports it.
 *
 * `throughputPerMinute` is the batch's own average: items finished (completed or failed) over the
 * time from its first item's start to its end, or to now while it runs. Once the batch is
 * finished the figure is frozen: it neither starts at the first finished item (which leaves out
 * the first items' run time and overstates the pace) nor keeps falling as time passes afterwards.
 *
 * `etaSeconds` uses the recent pace instead (a moving window over the last finishes), so a batch
 * that slowed down (interactive work took the cores) or sped up says so at once.
 */

/** The ETA's window: the pace over the last this-many finishes. */
export const ETA_WINDOW_ITEMS = 20;
/** The shortest time a pace is measured over, so the first second's item does not read as 600/min. */
const MIN_SPAN_MS = 1000;

export interface BatchPaceInput {
  /** When the batch's first item started (ms since the epoch). */
  startedAt: number;
  /** When its last item ended, once it has. */
  finishedAt?: number;
  now: number;
  /** Items finished so far (completed + failed). */
  finished: number;
  /** Items still waiting or running. */
  pending: number;
  /** Whether the batch is running (not paused, cancelled or complete). */
  running: boolean;
  /** Finish times of the latest items, newest first, at most {@link ETA_WINDOW_ITEMS}. */
  recentFinishes: number[];
}

export interface BatchPace {
  throughputPerMinute: number;
  etaSeconds: number | null;
}

const perMinute = (items: number, ms: number) => (items / Math.max(ms, MIN_SPAN_MS)) * 60_000;

export function batchPace(p: BatchPaceInput): BatchPace {
  const end = p.finishedAt ?? p.now;
  const throughputPerMinute = p.finished > 0 ? Math.round(perMinute(p.finished, end - p.startedAt) * 10) / 10 : 0;
  if (p.pending === 0) return { throughputPerMinute, etaSeconds: 0 };
  if (!p.running) return { throughputPerMinute, etaSeconds: null };
  // With a full window, the items after its oldest finish over the time since it; before that,
  // every finish since the batch's start. Measured up to now, so a stall lengthens the ETA.
  const full = p.recentFinishes.length >= ETA_WINDOW_ITEMS;
  const count = full ? ETA_WINDOW_ITEMS - 1 : p.recentFinishes.length;
  const from = full ? p.recentFinishes[ETA_WINDOW_ITEMS - 1]! : p.startedAt;
  if (count === 0) return { throughputPerMinute, etaSeconds: null };
  const recentPerMinute = perMinute(count, p.now - from);
  return { throughputPerMinute, etaSeconds: Math.round((p.pending / recentPerMinute) * 60) };
}
