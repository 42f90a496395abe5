import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage } from '../../cdn/create-storage.js';
import { assetRecordKey } from '../../cdn/keys.js';
import { assetIdFor, AssetStore, type AssetRecord } from '../../records/asset-store.js';
import { createQueues } from '../../workers/queues.js';
import { scheduleAssetIndexRebuild } from '../../workers/tenant-jobs.js';
import { createTenant, REDIS_URL, startTestService, type TestService } from '../harness.js';

const INLINE_KEYS = 3;

/**
 * A large tenant's asset index lost from Redis (a deployment, a Redis restored without it): the
 * first `GET /v1/assets` no longer walks the bucket inside the request. It answers 503
 * ASSET_INDEX_BUILDING with Retry-After while a publish worker rebuilds the index, one job per
 * tenant however many lists ask, then the list is whole.
 */
describe('GET /v1/assets while a lost index is rebuilt', () => {
  let service: TestService;
  let redis: Redis;

  beforeAll(async () => {
    service = await startTestService({ ASSET_INDEX_INLINE_REBUILD_KEYS: String(INLINE_KEYS), WORKER_QUEUES: 'publish' });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await service?.stop();
  });

  /** Records in the bucket, the tenant's index gone from Redis. */
  async function storedWithoutIndex(tenantId: string, count: number): Promise<AssetRecord[]> {
    const storage = createStorage(service.config.cdn);
    const made = Array.from({ length: count }, (_, n) => {
      const sha = `${n.toString(16).padStart(8, '0')}${'c'.repeat(56)}`;
      const record: AssetRecord = {
        id: assetIdFor(tenantId, sha),
        tenantId,
        original: { key: `t/${tenantId}/originals/${sha}.jpg`, sha256: sha, format: 'jpeg', width: 1, height: 1, bytes: 1 },
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
      };
      return record;
    });
    for (const r of made)
      await storage.put(assetRecordKey(tenantId, r.id), Buffer.from(JSON.stringify(r)), { contentType: 'application/json' });
    await new AssetStore(storage, redis, service.prefix).unindexTenant(tenantId);
    return made;
  }

  it('answers 503 ASSET_INDEX_BUILDING with Retry-After, then the whole list once the background rebuild is done', async () => {
    const { tenantId, key } = await createTenant(service, 'Large');
    const made = await storedWithoutIndex(tenantId, INLINE_KEYS + 3);
    const list = () => fetch(`${service.url}/v1/assets?limit=50`, { headers: { authorization: `Bearer ${key}` } });

    const first = await list();
    expect(first.status).toBe(503);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await first.json()) as { code: string }).code).toBe('ASSET_INDEX_BUILDING');

    let answer = first;
    for (let i = 0; i < 100 && answer.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await list();
    }
    expect(answer.status).toBe(200);
    const ids = ((await answer.json()) as { assets: Array<{ id: string }> }).assets.map((a) => a.id);
    expect(ids).toEqual([...made].reverse().map((r) => r.id));
  });

  it('a small tenant is indexed within the request, as before', async () => {
    const { tenantId, key } = await createTenant(service, 'Small');
    const made = await storedWithoutIndex(tenantId, INLINE_KEYS);
    const res = await fetch(`${service.url}/v1/assets`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { assets: unknown[] }).assets).toHaveLength(made.length);
  });

  it('coalesces rebuild requests: one job per tenant while one waits', async () => {
    // Queues of their own prefix and no worker, so the job stays waiting and can be counted.
    const prefix = `${service.prefix}-coalesce`;
    const queues = createQueues(redis, prefix);
    try {
      await Promise.all(Array.from({ length: 5 }, () => scheduleAssetIndexRebuild(queues, 'tn_busy')));
      await scheduleAssetIndexRebuild(queues, 'tn_other');
      const waiting = await queues.queues.publish.getJobs(['wait']);
      expect(
        waiting
          .map((j) => j.data as { tenantId: string })
          .map((d) => d.tenantId)
          .sort(),
      ).toEqual(['tn_busy', 'tn_other']);
    } finally {
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
  });
});
