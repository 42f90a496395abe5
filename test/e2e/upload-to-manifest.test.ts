import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type S3rverHandle } from '../s3rver.js';
import { createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';

interface ManifestBody {
  renditions: Array<{ url: string; width: number; height: number; format: string; bytes: number; contentType: string }>;
  srcset: Record<string, string>;
  picture: string;
  placeholder: { thumbhash: string };
  dominantColor: string;
}

const SHARP_FORMAT: Record<string, string> = { avif: 'heif', webp: 'webp', jpeg: 'jpeg' };

/**
 * The spine, end to end on real parts: real Redis and BullMQ flows, sandboxed render workers
 * running sharp, and an S3 protocol server (s3rver) as the bucket.
 */
describe('upload → queue → render → publish, on Redis and s3rver', () => {
  let s3: S3rverHandle;
  let service: TestService;
  let key: string;
  const coffee = readFile(fixture('coffee.png'));

  beforeAll(async () => {
    s3 = await startS3rver();
    const bucket = await s3.bucket();
    service = await startTestService(s3.serviceEnv(bucket));
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    await s3?.stop();
  });

  it('publishes a manifest whose every rendition exists, decodes and has the stated size and format', async () => {
    const res = await upload(service, key, await coffee, { filename: 'coffee.png', type: 'image/png' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      asset: { id: string; original: { width: number; height: number } };
      run: { id: string };
      reused: boolean;
    };
    expect(body.reused).toBe(false);
    expect(body.asset.original).toMatchObject({ width: 600, height: 400 });

    const run = await waitForRun(service, key, body.run.id);
    expect(run.error).toBeUndefined();
    expect(run.state).toBe('completed');
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ['render', 'completed'],
      ['publish', 'completed'],
    ]);
    expect(run.progress).toBe(100);

    const assetRes = await fetch(`${service.url}/v1/assets/${body.asset.id}`, { headers: { authorization: `Bearer ${key}` } });
    const asset = (await assetRes.json()) as { manifest: ManifestBody; manifestUrl: string };
    const manifest = asset.manifest;
    // 600 px wide source: 320 and 640→capped to 600; never upscaled.
    const widths = [...new Set(manifest.renditions.map((r) => r.width))].sort((a, b) => a - b);
    expect(widths).toEqual([320, 600]);
    expect(new Set(manifest.renditions.map((r) => r.format))).toEqual(new Set(['avif', 'webp', 'jpeg']));
    expect(manifest.renditions).toHaveLength(6);

    for (const rendition of manifest.renditions) {
      const fetched = await fetch(rendition.url);
      expect(fetched.status, rendition.url).toBe(200);
      expect(fetched.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const bytes = Buffer.from(await fetched.arrayBuffer());
      expect(bytes.length).toBe(rendition.bytes);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe(SHARP_FORMAT[rendition.format]);
      expect(meta.width).toBe(rendition.width);
      expect(meta.height).toBe(rendition.height);
      expect(meta.height).toBe(Math.round((rendition.width * 400) / 600));
      expect(meta.exif).toBeUndefined();
    }
    expect(manifest.srcset.avif).toMatch(/ 320w, .* 600w$/);
    expect(manifest.picture).toContain('<picture>');
    expect(manifest.placeholder.thumbhash.length).toBeGreaterThan(10);
    expect(manifest.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    const published = await fetch(asset.manifestUrl);
    expect(published.status).toBe(200);
  });

  it('reuses the stored original when the same bytes are uploaded again', async () => {
    const first = (await (await upload(service, key, await coffee)).json()) as { asset: { id: string }; run: { id: string } };
    const res = await upload(service, key, await coffee);
    expect(res.status).toBe(202);
    const second = (await res.json()) as { asset: { id: string }; run: { id: string }; reused: boolean };
    expect(second.reused).toBe(true);
    expect(second.asset.id).toBe(first.asset.id);
    expect((await waitForRun(service, key, second.run.id)).state).toBe('completed');
  });
});
