import { describe, expect, it } from 'vitest';
import { axisWeights, balancedTile, BlendBuffer, planTiles, reflect101, tileStarts } from './tiling.js';

describe('tileStarts', () => {
  it('is one tile when the image fits', () => {
    expect(tileStarts(100, 128, 16)).toEqual([0]);
    expect(tileStarts(128, 128, 16)).toEqual([0]);
  });

  it('steps by tile − overlap and pulls the last tile back to end at the edge', () => {
    expect(tileStarts(300, 128, 16)).toEqual([0, 112, 172]);
    for (const [length, tile, overlap] of [
      [129, 128, 16],
      [1000, 192, 16],
      [500, 64, 32],
      [77, 32, 0],
    ] as const) {
      const starts = tileStarts(length, tile, overlap);
      expect(starts[0]).toBe(0);
      expect(starts.at(-1)! + tile).toBe(length);
      for (let i = 1; i < starts.length; i++) {
        // Neighbours overlap by at least `overlap`, so every seam has room to blend.
        expect(starts[i - 1]! + tile - starts[i]!).toBeGreaterThanOrEqual(overlap);
        expect(starts[i]!).toBeGreaterThan(starts[i - 1]!);
      }
    }
  });
});

describe('balancedTile', () => {
  it('uses the fewest tiles that fit and shrinks them to fit exactly', () => {
    expect(balancedTile(100, 128, 16)).toBe(100);
    expect(balancedTile(320, 256, 16)).toBe(168); // two tiles of 168 rather than two of 256
    for (const [length, max, overlap] of [
      [1000, 256, 16],
      [1000, 192, 16],
      [257, 256, 16],
      [33, 32, 16],
    ] as const) {
      const t = balancedTile(length, max, overlap);
      expect(t).toBeLessThanOrEqual(max);
      const fixed = tileStarts(length, max, overlap).length;
      expect(tileStarts(length, t, overlap).length).toBe(fixed);
    }
  });
});

describe('planTiles', () => {
  it('gives same-size tiles row by row, no larger than asked', () => {
    const tiles = planTiles(300, 100, 128, 16);
    expect(tiles.map((t) => [t.x, t.y])).toEqual([
      [0, 0],
      [95, 0],
      [189, 0],
    ]);
    expect(new Set(tiles.map((t) => `${t.width}x${t.height}`))).toEqual(new Set(['111x100']));
  });
});

describe('axisWeights', () => {
  it('is 1 at image borders, ramps towards neighbours, and never reaches 0', () => {
    const w = axisWeights(0, 64, 200, 16, 2);
    expect(w.length).toBe(128);
    expect(w[0]).toBe(1); // image border: nothing else covers it
    expect(w[127]).toBeGreaterThan(0);
    expect(w[127]).toBeLessThan(0.05);
    expect(w[64]).toBe(1);
    const inner = axisWeights(50, 64, 200, 16, 2);
    expect(inner[0]).toBeLessThan(0.05);
    expect(Math.min(...inner)).toBeGreaterThan(0);
  });
});

describe('BlendBuffer', () => {
  it('reassembles an image exactly from overlapping tiles of it, over several tile rows', () => {
    const [w, h, scale, tile, overlap] = [45, 37, 3, 16, 5];
    const W = w * scale;
    const H = h * scale;
    // A "model output" known everywhere: each tile is a crop of it, so any blend must give it back.
    const truth = Float32Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 256);
    const dest = new Uint8Array(W * H * 4);
    const tiles = planTiles(w, h, tile, overlap);
    const blend = new BlendBuffer(dest, W, H, 4, tile * scale);
    for (const t of tiles) {
      blend.flushUntil(t.y * scale);
      const tw = t.width * scale;
      const th = t.height * scale;
      const values = new Float32Array(tw * th * 3);
      for (let y = 0; y < th; y++)
        for (let x = 0; x < tw; x++)
          for (let c = 0; c < 3; c++) values[(y * tw + x) * 3 + c] = truth[((t.y * scale + y) * W + t.x * scale + x) * 3 + c]!;
      blend.add(
        values,
        t.x * scale,
        t.y * scale,
        tw,
        th,
        axisWeights(t.x, t.width, w, overlap, scale),
        axisWeights(t.y, t.height, h, overlap, scale),
      );
    }
    blend.flushUntil(H);
    let wrong = 0;
    for (let p = 0; p < W * H; p++) {
      for (let c = 0; c < 3; c++) if (dest[p * 4 + c] !== truth[p * 3 + c]) wrong++;
      if (dest[p * 4 + 3] !== 0) wrong++; // alpha is not the blend's business
    }
    expect(wrong).toBe(0);
  });

  it('clamps overshoot to 0..255', () => {
    const dest = new Uint8Array(2 * 3);
    const blend = new BlendBuffer(dest, 2, 1, 3, 1);
    blend.add(Float32Array.of(-20, 300, 127.6, 255.4, 0.4, 1), 0, 0, 2, 1, Float32Array.of(1, 1), Float32Array.of(1));
    blend.flushUntil(1);
    expect(Array.from(dest)).toEqual([0, 255, 128, 255, 0, 1]);
  });
});

describe('reflect101', () => {
  it('mirrors about the edge pixels without repeating them, as Real-ESRGAN-ncnn-vulkan pads', () => {
    expect([-3, -2, -1, 0, 1, 4, 5, 6, 7].map((i) => reflect101(i, 5))).toEqual([3, 2, 1, 0, 1, 4, 3, 2, 1]);
  });

  it('stays inside the image when the padding is wider than the image, and is 0 for a one-pixel side', () => {
    for (let i = -25; i < 30; i++) {
      const r = reflect101(i, 3);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(3);
    }
    expect(reflect101(-10, 3)).toBe(2); // period 4: -10 ≡ 2
    expect([-2, 0, 3].map((i) => reflect101(i, 1))).toEqual([0, 0, 0]);
  });
});
