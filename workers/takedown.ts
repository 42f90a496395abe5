import { assetPrefix, assetRecordKey, isPublicKey, publicationPrefix, skuAliasPrefix, tenantPrefix } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { takedownPurgeKeys } from '../cdn/surrogate-keys.js';
import { readAssetRecord } from '../records/asset-store.js';
import type { PurgeRequestEntry } from './purge-outbox.js';
import { readPublication, removeOwned, removeStale } from './processors/stable-mirror.js';
import type { RunStore } from './run-store.js';

/** What a takedown needs: the bucket, the run records, and the CDN purge of the publish step. */
export interface TakedownDeps {
  storage: ObjectStorage;
  runs: Pick<RunStore, 'runIdsOfAsset' | 'get' | 'cancel'>;
  urlFor: (key: string) => string;
  /** True when a CDN invalidator is configured. */
  purging: boolean;
  requestPurge(purge: PurgeRequestEntry): Promise<void>;
}

export interface TakedownResult {
  /** Objects removed from storage by this call (0 when an earlier call already did it all). */
  removed: number;
  /** Runs that were queued or running and are now cancelled. */
  cancelledRuns: number;
}

/**
 * Take an asset down (a recalled product, a photo used without rights): cancel its unfinished runs,
 * remove everything it ever published (stable URLs, manifest, every rendition set and master, its
 * objects under every SKU it held), its original and records, then purge the CDN by its `asset:`
 * surrogate key and by URL. Idempotent, and safe to repeat after a crash: the publication markers
 * that name its sets and SKUs are removed last.
 *
 * Runs are cancelled before anything is removed; a publish re-checks after its writes and, if
 * cancelled, calls this again, so no publish can leave objects behind a takedown.
 */
export async function takedownAsset(deps: TakedownDeps, tenantId: string, assetId: string): Promise<TakedownResult> {
  const cancelledRuns = await cancelRuns(deps, tenantId, assetId);
  const { storage } = deps;
  const publication = await readPublication(storage, tenantId, assetId);
  const record = await readAssetRecord(storage, tenantId, assetId);
  const originalKey = record?.original.key;

  const keep = new Set([assetRecordKey(tenantId, assetId)]);
  const markers = publicationPrefix(tenantId, assetId);
  for await (const key of storage.list(markers)) keep.add(key);
  const removed = [
    // Public objects first: the manifest and stable URLs, then the renditions and masters.
    ...(await removeStale(storage, [assetPrefix(tenantId, assetId)], keep)),
    ...(await removeStale(
      storage,
      publication.sets.map((set) => `${tenantPrefix(tenantId)}r/${set}/`),
      new Set(),
    )),
    ...(await removeSkus(storage, tenantId, assetId, publication.skus)),
  ];
  // A set shares nothing with other assets, and neither does the original: an asset id is the
  // hash of its tenant and its original's bytes (records/asset-store.ts).
  if (originalKey?.startsWith(`${tenantPrefix(tenantId)}originals/`) && (await storage.head(originalKey))) {
    await storage.delete(originalKey);
    removed.push(originalKey);
  }
  await purge(deps, tenantId, assetId, removed);
  // Records last: until they go, a repeated call finds what is left to do.
  await storage.delete(assetRecordKey(tenantId, assetId));
  await removeStale(storage, [markers], new Set());
  return { removed: removed.length + (record ? 1 : 0), cancelledRuns };
}

/**
 * Take down every asset of a tenant, then remove whatever else is left under its prefix
 * (intermediates, sets of runs that never published) and purge its `tenant:` key.
 */
export async function takedownTenant(deps: TakedownDeps, tenantId: string): Promise<TakedownResult> {
  const assets = new Set<string>();
  const assetsFolder = `${tenantPrefix(tenantId)}assets/`;
  for await (const key of deps.storage.list(assetsFolder)) assets.add(key.slice(assetsFolder.length).split('/')[0]!);
  const total: TakedownResult = { removed: 0, cancelledRuns: 0 };
  for (const assetId of assets) {
    const one = await takedownAsset(deps, tenantId, assetId);
    total.removed += one.removed;
    total.cancelledRuns += one.cancelledRuns;
  }
  const rest = await removeStale(deps.storage, [tenantPrefix(tenantId)], new Set());
  await purge(deps, tenantId, undefined, rest);
  total.removed += rest.length;
  return total;
}

async function cancelRuns(deps: TakedownDeps, tenantId: string, assetId: string): Promise<number> {
  let cancelled = 0;
  for (const runId of await deps.runs.runIdsOfAsset(tenantId, assetId)) {
    const run = await deps.runs.get(tenantId, runId);
    if (run?.state !== 'queued' && run?.state !== 'running') continue;
    await deps.runs.cancel(runId);
    cancelled++;
  }
  return cancelled;
}

/** The objects this asset holds under each SKU it published to (another asset's stay). */
async function removeSkus(storage: ObjectStorage, tenantId: string, assetId: string, skus: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const sku of skus) removed.push(...(await removeOwned(storage, skuAliasPrefix(tenantId, sku), tenantId, assetId)));
  return removed;
}

/** Purge by surrogate key (reaches every cached copy, whatever URL) and by URL (CDNs without keys). */
async function purge(deps: TakedownDeps, tenantId: string, assetId: string | undefined, removed: string[]): Promise<void> {
  if (!deps.purging) return;
  await deps.requestPurge({
    tenantId,
    assetId: assetId ?? '*',
    keys: takedownPurgeKeys(tenantId, assetId),
    urls: removed.filter(isPublicKey).map(deps.urlFor),
  });
}
