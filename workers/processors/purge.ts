import type { CdnInvalidator, PurgeResult } from '../../cdn/invalidation/invalidator.js';
import { isPermanent } from '../../lib/errors.js';
import type { Metrics } from '../../lib/metrics.js';
import { describeJobFailure, toJobError } from '../job-errors.js';
import type { PurgeOutbox } from '../purge-outbox.js';
import type { RunStore } from '../run-store.js';

/** Requests merged into one purge at most; the rest wait for the next job. */
const MAX_BATCH = 1000;

export interface PurgeDeps {
  outbox: PurgeOutbox;
  invalidator: CdnInvalidator;
  runs: RunStore;
  /** Queue another purge job (de-duplicated), for requests left after a full batch. */
  schedule(): Promise<void>;
  metrics: Pick<Metrics, 'purges'>;
}

/**
 * Send every waiting purge request to the CDN as one de-duplicated batch. A retryable failure puts
 * the requests back and throws (BullMQ retries with backoff); the last attempt, or a purge the CDN
 * refused for good, marks those runs' purge failed. The renders are published either way: a purge
 * failure only delays when shoppers see them.
 */
export async function processPurge(
  deps: PurgeDeps,
  attempt: { number: number; last: boolean },
  signal?: AbortSignal,
): Promise<PurgeResult | undefined> {
  const batch = await deps.outbox.take(MAX_BATCH);
  if (batch.length === 0) return undefined;
  const mark = (state: 'active' | 'retrying' | 'failed' | 'completed', extra: object = {}) =>
    Promise.all(batch.flatMap((e) => (e.runId ? [deps.runs.setPurge(e.runId, { state, attempts: attempt.number, ...extra })] : [])));
  await mark('active');
  try {
    const result = await deps.invalidator.purge(
      {
        surrogateKeys: [...new Set(batch.flatMap((e) => e.keys))],
        urls: [...new Set(batch.flatMap((e) => e.urls))],
      },
      signal,
    );
    await mark('completed', { result });
    deps.metrics.purges.inc({ driver: result.driver, outcome: 'completed' });
    if ((await deps.outbox.size()) > 0) await deps.schedule();
    return result;
  } catch (err) {
    const error = describeJobFailure(toJobError(err).message);
    const final = attempt.last || isPermanent(err);
    if (!final) await deps.outbox.putBack(batch);
    await mark(final ? 'failed' : 'retrying', { error });
    deps.metrics.purges.inc({ driver: deps.invalidator.name, outcome: final ? 'failed' : 'retrying' });
    throw toJobError(err);
  }
}
