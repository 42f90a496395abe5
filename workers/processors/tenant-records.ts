import type { AssetStore } from '../../records/asset-store.js';

/** What the tenant-wide jobs need: the asset records and their index. */
export interface TenantRecordsDeps {
  assets: Pick<AssetStore, 'rebuildIndex'>;
}

/** Rebuild a tenant's asset index from the bucket (idempotent: a retry or a repeat adds nothing twice). */
export async function processRebuildAssetIndex(deps: TenantRecordsDeps, tenantId: string): Promise<{ tenantId: string }> {
  await deps.assets.rebuildIndex(tenantId);
  return { tenantId };
}
