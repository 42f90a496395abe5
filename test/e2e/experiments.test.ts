import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant, cutPoints } from '../../lib/experiment-assignment.js';
import { createTenant, fixture, jsonApi, REDIS_URL, startTestService, waitForBatch, waitForRun, type TestService } from '../harness.js';

interface ExperimentBody {
  id: string;
  state: string;
  batchId: string;
  skus: Array<{ sku: string; assetId: string; url: string; srcset: Record<string, string> }>;
  promoted?: { variant: string; batchId: string | null; queued: number; unchanged: number };
}

const shop = {
  name: 'Shop',
  description: 'Flat shop colour',
  backdrop: { type: 'solid', colour: '#203040' },
  layout: { fill: 0.8, padding: 0.05, anchor: { x: 0.5, y: 0.5 }, trim: true },
};
const recipe = (params?: Record<string, unknown>) => ({
  steps: [
    { name: 'generate', options: { template: 'shop', ...(params ? { params } : {}) } },
    { name: 'render', options: { widths: [96], formats: ['webp'] } },
  ],
});
const WARM = { colour: '#aa5500' };

/**
 * Creative experiments end to end, without a CDN: variants rendered as a catalog batch (no stable
 * URL changes), the origin's per-visitor answer, idempotent measurement, results, promotion.
 */
