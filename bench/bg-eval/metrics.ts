/**
 * Quality of a predicted alpha matte against an exact one (both 8-bit, one value per pixel, row by
 * row): the three figures the background-removal benchmark reports.
 */

/** Half-width (px) of the band around the true edge that the boundary error averages over. */
export const BOUNDARY_BAND_PX = 3;

export interface AlphaScore {
  /** Intersection over union of alpha ≥ 0.5 against truth ≥ 0.5 (1 when both are empty). */
  iou: number;
  /** Mean absolute alpha error over the whole image, 0..1. */
  mae: number;
  /**
   * Mean absolute alpha error over the pixels within `band` px (Chebyshev distance) of the true
   * edge, 0..1: where refinement acts and where halos and lost thin parts show. 0 when the truth
   * has no edge (an empty or full mask).
   */
  boundary: number;
}

/**
 * Pixels within `band` px of the truth's 0.5 contour: every pixel whose thresholded truth differs
 * from a 4-neighbour's is an edge pixel (on both sides of the contour), and the band is those
 * dilated by a (2·band + 1)² square, done as a horizontal then a vertical running maximum.
 */
export function edgeBand(truth: Uint8Array, width: number, height: number, band: number): Uint8Array {
  const inside = (p: number) => truth[p]! >= 128;
  const edge = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const v = inside(p);
      if ((x > 0 && inside(p - 1) !== v) || (x < width - 1 && inside(p + 1) !== v)) edge[p] = 1;
      else if ((y > 0 && inside(p - width) !== v) || (y < height - 1 && inside(p + width) !== v)) edge[p] = 1;
    }
  }
  const rows = new Uint8Array(edge.length);
  for (let y = 0; y < height; y++) {
    let last = -Infinity; // x of the last edge pixel seen, scanning left to right
    for (let x = 0; x < width; x++) {
      if (edge[y * width + x]) last = x;
      if (x - last <= band) rows[y * width + x] = 1;
    }
    last = Infinity;
    for (let x = width - 1; x >= 0; x--) {
      if (edge[y * width + x]) last = x;
      if (last - x <= band) rows[y * width + x] = 1;
    }
  }
  const out = new Uint8Array(edge.length);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height; y++) {
      if (rows[y * width + x]) last = y;
      if (y - last <= band) out[y * width + x] = 1;
    }
    last = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (rows[y * width + x]) last = y;
      if (last - y <= band) out[y * width + x] = 1;
    }
  }
  return out;
}

/** IoU, alpha MAE and boundary error of `alpha` against `truth` (see {@link AlphaScore}). */
export function scoreAlpha(alpha: Uint8Array, truth: Uint8Array, width: number, height: number, band = BOUNDARY_BAND_PX): AlphaScore {
  if (alpha.length !== width * height || truth.length !== width * height) {
    throw new Error(`alpha has ${alpha.length} pixels, truth ${truth.length}, expected ${width}×${height}`);
  }
  const inBand = edgeBand(truth, width, height, band);
  let inter = 0;
  let union = 0;
  let err = 0;
  let bandErr = 0;
  let bandPixels = 0;
  for (let p = 0; p < truth.length; p++) {
    const a = alpha[p]! >= 128;
    const t = truth[p]! >= 128;
    if (a && t) inter++;
    if (a || t) union++;
    const e = Math.abs(alpha[p]! - truth[p]!);
    err += e;
    if (inBand[p]) {
      bandErr += e;
      bandPixels++;
    }
  }
  return {
    iou: union ? inter / union : 1,
    mae: err / 255 / truth.length,
    boundary: bandPixels ? bandErr / 255 / bandPixels : 0,
  };
}
