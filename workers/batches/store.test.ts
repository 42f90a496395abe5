import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createRedis } from '../../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import { BatchStore } from './store.js';

const prefix = `test-${randomUUID()}`;
const redis = createRedis(REDIS_URL, 'batch-store-test');
const store = new BatchStore(redis, prefix);
afterEach(() => vi.useRealTimers());
afterAll(async () => {
  await deleteKeys(`${prefix}:*`);
  await redis.quit();
});

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Only Date is faked: Redis calls keep their real timers. */
const at = (ms: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0 + ms);
};

/** A running batch of `n` waiting items, created at T0. */
async function batchOf(n: number): Promise<string> {
  const id = `bat_${randomUUID().replaceAll('-', '')}`;
  at(0);
  await store.create({ id, tenantId: 'ten_1', createdAt: new Date().toISOString(), origin: 'api', state: 'running' });
  const lines = Array.from({ length: n }, (_, i) => String(i + 1));
  await redis
    .multi()
    .hset(store.key(id, 'state'), Object.fromEntries(lines.map((l) => [l, 'waiting'])))
    .sadd(store.key(id, 'waiting'), ...lines)
    .hset(store.key(id, 'n'), 'total', n, 'waiting', n)
    .exec();
  return id;
}

/** Run items one after another: the first starts at `startMs`, each takes `eachMs`. */
async function runItems(id: string, lines: number[], startMs: number, eachMs: number): Promise<void> {
  for (const [i, line] of lines.entries()) {
    at(startMs + i * eachMs);
    await store.transition(id, line, ['waiting'], 'active');
    at(startMs + (i + 1) * eachMs);
    await store.transition(id, line, ['active'], 'completed');
  }
}

const statusAt = async (id: string, ms: number) => {
  at(ms);
  return store.status((await store.meta(id))!);
};

describe('batch status figures', () => {
  it('counts throughput from the batch start (its first item start) to its end, frozen at completion', async () => {
    const id = await batchOf(4);
    // Submitted at T0, the first item starts 10 s later (the queue was busy); 4 items × 3 s.
    await runItems(id, [1, 2, 3, 4], 10_000, 3000);
    at(22_000);
    expect(await store.markFinished(id)).toBe(true);
    // 4 items over 12 s = 20/min, at the end and a minute later alike.
    expect((await statusAt(id, 22_000)).throughputPerMinute).toBe(20);
    expect((await statusAt(id, 82_000)).throughputPerMinute).toBe(20);
    expect((await statusAt(id, 82_000)).etaSeconds).toBe(0);
  });

  it('takes the ETA from the recent pace', async () => {
    const id = await batchOf(40);
    // 10 slow items (2 s each), then 20 fast ones (0.5 s each): the pace now is 2/s.
    await runItems(
      id,
      Array.from({ length: 10 }, (_, i) => i + 1),
      0,
      2000,
    );
    await runItems(
      id,
      Array.from({ length: 20 }, (_, i) => i + 11),
      20_000,
      500,
    );
    const status = await statusAt(id, 30_000);
    expect(status.counts).toMatchObject({ completed: 30, waiting: 10 });
    expect(status.throughputPerMinute).toBe(60);
    expect(status.etaSeconds).toBe(5);
  });
});

describe('reading an item with its batch', () => {
  it('answers in one round trip what meta and item answer apart', async () => {
    const id = await batchOf(2);
    await redis.hset(store.key(id, 'items'), '1', JSON.stringify({ sku: 'SKU-1', source: 'ast_1' }));
    await store.transition(id, 1, ['waiting'], 'active');
    await store.setResult(id, 1, { runId: 'run_1', assetId: 'ast_1' });
    for (const line of [1, 2]) {
      expect(await store.itemAndMeta(id, line)).toEqual({ meta: await store.meta(id), ...(await store.item(id, line)) });
    }
    expect(await store.itemAndMeta(id, 1)).toMatchObject({ meta: { id, state: 'running' }, item: { sku: 'SKU-1' }, state: 'active' });
    expect(await store.itemAndMeta('bat_unknown', 1)).toEqual({ meta: undefined, item: {}, state: undefined, result: {} });
  });
});
