import { createHash } from 'node:crypto';
import { assetRecordKey } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { safeFilename } from '../lib/filename.js';

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

/** Asset records live in object storage (the source of truth), under the tenant's prefix. */
export class AssetStore {
  constructor(private readonly storage: ObjectStorage) {}

  async get(tenantId: string, assetId: string): Promise<AssetRecord | undefined> {
    if (!/^ast_[0-9a-f]{32}$/.test(assetId)) return undefined;
    const raw = await this.storage.get(assetRecordKey(tenantId, assetId));
    return raw ? withSafeFilename(JSON.parse(raw.toString('utf8')) as AssetRecord) : undefined;
  }

  /**
   * Return the existing record for these bytes, or write `record` and return it. An upload that
   * names a SKU other than the stored one moves the asset to it; one that names none keeps it.
   */
  async getOrCreate(given: AssetRecord): Promise<{ asset: AssetRecord; created: boolean }> {
    const record = withSafeFilename(given);
    const existing = await this.get(record.tenantId, record.id);
    if (existing && (record.sku === undefined || record.sku === existing.sku)) return { asset: existing, created: false };
    const asset = existing ? moveSku(existing, record.sku!) : record;
    await this.write(asset);
    return { asset, created: !existing };
  }

  private async write(record: AssetRecord): Promise<void> {
    await this.storage.put(assetRecordKey(record.tenantId, record.id), Buffer.from(JSON.stringify(record, null, 2)), {
      contentType: 'application/json',
      cacheControl: 'private, no-store',
    });
  }
}

/** The asset under `sku`, its previous SKU released (and `sku` no longer released, if it was). */
function moveSku(asset: AssetRecord, sku: string): AssetRecord {
  const released = [...(asset.releasedSkus ?? []), ...(asset.sku ? [asset.sku] : [])].filter((s) => s !== sku);
  const { releasedSkus: _old, ...rest } = asset;
  return { ...rest, sku, ...(released.length ? { releasedSkus: [...new Set(released)] } : {}) };
}
