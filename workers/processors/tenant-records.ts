import type { AssetStore } from '../../records/asset-store.js';
import type { TenantDeletionStore } from '../../records/tenant-deletions.js';
import { toJobError } from '../job-errors.js';
import { takedownTenant, type TakedownDeps, type TakedownResult } from '../takedown.js';

/** What the tenant-wide jobs need: the asset records and their index, the takedown, the deletion states. */
export interface TenantRecordsDeps {
  assets: Pick<AssetStore, 'rebuildIndex' | 'unindexTenant'>;
  takedown: TakedownDeps;
  deletions: Pick<TenantDeletionStore, 'update'>;
  /** Remove the tenant's own record (api/tenants.ts), the last step of its deletion. */
  deleteTenantRecord(tenantId: string): Promise<void>;
}

/** Rebuild a tenant's asset index from the bucket (idempotent: a retry or a repeat adds nothing twice). */
export async function processRebuildAssetIndex(deps: TenantRecordsDeps, tenantId: string): Promise<{ tenantId: string }> {
  await deps.assets.rebuildIndex(tenantId);
  return { tenantId };
}

/**
 * Remove everything a tenant has (its keys were revoked by the request): every asset taken down
 * and purged, the rest of its prefix, its asset index, then its record. Each part is idempotent
 * and the record goes last, so a retry, or the same job taken again after a worker crashed
 * (BullMQ's stalled-job check), resumes where the last try stopped.
 */
export async function processDeleteTenant(
  deps: TenantRecordsDeps,
  tenantId: string,
  attempt: { number: number; last: boolean },
): Promise<TakedownResult> {
  await deps.deletions.update(tenantId, { state: 'running', attempts: attempt.number });
  try {
    const result = await takedownTenant(deps.takedown, tenantId);
    await deps.assets.unindexTenant(tenantId);
    await deps.deleteTenantRecord(tenantId);
    await deps.deletions.update(tenantId, { state: 'completed', ...result });
    return result;
  } catch (err) {
    const failure = toJobError(err);
    await deps.deletions.update(tenantId, { state: attempt.last ? 'failed' : 'running', error: failure.message });
    throw failure;
  }
}
