import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdnInvalidator, PurgeRequest } from '../../cdn/invalidation/invalidator.js';
import { AppError } from '../../lib/errors.js';
import { PurgeOutbox } from '../purge-outbox.js';
import { RunStore } from '../run-store.js';
import { createMetrics } from '../../lib/metrics.js';
import { processPurge } from './purge.js';

/** The batching around a CDN driver, on real Redis; the driver is a recorder (drivers have their own suite). */
describe('processPurge', () => {
  const prefix = `test-${randomUUID()}`;
  let redis: Redis;
  let outbox: PurgeOutbox;
  let runs: RunStore;
  const metrics = createMetrics();

  beforeAll(async () => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    outbox = new PurgeOutbox(redis, prefix);
    runs = new RunStore(redis, prefix);
    for (const id of ['run_a', 'run_b', 'run_c']) {
      await runs.create({
        id,
        tenantId: 't1',
        assetId: 'a1',
        recipe: { steps: [{ name: 'render' }] },
        stepNames: ['render', 'publish'],
        createdAt: new Date().toISOString(),
      });
    }
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const recorder = (fail?: AppError) => {
    const sent: PurgeRequest[] = [];
    const invalidator: CdnInvalidator = {
      name: 'varnish',
      async purge(req) {
        sent.push(req);
        if (fail) throw fail;
        return { driver: 'varnish', purgedKeys: req.surrogateKeys.length, purgedUrls: req.urls.length, requests: 1 };
      },
    };
    return { sent, invalidator };
  };

  it('merges every waiting request into one de-duplicated purge and records it in each run', async () => {
    await outbox.push({ tenantId: 't1', assetId: 'a1', runId: 'run_a', keys: ['stable:t1/a1'], urls: ['http://cdn/x/1.jpg'] });
    await outbox.push({ tenantId: 't1', assetId: 'a1', runId: 'run_b', keys: ['stable:t1/a1'], urls: ['http://cdn/x/1.jpg'] });
    await outbox.push({ tenantId: 't1', assetId: 'a2', runId: 'run_c', keys: ['stable:t1/a2'], urls: [] });
    const { sent, invalidator } = recorder();
    await processPurge({ outbox, invalidator, runs, schedule: async () => {}, metrics }, { number: 1, last: false });
    expect(sent).toEqual([{ surrogateKeys: ['stable:t1/a1', 'stable:t1/a2'], urls: ['http://cdn/x/1.jpg'] }]);
    expect(await outbox.size()).toBe(0);
    for (const id of ['run_a', 'run_b', 'run_c']) {
      expect((await runs.get('t1', id))!.purge).toMatchObject({ state: 'completed', result: { driver: 'varnish' } });
    }
  });

  it('puts requests back on a retryable failure, and gives up on the last attempt', async () => {
    await outbox.push({ tenantId: 't1', assetId: 'a1', runId: 'run_a', keys: ['stable:t1/a1'], urls: [] });
    const down = recorder(new AppError('CDN_PURGE_FAILED', 'varnish: could not reach the CDN', { retryable: true }));
    await expect(
      processPurge({ outbox, invalidator: down.invalidator, runs, schedule: async () => {}, metrics }, { number: 1, last: false }),
    ).rejects.toThrow(/CDN_PURGE_FAILED/);
    expect(await outbox.size()).toBe(1);
    expect((await runs.get('t1', 'run_a'))!.purge).toMatchObject({ state: 'retrying', error: { code: 'CDN_PURGE_FAILED' } });
    await expect(
      processPurge({ outbox, invalidator: down.invalidator, runs, schedule: async () => {}, metrics }, { number: 2, last: true }),
    ).rejects.toThrow();
    expect(await outbox.size()).toBe(0);
    expect((await runs.get('t1', 'run_a'))!.purge).toMatchObject({ state: 'failed', attempts: 2 });
    expect(await metrics.registry.getSingleMetricAsString('cdn_purges_total')).toMatch(/outcome="failed"} 1/);
    // The render itself is untouched by the purge: the run has no error.
    expect((await runs.get('t1', 'run_a'))!.error).toBeUndefined();
  });

  it('does nothing when the outbox is empty', async () => {
    const { sent, invalidator } = recorder();
    expect(
      await processPurge({ outbox, invalidator, runs, schedule: async () => {}, metrics }, { number: 1, last: false }),
    ).toBeUndefined();
    expect(sent).toEqual([]);
  });
});
