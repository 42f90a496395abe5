import path from 'node:path';
import { tenantPrefix } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { AppError } from '../lib/errors.js';
import { fetchPublicUrl } from '../lib/safe-fetch.js';
import type { ResolveBatchSource } from '../workers/batches/item.js';
import type { SourceImage } from '../workers/queues.js';
import { storeOriginal, withSpooledBytes, type OriginalLimits } from './admission.js';
import type { AssetStore } from '../records/asset-store.js';

export interface BatchSourceDeps {
  storage: ObjectStorage;
  assets: AssetStore;
  limits: OriginalLimits;
  /** The tenant folder of the bucket inbox (INBOX_PREFIX, else `inbox`): `inbox/<path>` in a catalog names `t/<tenant>/<folder>/<path>`. */
  inboxFolder: string;
  /** Limits on one URL fetch (URL_FETCH_*), and the loopback switch tests use. */
  fetch: { timeoutMs: number; maxRedirects: number; allowLoopbackForTests?: boolean };
}

/**
 * Turn a catalog item's source into an asset of the tenant, in the worker (never in the request):
 * an asset id is looked up; a URL is fetched through the SSRF guard and a bucket inbox key read,
 * then either is checked and stored exactly like an upload (same limits, same content-addressed
 * original and asset id).
 */
export function batchSourceResolver(deps: BatchSourceDeps): ResolveBatchSource {
  return async (tenantId, sku, source) => {
    if (source.kind === 'asset') {
      const asset = await deps.assets.get(tenantId, source.assetId);
      if (!asset) throw new AppError('NOT_FOUND', `Asset ${source.assetId} not found for this tenant.`);
      return { assetId: asset.id, source: asset.original };
    }
    let bytes: Buffer | undefined;
    let filename: string;
    if (source.kind === 'url') {
      const fetched = await fetchPublicUrl(source.url, {
        maxBytes: deps.limits.maxUploadBytes,
        timeoutMs: deps.fetch.timeoutMs,
        maxRedirects: deps.fetch.maxRedirects,
        ...(deps.fetch.allowLoopbackForTests ? { allowLoopbackForTests: true } : {}),
      });
      bytes = fetched.bytes;
      filename = path.posix.basename(new URL(fetched.finalUrl).pathname) || 'download';
    } else {
      const relative = source.key.slice('inbox/'.length);
      const key = `${tenantPrefix(tenantId)}${deps.inboxFolder}/${relative}`;
      // The inbox watcher moves what it has taken in to `<folder>-processed/`: the object is still the one named.
      bytes =
        (await deps.storage.get(key)) ?? (await deps.storage.get(`${tenantPrefix(tenantId)}${deps.inboxFolder}-processed/${relative}`));
      if (!bytes) throw new AppError('NOT_FOUND', `No object at ${source.key} in this tenant's inbox.`);
      filename = path.posix.basename(key);
    }
    return storeSource(deps, tenantId, sku, bytes, filename);
  };
}

/** A fetched or inbox source stored exactly as an upload's original is (`storeOriginal`). */
const storeSource = (
  deps: BatchSourceDeps,
  tenantId: string,
  sku: string,
  bytes: Buffer,
  filename: string,
): Promise<{ assetId: string; source: SourceImage }> =>
  withSpooledBytes(bytes, filename, async (file) => {
    const { asset } = await storeOriginal(deps, tenantId, file, { sku });
    return { assetId: asset.id, source: asset.original };
  });
