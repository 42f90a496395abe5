import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../cdn/fs-storage.js';
import { assetRecordKey } from '../cdn/keys.js';
import type { ObjectStorage } from '../cdn/storage.js';
import { createRedis } from '../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../test/harness.js';
import { assetIdFor, AssetStore, type AssetRecord } from './asset-store.js';

/** The asset store against a real disk bucket and real Redis (its index), each test on its own prefix. */
describe('AssetStore', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  let dir: string;
  let storage: ObjectStorage;
  let store: AssetStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'asset-store-'));
    storage = fsStorage({ root: dir });
    store = new AssetStore(storage, redis, prefix);
  });
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const record = (tenantId: string, n: number, sku?: string, at = new Date(clock++).toISOString()): AssetRecord => {
    const sha = n.toString(16).padStart(64, '0');
    return {
      id: assetIdFor(tenantId, sha),
      tenantId,
      ...(sku ? { sku } : {}),
      original: { key: `t/${tenantId}/originals/${sha}.jpg`, sha256: sha, format: 'jpeg', width: 10, height: 10, bytes: 1 },
      createdAt: at,
    };
  };
  /** Every asset id of a walk by cursor, page by page. */
  const walk = async (tenantId: string, limit: number, sku?: string) => {
    const pages: string[][] = [];
    let after;
    do {
      const page = await store.list(tenantId, { limit, ...(sku ? { sku } : {}), ...(after ? { after } : {}) });
      pages.push(page.items.map((a) => a.id));
      after = page.next;
    } while (after);
    return pages;
  };

  it('moves to the SKU a re-upload of the same bytes names, and keeps it when none is named', async () => {
    const sha = 'a'.repeat(64);
    const one = (sku?: string): AssetRecord => ({ ...record('tn_1', 0, sku), id: assetIdFor('tn_1', sha) });
    expect((await store.getOrCreate(one('OLD-1'))).asset.sku).toBe('OLD-1');
    const moved = await store.getOrCreate(one('NEW-1'));
    expect(moved).toMatchObject({ created: false, asset: { sku: 'NEW-1' } });
    expect((await store.get('tn_1', moved.asset.id))?.sku).toBe('NEW-1');
    expect((await store.getOrCreate(one())).asset.sku).toBe('NEW-1');
    // Listed by the SKU it holds, no longer by the one it left.
    expect((await store.list('tn_1', { sku: 'NEW-1', limit: 10 })).items.map((a) => a.id)).toEqual([moved.asset.id]);
    expect((await store.list('tn_1', { sku: 'OLD-1', limit: 10 })).items).toEqual([]);
  });

  it('walks every asset newest first by cursor, ties broken by id, the last page without a cursor', async () => {
    const same = new Date(clock++).toISOString();
    const made = [
      ...Array.from({ length: 5 }, (_, i) => record('tn_walk', i)),
      record('tn_walk', 10, undefined, same),
      record('tn_walk', 11, undefined, same),
    ];
    for (const r of made) await store.getOrCreate(r);
    const expected = [...made].sort((a, b) => (b.createdAt + b.id).localeCompare(a.createdAt + a.id)).map((a) => a.id);
    const pages = await walk('tn_walk', 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(expected);
  });

  it('neither repeats nor skips older assets when new ones arrive during a walk', async () => {
    for (let i = 0; i < 4; i++) await store.getOrCreate(record('tn_live', i));
    const first = await store.list('tn_live', { limit: 2 });
    for (let i = 10; i < 13; i++) await store.getOrCreate(record('tn_live', i));
    const rest = await store.list('tn_live', { limit: 10, after: first.next! });
    expect([...first.items, ...rest.items].map((a) => a.original.sha256.slice(-1))).toEqual(['3', '2', '1', '0']);
    expect(rest.next).toBeUndefined();
  });

  it('drops index entries whose asset was taken down or uploaded again, and fills the page past them', async () => {
    const assets = [0, 1, 2, 3].map((i) => record('tn_gone', i));
    for (const r of assets) await store.getOrCreate(r);
    await storage.delete(assetRecordKey('tn_gone', assets[2]!.id)); // taken down, index entry left behind
    const page = await store.list('tn_gone', { limit: 2 });
    expect(page.items.map((a) => a.id)).toEqual([assets[3]!.id, assets[1]!.id]);
    expect((await store.list('tn_gone', { limit: 10, after: page.next! })).items.map((a) => a.id)).toEqual([assets[0]!.id]);
    await store.unindex(assets[3]!);
    expect((await walk('tn_gone', 10)).flat()).toEqual([assets[1]!.id, assets[0]!.id]);
  });

  it('indexes the records already in the bucket the first time a tenant is listed', async () => {
    const old = [0, 1, 2].map((i) => record('tn_old', i, i === 1 ? 'SKU-OLD' : undefined));
    for (const r of old)
      await storage.put(assetRecordKey('tn_old', r.id), Buffer.from(JSON.stringify(r)), { contentType: 'application/json' });
    expect((await walk('tn_old', 2)).flat()).toEqual([old[2]!.id, old[1]!.id, old[0]!.id]);
    expect((await store.list('tn_old', { sku: 'SKU-OLD', limit: 5 })).items.map((a) => a.id)).toEqual([old[1]!.id]);
  });

  it("forgets a removed tenant's index, and a later list finds only what the bucket still holds", async () => {
    const kept = record('tn_drop', 0);
    const gone = record('tn_drop', 1);
    for (const r of [kept, gone]) await store.getOrCreate(r);
    await storage.delete(assetRecordKey('tn_drop', gone.id));
    await store.unindexTenant('tn_drop');
    expect(await redis.exists(`${prefix}:asset-index:tn_drop`)).toBe(0);
    expect((await walk('tn_drop', 5)).flat()).toEqual([kept.id]);
  });

  it("keeps each tenant's list its own", async () => {
    await store.getOrCreate(record('tn_a', 0, 'SHARED'));
    await store.getOrCreate(record('tn_b', 0, 'SHARED'));
    const a = await store.list('tn_a', { sku: 'SHARED', limit: 5 });
    expect(a.items.map((x) => x.tenantId)).toEqual(['tn_a']);
    // A position taken from tenant A's walk finds nothing of A's in B's list.
    expect(
      (await store.list('tn_b', { limit: 5, after: { createdAt: '9999-01-01T00:00:00.000Z', id: a.items[0]!.id } })).items.map(
        (x) => x.tenantId,
      ),
    ).toEqual(['tn_b']);
  });
});
