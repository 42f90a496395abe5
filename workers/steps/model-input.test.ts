import { describe, expect, it } from 'vitest';
import { photoToSquare, resizeBilinear } from './model-input.js';

describe('resizeBilinear', () => {
  it('keeps a linear ramp linear with sample centres aligned', () => {
    const src = Float32Array.from({ length: 10 }, (_, x) => x);
    const out = resizeBilinear(src, 10, 1, 1, 16, 1);
    // Output pixel x sits at (x + 0.5)·10/16 − 0.5 of the input, clamped to 0..9.
    for (let x = 0; x < 16; x++) expect(out[x]).toBeCloseTo(Math.min(Math.max(((x + 0.5) * 10) / 16 - 0.5, 0), 9), 5);
  });

  it('is the identity at the same size, per channel', () => {
    const src = Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => (i * 37) % 11);
    expect([...resizeBilinear(src, 4, 3, 2, 4, 3)]).toEqual([...src]);
  });
});

describe('photoToSquare', () => {
  it('enlarges without rounding to 8 bits, dropping alpha', async () => {
    // 2×1 RGBA: black then white; enlarged to 4² the middle columns are 1/4 and 3/4 grey.
    const pixels = new Uint8Array([0, 0, 0, 255, 255, 255, 255, 128]);
    const out = await photoToSquare(pixels, 2, 1, 4, 4);
    expect(out.length).toBe(4 * 4 * 3);
    expect([...out.subarray(0, 12)]).toEqual([0, 0, 0, 63.75, 63.75, 63.75, 191.25, 191.25, 191.25, 255, 255, 255]);
  });

  it('shrinks through an anti-aliased reduction: a fine checkerboard becomes flat grey', async () => {
    const w = 64;
    const pixels = new Uint8Array(w * w * 3);
    for (let p = 0; p < w * w; p++) pixels.fill(((p % w) + Math.floor(p / w)) % 2 ? 255 : 0, p * 3, p * 3 + 3);
    const out = await photoToSquare(pixels, w, w, 3, 16);
    for (const v of out) expect(Math.abs(v - 127.5)).toBeLessThan(8);
  });
});
