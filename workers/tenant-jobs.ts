import { JOBS } from './jobs/index.js';
import type { Queues } from './queues.js';

/** How a tenant-wide job retries: `attempts` tries, the wait doubling from `firstDelayMs`. */
interface TenantJobRetry {
  attempts: number;
  firstDelayMs: number;
}

/**
 * Queue a tenant-wide job, one per tenant at a time: while one waits or runs, further calls add
 * nothing (BullMQ deduplication until it completes or fails), across every API process.
 */
async function scheduleTenantJob(
  queues: Queues,
  name: 'rebuild-asset-index' | 'delete-tenant',
  tenantId: string,
  retry: TenantJobRetry,
): Promise<void> {
  const job = JOBS[name];
  await queues.queues[job.queue].add(
    job.name,
    { tenantId },
    {
      deduplication: { id: `${name}-${tenantId}` },
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.firstDelayMs, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/**
 * Queue the rebuild of a tenant's asset index, so every list of a large tenant during the rebuild
 * shares one. Retried for about two minutes (storage unreachable): 6 tries from 2 s.
 */
export function scheduleAssetIndexRebuild(queues: Queues, tenantId: string): Promise<void> {
  return scheduleTenantJob(queues, 'rebuild-asset-index', tenantId, { attempts: 6, firstDelayMs: 2000 });
}

/**
 * Queue the removal of a deleted tenant's records and objects: a repeated DELETE while it waits
 * or runs adds nothing; after it failed for good, a DELETE queues it again. Retried for about an
 * hour and a half (storage or CDN down): 10 tries from 5 s.
 */
export function scheduleTenantDeletion(queues: Queues, tenantId: string): Promise<void> {
  return scheduleTenantJob(queues, 'delete-tenant', tenantId, { attempts: 10, firstDelayMs: 5000 });
}
