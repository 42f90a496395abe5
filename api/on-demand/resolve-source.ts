import { manifestKey, publicationPrefix, renditionMasterKey } from '../../cdn/keys.js';
import type { AssetManifest } from '../../cdn/manifest.js';
import { setIdOfKey, type OnDemandTarget } from '../../cdn/on-demand-url.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { AppError, notFound } from '../../lib/errors.js';
import { readAssetRecord } from '../../records/asset-store.js';

/** The stored image an on-demand URL names, and where its transforms live. */
export interface ResolvedSource {
  /** Object key of the source bytes: a set's lossless master, or the original. */
  key: string;
  /** Its version: the set id, or the original's sha256 (what a pinned URL names). */
  version: string;
  /** Where its transforms are stored (see `onDemandKey`). */
  owner: { setId: string } | { assetId: string };
}

/**
 * Find the source of `target`. Unpinned: the asset's current manifest (cut-out or channel), or its
 * original. Pinned: the named version, which must be one the asset published (its publication
 * marker, `published/set/<id>`) or its original's hash, so no URL can reach another asset's bytes.
 *
 * @throws AppError 404 `NOT_FOUND` for an unknown asset, an unpublished one, a channel it has not
 *   published, or a version it never had.
 */
export async function resolveSource(storage: ObjectStorage, target: OnDemandTarget): Promise<ResolvedSource> {
  const { tenantId, assetId, source, version } = target;
  if (source === 'original') {
    const record = await readAssetRecord(storage, tenantId, assetId);
    if (!record) throw notFound('Asset');
    if (version !== undefined && version !== record.original.sha256) throw notFound('Version');
    return { key: record.original.key, version: record.original.sha256, owner: { assetId } };
  }
  if (version !== undefined) {
    if (!(await storage.head(`${publicationPrefix(tenantId, assetId)}set/${version}`))) throw notFound('Version');
    return { key: renditionMasterKey(tenantId, version), version, owner: { setId: version } };
  }
  const stored = await storage.get(manifestKey(tenantId, assetId));
  if (!stored) throw notFound('Published asset');
  const manifest = JSON.parse(stored.toString('utf8')) as AssetManifest;
  const set = source === 'cutout' ? manifest : manifest.channels?.[source];
  if (!set) throw new AppError('NOT_FOUND', `Channel ${source} not found in the published manifest`);
  const setId = set.renditions[0] ? setIdOfKey(set.renditions[0].key) : undefined;
  if (!setId) throw notFound('Published asset');
  return { key: renditionMasterKey(tenantId, setId), version: setId, owner: { setId } };
}
