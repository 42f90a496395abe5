import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadChecks } from '../../api/upload-checks.js';
import { countKeys, createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Accepted = { asset: { id: string; original: { width: number; height: number } }; run: { id: string } };

/** A flat grey PNG of any size: a few KB even at 81 MP, made here rather than kept in git. */
const flatPng = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#c8c8c8' } })
    .png({ compressionLevel: 9 })
    .toBuffer();

describe("tall and wide images against the encoders' limits (AVIF 16384 px, WebP 16383, JPEG 65500)", () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    service = await startTestService({ WORKER_QUEUES: 'render,publish' });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('renders an 800x17000 infographic in every format, narrowed so that no side passes 16383 px', async () => {
    const res = await upload(service, key, await flatPng(800, 17_000), {
      type: 'image/png',
      recipe: { steps: [{ name: 'render', options: { widths: [320, 2560] } }] },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Accepted;
    const run = await waitForRun(service, key, body.run.id, 180_000);
    expect(run.error).toBeUndefined();
    expect(run.state).toBe('completed');
    const asset = (await (
      await fetch(`${service.url}/v1/assets/${body.asset.id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as {
      manifest: { renditions: Array<{ width: number; height: number; format: string }> };
    };
    const sizes = asset.manifest.renditions.map((r) => `${r.format} ${r.width}x${r.height}`).sort();
    expect(sizes).toEqual(['avif 320x6800', 'avif 770x16363', 'jpeg 320x6800', 'jpeg 770x16363', 'webp 320x6800', 'webp 770x16363']);
  });

  it('refuses a 1x20000 strip before 202 with 422 EXTREME_ASPECT_RATIO, storing and enqueueing nothing', async () => {
    const before = await countKeys(`${service.prefix}:*`);
    const res = await upload(service, key, await flatPng(1, 20_000), { type: 'image/png' });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('EXTREME_ASPECT_RATIO');
    expect(body.error.details).toMatchObject({ width: 1, height: 20_000, maxSide: 16383 });
    expect(await countKeys(`${service.prefix}:*`)).toBe(before);
  });
});

describe('upload checks: the recipe before the decode, their own bounded pool, and /readyz', () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    // MAX_OUTPUT_PIXELS at 10 MP: coffee.png (600x400) upscaled x8 passes it, an 81 MP photo as it is does not.
    service = await startTestService({
      WORKER_QUEUES: 'publish',
      UPLOAD_CHECK_CONCURRENCY: '1',
      UPLOAD_CHECK_MAX_WAITING: '0',
      MAX_OUTPUT_PIXELS: '10000000',
    });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('refuses a recipe from the header alone: a truncated PNG with an oversized upscale is IMAGE_TOO_LARGE, never decoded', async () => {
    const png = await readFile(fixture('coffee.png'));
    const res = await upload(service, key, png.subarray(0, Math.floor(png.length * 0.6)), {
      type: 'image/png',
      recipe: { steps: [{ name: 'upscale', options: { factor: 8 } }, { name: 'render' }] },
    });
    // Had the decode run first, the truncation would have answered CORRUPT_IMAGE.
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).error.code).toBe('IMAGE_TOO_LARGE');
  });

  it('accepts an 81 MP photo with the default recipe, as MAX_INPUT_PIXELS (100 MP) documents: only an upscale is held to MAX_OUTPUT_PIXELS', async () => {
    const res = await upload(service, key, await flatPng(9_000, 9_000), { type: 'image/png' });
    expect(res.status).toBe(202);
    expect(((await res.json()) as Accepted).asset.original).toEqual(expect.objectContaining({ width: 9_000, height: 9_000 }));
  });

  it('answers 503 with Retry-After while every check slot is busy, says so on /readyz, and serves other requests', async () => {
    const fish = await readFile(fixture('HappyFish.jpg'));
    const ready = async () => {
      const res = await fetch(`${service.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: { uploads: { ok: boolean; error?: string } } } };
    };
    expect((await ready()).status).toBe(200);

    let release!: () => void;
    const busy = uploadChecks.run(0, () => new Promise<void>((resolve) => (release = resolve)));
    try {
      const saturated = await ready();
      expect(saturated.status).toBe(503);
      expect(saturated.body.checks.uploads.ok).toBe(false);
      expect(saturated.body.checks.uploads.error).toMatch(/saturated/);

      const refused = await upload(service, key, fish, { type: 'image/jpeg' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('SERVICE_UNAVAILABLE');

      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      const other = await fetch(`${service.url}/v1/assets/ast_none`, { headers: { authorization: `Bearer ${key}` } });
      expect(other.status).toBe(404);
    } finally {
      release();
      await busy;
    }
    expect((await ready()).status).toBe(200);
    expect((await upload(service, key, fish, { type: 'image/jpeg' })).status).toBe(202);
  });
});
