import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, jsonApi, REDIS_URL, startTestService, waitForRun, type TestService } from '../harness.js';

const MAX_LIVE = 2;

interface ListBody {
  experiments: Array<{ id: string; state: string }>;
  next_cursor: string | null;
}

/**
 * The experiments list pages by cursor like every list, and a tenant holds at most
 * MAX_LIVE_EXPERIMENTS_PER_TENANT experiments that are not stopped. The batch queue is paused
 * throughout: experiments stay `rendering` and nothing is rendered, so the test is fast and
 * every assertion is about state, none about timing.
 */
describe('experiments: pages and the per-tenant quota', () => {
  let service: TestService;
  let key: string;
  let redis: Redis;
  let batchQueue: Queue;
  const api = jsonApi(
    () => service,
    () => key,
  );
  const body = (name: string) => ({
    name,
    skus: ['QUOTA-1'],
    variants: [
      { id: 'control', control: true, recipe: { steps: [{ name: 'render', options: { widths: [32], formats: ['webp'] } }] } },
      { id: 'small', recipe: { steps: [{ name: 'render', options: { widths: [24], formats: ['webp'] } }] } },
    ],
  });
  const create = async (name: string) => {
    const res = await api('POST', '/v1/experiments', body(name));
    return { status: res.status, body: (await res.json()) as { id: string; state: string; error?: { code: string; details?: unknown } } };
  };
  const list = async (query = '') => {
    const res = await api('GET', `/v1/experiments${query}`);
    return { status: res.status, body: (await res.json()) as ListBody & { error?: { code: string } } };
  };

  beforeAll(async () => {
    service = await startTestService({ MAX_LIVE_EXPERIMENTS_PER_TENANT: String(MAX_LIVE) });
    ({ key } = await createTenant(service));
    redis = new Redis(REDIS_URL);
    batchQueue = new Queue('batch', { connection: redis, prefix: service.prefix });
    await batchQueue.pause();
    const form = new FormData();
    form.append('recipe', JSON.stringify({ steps: [{ name: 'render', options: { widths: [32], formats: ['webp'] } }] }));
    form.append('sku', 'QUOTA-1');
    const image = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    form.append('file', new Blob([image]), 'quota.png');
    const res = await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(202);
    const run = ((await res.json()) as { run: { id: string } }).run.id;
    expect((await waitForRun(service, key, run)).state).toBe('completed');
  });
  afterAll(async () => {
    await batchQueue?.resume();
    await batchQueue?.close();
    redis?.disconnect();
    await service?.stop();
  });

  it('refuses an experiment past MAX_LIVE_EXPERIMENTS_PER_TENANT with 422, creating nothing; a stopped one frees its place', async () => {
    const first = await create('one');
    const second = await create('two');
    expect([first.status, second.status]).toEqual([202, 202]);
    const queued = await batchQueue.getJobCountByTypes('wait');

    const refused = await create('three');
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'TOO_MANY_EXPERIMENTS', details: { limit: MAX_LIVE, active: MAX_LIVE } });
    expect((await list()).body.experiments.map((e) => e.id)).toEqual([second.body.id, first.body.id]);
    expect(await batchQueue.getJobCountByTypes('wait')).toBe(queued);

    expect((await api('POST', `/v1/experiments/${first.body.id}/stop`)).status).toBe(200);
    const third = await create('three');
    expect(third.status).toBe(202);
    expect((await create('four')).status).toBe(422);
  });

  it('pages newest first by an opaque cursor, and refuses a cursor or limit it did not give out', async () => {
    const all = (await list()).body;
    expect(all.experiments).toHaveLength(3);
    expect(all.next_cursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: ListBody } = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.experiments.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.experiments.map((e) => e.id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual(all.experiments.map((e) => e.id));

    const firstPage = (await list('?limit=1')).body;
    expect(firstPage.experiments.map((e) => e.id)).toEqual([all.experiments[0]!.id]);
    // A cursor of another tenant's list, a templates cursor or a forged one: 400; a limit out of range: 422.
    const other = await createTenant(service, 'Other shop');
    const foreign = await fetch(`${service.url}/v1/experiments?cursor=${firstPage.next_cursor}`, {
      headers: { authorization: `Bearer ${other.key}` },
    });
    expect(foreign.status).toBe(400);
    const templatesCursor = ((await (await api('GET', '/v1/templates?limit=1')).json()) as { next_cursor: string }).next_cursor;
    for (const query of [`?cursor=${templatesCursor}`, '?cursor=bm90LWEtY3Vyc29y']) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error?.code, query).toBe('BAD_REQUEST');
    }
    for (const query of ['?limit=0', '?limit=201']) expect((await list(query)).status, query).toBe(422);
  });
});
