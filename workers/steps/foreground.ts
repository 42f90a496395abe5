/**
 * Foreground colour estimation: given a photo `I` and an alpha matte `α`, find the foreground
 * colour `F` (and background `B`) with `I = αF + (1 − α)B` at every pixel. Using `F` rather than
 * `I` for a cut-out's colours removes the background colour that edge pixels carry ("halos",
 * e.g. a white fringe when a product shot on white is placed on a dark page).
 *
 * Method: Germer, Uelwer, Conrad & Harmeling, "Fast Multi-Level Foreground Estimation", ICPR 2020
 * (arXiv:2006.14970). Solve on a pyramid from 1×1 up to full size; at each level start from the
 * coarser level's estimate and run a few Gauss–Seidel sweeps of the per-pixel 2×2 least-squares
 * system: fit the composite equation, and keep F and B close to their 4 neighbours, the more so
 * where alpha changes (there the composite equation alone cannot tell F from B, so colour is
 * carried in from the surroundings). Linear in the number of pixels with a small constant, no
 * large solves; the full-size level only visits the edge band.
 */

/** Tuning of {@link estimateForeground}; the defaults are the paper's. */
export interface ForegroundOptions {
  /** Weight pulling F and B towards their neighbours everywhere. Default 1e-5. */
  regularization?: number;
  /** Extra neighbour weight per unit of alpha difference: smooths more where alpha changes. Default 1. */
  gradientWeight?: number;
  /** Sweeps at levels no larger than `smallSize` on both sides. Default 10. */
  smallIterations?: number;
  /** Sweeps at larger levels. Default 2. */
  bigIterations?: number;
  /** Default 32. */
  smallSize?: number;
}

/** Interleaved RGB estimates on 0..1, 3 floats per pixel, row-major. */
export interface ForegroundEstimate {
  foreground: Float32Array;
  background: Float32Array;
}

/**
 * Estimate F and B for interleaved 8-bit pixels (`channels` per pixel, the first three used) and
 * an alpha plane on 0..1. `foreground` is meaningful where alpha > 0 and `background` where
 * alpha < 1; each is 0 where it cannot be seen (so `αF + (1 − α)B` is always defined).
 */
export function estimateForeground(
  pixels: Uint8Array,
  channels: number,
  alpha: Float32Array,
  width: number,
  height: number,
  options: ForegroundOptions = {},
): ForegroundEstimate {
  const reg = options.regularization ?? 1e-5;
  const gw = options.gradientWeight ?? 1;
  const smallIterations = options.smallIterations ?? 10;
  const bigIterations = options.bigIterations ?? 2;
  const smallSize = options.smallSize ?? 32;

  // Start from the mean colour: the coarsest level only needs a plausible value to refine.
  let F: Float32Array = new Float32Array(3);
  let B: Float32Array = new Float32Array(3);
  const mean = meanColour(pixels, channels, width * height);
  F.set(mean);
  B.set(mean);
  let pw = 1;
  let ph = 1;

  const levels = Math.ceil(Math.log2(Math.max(width, height, 2)));
  for (let level = 0; level < levels; level++) {
    const lw = Math.max(1, Math.round(width ** (level / levels)));
    const lh = Math.max(1, Math.round(height ** (level / levels)));
    const img = sampleRgb(pixels, channels, width, height, lw, lh);
    const a = samplePlane(alpha, width, height, lw, lh);
    F = resizeNearest3(F, pw, ph, lw, lh);
    B = resizeNearest3(B, pw, ph, lw, lh);
    pw = lw;
    ph = lh;
    const small = lw <= smallSize && lh <= smallSize;
    const active = small ? allPixels(lw * lh) : pinKnown(img, a, F, B, lw, lh);
    const sweeps = small ? smallIterations : bigIterations;
    for (let i = 0; i < sweeps; i++) sweep(img, a, F, B, lw, lh, reg, gw, active);
  }
  const sweeps = width <= smallSize && height <= smallSize ? smallIterations : bigIterations;
  return solveFullSize(pixels, channels, alpha, width, height, F, B, pw, ph, sweeps, reg, gw);
}

/**
 * The last, full-size level, which is most of the work if done densely. Only the unsettled
 * pixels (the edge band) and their neighbours get values from the coarser level and are solved;
 * every other pixel has a known answer (see {@link pinKnown}), written in one pass at the end.
 * Untouched entries stay 0 in freshly allocated (lazily zeroed) arrays.
 */
