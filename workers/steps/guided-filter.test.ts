import { describe, expect, it } from 'vitest';
import { boxMean, guidedFilter } from './guided-filter.js';

/** A w×h plane from f(x, y). */
const plane = (w: number, h: number, f: (x: number, y: number) => number) => {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = f(x, y);
  return out;
};

/** Deterministic noise in -0.5..0.5 (no Math.random: failures must reproduce). */
const noise = (x: number, y: number) => {
  const s = Math.sin(x * 12.9898 + y * 78.233) * 43758.5453;
  return s - Math.floor(s) - 0.5;
};

describe('boxMean', () => {
  it('matches a brute-force mean over clamped windows', () => {
    const w = 13;
    const h = 9;
    const src = plane(w, h, (x, y) => noise(x, y));
    for (const r of [0, 1, 3, 20]) {
      const got = boxMean(src, w, h, r);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let sum = 0;
          let n = 0;
          for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
            for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
              sum += src[yy * w + xx]!;
              n++;
            }
          }
          expect(got[y * w + x]).toBeCloseTo(sum / n, 5);
        }
      }
    }
  });

  it('keeps a flat plane exactly flat, edges included', () => {
    const got = boxMean(
      plane(50, 30, () => 0.37),
      50,
      30,
      7,
    );
    for (const v of got) expect(v).toBeCloseTo(0.37, 6);
  });
});

describe('guidedFilter', () => {
  const w = 64;
  const h = 48;
  const stepAt = 30;
  const step = plane(w, h, (x) => (x < stepAt ? 0.1 : 0.9));
  const maxDeviationFromStep = (out: Float32Array) => {
    let worst = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) worst = Math.max(worst, Math.abs(out[y * w + x]! - (x < stepAt ? 0 : 1)));
    return worst;
  };

  it('preserves a step edge that the guide shares, where a box blur of the same radius smears it', () => {
    const mask = plane(w, h, (x) => (x < stepAt ? 0 : 1));
    for (const subsample of [1, 2]) {
      const out = guidedFilter(step, mask, w, h, { radius: 6, eps: 1e-4, subsample });
      expect(maxDeviationFromStep(out)).toBeLessThan(0.05);
    }
    expect(maxDeviationFromStep(boxMean(mask, w, h, 6))).toBeGreaterThan(0.4);
  });

  it('moves a misplaced mask edge onto the guide edge', () => {
    // The mask's edge is 2 px left of the photo's: the filter should follow the photo.
    const mask = plane(w, h, (x) => (x < stepAt - 2 ? 0 : 1));
    const out = guidedFilter(step, mask, w, h, { radius: 8, eps: 1e-4 });
    const row = 20 * w;
    expect(out[row + stepAt - 2]!).toBeLessThan(0.5);
    expect(out[row + stepAt - 1]!).toBeLessThan(0.5);
    expect(out[row + stepAt]!).toBeGreaterThan(0.5);
  });

  it('leaves a flat input flat whatever the guide', () => {
    const guide = plane(w, h, (x, y) => 0.5 + noise(x, y) * 0.8);
    for (const subsample of [1, 3]) {
      const out = guidedFilter(
        guide,
        plane(w, h, () => 0.6),
        w,
        h,
        { radius: 4, eps: 1e-3, subsample },
      );
      for (const v of out) expect(v).toBeCloseTo(0.6, 4);
    }
  });

  it('smooths noise where the guide is flat', () => {
    const noisy = plane(w, h, (x, y) => 0.5 + noise(x, y) * 0.2);
    const out = guidedFilter(
      plane(w, h, () => 0.3),
      noisy,
      w,
      h,
      { radius: 4, eps: 1e-3 },
    );
    const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);
    expect(spread(out)).toBeLessThan(spread(noisy) / 3);
  });
});
