import { publicationPrefix, SKU_PATTERN } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { surrogateKey, SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';

/**
 * Keeping an asset's stable namespace (`latest/`, `latest/<channel>/`, `sku/<sku>/`) an exact
 * mirror of its latest manifest, and remembering everything it ever published.
 *
 * The publication markers (`published/set/<id>`, `published/sku/<sku>`, private, empty) are written
 * before any public object, so a worker killed at any point leaves markers that name every SKU
 * whose URLs may still hold this asset's bytes and every rendition set it published: the retry (or
 * the next publish, or a takedown) lists them and finishes the clean-up. Publishes of one asset
 * running at once only add markers, and a SKU's marker goes only after its clean-up.
 */
export interface Publication {
  /** Rendition set ids the asset has published, ever (a takedown removes them all). */
  sets: string[];
  /** SKUs whose namespace may still hold this asset's objects; after a clean publish, the ones it holds. */
  skus: string[];
}

const SET_ID = /^[0-9a-f]{64}$/;

export async function readPublication(storage: ObjectStorage, tenantId: string, assetId: string): Promise<Publication> {
  const prefix = publicationPrefix(tenantId, assetId);
  const found: Publication = { sets: [], skus: [] };
  for await (const key of storage.list(prefix)) {
    const [kind, name = ''] = key.slice(prefix.length).split('/');
    if (kind === 'set' && SET_ID.test(name)) found.sets.push(name);
    if (kind === 'sku' && SKU_PATTERN.test(name)) found.skus.push(name);
  }
  return found;
}

/** Add markers for these sets and SKUs (idempotent). */
export async function recordPublication(storage: ObjectStorage, tenantId: string, assetId: string, add: Publication): Promise<void> {
  const prefix = publicationPrefix(tenantId, assetId);
  const keys = [...add.sets.map((s) => `${prefix}set/${s}`), ...add.skus.map((s) => `${prefix}sku/${s}`)];
  await Promise.all(
    [...new Set(keys)].map((key) =>
      storage.put(key, Buffer.alloc(0), { contentType: 'application/octet-stream', cacheControl: 'private, no-store' }),
    ),
  );
}

/** Drop the markers of SKUs the asset no longer holds, once its objects there are gone. */
export async function releaseSkus(storage: ObjectStorage, tenantId: string, assetId: string, skus: readonly string[]): Promise<void> {
  for (const sku of skus) await storage.delete(`${publicationPrefix(tenantId, assetId)}sku/${sku}`);
}

/** Remove every object under `prefixes` that is not in `keep`; returns the keys removed. */
export async function removeStale(storage: ObjectStorage, prefixes: string[], keep: ReadonlySet<string>): Promise<string[]> {
  // The prefixes (the asset's `latest/`, its SKU's) never overlap: each is listed at the same time.
  const perPrefix = await Promise.all(
    prefixes.map(async (prefix) => {
      const removed: string[] = [];
      for await (const key of storage.list(prefix)) {
        if (keep.has(key)) continue;
        await storage.delete(key);
        removed.push(key);
      }
      return removed;
    }),
  );
  return perPrefix.flat();
}

/**
 * Remove the objects under `prefix` that this asset wrote (its `asset:` surrogate key is in their
 * metadata): a SKU namespace the asset left, or held at takedown. Objects another asset wrote
 * there since (it claimed the SKU after us) stay.
 */
export async function removeOwned(storage: ObjectStorage, prefix: string, tenantId: string, assetId: string): Promise<string[]> {
  const mine = surrogateKey.asset(tenantId, assetId);
  const removed: string[] = [];
  for await (const key of storage.list(prefix)) {
    const meta = await storage.head(key);
    if (!meta?.metadata?.[SURROGATE_KEY_METADATA]?.split(' ').includes(mine)) continue;
    await storage.delete(key);
    removed.push(key);
  }
  return removed;
}