function solveFullSize(
  pixels: Uint8Array,
  channels: number,
  alpha: Float32Array,
  w: number,
  h: number,
  Fc: Float32Array,
  Bc: Float32Array,
  cw: number,
  ch: number,
  sweeps: number,
  reg: number,
  gw: number,
): ForegroundEstimate {
  const n = w * h;
  const active = unsettled(alpha, w, h);
  const F = new Float32Array(n * 3);
  const B = new Float32Array(n * 3);
  const img = new Float32Array(n * 3);
  const xs = nearestIndex(cw, w);
  const ys = nearestIndex(ch, h);
  const k = 1 / 255;
  const seed = (q: number) => {
    const y = (q / w) | 0;
    const c = (ys[y]! * cw + xs[q - y * w]!) * 3;
    const o = q * 3;
    const i = q * channels;
    for (let j = 0; j < 3; j++) {
      img[o + j] = pixels[i + j]! * k;
      F[o + j] = Fc[c + j]!;
      B[o + j] = Bc[c + j]!;
    }
  };
  for (let t = 0; t < active.length; t++) {
    const p = active[t]!;
    const y = (p / w) | 0;
    const x = p - y * w;
    seed(p);
    if (x > 0) seed(p - 1);
    if (x < w - 1) seed(p + 1);
    if (y > 0) seed(p - w);
    if (y < h - 1) seed(p + w);
  }
  // Settled neighbours of the band must show their known value to the band, not a coarse guess.
  pinSettled(pixels, channels, alpha, F, B, n);
  for (let i = 0; i < sweeps; i++) sweep(img, alpha, F, B, w, h, reg, gw, active);
  return { foreground: F, background: B };
}

/** Opaque pixels: F = I; clear pixels: B = I. Partly transparent pixels are left alone. */
function pinSettled(pixels: Uint8Array, channels: number, alpha: Float32Array, F: Float32Array, B: Float32Array, n: number): void {
  const k = 1 / 255;
  for (let p = 0, i = 0, o = 0; p < n; p++, i += channels, o += 3) {
    const a = alpha[p]!;
    const target = a >= 1 ? F : a <= 0 ? B : undefined;
    if (!target) continue;
    target[o] = pixels[i]! * k;
    target[o + 1] = pixels[i + 1]! * k;
    target[o + 2] = pixels[i + 2]! * k;
  }
}

/** Indices of pixels whose alpha is not 0 or 1, or differs from a 4-neighbour's, in raster order. */
function unsettled(alpha: Float32Array, w: number, h: number): Int32Array {
  let out = new Int32Array(1024);
  let count = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = (y > 0 ? y - 1 : 0) * w;
    const down = (y < h - 1 ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++) {
      const p = row + x;
      const a = alpha[p]!;
      if (
        (a === 0 || a === 1) &&
        alpha[row + (x > 0 ? x - 1 : 0)] === a &&
        alpha[row + (x < w - 1 ? x + 1 : w - 1)] === a &&
        alpha[up + x] === a &&
        alpha[down + x] === a
      )
        continue;
      if (count === out.length) {
        const grown = new Int32Array(out.length * 2);
        grown.set(out);
        out = grown;
      }
      out[count++] = p;
    }
  }
  return out.subarray(0, count);
}

