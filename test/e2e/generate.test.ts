import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../lib/redis.js';
import { TemplateUsage } from '../../workers/template-usage.js';
import { createTenant, fixture, jsonApi, REDIS_URL, startTestService, upload, waitForRun, type TestService } from '../harness.js';

interface Rendition {
  key: string;
  url: string;
  width: number;
  height: number;
  format: string;
}
interface ChannelBody {
  width: number;
  height: number;
  renditions: Rendition[];
  srcset: Record<string, string>;
  picture: string;
  latest: string;
}
interface ManifestBody {
  renditions: Rendition[];
  template?: { id: string; version: string };
  channels?: Record<string, ChannelBody>;
}

/** Template scenes through the whole service: upload, real ISNet cut-out, generate per channel, render, publish. */
describe('generate step', () => {
  let service: TestService;
  let key: string;
  let tenantId: string;
  let mug: Buffer;
  const api = jsonApi(
    () => service,
    () => key,
  );
  const manifestOf = async (assetId: string) =>
    ((await (await api('GET', `/v1/assets/${assetId}`)).json()) as { manifest: ManifestBody }).manifest;

  beforeAll(async () => {
    service = await startTestService();
    ({ key, tenantId } = await createTenant(service));
    // Small, so the suite stays fast: the layouts are made at channel size, the renditions at 160 px.
    mug = await sharp(await readFile(fixture('d02_mug_woodtable.png')))
      .resize(256)
      .png()
      .toBuffer();
  });
  afterAll(async () => service?.stop());

  it('remove-background → generate(marketplace-white, marketplace + instagram) → render publishes both channels', async () => {
    const recipe = {
      steps: [
        { name: 'remove-background', options: { model: 'small' } },
        { name: 'generate', options: { template: 'marketplace-white', channels: ['marketplace', 'instagram'] } },
        { name: 'render', options: { widths: [160], formats: ['webp', 'jpeg'] } },
      ],
    };
    const res = await upload(service, key, mug, { recipe, filename: 'mug.png' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    const run = await waitForRun(service, key, body.run.id, 180_000);
    expect(run.error, JSON.stringify(run)).toBeUndefined();
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ['remove-background', 'completed'],
      ['generate', 'completed'],
      ['render', 'completed'],
      ['publish', 'completed'],
    ]);

    const manifest = await manifestOf(body.asset.id);
    expect(manifest.template?.id).toBe('marketplace-white');
    expect(Object.keys(manifest.channels!)).toEqual(['marketplace', 'instagram']);
    const market = manifest.channels!.marketplace!;
    const insta = manifest.channels!.instagram!;
    expect(market.width / market.height).toBeCloseTo(1, 3);
    expect(insta.width / insta.height).toBeCloseTo(1080 / 1350, 3);
    for (const r of insta.renditions) expect(r.width / r.height).toBeCloseTo(0.8, 1);
    expect(insta.srcset.webp).toContain('160w');
    expect(insta.picture).toContain('<picture>');
    // The single-layout shape still holds: the top level is the first channel.
    expect(manifest.renditions.map((r) => r.key)).toEqual(market.renditions.map((r) => r.key));

    // Stable per-channel URLs, and the marketplace scene's border is pure white.
    const alias = await fetch(`${insta.latest}160.webp`);
    expect(alias.status).toBe(200);
    // Tagged with the template, so a template edit can purge every asset made with it.
    expect(alias.headers.get('surrogate-key')).toContain(`template:${tenantId}/marketplace-white`);
    const { info } = await sharp(Buffer.from(await alias.arrayBuffer())).toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([160, 200]);
    const jpeg = market.renditions.find((r) => r.format === 'jpeg')!;
    const pixels = await sharp(Buffer.from(await (await fetch(jpeg.url)).arrayBuffer()))
      .raw()
      .toBuffer();
    expect(Math.min(...pixels.subarray(0, 160 * 3))).toBeGreaterThan(250); // JPEG: near, not exactly, white

    // The asset is recorded against the template, for catalog re-renders.
    const redis = createRedis(REDIS_URL, 'test');
    try {
      const usage = new TemplateUsage(redis, service.prefix);
      expect(await usage.assetsUsingTemplate(tenantId, 'marketplace-white')).toEqual([body.asset.id]);
      expect(await usage.assetsUsingTemplate(tenantId, 'studio')).toEqual([]);
    } finally {
      await redis.quit();
    }
  }, 240_000);

  it('a template edit changes the rendition keys; an edit of another template does not', async () => {
    const base = { name: 'A', backdrop: { type: 'solid', colour: '#204060' }, layout: { fill: 0.6 }, channels: ['thumbnail'] };
    expect((await api('PUT', '/v1/templates/shop-a', base)).status).toBe(201);
    expect((await api('PUT', '/v1/templates/shop-b', { ...base, name: 'B' })).status).toBe(201);
    const photo = await sharp(mug).resize(96).jpeg().toBuffer();
    const first = (await (
      await upload(service, key, photo, {
        filename: 'small.jpg',
        recipe: { steps: [{ name: 'render', options: { widths: [64], formats: ['webp'] } }] },
      })
    ).json()) as { asset: { id: string }; run: { id: string } };
    await waitForRun(service, key, first.run.id);
    const keysAfterRun = async () => {
      const res = await api('POST', `/v1/assets/${first.asset.id}/runs`, {
        steps: [
          { name: 'generate', options: { template: 'shop-a' } },
          { name: 'render', options: { widths: [64], formats: ['webp'] } },
        ],
      });
      expect(res.status).toBe(202);
      const run = await waitForRun(service, key, ((await res.json()) as { id: string }).id);
      expect(run.error).toBeUndefined();
      return (await manifestOf(first.asset.id)).renditions.map((r) => r.key);
    };
    const original = await keysAfterRun();
    expect((await api('PUT', '/v1/templates/shop-b', { ...base, name: 'B', backdrop: { type: 'solid', colour: '#ff0000' } })).status).toBe(
      200,
    );
    expect(await keysAfterRun()).toEqual(original);
    expect((await api('PUT', '/v1/templates/shop-a', { ...base, backdrop: { type: 'solid', colour: '#204061' } })).status).toBe(200);
    const edited = await keysAfterRun();
    expect(edited).not.toEqual(original);
    expect(edited).toHaveLength(original.length);
  }, 120_000);

  it('refuses, before enqueueing, unknown templates, a generator template with no generator, bad params and oversized layouts', async () => {
    const asset = (await (await upload(service, key, await sharp(mug).resize(64).jpeg().toBuffer(), { filename: 'tiny.jpg' })).json()) as {
      asset: { id: string };
    };
    const runWith = (options: Record<string, unknown>) =>
      api('POST', `/v1/assets/${asset.asset.id}/runs`, { steps: [{ name: 'generate', options }, { name: 'render' }] });
    const codeOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string; message: string } }).error.code];

    expect(await codeOf(await runWith({ template: 'no-such-template' }))).toEqual([422, 'UNKNOWN_TEMPLATE']);
    expect(
      (await api('PUT', '/v1/templates/dreamy', { name: 'Dreamy', backdrop: { type: 'generator', params: { tint: 0.5 } } })).status,
    ).toBe(201);
    expect(await codeOf(await runWith({ template: 'dreamy' }))).toEqual([422, 'GENERATOR_NOT_CONFIGURED']);
    expect(await codeOf(await runWith({ template: 'studio', params: { padding: 0.55 } }))).toEqual([422, 'INVALID_TEMPLATE']);
    expect(await codeOf(await runWith({ template: 'studio', colourway: 'not-a-colour' }))).toEqual([422, 'INVALID_COLOUR']);
    expect(await codeOf(await runWith({ template: 'backplate' }))).toEqual([422, 'INVALID_TEMPLATE']);
    expect(await codeOf(await runWith({ template: 'backplate', params: { backplate: `ast_${'0'.repeat(32)}` } }))).toEqual([
      422,
      'INVALID_RECIPE',
    ]);
    expect(await codeOf(await runWith({ template: 'studio', channels: ['tiktok'] }))).toEqual([422, 'INVALID_RECIPE']);
    const misplaced = await api('POST', `/v1/assets/${asset.asset.id}/runs`, {
      steps: [{ name: 'generate', options: { template: 'studio' } }, { name: 'upscale', options: { factor: 2 } }, { name: 'render' }],
    });
    expect(await codeOf(misplaced)).toEqual([422, 'INVALID_RECIPE']);
  });
});

describe('generate step, output limit', () => {
  let service: TestService;
  afterAll(async () => service?.stop());

  it('refuses channel layouts over MAX_OUTPUT_PIXELS with 422 IMAGE_TOO_LARGE', async () => {
    service = await startTestService({ MAX_OUTPUT_PIXELS: '1000000' });
    const { key } = await createTenant(service);
    const photo = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const recipe = {
      steps: [{ name: 'generate', options: { template: 'studio', channels: ['thumbnail', 'marketplace'] } }, { name: 'render' }],
    };
    const res = await upload(service, key, photo, { filename: 'grey.jpg', recipe });
    expect(res.status).toBe(422);
    const error = ((await res.json()) as { error: { code: string; details: { channel: string } } }).error;
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.details.channel).toBe('marketplace');
    // The template's default channel (marketplace, 2000x2000) is checked too once resolved.
    const byDefault = await upload(service, key, photo, {
      filename: 'grey.jpg',
      recipe: { steps: [{ name: 'generate', options: { template: 'studio' } }, { name: 'render' }] },
    });
    expect(byDefault.status).toBe(422);
  });
});
