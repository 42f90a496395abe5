import { describe, expect, it } from 'vitest';
import { edgeBand, scoreAlpha } from './metrics.js';

/** A w×h matte with `value` inside the box [x0, x1) × [y0, y1) and 0 elsewhere. */
function boxMatte(w: number, h: number, [x0, y0, x1, y1]: number[], value = 255): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0!; y < y1!; y++) for (let x = x0!; x < x1!; x++) m[y * w + x] = value;
  return m;
}

describe('edgeBand', () => {
  it('marks the pixels within the band on both sides of the contour and nothing else', () => {
    // 20×20, product the square [5,15)²: edge pixels are rows/columns 4,5 and 14,15 around it.
    const band = edgeBand(boxMatte(20, 20, [5, 5, 15, 15]), 20, 20, 2);
    const at = (x: number, y: number) => band[y * 20 + x];
    expect(at(10, 10)).toBe(0); // centre: 5 px from the contour
    expect(at(10, 7)).toBe(1); // 2 px inside the top edge row (5)
    expect(at(10, 8)).toBe(0);
    expect(at(10, 2)).toBe(1); // 2 px outside the outer edge row (4)
    expect(at(10, 1)).toBe(0);
    // Corner: (4,4) touches the product only diagonally, so the nearest edge pixels are (4,5) and (5,4).
    expect(at(3, 3)).toBe(1);
    expect(at(2, 2)).toBe(0);
  });

  it('is empty when the truth has no edge', () => {
    expect(edgeBand(new Uint8Array(16), 4, 4, 3).every((v) => v === 0)).toBe(true);
  });
});

describe('scoreAlpha', () => {
  const W = 20;
  const truth = boxMatte(W, W, [5, 5, 15, 15]); // 100 product pixels

  it('is perfect for the truth itself', () => {
    expect(scoreAlpha(truth, truth, W, W)).toEqual({ iou: 1, mae: 0, boundary: 0 });
  });

  it('scores a shifted box by hand-countable pixels', () => {
    // Shifted one column right: 90 shared pixels, union 110; 20 pixels wrong by 1.0.
    const s = scoreAlpha(boxMatte(W, W, [6, 5, 16, 15]), truth, W, W, 1);
    expect(s.iou).toBeCloseTo(90 / 110, 10);
    expect(s.mae).toBeCloseTo(20 / 400, 10);
    // Band of 1 px around the edge rows/columns 4,5 and 14,15: the ring between [3,17)² and
    // [7,13)², 196 − 36 = 160 pixels, less its 4 outer corners (2 px from the nearest edge
    // pixel): 156, all 20 wrong pixels inside it.
    expect(s.boundary).toBeCloseTo(20 / 156, 10);
  });

  it('counts a translucent ghost in the MAE and the band but not in the IoU below 0.5', () => {
    const ghost = Uint8Array.from(truth, (v) => (v ? 255 : 0));
    for (let x = 15; x < 17; x++) for (let y = 5; y < 15; y++) ghost[y * W + x] = 51; // α 0.2
    const s = scoreAlpha(ghost, truth, W, W, 3);
    expect(s.iou).toBe(1);
    expect(s.mae).toBeCloseTo((20 * 0.2) / 400, 10);
    expect(s.boundary).toBeGreaterThan(0);
  });

  it('refuses mattes of the wrong size', () => {
    expect(() => scoreAlpha(new Uint8Array(10), truth, W, W)).toThrow(/pixels/);
  });
});
