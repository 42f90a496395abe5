import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStorage } from '../../cdn/fs-storage.js';
import { renditionKey } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { SURROGATE_KEY_METADATA } from '../../cdn/surrogate-keys.js';
import { createRedis } from '../../lib/redis.js';
import { deleteKeys, REDIS_URL } from '../../test/harness.js';
import type { AssetManifest } from '../../cdn/manifest.js';
import type { RenderResult } from '../catalogue.js';
import type { PurgeRequestEntry } from '../purge-outbox.js';
import { RunStore } from '../run-store.js';
import { TemplateUsage } from '../template-usage.js';
import { processPublish, type PublishDeps } from './publish.js';
import { assetIdFor, AssetStore } from '../../records/asset-store.js';

/**
 * The publish step against a real disk bucket and real Redis: the stable namespace mirrors the
 * manifest after every publish, SKU moves and claims, a crash between writing and removing, and a
 * cancelled run.
 */
describe('publish keeps stable URLs an exact mirror of the manifest', () => {
  const prefix = `test-${randomUUID()}`;
  const redis = createRedis(REDIS_URL, 'test');
  const runs = new RunStore(redis, prefix);
  let dir: string;
  let storage: ObjectStorage;
  const purges: PurgeRequestEntry[] = [];
  const T = 'tn_pub';
  let seq = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'publish-test-'));
    storage = fsStorage({ root: dir });
  });
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  const deps = (store: ObjectStorage = storage): PublishDeps => ({
    storage: store,
    runs,
    templateUsage: new TemplateUsage(redis, prefix),
    urlFor: (k) => `https://cdn.test/${k}`,
    imgix: undefined,
    purging: true,
    requestPurge: async (p) => void purges.push(p),
  });

  /** Store a rendition set (bytes tagged by `tag`) and return the render result naming it. */
  async function renderedSet(tag: string, widths: number[], formats: Array<'avif' | 'webp' | 'jpeg'>): Promise<RenderResult> {
    const setId = (seq++).toString(16).padStart(64, 'a');
    const renditions = [];
    for (const width of widths) {
      for (const format of formats) {
        const key = renditionKey(T, setId, width, format);
        await storage.put(key, Buffer.from(`${tag} ${width} ${format}`), { contentType: 'image/x-test' });
        renditions.push({ key, width, height: width, format, bytes: 10 });
      }
    }
    return { setId, width: 1000, height: 1000, hasAlpha: false, thumbhash: 'AAAA', dominantColor: '#808080', renditions };
  }

  async function publish(assetId: string, render: RenderResult, sku?: string, store?: ObjectStorage) {
    const runId = `run_${randomUUID().replaceAll('-', '')}`;
    await runs.create({
      id: runId,
      tenantId: T,
      assetId,
      recipe: { steps: [] } as never,
      stepNames: ['render', 'publish'],
      createdAt: new Date().toISOString(),
    });
    const data = {
      tenantId: T,
      assetId,
      runId,
      stepIndex: 1,
      source: {
        key: `t/${T}/originals/${'0'.repeat(64)}.jpg`,
        sha256: '0'.repeat(64),
        width: 1000,
        height: 1000,
        format: 'jpeg',
        bytes: 1,
      },
      ...(sku ? { sku } : {}),
    };
    return { runId, run: () => processPublish({ getChildrenValues: async () => ({ render }) as never }, data, deps(store)) };
  }

  async function list(p: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of storage.list(`t/${T}/${p}`)) out.push(k.slice(`t/${T}/${p}`.length));
    return out.sort();
  }

  it('removes and purges what a re-render no longer lists (widths [200,259] all formats, then 200 webp)', async () => {
    const asset = 'ast_seen';
    await (await publish(asset, await renderedSet('v1', [200, 259], ['avif', 'webp', 'jpeg']), 'SEEN-1')).run();
    expect(await list(`assets/${asset}/latest/`)).toHaveLength(6);
    purges.length = 0;

    await (await publish(asset, await renderedSet('v2', [200], ['webp']), 'SEEN-1')).run();
    expect(await list(`assets/${asset}/latest/`)).toEqual(['200.webp']);
    expect(await list('sku/SEEN-1/')).toEqual(['200.webp']);
    expect((await storage.get(`t/${T}/sku/SEEN-1/200.webp`))!.toString()).toBe('v2 200 webp');
    const urls = purges.flatMap((p) => p.urls);
    for (const gone of ['200.jpg', '200.avif', '259.jpg', '259.webp', '259.avif']) {
      expect(urls).toContain(`https://cdn.test/t/${T}/assets/${asset}/latest/${gone}`);
      expect(urls).toContain(`https://cdn.test/t/${T}/sku/SEEN-1/${gone}`);
    }
  });

  it('moves an asset off the SKU an upload moved it from: the old SKU URLs stop serving it and are purged', async () => {
    const assets = new AssetStore(storage, redis, prefix);
    const sha = 'b'.repeat(64);
    const record = (sku: string) => ({
      id: assetIdFor(T, sha),
      tenantId: T,
      sku,
      original: { key: 'k', sha256: sha, format: 'jpeg', width: 1, height: 1, bytes: 1 },
      createdAt: '',
    });
    const asset = (await assets.getOrCreate(record('OLD-1'))).asset.id;
    await (await publish(asset, await renderedSet('m1', [200], ['jpeg']), 'OLD-1')).run();
    expect(await list('sku/OLD-1/')).toEqual(['200.jpg']);
    purges.length = 0;
    await assets.getOrCreate(record('NEW-1'));
    await (await publish(asset, await renderedSet('m2', [200], ['jpeg']), 'NEW-1')).run();
    expect(await list('sku/OLD-1/')).toEqual([]);
    expect(await list('sku/NEW-1/')).toEqual(['200.jpg']);
    expect(purges[0]!.keys).toEqual(expect.arrayContaining([`stable-sku:${T}/OLD-1`, `stable-sku:${T}/NEW-1`]));
    expect(purges[0]!.urls).toContain(`https://cdn.test/t/${T}/sku/OLD-1/200.jpg`);
  });

  it('keeps each SKU a catalog published one photo under as its own line left it', async () => {
    const asset = 'ast_variants';
    await (await publish(asset, await renderedSet('red', [200, 400], ['jpeg']), 'VAR-RED')).run();
    await (await publish(asset, await renderedSet('blue', [200], ['webp']), 'VAR-BLUE')).run();
    expect(await list('sku/VAR-RED/')).toEqual(['200.jpg', '400.jpg']);
    expect(await list('sku/VAR-BLUE/')).toEqual(['200.webp']);
    expect(await list(`assets/${asset}/latest/`)).toEqual(['200.webp']);
    // A re-render under one SKU mirrors that SKU only.
    await (await publish(asset, await renderedSet('blue2', [300], ['jpeg']), 'VAR-BLUE')).run();
    expect(await list('sku/VAR-BLUE/')).toEqual(['300.jpg']);
    expect((await storage.get(`t/${T}/sku/VAR-RED/400.jpg`))!.toString()).toBe('red 400 jpeg');
  });

  it('lets the latest publish own a SKU two assets claim; the one that leaves does not remove the other', async () => {
    await (await publish('ast_a', await renderedSet('a', [200, 400], ['jpeg']), 'SHARED-1')).run();
    await (await publish('ast_b', await renderedSet('b', [200], ['jpeg']), 'SHARED-1')).run();
    expect(await list('sku/SHARED-1/')).toEqual(['200.jpg']);
    const meta = await storage.head(`t/${T}/sku/SHARED-1/200.jpg`);
    expect(meta?.metadata?.[SURROGATE_KEY_METADATA]).toContain(`asset:${T}/ast_b`);
    // A moves to another SKU: B's objects under SHARED-1 stay.
    await (await publish('ast_a', await renderedSet('a2', [200], ['jpeg']), 'OTHER-1')).run();
    expect((await storage.get(`t/${T}/sku/SHARED-1/200.jpg`))!.toString()).toBe('b 200 jpeg');
  });

  it('a crash between writing new stable objects and removing stale ones is repaired by the retry', async () => {
    const asset = 'ast_crash';
    await (await publish(asset, await renderedSet('c1', [200, 259], ['webp', 'jpeg']), 'CRASH-1')).run();
    // The worker "dies" at its first removal: every new object is written, nothing stale removed yet.
    const dying: ObjectStorage = {
      ...storage,
      name: storage.name,
      delete: async () => {
        throw new Error('killed');
      },
    };
    const render = await renderedSet('c2', [200], ['webp']);
    await expect((await publish(asset, render, 'CRASH-1', dying)).run()).rejects.toThrow(/killed/);
    expect(await list(`assets/${asset}/latest/`)).toEqual(['200.jpg', '200.webp', '259.jpg', '259.webp']);
    // The job's retry (the same render result) repairs the namespace.
    await (await publish(asset, render, 'CRASH-1')).run();
    expect(await list(`assets/${asset}/latest/`)).toEqual(['200.webp']);
    expect(await list('sku/CRASH-1/')).toEqual(['200.webp']);
  });

  it("offers on-demand URLs with the tenant's settings: the result pinned to its master, the original to its sha256", async () => {
    const render = { ...(await renderedSet('od', [200], ['webp'])), master: { key: '', width: 1000, height: 750 } };
    render.master.key = `t/${T}/r/${render.setId}/master.png`;
    const { runId } = await publish('ast_od', render);
    const asked: string[] = [];
    const onDemand = async (tenantId: string) => (asked.push(tenantId), { baseUrl: 'https://img.test', widths: [100, 500, 2000] });
    const data = {
      tenantId: T,
      assetId: 'ast_od',
      runId,
      stepIndex: 1,
      source: { key: 'k', sha256: 'e'.repeat(64), width: 1000, height: 750, format: 'jpeg', bytes: 1 },
    };
    const out = await processPublish({ getChildrenValues: async () => ({ render }) as never }, data, { ...deps(), onDemand });
    const manifest = JSON.parse((await storage.get(out.manifestKey))!.toString()) as AssetManifest;
    expect(asked).toEqual([T]);
    expect(manifest.onDemand?.base).toBe(`https://img.test/img/${T}/ast_od/cutout@${render.setId}`);
    expect(manifest.onDemand?.widths).toEqual([100, 500]);
    expect(manifest.source.onDemand).toBe(`https://img.test/img/${T}/ast_od/original@${'e'.repeat(64)}`);
    // Without settings the manifest keeps its pre-rendered shape only.
    const plain = await processPublish({ getChildrenValues: async () => ({ render }) as never }, data, deps());
    expect('onDemand' in (JSON.parse((await storage.get(plain.manifestKey))!.toString()) as AssetManifest)).toBe(false);
  });

  it('a cancelled run publishes nothing', async () => {
    const { runId, run } = await publish('ast_cancelled', await renderedSet('x', [200], ['jpeg']), 'CANCEL-1');
    await runs.cancel(runId);
    await expect(run()).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await list('assets/ast_cancelled/')).toEqual([]);
    expect((await runs.get(T, runId))?.state).toBe('cancelled');
  });
});

