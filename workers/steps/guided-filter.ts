/**
 * The guided filter (He, Sun & Tang, "Guided Image Filtering", TPAMI 2013) for one grey guide
 * and one input plane, with the subsampled "fast guided filter" variant (He & Sun 2015,
 * arXiv:1505.00996): the linear coefficients are smooth, so they can be computed on a smaller
 * grid and interpolated back, cutting the cost by about `subsample²`.
 *
 * Used to snap a soft segmentation mask to the edges of the full-resolution photo: inside each
 * window the output is an affine function of the guide's luma, so a mask edge that falls near an
 * image edge moves onto it, while flat regions are just smoothed.
 */

/** Parameters of {@link guidedFilter}. */
export interface GuidedFilterOptions {
  /** Window radius in full-resolution pixels (window side `2r + 1`). */
  radius: number;
  /**
   * Regularisation on the guide's variance (guide on 0..1). Windows whose luma varies much less
   * than `sqrt(eps)` are treated as flat and the input is averaged there; stronger edges pass.
   */
  eps: number;
  /** Compute the coefficients on a grid this many times coarser (integer ≥ 1). Default 1. */
  subsample?: number;
}

/**
 * Mean over a `(2r+1)²` window clamped to the image (edge windows average fewer pixels, so a flat
 * plane stays exactly flat). Two passes of running sums: O(pixels) whatever the radius.
 */
export function boxMean(src: Float32Array, width: number, height: number, radius: number, out?: Float32Array): Float32Array {
  const n = width * height;
  const r = Math.max(0, Math.floor(radius));
  const dst = out ?? new Float32Array(n);
  const rows = new Float32Array(n);
  for (let row = 0; row < n; row += width) {
    // Running window sum along the row; float64 so long rows do not drift.
    let sum = 0;
    const first = Math.min(r, width - 1);
    for (let x = 0; x <= first; x++) sum += src[row + x]!;
    for (let x = 0; x < width; x++) {
      const lo = x - r > 0 ? x - r : 0;
      const hi = x + r < width - 1 ? x + r : width - 1;
      rows[row + x] = sum / (hi - lo + 1);
      if (x + r + 1 < width) sum += src[row + x + r + 1]!;
      if (x - r >= 0) sum -= src[row + x - r]!;
    }
  }
  // Vertical pass row by row with one accumulator per column: reads stay sequential in memory.
  const acc = new Float64Array(width);
  const first = Math.min(r, height - 1);
  for (let y = 0; y <= first; y++) for (let x = 0, o = y * width; x < width; x++) acc[x]! += rows[o + x]!;
  for (let y = 0; y < height; y++) {
    const lo = y - r > 0 ? y - r : 0;
    const hi = y + r < height - 1 ? y + r : height - 1;
    const inv = 1 / (hi - lo + 1);
    const o = y * width;
    for (let x = 0; x < width; x++) dst[o + x] = acc[x]! * inv;
    const add = y + r + 1;
    const sub = y - r;
    if (add < height) for (let x = 0, a = add * width; x < width; x++) acc[x]! += rows[a + x]!;
    if (sub >= 0) for (let x = 0, s = sub * width; x < width; x++) acc[x]! -= rows[s + x]!;
  }
  return dst;
}

/**
 * Guided filter of `input` by `guide` (both one plane of `width × height`, guide on 0..1).
 * Returns a new plane, or `out` filled; values are not clamped (callers clamp alpha to 0..1).
 * `out` may be `input` itself (input is not read once the coefficients are computed), which saves
 * a full-size plane: 256 MB at 64 MP.
 */
