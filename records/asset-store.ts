import { createHash } from 'node:crypto';
import { assetRecordKey, tenantPrefix } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { fillPage, type Page } from '../lib/cursor.js';
import { AppError } from '../lib/errors.js';
import { safeFilename } from '../lib/filename.js';
import type { RedisConnection } from '../lib/redis.js';
import { AssetIndex, type AssetPosition } from './asset-index.js';

/** An uploaded original and what we know of it. Stored as JSON next to the asset's manifest. */
export interface AssetRecord {
  id: string;
  tenantId: string;
  /**
   * The merchant's SKU: its stable URLs live under `sku/<sku>/`. Set by the upload that names one;
   * a later upload of the same bytes naming another SKU moves the asset there (its next publish
   * removes its objects from the old SKU's URLs).
   */
  sku?: string;
  /** SKUs the asset was moved off: publishing no longer refreshes them and removes its files there. */
  releasedSkus?: string[];
  original: {
    key: string;
    sha256: string;
    format: string;
    width: number;
    height: number;
    bytes: number;
    filename?: string;
  };
  createdAt: string;
}

/** Same tenant + same bytes → same asset: a re-upload finds the asset (and original) it already has. */
export const assetIdFor = (tenantId: string, sha256: string) =>
  `ast_${createHash('sha256').update(`${tenantId}:${sha256}`).digest('hex').slice(0, 32)}`;

/**
 * Every way in (upload, URL ingest, inbox, catalog) and out (records written before names were
 * cleaned) passes here: the file name a client chose is stored and shown only as `safeFilename` makes it.
 */
function withSafeFilename(record: AssetRecord): AssetRecord {
  const { filename, ...original } = record.original;
  const safe = safeFilename(filename);
  return safe === filename ? record : { ...record, original: { ...original, ...(safe ? { filename: safe } : {}) } };
}

/**
 * Read one asset record from the bucket, its file name cleaned. The one reader: the store below,
 * and workers (publish, takedown) that need a record but not the list index.
 */
export async function readAssetRecord(storage: ObjectStorage, tenantId: string, assetId: string): Promise<AssetRecord | undefined> {
  if (!/^ast_[0-9a-f]{32}$/.test(assetId)) return undefined;
  const raw = await storage.get(assetRecordKey(tenantId, assetId));
  return raw ? withSafeFilename(JSON.parse(raw.toString('utf8')) as AssetRecord) : undefined;
}

/**
 * Objects under a tenant's `assets/` a list request may walk to rebuild a lost index itself: a
 * walk of 1 000 fs or S3 keys (one S3 list page) plus a read per record stays well under a second;
 * a larger tenant is rebuilt in the background (`ASSET_INDEX_INLINE_REBUILD_KEYS` overrides it).
 */
export const DEFAULT_INLINE_REBUILD_KEYS = 1000;

/** How {@link AssetStore} rebuilds a tenant's index that Redis lost. */
export interface AssetStoreOptions {
  /**
   * Queue a background rebuild of the tenant's index ({@link AssetStore.rebuildIndex}), one per
   * tenant at a time: calls while one waits or runs add nothing. Absent (processes that list no
   * assets for clients, tests), a list rebuilds within the call whatever the tenant's size.
   */
  scheduleIndexRebuild?: (tenantId: string) => Promise<void>;
  /** See {@link DEFAULT_INLINE_REBUILD_KEYS}. */
  inlineRebuildKeys?: number;
}

/**
 * Asset records live in object storage (the source of truth), under the tenant's prefix; a Redis
 * index (records/asset-index.ts) lists them newest first and by SKU.
 */
export class AssetStore {
  private readonly index: AssetIndex;

  constructor(
    private readonly storage: ObjectStorage,
    redis: RedisConnection,
    prefix: string,
    private readonly options: AssetStoreOptions = {},
  ) {
    this.index = new AssetIndex(redis, prefix);
  }

  get(tenantId: string, assetId: string): Promise<AssetRecord | undefined> {
    return readAssetRecord(this.storage, tenantId, assetId);
  }

  /**
   * Return the existing record for these bytes, or write `record` and return it. An upload that
   * names a SKU other than the stored one moves the asset to it; one that names none keeps it.
   */
  async getOrCreate(given: AssetRecord): Promise<{ asset: AssetRecord; created: boolean }> {
    const record = withSafeFilename(given);
    const existing = await this.get(record.tenantId, record.id);
    if (existing && (record.sku === undefined || record.sku === existing.sku)) {
      // Indexed again (idempotent): an upload that failed after writing the record is retried this way.
      await this.index.add(existing);
      return { asset: existing, created: false };
    }
    const asset = existing ? moveSku(existing, record.sku!) : record;
    await this.write(asset);
    await this.index.add(asset, existing?.sku);
    return { asset, created: !existing };
  }

