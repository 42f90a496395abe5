/**
 * Run-record writes that survive a Redis outage. A write lost while Redis restarts or fails over
 * would leave its run `running` for ever (the next step's write does not repair an earlier one),
 * so each idempotent write is retried for about 20 s (250 ms doubling to 4 s): longer than a
 * restart or a cluster failover takes.
 */
export const WRITE_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 4000, 4000, 4000];

export async function retryWrite<T>(write: () => Promise<T>, delaysMs: readonly number[] = WRITE_RETRY_DELAYS_MS): Promise<T> {
  for (const delay of delaysMs) {
    try {
      return await write();
    } catch {
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return write();
}

/**
 * Writes queued in order per key (a run's step), each after the last one's retries, so a retried
 * `active` can never land over the `completed` that followed it. A failed write does not stop the
 * ones queued after it.
 */
export class OrderedWrites {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly delaysMs: readonly number[] = WRITE_RETRY_DELAYS_MS) {}

  /** Resolves once this write landed; rejects with its last error once its retries are spent. */
  push(key: string, write: () => Promise<unknown>): Promise<void> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => void (await retryWrite(write, this.delaysMs)));
    this.chains.set(key, next);
    const forget = () => void (this.chains.get(key) === next && this.chains.delete(key));
    void next.then(forget, forget);
    return next;
  }
}
