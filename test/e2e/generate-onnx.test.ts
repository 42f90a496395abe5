import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../lib/redis.js';
import { writeTestGenerator } from '../../models/generator/testing/test-graph.js';
import { createTenant, fixture, REDIS_URL, startTestService, upload, waitForRun, type TestService } from '../harness.js';

/**
 * A template whose backdrop is the operator's ONNX generator, through the whole service: the
 * generate job runs on the inference queue with a small generator graph the project builds (a
 * vertical gradient from its parameters), and its background lands under the product.
 */
describe('generate step with the ONNX generator', () => {
  let service: TestService;
  let key: string;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await mkdtemp(path.join(tmpdir(), 'generator-'));
    const modelPath = await writeTestGenerator(modelDir, { kind: 'background' });
    service = await startTestService({ GENERATOR_MODEL_PATH: modelPath });
    ({ key } = await createTenant(service));
  });
  afterAll(async () => {
    await service?.stop();
    await rm(modelDir, { recursive: true, force: true });
  });

  it('runs on the inference queue, records the model and template, and composes the product over the generated background', async () => {
    const template = {
      name: 'Red to blue',
      backdrop: { type: 'generator', params: { top_r: 1, top_g: 0, top_b: 0, bottom_r: 0, bottom_g: 0, bottom_b: 1, tint: 0 } },
      layout: { fill: 0.6 },
      channels: ['thumbnail'],
    };
    const put = await fetch(`${service.url}/v1/templates/red-blue`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(template),
    });
    expect(put.status).toBe(201);
    // A cut-out as input (the mug with its exact mask), recoloured green by the colourway.
    const mask = await sharp(await readFile(fixture('d02_mug_woodtable.mask.png')))
      .extractChannel(0)
      .toBuffer();
    const cutout = await sharp(await readFile(fixture('d02_mug_woodtable.png')))
      .removeAlpha()
      .joinChannel(mask)
      .resize(200)
      .png()
      .toBuffer();
    const recipe = {
      steps: [
        { name: 'generate', options: { template: 'red-blue', colourway: '#1e9e3c' } },
        { name: 'render', options: { widths: [100], formats: ['jpeg'] } },
      ],
    };
    const res = await upload(service, key, cutout, { recipe, filename: 'mug.png' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { asset: { id: string }; run: { id: string } };
    const run = (await waitForRun(service, key, body.run.id, 120_000)) as Awaited<ReturnType<typeof waitForRun>> & {
      steps: Array<{ model?: string; template?: { id: string } }>;
    };
    expect(run.error, JSON.stringify(run)).toBeUndefined();
    expect(run.steps[0]).toMatchObject({
      name: 'generate',
      state: 'completed',
      model: 'test-generator-background',
      template: { id: 'red-blue' },
    });

    const redis = createRedis(REDIS_URL, 'test');
    const inference = new Queue('inference', { connection: redis, prefix: service.prefix });
    try {
      expect((await inference.getJob(`${body.run.id}-0`))?.name).toBe('generate-onnx');
    } finally {
      await inference.close();
      await redis.quit();
    }

    const asset = (await (
      await fetch(`${service.url}/v1/assets/${body.asset.id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { manifest: { renditions: Array<{ url: string }> } };
    const jpeg = Buffer.from(await (await fetch(asset.manifest.renditions[0]!.url)).arrayBuffer());
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    const [tr, , tb] = at(3, 2);
    const [br, , bb] = at(3, info.height - 3);
    expect(tr).toBeGreaterThan(200); // the generated gradient: red at the top…
    expect(tb).toBeLessThan(60);
    expect(bb).toBeGreaterThan(200); // …blue at the bottom
    expect(br).toBeLessThan(60);
    const [cr, cg, cb] = at(info.width / 2, info.height / 2); // the mug, recoloured green
    expect(cg).toBeGreaterThan(cr!);
    expect(cg).toBeGreaterThan(cb!);
  }, 120_000);
});
