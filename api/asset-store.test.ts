import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../cdn/fs-storage.js';
import { assetIdFor, AssetStore, type AssetRecord } from './asset-store.js';

describe('AssetStore: the SKU an asset publishes under', () => {
  let dir: string;
  let store: AssetStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'asset-store-'));
    store = new AssetStore(fsStorage({ root: dir }));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const sha = 'a'.repeat(64);
  const record = (sku?: string): AssetRecord => ({
    id: assetIdFor('tn_1', sha), tenantId: 'tn_1', ...(sku ? { sku } : {}),
    original: { key: `t/tn_1/originals/${sha}.jpg`, sha256: sha, format: 'jpeg', width: 10, height: 10, bytes: 1 },
    createdAt: new Date().toISOString(),
  });

  it('moves to the SKU a re-upload of the same bytes names, and keeps it when none is named', async () => {
    expect((await store.getOrCreate(record('OLD-1'))).asset.sku).toBe('OLD-1');
    const moved = await store.getOrCreate(record('NEW-1'));
    expect(moved).toMatchObject({ created: false, asset: { sku: 'NEW-1' } });
    expect((await store.get('tn_1', moved.asset.id))?.sku).toBe('NEW-1');
    expect((await store.getOrCreate(record())).asset.sku).toBe('NEW-1');
  });
});
