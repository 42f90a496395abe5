import { createHash, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { originalKey, tenantPrefix } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { AppError, badInput } from '../lib/errors.js';
import { fetchPublicUrl } from '../lib/safe-fetch.js';
import type { ResolveBatchSource } from '../workers/batches/item.js';
import type { SourceImage } from '../workers/queues.js';
import { assetIdFor, type AssetStore } from './asset-store.js';
import { inspectImage } from './inspect-image.js';
import { EXTENSIONS } from '../lib/image-format.js';

export interface BatchSourceDeps {
  storage: ObjectStorage;
  assets: AssetStore;
  limits: { maxUploadBytes: number; maxInputPixels: number; maxInputFrames: number; decodeTimeoutSeconds: number };
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
      if (!asset) throw new AppError(404, 'NOT_FOUND', `Asset ${source.assetId} not found for this tenant.`);
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
      bytes = (await deps.storage.get(key)) ?? (await deps.storage.get(`${tenantPrefix(tenantId)}${deps.inboxFolder}-processed/${relative}`));
      if (!bytes) throw new AppError(404, 'NOT_FOUND', `No object at ${source.key} in this tenant's inbox.`);
      filename = path.posix.basename(key);
    }
    return storeOriginal(deps, tenantId, sku, bytes, filename);
  };
}

async function storeOriginal(deps: BatchSourceDeps, tenantId: string, sku: string, bytes: Buffer, filename: string): Promise<{ assetId: string; source: SourceImage }> {
  const { limits } = deps;
  if (bytes.length === 0) throw badInput('EMPTY_UPLOAD', 'The source is empty.');
  if (bytes.length > limits.maxUploadBytes) throw new AppError(413, 'UPLOAD_TOO_LARGE', `The source exceeds ${limits.maxUploadBytes} bytes.`, { maxBytes: limits.maxUploadBytes });
  const tempPath = path.join(tmpdir(), `batch-source-${randomUUID()}`);
  try {
    await writeFile(tempPath, bytes);
    const image = await inspectImage(tempPath, { maxPixels: limits.maxInputPixels, maxFrames: limits.maxInputFrames, decodeTimeoutSeconds: limits.decodeTimeoutSeconds });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = originalKey(tenantId, sha256, EXTENSIONS[image.format]);
    if (!(await deps.storage.head(key))) await deps.storage.put(key, bytes, { contentType: `image/${image.format}`, cacheControl: 'private, no-store' });
    const { asset } = await deps.assets.getOrCreate({
      id: assetIdFor(tenantId, sha256),
      tenantId,
      sku,
      original: { key, sha256, format: image.format, width: image.width, height: image.height, bytes: bytes.length, filename },
      createdAt: new Date().toISOString(),
    });
    return { assetId: asset.id, source: asset.original };
  } finally {
    await rm(tempPath, { force: true });
  }
}
