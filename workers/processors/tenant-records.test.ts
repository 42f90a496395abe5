import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { tenantPrefix } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { createRedis } from '../../lib/redis.js';
import { assetIdFor, AssetStore } from '../../records/asset-store.js';
import { TenantDeletionStore } from '../../records/tenant-deletions.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import { processDeleteTenant, type TenantRecordsDeps } from './tenant-records.js';

/**
 * The tenant deletion job against a real disk bucket and Redis: a try that dies part-way (here the
 * bucket fails after a few deletes, as a crashed worker stops) leaves a state the next try finishes.
 */
describe('processDeleteTenant', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  let dir: string;
  let storage: ObjectStorage;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tenant-delete-'));
    storage = fsStorage({ root: dir });
  });
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  const objectsUnder = async (p: string) => {
    const keys: string[] = [];
    for await (const key of storage.list(p)) keys.push(key);
    return keys;
  };

  it('resumes after a try that failed part-way, removes everything of the tenant and nothing of another', async () => {
    const assets = new AssetStore(storage, redis, prefix);
    const deletions = new TenantDeletionStore(redis, prefix);
    for (const tenantId of ['tn_gone', 'tn_kept']) {
      for (let n = 0; n < 4; n++) {
        const sha = n.toString(16).padStart(64, '0');
        const original = `t/${tenantId}/originals/${sha}.jpg`;
        await storage.put(original, Buffer.from('jpeg'), { contentType: 'image/jpeg' });
        await assets.getOrCreate({
          id: assetIdFor(tenantId, sha),
          tenantId,
          original: { key: original, sha256: sha, format: 'jpeg', width: 1, height: 1, bytes: 4 },
          createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        });
      }
      await storage.put(`t/${tenantId}/tmp/run_1/0.png`, Buffer.from('png'), { contentType: 'image/png' });
    }
    const before = (await objectsUnder(tenantPrefix('tn_kept'))).sort();

    let deletesLeft = 3;
    const failing: ObjectStorage = {
      ...storage,
      delete: async (key) => {
        if (deletesLeft-- <= 0) throw new Error('bucket unreachable');
        return storage.delete(key);
      },
    };
    const removedRecords: string[] = [];
    const deps = (s: ObjectStorage): TenantRecordsDeps => ({
      assets,
      deletions,
      takedown: {
        storage: s,
        runs: { runIdsOfAsset: async () => [], get: async () => undefined, cancel: async () => undefined } as never,
        urlFor: (k) => k,
        purging: false,
        requestPurge: async () => undefined,
      },
      deleteTenantRecord: async (tenantId) => void removedRecords.push(tenantId),
    });

    await deletions.request('tn_gone', await deletions.get('tn_gone'));
    await expect(processDeleteTenant(deps(failing), 'tn_gone', { number: 1, last: false })).rejects.toThrow(/bucket unreachable/);
    expect(await deletions.get('tn_gone')).toMatchObject({
      state: 'running',
      attempts: 1,
      error: expect.stringMatching(/bucket unreachable/),
    });
    expect(removedRecords).toEqual([]); // the record goes last: not before everything else is gone
    expect((await objectsUnder(tenantPrefix('tn_gone'))).length).toBeGreaterThan(0);

    const result = await processDeleteTenant(deps(storage), 'tn_gone', { number: 2, last: false });
    expect(result.removed).toBeGreaterThan(0);
    expect(await objectsUnder(tenantPrefix('tn_gone'))).toEqual([]);
    expect(await redis.exists(`${prefix}:asset-index:tn_gone`)).toBe(0);
    expect(removedRecords).toEqual(['tn_gone']);
    expect(await deletions.get('tn_gone')).toMatchObject({ state: 'completed', attempts: 2 });
    expect((await objectsUnder(tenantPrefix('tn_kept'))).sort()).toEqual(before);

    // Repeated after completion (a job taken twice): nothing left to do, still completed.
    await processDeleteTenant(deps(storage), 'tn_gone', { number: 1, last: true });
    expect(await deletions.get('tn_gone')).toMatchObject({ state: 'completed' });
  });

  it('marks the deletion failed when the last try fails', async () => {
    const deletions = new TenantDeletionStore(redis, prefix);
    const assets = new AssetStore(storage, redis, prefix);
    await storage.put('t/tn_stuck/tmp/x.bin', Buffer.from('x'), { contentType: 'application/octet-stream' });
    const broken: ObjectStorage = { ...storage, delete: async () => Promise.reject(new Error('bucket unreachable')) };
    const deps: TenantRecordsDeps = {
      assets,
      deletions,
      takedown: { storage: broken, runs: {} as never, urlFor: (k) => k, purging: false, requestPurge: async () => undefined },
      deleteTenantRecord: async () => undefined,
    };
    await deletions.request('tn_stuck', await deletions.get('tn_stuck'));
    await expect(processDeleteTenant(deps, 'tn_stuck', { number: 10, last: true })).rejects.toThrow();
    expect(await deletions.get('tn_stuck')).toMatchObject({ state: 'failed', attempts: 10 });
    // A DELETE after a failure queues it again.
    expect(await deletions.request('tn_stuck', await deletions.get('tn_stuck'))).toMatchObject({ state: 'queued' });
  });
});
