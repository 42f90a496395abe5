import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, fixture, startTestService, upload, waitForRun, type TestService } from '../harness.js';

interface ManifestBody {
  renditions: Array<{ url: string; width: number; height: number; format: string }>;
}

/**
 * The AI steps through the whole service: real ISNet and ESRGAN models in sandboxed inference
 * workers, intermediates in storage, then render and publish. No inference is mocked.
 */
describe('remove-background → upscale → render, with real models', () => {
  let service: TestService;
  let key: string;

  beforeAll(async () => {
    service = await startTestService();
    ({ key } = await createTenant(service));
  });
  afterAll(async () => service?.stop());

  it('publishes a transparent cut-out, upscaled 2x, with every step recorded', async () => {
    const mug = await readFile(fixture('d02_mug_woodtable.png'));
    const recipe = {
      steps: [
        { name: 'remove-background', options: { model: 'small' } },
        { name: 'upscale', options: { factor: 2, model: 'slim' } },
        { name: 'render', options: { widths: [1280], formats: ['webp'] } },
      ],
    };
    const res = await upload(service, key, mug, { recipe });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    const run = await waitForRun(service, key, body.run.id, 240_000);
    expect(run.error).toBeUndefined();
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ['remove-background', 'completed'],
      ['upscale', 'completed'],
      ['render', 'completed'],
      ['publish', 'completed'],
    ]);
    const steps = run.steps as Array<{ model?: string; durationMs?: number; timings?: Record<string, number> }>;
    expect(steps[0]!.model).toBe('isnet-small');
    expect(steps[1]!.model).toBe('esrgan-slim-x2');
    expect(steps[1]!.timings!.inferenceMs).toBeGreaterThan(0);
    expect(steps.every((s) => (s.durationMs ?? -1) >= 0)).toBe(true);

    const asset = (await (
      await fetch(`${service.url}/v1/assets/${body.asset.id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { manifest: ManifestBody };
    const [rendition] = asset.manifest.renditions;
    // 640 px upscaled to 1280: the 1280 rendition exists because the upscale made those pixels.
    expect(rendition).toMatchObject({ width: 1280, height: 1280, format: 'webp' });
    const webp = Buffer.from(await (await fetch(rendition!.url)).arrayBuffer());
    const { data, info } = await sharp(webp).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * 4 + 3]!;
    expect(alphaAt(5, 5)).toBeLessThan(16); // the background corner is gone
    expect(alphaAt(640, 700)).toBeGreaterThan(240); // the mug's body stays
  });
});
