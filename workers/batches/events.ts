/**
 * Batch events, for whoever wants to hear about a batch's progress (webhooks, dashboards).
 * Emitters call the sink and never wait on it for correctness: a sink that throws or hangs must
 * not fail an item, so callers go through `emitSafely`.
 */

/** The figures every batch event carries. */
export interface BatchEventCounts {
  total: number;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface BatchProgressEvent {
  batchId: string;
  tenantId: string;
  state: 'running' | 'paused';
  counts: BatchEventCounts;
  /** ISO time of the event. */
  at: string;
}

export interface BatchCompletedEvent {
  batchId: string;
  tenantId: string;
  /** `completed` when every item ran (some may have failed), `cancelled` when cancelled. */
  state: 'completed' | 'cancelled';
  counts: BatchEventCounts;
  at: string;
}

/**
 * Where batch events go. `batchProgress` comes at most once per `BATCH_PROGRESS_INTERVAL_MS` per
 * batch and worker process (and on pause/resume); `batchCompleted` exactly once per batch.
 */
export interface BatchEventSink {
  batchProgress(event: BatchProgressEvent): void | Promise<void>;
  batchCompleted(event: BatchCompletedEvent): void | Promise<void>;
}

/** The default sink: nobody listens. */
export const noBatchEvents: BatchEventSink = {
  batchProgress: () => undefined,
  batchCompleted: () => undefined,
};

/** Call a sink without letting it fail or slow the caller; errors go to `onError`. */
export function emitSafely(call: () => void | Promise<void>, onError: (err: unknown) => void): void {
  try {
    void Promise.resolve(call()).catch(onError);
  } catch (err) {
    onError(err);
  }
}