  /**
   * One page of the tenant's assets, newest first (creation time, then id), of one SKU when `sku`
   * is given. The index is checked against the records as the page is read: an entry whose asset
   * is gone, was uploaded again, or moved to another SKU is dropped, so a page never shows it.
   * While a large tenant's lost index is rebuilt in the background, 503 ASSET_INDEX_BUILDING.
   */
  async list(tenantId: string, query: { sku?: string; after?: AssetPosition; limit: number }): Promise<Page<AssetRecord, AssetPosition>> {
    if (!(await this.index.isBuilt(tenantId))) await this.indexOrSchedule(tenantId);
    const { sku } = query;
    return fillPage({
      limit: query.limit,
      after: query.after,
      positions: (after, count) => this.index.positions(tenantId, sku, after, count),
      load: (positions) => Promise.all(positions.map((at) => this.current(tenantId, at, sku))),
    });
  }

  /** Remove a taken-down asset from the lists (call with the record read before the takedown). */
  async unindex(asset: AssetRecord): Promise<void> {
    await this.index.remove(asset.tenantId, asset, { all: true, skus: asset.sku !== undefined ? [asset.sku] : [] });
  }

  /** Forget a removed tenant's index. */
  async unindexTenant(tenantId: string): Promise<void> {
    await this.index.drop(tenantId);
  }

  private async current(tenantId: string, at: AssetPosition, sku: string | undefined): Promise<AssetRecord | undefined> {
    const record = await this.get(tenantId, at.id);
    if (record && record.createdAt === at.createdAt && (sku === undefined || record.sku === sku)) return record;
    await this.index.remove(tenantId, at, sku === undefined ? { all: true } : { all: false, skus: [sku] });
    return undefined;
  }

  /**
   * A list found no index: rebuild it here when the tenant's `assets/` holds no more than the
   * inline limit of objects (a new tenant holds none), else queue the background rebuild and
   * refuse the list with 503 until it is done, so no request walks a whole large tenant.
   */
  private async indexOrSchedule(tenantId: string): Promise<void> {
    const schedule = this.options.scheduleIndexRebuild;
    const limit = schedule ? (this.options.inlineRebuildKeys ?? DEFAULT_INLINE_REBUILD_KEYS) : Infinity;
    const keys: string[] = [];
    for await (const key of this.storage.list(assetsFolder(tenantId))) {
      keys.push(key);
      if (keys.length > limit) break;
    }
    if (!schedule || keys.length <= limit) {
      await this.indexKeys(tenantId, keys);
      await this.index.markBuilt(tenantId);
      return;
    }
    await schedule(tenantId);
    throw new AppError(
      'ASSET_INDEX_BUILDING',
      `This tenant's asset list is being rebuilt from storage (it holds more than ${limit} objects); retry after Retry-After seconds.`,
      { inlineRebuildKeys: limit },
    );
  }

  /**
   * Index every asset record under the tenant's prefix, then mark the index built: the background
   * rebuild after a new deployment or a Redis that lost the index. Records written meanwhile index
   * themselves; adding one twice is harmless, so a retried or repeated rebuild is too.
   */
  async rebuildIndex(tenantId: string): Promise<void> {
    const keys: string[] = [];
    for await (const key of this.storage.list(assetsFolder(tenantId))) {
      keys.push(key);
      if (keys.length >= REBUILD_BATCH) await this.indexKeys(tenantId, keys.splice(0));
    }
    await this.indexKeys(tenantId, keys);
    await this.index.markBuilt(tenantId);
  }

  /** Index the records among these keys (`assets/<id>/asset.json`; other objects are skipped). */
  private async indexKeys(tenantId: string, keys: readonly string[]): Promise<void> {
    const folder = assetsFolder(tenantId);
    for (const key of keys) {
      const [id = '', file, ...rest] = key.slice(folder.length).split('/');
      if (file !== 'asset.json' || rest.length) continue;
      const record = await this.get(tenantId, id);
      if (record) await this.index.add(record);
    }
  }

  private async write(record: AssetRecord): Promise<void> {
    await this.storage.put(assetRecordKey(record.tenantId, record.id), Buffer.from(JSON.stringify(record, null, 2)), {
      contentType: 'application/json',
      cacheControl: 'private, no-store',
    });
  }
}

/** Keys a background rebuild holds at once before indexing them: memory stays flat on any tenant. */
const REBUILD_BATCH = 1000;

const assetsFolder = (tenantId: string) => `${tenantPrefix(tenantId)}assets/`;

/** The asset under `sku`, its previous SKU released (and `sku` no longer released, if it was). */
function moveSku(asset: AssetRecord, sku: string): AssetRecord {
  const released = [...(asset.releasedSkus ?? []), ...(asset.sku ? [asset.sku] : [])].filter((s) => s !== sku);
  const { releasedSkus: _old, ...rest } = asset;
  return { ...rest, sku, ...(released.length ? { releasedSkus: [...new Set(released)] } : {}) };
}