function allPixels(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * Where alpha is 0 or 1 and so are all 4 neighbours, the 2×2 system has a known answer (to within
 * the 1e-5 regularisation): opaque pixels have F = I, clear ones B = I, and the other unknown is
 * never seen through the composite. Set those directly and return the pixels left to solve: the
 * edge band, a few percent of a product photo.
 */
function pinKnown(img: Float32Array, alpha: Float32Array, F: Float32Array, B: Float32Array, w: number, h: number): Int32Array {
  const n = w * h;
  for (let p = 0, o = 0; p < n; p++, o += 3) {
    const a = alpha[p]!;
    const target = a === 1 ? F : a === 0 ? B : undefined;
    if (!target) continue;
    target[o] = img[o]!;
    target[o + 1] = img[o + 1]!;
    target[o + 2] = img[o + 2]!;
  }
  return unsettled(alpha, w, h);
}

/** One in-place Gauss–Seidel pass over the `active` pixels, in raster order. */
function sweep(
  img: Float32Array,
  alpha: Float32Array,
  F: Float32Array,
  B: Float32Array,
  w: number,
  h: number,
  reg: number,
  gw: number,
  active: Int32Array,
): void {
  for (let k = 0; k < active.length; k++) {
    const p = active[k]!;
    const y = (p / w) | 0;
    const x = p - y * w;
    const row = y * w;
    const up = (y > 0 ? y - 1 : 0) * w;
    const down = (y < h - 1 ? y + 1 : h - 1) * w;
    const a0 = alpha[p]!;
    const a1 = 1 - a0;
    // Neighbours clamped to the image: at a border the pixel itself stands in, which only adds
    // a little self-weight.
    const nl = row + (x > 0 ? x - 1 : 0);
    const nr = row + (x < w - 1 ? x + 1 : w - 1);
    const nu = up + x;
    const nd = down + x;
    const wl = reg + gw * Math.abs(a0 - alpha[nl]!);
    const wr = reg + gw * Math.abs(a0 - alpha[nr]!);
    const wu = reg + gw * Math.abs(a0 - alpha[nu]!);
    const wd = reg + gw * Math.abs(a0 - alpha[nd]!);
    const wsum = wl + wr + wu + wd;
    const a00 = a0 * a0 + wsum;
    const a11 = a1 * a1 + wsum;
    const a01 = a0 * a1;
    const invDet = 1 / (a00 * a11 - a01 * a01);
    const o = p * 3;
    const l3 = nl * 3;
    const r3 = nr * 3;
    const u3 = nu * 3;
    const d3 = nd * 3;
    for (let c = 0; c < 3; c++) {
      const ic = img[o + c]!;
      const b0 = a0 * ic + wl * F[l3 + c]! + wr * F[r3 + c]! + wu * F[u3 + c]! + wd * F[d3 + c]!;
      const b1 = a1 * ic + wl * B[l3 + c]! + wr * B[r3 + c]! + wu * B[u3 + c]! + wd * B[d3 + c]!;
      const f = (a11 * b0 - a01 * b1) * invDet;
      const b = (a00 * b1 - a01 * b0) * invDet;
      F[o + c] = f < 0 ? 0 : f > 1 ? 1 : f;
      B[o + c] = b < 0 ? 0 : b > 1 ? 1 : b;
    }
  }
}

function meanColour(pixels: Uint8Array, channels: number, n: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let p = 0, i = 0; p < n; p++, i += channels) {
    r += pixels[i]!;
    g += pixels[i + 1]!;
    b += pixels[i + 2]!;
  }
  const k = 1 / (255 * Math.max(n, 1));
  return [r * k, g * k, b * k];
}

/** Nearest-neighbour index maps from a `dst`-sized grid to a `src`-sized one. */
function nearestIndex(src: number, dst: number): Int32Array {
  const out = new Int32Array(dst);
  for (let i = 0; i < dst; i++) out[i] = Math.min(src - 1, Math.floor((i * src) / dst));
  return out;
}

function sampleRgb(pixels: Uint8Array, channels: number, w: number, h: number, lw: number, lh: number): Float32Array {
  const xs = nearestIndex(w, lw);
  const ys = nearestIndex(h, lh);
  const out = new Float32Array(lw * lh * 3);
  const k = 1 / 255;
  for (let y = 0, o = 0; y < lh; y++) {
    const row = ys[y]! * w;
    for (let x = 0; x < lw; x++, o += 3) {
      const i = (row + xs[x]!) * channels;
      out[o] = pixels[i]! * k;
      out[o + 1] = pixels[i + 1]! * k;
      out[o + 2] = pixels[i + 2]! * k;
    }
  }
  return out;
}

function samplePlane(src: Float32Array, w: number, h: number, lw: number, lh: number): Float32Array {
  const xs = nearestIndex(w, lw);
  const ys = nearestIndex(h, lh);
  const out = new Float32Array(lw * lh);
  for (let y = 0, o = 0; y < lh; y++) {
    const row = ys[y]! * w;
    for (let x = 0; x < lw; x++, o++) out[o] = src[row + xs[x]!]!;
  }
  return out;
}

function resizeNearest3(src: Float32Array, w: number, h: number, lw: number, lh: number): Float32Array {
  if (w === lw && h === lh) return src;
  const xs = nearestIndex(w, lw);
  const ys = nearestIndex(h, lh);
  const out = new Float32Array(lw * lh * 3);
  for (let y = 0, o = 0; y < lh; y++) {
    const row = ys[y]! * w;
    for (let x = 0; x < lw; x++, o += 3) {
      const i = (row + xs[x]!) * 3;
      out[o] = src[i]!;
      out[o + 1] = src[i + 1]!;
      out[o + 2] = src[i + 2]!;
    }
  }
  return out;
}
