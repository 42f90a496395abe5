import type { CdnInvalidator, PurgeResult } from '../../cdn/invalidation/invalidator.js';
import type { JobData } from '../catalogue.js';

/**
 * Send one run's purge to the CDN. A retryable failure throws (BullMQ retries it with backoff);
 * a refused purge (the CDN said no for good) is made permanent by `toJobError`. Either way the
 * render is already published: a purge failure only delays when shoppers see it.
 */
export async function processPurge(data: JobData<'purge'>, invalidator: CdnInvalidator, signal?: AbortSignal): Promise<PurgeResult> {
  return invalidator.purge({ surrogateKeys: data.keys, urls: data.urls }, signal);
}