export function guidedFilter(
  guide: Float32Array,
  input: Float32Array,
  width: number,
  height: number,
  options: GuidedFilterOptions,
  out?: Float32Array,
): Float32Array {
  const s = Math.max(1, Math.floor(options.subsample ?? 1));
  const lw = Math.ceil(width / s);
  const lh = Math.ceil(height / s);
  const I = s === 1 ? guide : downsample(guide, width, height, s);
  const p = s === 1 ? input : downsample(input, width, height, s);
  const r = Math.max(1, Math.round(options.radius / s));
  const n = lw * lh;

  const ip = new Float32Array(n);
  const ii = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ip[i] = I[i]! * p[i]!;
    ii[i] = I[i]! * I[i]!;
  }
  const meanI = boxMean(I, lw, lh, r);
  const meanP = boxMean(p, lw, lh, r);
  const meanIP = boxMean(ip, lw, lh, r, ip);
  const meanII = boxMean(ii, lw, lh, r, ii);
  // a and b reuse the product buffers once their means are taken.
  const a = meanIP;
  const b = meanII;
  for (let i = 0; i < n; i++) {
    const mi = meanI[i]!;
    const cov = meanIP[i]! - mi * meanP[i]!;
    const variance = meanII[i]! - mi * mi;
    const ai = cov / (variance + options.eps);
    a[i] = ai;
    b[i] = meanP[i]! - ai * mi;
  }
  const meanA = boxMean(a, lw, lh, r, meanI);
  const meanB = boxMean(b, lw, lh, r, meanP);

  const dst = out ?? new Float32Array(width * height);
  if (s === 1) {
    for (let i = 0; i < dst.length; i++) dst[i] = meanA[i]! * guide[i]! + meanB[i]!;
    return dst;
  }
  upsampleAffine(meanA, meanB, lw, lh, guide, width, height, s, dst);
  return dst;
}

/** Area average over `s × s` blocks (partial blocks at the right and bottom average what they hold). */
function downsample(src: Float32Array, width: number, height: number, s: number): Float32Array {
  const lw = Math.ceil(width / s);
  const lh = Math.ceil(height / s);
  const out = new Float32Array(lw * lh);
  const row = new Float64Array(lw);
  for (let ly = 0; ly < lh; ly++) {
    row.fill(0);
    const y1 = Math.min(height, (ly + 1) * s);
    for (let y = ly * s; y < y1; y++) {
      // Whole blocks first without a per-pixel divide, then the partial block at the right edge.
      let x = 0;
      const o = y * width;
      for (let lx = 0; lx < lw; lx++) {
        const end = Math.min(width, x + s);
        let sum = 0;
        for (; x < end; x++) sum += src[o + x]!;
        row[lx]! += sum;
      }
    }
    const rows = y1 - ly * s;
    for (let lx = 0; lx < lw; lx++) {
      const cols = Math.min(width, (lx + 1) * s) - lx * s;
      out[ly * lw + lx] = row[lx]! / (rows * cols);
    }
  }
  return out;
}

/**
 * `out = A↑ · guide + B↑`, with A and B bilinearly interpolated from the coarse grid (sample
 * centres aligned, edges clamped). Each output row first blends its two coarse rows once, so the
 * per-pixel work is one horizontal blend of A and of B.
 */
function upsampleAffine(
  A: Float32Array,
  B: Float32Array,
  lw: number,
  lh: number,
  guide: Float32Array,
  width: number,
  height: number,
  s: number,
  out: Float32Array,
): void {
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const gx = Math.min(Math.max((x + 0.5) / s - 0.5, 0), lw - 1);
    const x0 = Math.floor(gx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, lw - 1);
    fxs[x] = gx - x0;
  }
  const rowA = new Float32Array(lw);
  const rowB = new Float32Array(lw);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(Math.max((y + 0.5) / s - 0.5, 0), lh - 1);
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    const r0 = y0 * lw;
    const r1 = Math.min(y0 + 1, lh - 1) * lw;
    for (let lx = 0; lx < lw; lx++) {
      rowA[lx] = A[r0 + lx]! + (A[r1 + lx]! - A[r0 + lx]!) * fy;
      rowB[lx] = B[r0 + lx]! + (B[r1 + lx]! - B[r0 + lx]!) * fy;
    }
    for (let x = 0, o = y * width; x < width; x++, o++) {
      const x0 = x0s[x]!;
      const x1 = x1s[x]!;
      const fx = fxs[x]!;
      const a = rowA[x0]! + (rowA[x1]! - rowA[x0]!) * fx;
      const b = rowB[x0]! + (rowB[x1]! - rowB[x0]!) * fx;
      out[o] = a * guide[o]! + b;
    }
  }
}
