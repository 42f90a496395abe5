import { z } from 'zod';
import { publicationKey } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { surrogateKey, SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';

/**
 * Keeping an asset's stable namespace (`latest/`, `latest/<channel>/`, `sku/<sku>/`) an exact
 * mirror of its latest manifest, and remembering everything it ever published.
 *
 * The publication record (`published.json`, private) is written before any public object, so a
 * worker killed at any point leaves a record that names every SKU whose URLs may still hold this
 * asset's bytes and every rendition set it published: the retry (or the next publish, or a
 * takedown) reads it and finishes the clean-up.
 */
const publicationSchema = z.object({
  /** Rendition set ids the asset has published, ever (a takedown removes them all). */
  sets: z.array(z.string()),
  /** SKUs whose namespace may still hold this asset's objects; after a clean publish, the ones it holds. */
  skus: z.array(z.string()),
});
export type Publication = z.output<typeof publicationSchema>;

export async function readPublication(storage: ObjectStorage, tenantId: string, assetId: string): Promise<Publication> {
  const raw = await storage.get(publicationKey(tenantId, assetId));
  return raw ? publicationSchema.parse(JSON.parse(raw.toString('utf8'))) : { sets: [], skus: [] };
}

export async function writePublication(storage: ObjectStorage, tenantId: string, assetId: string, publication: Publication): Promise<void> {
  const body = { sets: [...new Set(publication.sets)], skus: [...new Set(publication.skus)] };
  await storage.put(publicationKey(tenantId, assetId), Buffer.from(JSON.stringify(body)), { contentType: 'application/json', cacheControl: 'private, no-store' });
}

/** Remove every object under `prefixes` that is not in `keep`; returns the keys removed. */
export async function removeStale(storage: ObjectStorage, prefixes: string[], keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const prefix of prefixes) {
    for await (const key of storage.list(prefix)) {
      if (keep.has(key)) continue;
      await storage.delete(key);
      removed.push(key);
    }
  }
  return removed;
}

/**
 * True unless another asset has published under `prefix` since (an object there carries another
 * asset's key): the SKU then shows that asset, and this one no longer refreshes it.
 */
export async function stillHolds(storage: ObjectStorage, prefix: string, tenantId: string, assetId: string): Promise<boolean> {
  const mine = surrogateKey.asset(tenantId, assetId);
  const anyAsset = surrogateKey.asset(tenantId, '');
  for await (const key of storage.list(prefix)) {
    const tags = (await storage.head(key))?.metadata?.[SURROGATE_KEY_METADATA]?.split(' ') ?? [];
    if (tags.some((t) => t.startsWith(anyAsset) && t !== mine)) return false;
  }
  return true;
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
