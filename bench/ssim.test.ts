import { describe, expect, it } from 'vitest';
import { ssim, type RawImage } from './ssim.js';

/** A deterministic RGB test card: gradients plus a checkerboard, so it has structure to lose. */
function card(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const check = ((x >> 3) + (y >> 3)) % 2 ? 60 : 0;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = 100 + check;
    }
  }
  return { data, width, height, channels: 3 };
}

/** Seeded LCG so the noise, and therefore the score, is the same on every run. */
function addNoise(img: RawImage, amplitude: number, seed = 1): RawImage {
  let s = seed;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const data = img.data.map((v) => Math.max(0, Math.min(255, Math.round(v + rand() * amplitude))));
  return { ...img, data };
}

describe('ssim', () => {
  it('is exactly 1 for identical images', () => {
    const a = card(64, 48);
    expect(ssim(a, { ...a, data: a.data.slice() })).toBe(1);
  });

  it('drops with noise, and drops more with more noise', () => {
    const a = card(64, 48);
    const light = ssim(a, addNoise(a, 8));
    const heavy = ssim(a, addNoise(a, 40));
    expect(light).toBeLessThan(1);
    expect(light).toBeGreaterThan(0.8);
    expect(heavy).toBeLessThan(light);
  });

  it('is symmetric', () => {
    const a = card(40, 40);
    const b = addNoise(a, 20);
    expect(ssim(a, b)).toBeCloseTo(ssim(b, a), 12);
  });

  it('ignores alpha and accepts images smaller than a window', () => {
    const rgba = { data: new Uint8Array([10, 20, 30, 0, 10, 20, 30, 255]), width: 2, height: 1, channels: 4 };
    const rgb = { data: new Uint8Array([10, 20, 30, 10, 20, 30]), width: 2, height: 1, channels: 3 };
    expect(ssim(rgba, rgb)).toBe(1);
  });

  it('refuses images of different sizes', () => {
    expect(() => ssim(card(8, 8), card(8, 9))).toThrow(/size mismatch/);
  });
});
