import { JOBS } from './jobs/index.js';
import type { Queues } from './queues.js';

/** Rebuilds retry for about two minutes (storage unreachable): 6 tries, the wait doubling from 2 s. */
const REBUILD_ATTEMPTS = 6;

/**
 * Queue the rebuild of a tenant's asset index. Coalesced per tenant: while one waits or runs,
 * further calls add nothing (BullMQ deduplication until it completes or fails), so every list of
 * a large tenant during the rebuild shares it, across every API process.
 */
export async function scheduleAssetIndexRebuild(queues: Queues, tenantId: string): Promise<void> {
  const job = JOBS['rebuild-asset-index'];
  await queues.queues[job.queue].add(
    job.name,
    { tenantId },
    {
      deduplication: { id: `asset-index-${tenantId}` },
      attempts: REBUILD_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/** Deletions retry for about an hour and a half (storage or CDN down): 10 tries, the wait doubling from 5 s. */
const DELETE_ATTEMPTS = 10;

/**
 * Queue the removal of a deleted tenant's records and objects. One per tenant at a time: a repeated
 * DELETE while it waits or runs adds nothing; after it failed for good, a DELETE queues it again.
 */
export async function scheduleTenantDeletion(queues: Queues, tenantId: string): Promise<void> {
  const job = JOBS['delete-tenant'];
  await queues.queues[job.queue].add(
    job.name,
    { tenantId },
    {
      deduplication: { id: `delete-tenant-${tenantId}` },
      attempts: DELETE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}
