import { describe, expect, it } from 'vitest';
import { productBox } from './trim.js';

const options = { threshold: 0.5, minFraction: 0.01, grow: 0 };

/** A w×h alpha plane with the given filled rectangles. */
function plane(w: number, h: number, rects: Array<[x: number, y: number, rw: number, rh: number, value: number]>) {
  const out = new Float32Array(w * h);
  for (const [x0, y0, rw, rh, v] of rects) for (let y = y0; y < y0 + rh; y++) for (let x = x0; x < x0 + rw; x++) out[y * w + x] = v;
  return out;
}

describe('productBox', () => {
  it('is the tightest box over the threshold', () => {
    expect(productBox(plane(20, 10, [[3, 2, 5, 4, 1]]), 20, 10, options)).toEqual({ left: 3, top: 2, width: 5, height: 4 });
  });

  it('ignores specks far smaller than the product, and pixels under the threshold', () => {
    const alpha = plane(100, 80, [
      [20, 20, 30, 30, 1],
      [90, 75, 2, 2, 1],
      [0, 0, 10, 10, 0.4],
    ]);
    expect(productBox(alpha, 100, 80, options)).toEqual({ left: 20, top: 20, width: 30, height: 30 });
  });

  it('keeps a second real item, and grows the box within the image', () => {
    const alpha = plane(100, 80, [
      [10, 10, 20, 20, 1],
      [60, 40, 15, 25, 0.9],
    ]);
    expect(productBox(alpha, 100, 80, { ...options, grow: 12 })).toEqual({ left: 0, top: 0, width: 87, height: 77 });
  });

  it('is undefined when nothing reaches the threshold', () => {
    expect(productBox(new Float32Array(12).fill(0.3), 4, 3, options)).toBeUndefined();
  });
});
