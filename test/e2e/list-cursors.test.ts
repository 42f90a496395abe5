import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetStore, assetIdFor, type AssetRecord } from '../../records/asset-store.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../api/pagination.js';
import { TemplateStore } from '../../records/template-store.js';
import { TenantStore } from '../../api/tenants.js';
import { createStorage } from '../../cdn/create-storage.js';
import { BatchStore } from '../../workers/batches/store.js';
import { deliveryIdFor, WebhookStore } from '../../workers/webhooks/store.js';
import { ADMIN_KEY, createTenant, fixture, REDIS_URL, startTestService, type TestService } from '../harness.js';

/** More than one full page of the largest size: every walk needs a cursor to reach its end. */
const MANY = MAX_PAGE_LIMIT + 5;

interface ListBody {
  next_cursor: string | null;
  [list: string]: unknown;
}

/**
 * Every list endpoint walked to its end by cursor against a real service and Redis: more items
 * than the largest page, seeded through the stores the service itself uses (uploading or
 * submitting hundreds of items through the pipeline would only slow the suite), plus real uploads
 * where the API's own writes matter (the SKU lookup, a takedown).
 */
describe('lists walk to their end by cursor', () => {
  let service: TestService;
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };
  let redis: Redis;
  let assets: AssetStore;
  let fish: Buffer;

  beforeAll(async () => {
    // No workers: runs stay queued, which is all a list needs.
    service = await startTestService({ WORKER_QUEUES: '' });
    [a, b] = await Promise.all([createTenant(service, 'A'), createTenant(service, 'B')]);
    redis = new Redis(REDIS_URL);
    assets = new AssetStore(createStorage(service.config.cdn), redis, service.prefix);
    fish = await readFile(fixture('HappyFish.jpg'));
  });
  afterAll(async () => {
    redis?.disconnect();
    await service?.stop();
  });

  const get = (key: string, path: string) => fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const getJson = async (key: string, path: string): Promise<ListBody> => {
    const res = await get(key, path);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as ListBody;
  };

  /** Follow `next_cursor` from `path` to the end; the ids of each page. */
  async function walk(key: string, path: string, list: string, between?: () => Promise<void>): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const body = await getJson(key, cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
      pages.push((body[list] as Array<{ id?: string; keyId?: string }>).map((x) => (x.id ?? x.keyId)!));
      cursor = body.next_cursor;
      if (pages.length === 1) await between?.();
    } while (cursor);
    return pages;
  }

  const seededAsset = (tenantId: string, n: number, createdAt: string): AssetRecord => {
    const sha = `${n.toString(16).padStart(8, '0')}${'e'.repeat(56)}`;
    return {
      id: assetIdFor(tenantId, sha),
      tenantId,
      original: { key: `t/${tenantId}/originals/${sha}.jpg`, sha256: sha, format: 'jpeg', width: 1, height: 1, bytes: 1 },
      createdAt,
    };
  };

  async function uploadWithSku(key: string, bytes: Buffer, sku: string): Promise<string> {
    const form = new FormData();
    form.append('recipe', JSON.stringify({ steps: [{ name: 'render', options: { widths: [32], formats: ['jpeg'] } }] }));
    form.append('sku', sku);
    form.append('file', new Blob([bytes]), 'fish.jpg');
    const res = await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status, await res.clone().text()).toBe(202);
    return ((await res.json()) as { asset: { id: string } }).asset.id;
  }

  it('GET /v1/assets: every asset once, newest first, while new ones arrive; by SKU; a takedown leaves the list', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const seeded = Array.from({ length: MANY }, (_, i) => seededAsset(a.tenantId, i, new Date(t0 + Math.floor(i / 3)).toISOString()));
    for (const record of seeded) await assets.getOrCreate(record);
    const uploaded = await uploadWithSku(a.key, fish, 'FISH-1');
    const expected = [uploaded, ...[...seeded].sort((x, y) => (y.createdAt + y.id).localeCompare(x.createdAt + x.id)).map((r) => r.id)];

    const pages = await walk(a.key, `/v1/assets?limit=${MAX_PAGE_LIMIT}`, 'assets', async () => {
      for (let i = 0; i < 3; i++) await assets.getOrCreate(seededAsset(a.tenantId, 10_000 + i, new Date().toISOString()));
    });
    expect(pages.map((p) => p.length)).toEqual([MAX_PAGE_LIMIT, MANY + 1 - MAX_PAGE_LIMIT]);
    expect(pages.flat()).toEqual(expected);

    const bySku = await getJson(a.key, '/v1/assets?sku=FISH-1');
    expect(bySku).toMatchObject({ assets: [{ id: uploaded, sku: 'FISH-1' }], next_cursor: null });
    expect((bySku.assets as Array<Record<string, unknown>>)[0]!.original).not.toHaveProperty('key');
    expect((await getJson(b.key, '/v1/assets?sku=FISH-1')).assets).toEqual([]);

    expect(
      (await fetch(`${service.url}/v1/assets/${uploaded}`, { method: 'DELETE', headers: { authorization: `Bearer ${a.key}` } })).status,
    ).toBe(204);
    expect((await getJson(a.key, '/v1/assets?sku=FISH-1')).assets).toEqual([]);
    expect(((await getJson(a.key, '/v1/assets?limit=1')).assets as Array<{ id: string }>)[0]!.id).not.toBe(uploaded);
  });

  it(`GET /v1/batches: every batch once, newest first (${MANY} batches)`, async () => {
    const store = new BatchStore(redis, service.prefix);
    const t0 = Date.parse('2026-02-01T00:00:00.000Z');
    const ids: string[] = [];
    for (let i = 0; i < MANY; i++) {
      const meta = {
        id: `bat_${i.toString(16).padStart(32, '0')}`,
        tenantId: a.tenantId,
        createdAt: new Date(t0 + Math.floor(i / 4)).toISOString(),
        origin: 'api',
        state: 'running' as const,
      };
      await store.create(meta);
      await store.publish(meta, 0);
      ids.push(meta.id);
    }
    // Creation time descending, then id descending among batches of the same millisecond.
    const expected = [...ids].reverse();
    const pages = await walk(a.key, `/v1/batches?limit=${MAX_PAGE_LIMIT}`, 'batches');
    expect(pages.map((p) => p.length)).toEqual([MAX_PAGE_LIMIT, MANY - MAX_PAGE_LIMIT]);
    expect(pages.flat()).toEqual(expected);
    expect((await walk(b.key, '/v1/batches', 'batches')).flat()).toEqual([]);
  });

  it(`GET /v1/webhooks and /v1/webhooks/:id/deliveries: every one once (${MANY} each), new deliveries during the walk neither repeated nor shifting it`, async () => {
    const store = new WebhookStore(redis, service.prefix);
    const subs = [];
    for (let i = 0; i < MANY; i++)
      subs.push(
        await store.create({ tenantId: a.tenantId, url: `https://hooks.example/${i}`, events: ['run.completed'], secret: 'whsec_x' }),
      );
    const subPages = await walk(a.key, `/v1/webhooks?limit=${MAX_PAGE_LIMIT}`, 'webhooks');
    expect(subPages.map((p) => p.length)).toEqual([MAX_PAGE_LIMIT, MANY - MAX_PAGE_LIMIT]);
    expect(subPages.flat().sort()).toEqual(subs.map((s) => s.id).sort());

    const sub = subs[0]!;
    const deliver = async (n: number) => {
      const id = deliveryIdFor(sub.id, `evt_${n}`);
      const now = new Date().toISOString();
      await store.createDelivery({
        id,
        subscriptionId: sub.id,
        tenantId: a.tenantId,
        eventId: `evt_${n}`,
        type: 'run.completed',
        body: '{}',
        state: 'delivered',
        attempts: 1,
        createdAt: now,
        updatedAt: now,
        replays: 0,
        log: [],
      });
      return id;
    };
    const made: string[] = [];
    for (let i = 0; i < MANY; i++) made.push(await deliver(i));
    const pages = await walk(a.key, `/v1/webhooks/${sub.id}/deliveries?limit=${MAX_PAGE_LIMIT}`, 'deliveries', async () => {
      for (let i = 0; i < 3; i++) await deliver(10_000 + i);
    });
    expect(pages.map((p) => p.length)).toEqual([MAX_PAGE_LIMIT, MANY - MAX_PAGE_LIMIT]);
    expect(pages.flat()).toEqual([...made].reverse());
    expect((await getJson(a.key, `/v1/webhooks/${sub.id}/deliveries`)).deliveries).toHaveLength(DEFAULT_PAGE_LIMIT);
  });

  it(`GET /v1/templates and /v1/tenants/:id/keys: every one once (${MANY} of the tenant's own each)`, async () => {
    const templates = new TemplateStore(redis, service.prefix, 10 * MANY);
    const [builtin] = await templates.list(a.tenantId);
    for (let i = 0; i < MANY; i++) {
      const id = `own-${String(i).padStart(3, '0')}`;
      await templates.put(a.tenantId, id, { ...builtin!.template, id, name: `Own ${i}` });
    }
    const all = (await templates.list(a.tenantId)).map((t) => t.template.id).sort();
    expect(all.length).toBeGreaterThan(MANY);
    const templatePages = await walk(a.key, `/v1/templates?limit=${MAX_PAGE_LIMIT}`, 'templates');
    expect(templatePages[0]).toHaveLength(MAX_PAGE_LIMIT);
    expect(templatePages.flat()).toEqual(all);

    const tenants = new TenantStore(redis, service.prefix);
    for (let i = 0; i < MANY; i++) await tenants.createKey(b.tenantId);
    const keyPages = await walk(ADMIN_KEY, `/v1/tenants/${b.tenantId}/keys?limit=${MAX_PAGE_LIMIT}`, 'keys');
    expect(keyPages.map((p) => p.length)).toEqual([MAX_PAGE_LIMIT, MANY + 1 - MAX_PAGE_LIMIT]); // and the key createTenant issued
    expect(new Set(keyPages.flat()).size).toBe(MANY + 1);
  });

  it(`pages hold ${DEFAULT_PAGE_LIMIT} items unless asked, at most ${MAX_PAGE_LIMIT}; a malformed, foreign or other-tenant cursor is a 400 problem`, async () => {
    const first = await getJson(a.key, '/v1/assets');
    expect(first.assets).toHaveLength(DEFAULT_PAGE_LIMIT);
    const cursor = first.next_cursor!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);

    // A `limit` out of range is a schema failure, 422 like every other.
    for (const path of [`/v1/assets?limit=${MAX_PAGE_LIMIT + 1}`, '/v1/assets?limit=0', '/v1/batches?limit=abc']) {
      const res = await get(a.key, path);
      expect(res.status, path).toBe(422);
      const body = (await res.json()) as { code: string; details: unknown };
      expect(body.code, path).toBe('INVALID_REQUEST');
      expect(JSON.stringify(body.details), path).toContain('limit');
    }
    const subId = ((await getJson(a.key, '/v1/webhooks?limit=1')).webhooks as Array<{ id: string }>)[0]!.id;
    const refused = [
      [a.key, '/v1/assets?cursor=not-a-cursor'],
      [a.key, '/v1/assets?cursor='],
      [a.key, `/v1/assets?cursor=${'A'.repeat(600)}`],
      [a.key, `/v1/assets?cursor=${Buffer.from('{"v":1}').toString('base64url')}`],
      [a.key, `/v1/assets?sku=OTHER&cursor=${cursor}`], // made for the list of all assets
      [a.key, `/v1/batches?cursor=${cursor}`], // made for another list
      [a.key, `/v1/webhooks/${subId}/deliveries?cursor=${cursor}`],
      [b.key, `/v1/assets?cursor=${cursor}`], // tenant A's, used by tenant B
    ] as const;
    for (const [key, path] of refused) {
      const res = await get(key, path);
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toMatchObject({
        status: 400,
        code: 'BAD_REQUEST',
        detail: expect.any(String),
        details: { parameter: 'cursor' },
      });
    }
  });
});
