import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeSource } from './decode.js';
import { estimateForeground } from './foreground.js';
import { gateForeground } from './foreground-gate.js';
import { cutout } from './remove-background.js';
import type { DecodedImage } from './types.js';

const fixture = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures', name);

/** Backdrops a cut-out is placed on: black, white, mid grey, a saturated green. */
const BACKDROPS = [
  [0, 0, 0],
  [255, 255, 255],
  [128, 128, 128],
  [40, 200, 60],
] as const;

async function render(name: string): Promise<{ image: DecodedImage; truth: Uint8Array }> {
  const image = await decodeSource(await readFile(fixture(`${name}.png`)), { maxPixels: 1e8 });
  const truth = new Uint8Array(
    await sharp(fixture(`${name}.mask.png`))
      .extractChannel(0)
      .raw()
      .toBuffer(),
  );
  return { image, truth };
}

/**
 * The mask a segmentation model gets wrong the way the issue describes: the true mask with edges
 * softened (σ 1 px), and a band across the middle of the product (a fifth of its height) given
 * fractional alpha 0.1–0.6, rising left to right, although it is solid product.
 */
async function wrongAlpha(truth: Uint8Array, width: number, height: number): Promise<Float32Array> {
  const soft = await sharp(Buffer.from(truth), { raw: { width, height, channels: 1 } })
    .blur(1)
    // Without this libvips hands one-channel input back as sRGB, three bytes per pixel.
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const alpha = Float32Array.from(soft, (v) => v / 255);
  let top = height;
  let bottom = 0;
  for (let p = 0; p < truth.length; p++) {
    if (truth[p]! < 255) continue;
    const y = Math.floor(p / width);
    top = Math.min(top, y);
    bottom = Math.max(bottom, y);
  }
  const y0 = Math.round(top + 0.4 * (bottom - top));
  const y1 = Math.round(top + 0.6 * (bottom - top));
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (truth[p] === 255) alpha[p] = Math.min(alpha[p]!, 0.1 + (0.5 * x) / width);
    }
  }
  return alpha;
}

/**
 * Mean colour error (0..255, per channel) of the cut-out composited on `backdrop`, over the pixels
 * inside the true mask (mask 255), where the right answer is known: the photo's own colour.
 */
function compositeError(image: DecodedImage, out: DecodedImage, truth: Uint8Array, backdrop: readonly number[]): number {
  let err = 0;
  let count = 0;
  for (let p = 0; p < truth.length; p++) {
    if (truth[p] !== 255) continue;
    const a = out.data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) err += Math.abs(a * out.data[p * 4 + c]! + (1 - a) * backdrop[c]! - image.data[p * image.channels + c]!);
    count += 3;
  }
  return err / count;
}

describe('colour estimation never hurts (renders with exact masks)', () => {
  it.each(['d01_glassvase_grey', 'd04_ornament_gradient', 'd08_trophy_dark'])(
    '%s: on every backdrop the cut-out is no further from the true colours than the raw photo',
    async (name) => {
      const { image, truth } = await render(name);
      const { width, height } = image;
      const alpha = await wrongAlpha(truth, width, height);
      const box = { left: 0, top: 0, width, height };
      const raw = cutout(image, alpha, box, 0, false);
      const ours = cutout(image, alpha, box, 0, true);
      // Foreground estimation without the gate, as before: the damage the gate prevents.
      const ungated = estimateForeground(image.data, image.channels, alpha, width, height).foreground;
      let ungatedWorse = false;
      for (const backdrop of BACKDROPS) {
        const rawErr = compositeError(image, raw, truth, backdrop);
        const oursErr = compositeError(image, ours, truth, backdrop);
        expect(oursErr, `backdrop ${backdrop.join(',')}`).toBeLessThanOrEqual(rawErr);
        const plain = { ...ours, data: Buffer.from(ours.data) };
        for (let p = 0; p < truth.length; p++) {
          const a = plain.data[p * 4 + 3]!;
          if (a > 0 && a < 255) for (let c = 0; c < 3; c++) plain.data[p * 4 + c] = Math.round(ungated[p * 3 + c]! * 255);
        }
        if (compositeError(image, plain, truth, backdrop) > rawErr) ungatedWorse = true;
      }
      // The test can fail: unchecked estimation does exceed the raw photo's error on these scenes.
      expect(ungatedWorse).toBe(true);
    },
    60_000,
  );
});

describe('gateForeground', () => {
  it('keeps removing the background from true soft edges (halos) where the colour is a mix', async () => {
    // A composite with known F (one photo), B (another) and soft alpha (a mask blurred 1.5 px).
    const { data: B, info } = await sharp(fixture('d02_mug_woodtable.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const { width, height } = info;
    const F = await sharp(fixture('coffee.png')).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
    const { data: mask } = await sharp(fixture('d02_mug_woodtable.mask.png'))
      .extractChannel(0)
      .blur(1.5)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const alpha = Float32Array.from(mask, (v) => v / 255);
    const I = new Uint8Array(width * height * 3);
    for (let p = 0; p < alpha.length; p++) {
      for (let c = 0; c < 3; c++) I[p * 3 + c] = Math.round(alpha[p]! * F[p * 3 + c]! + (1 - alpha[p]!) * B[p * 3 + c]!);
    }
    const solved = estimateForeground(I, 3, alpha, width, height).foreground;
    const gated = gateForeground(I, 3, alpha, width, height, Float32Array.from(solved), 5);
    const edgeError = (colour: (i: number) => number) => {
      let err = 0;
      let weight = 0;
      for (let p = 0; p < alpha.length; p++) {
        const a = alpha[p]!;
        if (a <= 0 || a >= 1) continue;
        for (let c = 0; c < 3; c++) err += a * Math.abs(colour(p * 3 + c) - F[p * 3 + c]! / 255);
        weight += 3 * a;
      }
      return err / weight;
    };
    const before = edgeError((i) => I[i]! / 255);
    const after = edgeError((i) => gated[i]!);
    // Measured: 0.072 as is, 0.038 solved without the gate, 0.043 gated (pixels above alpha 0.7
    // keep their colour).
    expect(after).toBeLessThan(0.65 * before);
  });
});