describe('imgix URLs in the manifest', () => {
  it('point at the published master of the result, never at the original', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'publish-imgix-'));
    const prefix = `test-${randomUUID()}`;
    const redis = createRedis(REDIS_URL, 'test');
    try {
      const storage = fsStorage({ root: dir });
      const runs = new RunStore(redis, prefix);
      const T = 'tn_imgix';
      const setId = 'e'.repeat(64);
      const key = renditionKey(T, setId, 200, 'jpeg');
      await storage.put(key, Buffer.from('x'), { contentType: 'image/jpeg' });
      const master = { key: `t/${T}/r/${setId}/master.png`, width: 800, height: 600 };
      const render: RenderResult = {
        setId,
        width: 800,
        height: 600,
        hasAlpha: true,
        thumbhash: 'AAAA',
        dominantColor: '#808080',
        renditions: [{ key, width: 200, height: 150, format: 'jpeg', bytes: 1 }],
        master,
      };
      await runs.create({
        id: 'run_imgix',
        tenantId: T,
        assetId: 'ast_i',
        recipe: { steps: [] } as never,
        stepNames: ['publish'],
        createdAt: new Date().toISOString(),
      });
      const original = `t/${T}/originals/${'0'.repeat(64)}.jpg`;
      const out = await processPublish(
        { getChildrenValues: async () => ({ render }) as never },
        {
          tenantId: T,
          assetId: 'ast_i',
          runId: 'run_imgix',
          stepIndex: 0,
          source: { key: original, sha256: '0'.repeat(64), width: 800, height: 600, format: 'jpeg', bytes: 1 },
        },
        {
          storage,
          runs,
          templateUsage: new TemplateUsage(redis, prefix),
          urlFor: (k) => k,
          imgix: { domain: 'shop.imgix.net', secureToken: undefined },
          purging: false,
          requestPurge: async () => undefined,
        },
      );
      const manifest = JSON.parse((await storage.get(out.manifestKey))!.toString()) as { imgix: { url: string; srcset: string } };
      expect(manifest.imgix.url).toBe(`https://shop.imgix.net/${master.key}?auto=format%2Ccompress&w=200`);
      expect(JSON.stringify(manifest)).not.toContain('originals/');
    } finally {
      await deleteKeys(`${prefix}:*`);
      await redis.quit();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