describe('creative experiments', () => {
  let service: TestService;
  let key: string;
  let tenantId: string;
  const api = jsonApi(
    () => service,
    () => key,
  );
  const publish = async (bytes: Buffer, sku: string, params?: Record<string, unknown>) => {
    const form = new FormData();
    form.append('recipe', JSON.stringify(recipe(params)));
    form.append('sku', sku);
    form.append('file', new Blob([bytes]), `${sku}.png`);
    const res = await fetch(`${service.url}/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    expect((await waitForRun(service, key, body.run.id)).state).toBe('completed');
    return body.asset.id;
  };
  const runIdOf = async (assetId: string) =>
    ((await (await api('GET', `/v1/assets/${assetId}`)).json()) as { manifest: { runId: string } }).manifest.runId;
  const experimentBody = (overrides: Record<string, unknown> = {}) => ({
    name: 'Warm backdrop',
    skus: ['MUG-A', 'MUG-B'],
    variants: [
      { id: 'control', control: true, recipe: recipe() },
      { id: 'warm', weight: 1, recipe: recipe(WARM) },
    ],
    ...overrides,
  });

  beforeAll(async () => {
    service = await startTestService();
    ({ key, tenantId } = await createTenant(service));
    expect((await api('PUT', '/v1/templates/shop', shop)).status).toBe(201);
  });
  afterAll(async () => service?.stop());

  it('refuses bad experiments with a clear error, and creates nothing', async () => {
    const five = Array.from({ length: 5 }, (_, i) => ({ id: `v${i}`, control: i === 0, recipe: recipe() }));
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ variants: five }, 422],
      [
        {
          variants: [
            { id: 'a', control: true, recipe: recipe() },
            { id: 'b', control: true, recipe: recipe() },
          ],
        },
        422,
      ],
      [
        {
          variants: [
            { id: 'a', control: true, recipe: recipe() },
            { id: 'a', recipe: recipe() },
          ],
        },
        422,
      ],
      [
        {
          variants: [
            { id: 'a', control: true, recipe: recipe() },
            { id: 'b', template: 'nope' },
          ],
        },
        422,
      ],
      [{ skus: Array.from({ length: 101 }, (_, i) => `S${i}`) }, 422],
      [{ skus: ['NO-SUCH-SKU'] }, 404],
    ];
    for (const [body, status] of cases) {
      const res = await api('POST', '/v1/experiments', experimentBody(body));
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBeTruthy();
    }
    expect(((await (await api('GET', '/v1/experiments')).json()) as { experiments: unknown[] }).experiments).toEqual([]);
  });

  it('renders variants without touching stable URLs, splits by visitor, counts once, and promotes only what changes', async () => {
    const photo = await sharp(await readFile(fixture('coffee.png')))
      .resize(128)
      .png()
      .toBuffer();
    const a = await publish(photo, 'MUG-A');
    const b = await publish(await sharp(photo).flop().png().toBuffer(), 'MUG-B', WARM);
    const stableBefore = await (await fetch(`${service.url}/files/t/${tenantId}/sku/MUG-A/96.webp`)).arrayBuffer();
    const runsBefore = { a: await runIdOf(a), b: await runIdOf(b) };

    const created = await api('POST', '/v1/experiments', experimentBody());
    expect(created.status).toBe(202);
    const experiment = (await created.json()) as ExperimentBody;
    expect(experiment.state).toBe('rendering');
    expect((await waitForBatch(service, key, experiment.batchId)).counts).toMatchObject({ total: 4, completed: 4, failed: 0 });
    const live = (await (await api('GET', `/v1/experiments/${experiment.id}`)).json()) as ExperimentBody;
    expect(live.state).toBe('live');
    expect(live.skus[0]!.srcset.webp).toMatch(/\/x\/exp_[0-9a-f]{32}\/MUG-A\/96\.webp 96w$/);
    // Variants are renditions only: the SKUs' stable URLs and manifests are as they were.
    expect({ a: await runIdOf(a), b: await runIdOf(b) }).toEqual(runsBefore);
    expect(Buffer.from(await (await fetch(`${service.url}/files/t/${tenantId}/sku/MUG-A/96.webp`)).arrayBuffer())).toEqual(
      Buffer.from(stableBefore),
    );

    // The <picture> snippet names the stable experiment URLs, never a variant's own.
    const picture = await api('GET', `/v1/experiments/${experiment.id}/picture?sku=MUG-A&loading=eager`);
    expect(picture.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await picture.text();
    expect(html).toContain(`${live.skus[0]!.url}96.webp 96w`);
    expect(html).toContain('fetchpriority="high"');
    expect(html).not.toContain('/r/');
    expect((await api('GET', `/v1/experiments/${experiment.id}/picture?sku=OTHER`)).status).toBe(404);

    // The origin answers the stable experiment URL per visitor, as the assignment function says.
    const url = `${live.skus[0]!.url}96.webp`;
    const cuts = cutPoints([1, 1]);
    const seen = new Set<string>();
    // Three visitors of each variant: six fixed names all fell in one variant once in 32 runs
    // (the experiment id, and so the split, is new each run).
    const candidates = Array.from({ length: 200 }, (_, i) => `v-${i + 1}`);
    const visitors = [0, 1].flatMap((variant) => candidates.filter((v) => assignVariant(experiment.id, v, cuts) === variant).slice(0, 3));
    expect(visitors).toHaveLength(6);
    for (const visitor of visitors) {
      const expected = ['control', 'warm'][assignVariant(experiment.id, visitor, cuts)!];
      for (let i = 0; i < 2; i++) {
        const res = await fetch(url, { headers: { 'x-visitor-id': visitor } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/webp');
        expect(res.headers.get('cache-control')).toBe('private, max-age=60');
        expect(res.headers.get('x-experiment-variant')).toBe(expected);
        seen.add(res.headers.get('x-experiment-variant')!);
        await res.arrayBuffer();
      }
    }
    expect(seen).toEqual(new Set(['control', 'warm']));
    expect((await fetch(url)).headers.get('x-experiment-variant')).toBe('control');
    expect((await fetch(`${live.skus[0]!.url}97.webp`)).status).toBe(404);

    // Measurement: an impression and a conversion count once per visitor and event.
    const impress = (visitor: string) =>
      fetch(`${service.url}/v1/experiments/${experiment.id}/impressions`, { method: 'POST', headers: { 'x-visitor-id': visitor } });
    const impressed = await impress('v-1');
    const first = (await impressed.json()) as { counted: boolean; variant: string };
    expect(impressed.status, JSON.stringify(first)).toBe(200);
    expect(first.counted).toBe(true);
    expect(((await (await impress('v-1')).json()) as { counted: boolean }).counted).toBe(false);
    const pixel = await fetch(`${service.url}/v1/experiments/${experiment.id}/impression.gif?visitorId=v-2&event=page-9`);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect(pixel.headers.get('x-experiment-counted')).toBe('true');
    const convert = (visitorId: string, event = 'order-1') =>
      api('POST', `/v1/experiments/${experiment.id}/conversions`, { visitorId, event, value: 20 });
    expect(await (await convert('v-1')).json()).toMatchObject({ counted: true, reason: 'counted' });
    expect(await (await convert('v-1')).json()).toMatchObject({ counted: false, reason: 'repeat' });
    expect(await (await convert('never-seen')).json()).toMatchObject({ counted: false, reason: 'unseen' });
    const results = (await (await api('GET', `/v1/experiments/${experiment.id}/results`)).json()) as {
      verdict: string;
      variants: Array<{ id: string; visitors: number; converters: number; conversions: number; impressions: number; value: number }>;
    };
    expect(results.verdict).toBe('insufficient-data');
    const variantOf = (visitor: string) => ['control', 'warm'][assignVariant(experiment.id, visitor, cuts)!]!;
    expect(first.variant).toBe(variantOf('v-1'));
    for (const v of results.variants) {
      const visitors = ['v-1', 'v-2'].filter((visitor) => variantOf(visitor) === v.id).length;
      const converted = v.id === variantOf('v-1') ? 1 : 0;
      expect(v).toMatchObject({ impressions: visitors, visitors, conversions: converted, converters: converted, value: 20 * converted });
    }

    // Pause and stop are state changes with conflicts refused.
    expect((await api('POST', `/v1/experiments/${experiment.id}/pause`)).status).toBe(200);
    expect((await fetch(url, { headers: { 'x-visitor-id': 'v-2' } })).headers.get('x-experiment-variant')).toBe('control');
    expect((await api('POST', `/v1/experiments/${experiment.id}/pause`)).status).toBe(409);
    expect((await api('POST', `/v1/experiments/${experiment.id}/resume`)).status).toBe(200);

    // Promote "warm": MUG-B already shows it, so only MUG-A's stable URLs are re-rendered.
    const promoted = (await (await api('POST', `/v1/experiments/${experiment.id}/promote`, { variant: 'warm' })).json()) as ExperimentBody;
    expect(promoted).toMatchObject({ state: 'stopped', promoted: { variant: 'warm', queued: 1, unchanged: 1 } });
    expect((await waitForBatch(service, key, promoted.promoted!.batchId!)).counts).toMatchObject({ completed: 1, failed: 0 });
    expect(await runIdOf(a)).not.toBe(runsBefore.a);
    expect(await runIdOf(b)).toBe(runsBefore.b);
    expect((await api('POST', `/v1/experiments/${experiment.id}/promote`, { variant: 'warm' })).status).toBe(409);

    // Stopped while rendering: its batch is cancelled, and its URLs answer nothing. The batch queue is
    // paused first (BullMQ's own pause), so no line can start, let alone finish, before the stop,
    // however fast the machine.
    const redis = new Redis(REDIS_URL);
    const batchQueue = new Queue('batch', { connection: redis, prefix: service.prefix });
    const held = () => batchQueue.getJobCountByTypes('wait');
    await batchQueue.pause();
    try {
      const early = (await (await api('POST', '/v1/experiments', experimentBody({ options: { widths: [80] } }))).json()) as ExperimentBody;
      expect(await held()).toBe(4);
      const stopped = (await (await api('POST', `/v1/experiments/${early.id}/stop`)).json()) as ExperimentBody;
      expect(stopped.state).toBe('stopped');
      expect((await waitForBatch(service, key, early.batchId)).counts).toMatchObject({ total: 4, cancelled: 4, completed: 0 });
      expect(await held()).toBe(0);
      expect((await fetch(`${stopped.skus[0]!.url}80.webp`)).status).toBe(404);
    } finally {
      await batchQueue.resume();
      await batchQueue.close();
      redis.disconnect();
    }
  }, 240_000);
});
