import { describe, expect, it } from 'vitest';
import { hwcToChw, luma, probabilitiesToBytes } from './tensor.js';

describe('hwcToChw', () => {
  it('makes planar channels, normalised per channel, and skips alpha', () => {
    // 2×1 RGBA: a red pixel and a white one.
    const px = new Uint8Array([255, 0, 0, 10, 255, 255, 255, 200]);
    const out = hwcToChw(px, 2, 1, 4, { mean: [0.5, 0.5, 0.5], std: [1, 1, 0.5] });
    expect(Array.from(out)).toEqual([0.5, 0.5, -0.5, 0.5, -1, 1]);
  });

  it('refuses a buffer too short for the size', () => {
    expect(() => hwcToChw(new Uint8Array(5), 2, 1, 3, { mean: [0, 0, 0], std: [1, 1, 1] })).toThrow(RangeError);
  });
});

describe('probabilitiesToBytes', () => {
  it('rounds and clamps to 0..255, NaN to 0', () => {
    const out = probabilitiesToBytes(new Float32Array([0, 0.5, 1, -0.2, 1.7, NaN]));
    expect(Array.from(out)).toEqual([0, 128, 255, 0, 255, 0]);
  });
});

describe('luma', () => {
  it('is 0 for black, 1 for white and weights green most', () => {
    const out = luma(new Uint8Array([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0]), 4, 1, 3);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(1, 6);
    expect(out[3]!).toBeGreaterThan(out[2]!);
  });
});
