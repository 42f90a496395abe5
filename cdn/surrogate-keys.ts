import { MUTABLE_CACHE_CONTROL } from './keys.js';

/**
 * Surrogate keys: the tags every published object carries (stored as object metadata, returned by
 * the origin as a `Surrogate-Key` header, indexed by the CDN), so one purge can reach exactly the
 * objects that changed.
 *
 * `stable:` tags only the mutable objects of an asset (its manifest and stable URLs). Re-publishing
 * an asset purges that key alone: its immutable renditions stay cached.
 */
export const surrogateKey = {
  tenant: (tenantId: string) => `tenant:${tenantId}`,
  asset: (tenantId: string, assetId: string) => `asset:${tenantId}/${assetId}`,
  sku: (tenantId: string, sku: string) => `sku:${tenantId}/${sku}`,
  stable: (tenantId: string, assetId: string) => `stable:${tenantId}/${assetId}`,
  stableSku: (tenantId: string, sku: string) => `stable-sku:${tenantId}/${sku}`,
  /** Mutable objects made with a scene template: a template edit can purge its whole catalog at once. */
  template: (tenantId: string, templateId: string) => `template:${tenantId}/${templateId}`,
  /** An experiment's routing answers at the edge: purged when it goes live, pauses or ends. */
  experiment: (tenantId: string, experimentId: string) => `experiment:${tenantId}/${experimentId}`,
};

/** The metadata entry that holds an object's surrogate keys, space-separated. */
export const SURROGATE_KEY_METADATA = 'surrogate-key';

/**
 * Keys of an immutable rendition (and its set's master): its tenant and its asset, so a takedown
 * of either purges it. No SKU key: an asset's SKU can move, a rendition's bytes never do.
 */
export function renditionSurrogateKeys(tenantId: string, assetId: string): string[] {
  return [surrogateKey.tenant(tenantId), surrogateKey.asset(tenantId, assetId)];
}

/** Keys of a mutable object (manifest, stable URL): the rendition's plus the SKU and the `stable:` ones purged on change. */
export function mutableSurrogateKeys(tenantId: string, assetId: string, skus: readonly string[] = []): string[] {
  return [
    ...renditionSurrogateKeys(tenantId, assetId),
    ...skus.map((sku) => surrogateKey.sku(tenantId, sku)),
    surrogateKey.stable(tenantId, assetId),
    ...skus.map((sku) => surrogateKey.stableSku(tenantId, sku)),
  ];
}

/** What re-publishing an asset purges: its stable objects, under every SKU it held (`skus`). */
export function purgeKeysFor(tenantId: string, assetId: string, skus: readonly string[] = []): string[] {
  return [surrogateKey.stable(tenantId, assetId), ...skus.map((sku) => surrogateKey.stableSku(tenantId, sku))];
}

/** What a takedown purges: every object the asset (or, without `assetId`, the tenant) ever published. */
export const takedownPurgeKeys = (tenantId: string, assetId?: string): string[] => [
  assetId ? surrogateKey.asset(tenantId, assetId) : surrogateKey.tenant(tenantId),
];

/**
 * Cache-Control of mutable objects. With a purging CDN in front, the CDN may keep them until they
 * change (we purge then) while browsers revalidate after a minute; without one, a minute for all.
 */
export const mutableCacheControl = (purging: boolean) => (purging ? 'public, max-age=60, s-maxage=31536000' : MUTABLE_CACHE_CONTROL);
