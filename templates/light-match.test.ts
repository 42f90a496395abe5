import { describe, expect, it } from 'vitest';
import type { Canvas } from './backdrop.js';
import { lightMatchGains, matchLight } from './light-match.js';
import type { RgbaImage } from './raster.js';

const flatCanvas = (rgb: [number, number, number], size = 16): Canvas => {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set(rgb, i * 3);
  return { rgb: data, width: size, height: size };
};
const greyProduct = (v: number): RgbaImage => {
  const data = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < 64; i++) data.set([v, v, v, i % 2 ? 255 : 0], i * 4); // half the pixels outside the mask
  return { data, width: 8, height: 8, channels: 4 };
};

describe('matchLight', () => {
  it('tints a neutral product towards a warm backplate and darkens it towards a dark one', () => {
    const warmDark = flatCanvas([120, 70, 40]);
    const [r, g, b] = lightMatchGains(greyProduct(200), warmDark, 0.6);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
    const out = matchLight(greyProduct(200), warmDark, 0.6);
    const [pr, pg, pb] = out.data.subarray(4, 7); // pixel 1 is inside the mask
    expect(pr).toBeGreaterThan(pb!);
    expect((pr! + pg! + pb!) / 3).toBeLessThan(200);
    expect(out.data[7]).toBe(255); // alpha kept
  });

  it('leaves the product as it is on a neutral backplate of the same brightness, and at strength 0', () => {
    const same = matchLight(greyProduct(128), flatCanvas([128, 128, 128]), 1);
    expect(Array.from(same.data.subarray(4, 7)).every((v) => Math.abs(v - 128) <= 1)).toBe(true);
    const product = greyProduct(90);
    expect(matchLight(product, flatCanvas([250, 20, 20]), 0)).toBe(product);
  });
});
