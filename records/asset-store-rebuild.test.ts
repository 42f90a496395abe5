import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../cdn/fs-storage.js';
import { assetRecordKey } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { AppError } from '../lib/errors.js';
import { createRedis } from '../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { assetIdFor, AssetStore, type AssetRecord } from './asset-store.js';

/**
 * A tenant's index missing from Redis (a new deployment, a Redis lost): a small tenant is indexed
 * within the list request, a large one in the background while the list answers 503.
 */
describe('AssetStore: rebuilding a lost index', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  const INLINE_KEYS = 3;
  let dir: string;
  let storage: ObjectStorage;
  let store: AssetStore;
  const scheduled: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'asset-rebuild-'));
    storage = fsStorage({ root: dir });
    store = new AssetStore(storage, redis, prefix, {
      inlineRebuildKeys: INLINE_KEYS,
      scheduleIndexRebuild: async (tenantId) => void scheduled.push(tenantId),
    });
  });
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const record = (tenantId: string, n: number): AssetRecord => {
    const sha = n.toString(16).padStart(64, '0');
    return {
      id: assetIdFor(tenantId, sha),
      tenantId,
      original: { key: `t/${tenantId}/originals/${sha}.jpg`, sha256: sha, format: 'jpeg', width: 10, height: 10, bytes: 1 },
      createdAt: new Date(clock++).toISOString(),
    };
  };
  /** Records in the bucket and no index in Redis, as after a Redis loss. */
  async function stored(tenantId: string, count: number): Promise<AssetRecord[]> {
    const made = Array.from({ length: count }, (_, i) => record(tenantId, i));
    for (const r of made)
      await storage.put(assetRecordKey(tenantId, r.id), Buffer.from(JSON.stringify(r)), { contentType: 'application/json' });
    await store.unindexTenant(tenantId);
    return made;
  }
  const newestFirst = (made: AssetRecord[]) => [...made].reverse().map((r) => r.id);

  it('indexes a tenant with no more than the inline limit of objects within the list call', async () => {
    const made = await stored('tn_small', INLINE_KEYS);
    expect((await store.list('tn_small', { limit: 10 })).items.map((a) => a.id)).toEqual(newestFirst(made));
    expect(scheduled).not.toContain('tn_small');
  });

  it('hands a larger tenant to the background rebuild and answers 503 ASSET_INDEX_BUILDING until it is done', async () => {
    const made = await stored('tn_large', INLINE_KEYS + 2);
    const refused = await store.list('tn_large', { limit: 10 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ status: 503, code: 'ASSET_INDEX_BUILDING' });
    // Every list meanwhile asks again; the scheduler coalesces them (one rebuild per tenant).
    await expect(store.list('tn_large', { limit: 10 })).rejects.toMatchObject({ code: 'ASSET_INDEX_BUILDING' });
    expect(scheduled.filter((t) => t === 'tn_large')).toHaveLength(2);

    await store.rebuildIndex('tn_large');
    expect((await store.list('tn_large', { limit: 10 })).items.map((a) => a.id)).toEqual(newestFirst(made));
  });

  it('a rebuild is idempotent and keeps assets written while it ran', async () => {
    const made = await stored('tn_again', INLINE_KEYS + 1);
    const during = record('tn_again', 99);
    await Promise.all([store.rebuildIndex('tn_again'), store.getOrCreate(during)]);
    await store.rebuildIndex('tn_again');
    expect((await store.list('tn_again', { limit: 10 })).items.map((a) => a.id)).toEqual([during.id, ...newestFirst(made)]);
  });
});
