/**
 * Foreground colour only where the background is really in the pixel.
 *
 * Foreground estimation solves `I = αF + (1 − α)B` for F, trusting α. Where the mask wrongly gives
 * part of the product fractional alpha (a gold collar at α 0.1–0.6, a translucent marker), the
 * pixel holds no background at all, and solving for F pushes its colour away from the background
 * (a cream collar turned brown, a red part clipped to pure red): the cut-out looks dark and
 * see-through on any other backdrop.
 *
 * So each partly transparent pixel is checked against its surroundings: `Fl`, the mean colour of
 * the opaque pixels near it (the product), and `Bl`, the mean colour of the clear pixels near it
 * (the local background). Only if its colour lies close to the segment from `Bl` to `Fl` — it is
 * explained as a mix of the two — is background removed, and only as much as that mix holds:
 * the product share is the larger of alpha and the share the colours imply, so a pixel that
 * looks like pure product keeps its colour whatever alpha says. Everywhere else (no background
 * nearby, no contrast to tell product from background, a colour neither product nor background
 * explains) the photo's colour is kept.
 */
import { boxMean } from './guided-filter.js';

/** Tuning of {@link gateForeground}, colours on 0..1. */
export const FOREGROUND_GATE = {
  /** Alpha at or above which a pixel counts as product, at or below `1 − opaque` as background. */
  opaque: 0.98,
  /** Contrast (RGB distance) between local product and background below which nothing is changed. */
  minContrast: 0.06,
  /**
   * Distance from the mixing segment still counted as explained: `tolerance + slope · contrast`
   * (texture and noise grow with contrast); the correction fades out over a second such distance.
   */
  tolerance: 0.04,
  slope: 0.15,
  /** Largest difference between alpha and the colours' product share for a full correction; fades out over a second such gap. */
  agreement: 0.15,
  /**
   * Alpha around which correction fades out (full at `maxAlpha − 0.1`, none at `+ 0.1`). A soft
   * mask edge reaches a pixel or two into solid product, and those pixels can pass both tests
   * (an edge's shading lies between product and background colour). On the three renders of
   * `foreground-gate.test.ts` the solid-product pixels the tests passed had alpha 0.6–0.95, and
   * correcting them made the cut-out better on some backdrops and worse on others (with the fade
   * centred on 0.7: 0.001–0.002 levels worse on one backdrop each; on 0.6: none changed). A pixel
   * at least 70% product hides under a third of background, so little is lost by keeping its colour.
   */
  maxAlpha: 0.6,
} as const;

/**
 * Gate `foreground` (3 floats per pixel on 0..1, as `estimateForeground` gives) in place: the
 * photo's colour wherever the mixing test fails; where it passes, the estimate (alpha trusted) or
 * an unmixing with the colours' larger product share, faded out near the test's limit. `radius` (in
 * pixels of this grid): how far to look for product and background pixels. Returns `foreground`.
 */
export function gateForeground(
  pixels: Uint8Array,
  channels: number,
  alpha: Float32Array,
  width: number,
  height: number,
  foreground: Float32Array,
  radius: number,
): Float32Array {
  const n = width * height;
  const g = FOREGROUND_GATE;
  const isF = new Float32Array(n);
  const isB = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const a = alpha[p]!;
    if (a >= g.opaque) isF[p] = 1;
    else if (a <= 1 - g.opaque) isB[p] = 1;
  }
  // Box means of the colours of product pixels and of background pixels (normalised by their
  // share of the window below): the local product and background colours.
  const fSum: Float32Array[] = [];
  const bSum: Float32Array[] = [];
  const plane = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < n; p++) plane[p] = (pixels[p * channels + c]! / 255) * isF[p]!;
    fSum.push(boxMean(plane, width, height, radius));
    for (let p = 0; p < n; p++) plane[p] = (pixels[p * channels + c]! / 255) * isB[p]!;
    bSum.push(boxMean(plane, width, height, radius));
  }
  const fShare = boxMean(isF, width, height, radius, isF);
  const bShare = boxMean(isB, width, height, radius, isB);

  const I = [0, 0, 0];
  const Fl = [0, 0, 0];
  const Bl = [0, 0, 0];
  for (let p = 0; p < n; p++) {
    const a = alpha[p]!;
    if (a <= 0 || a >= 1) continue;
    const o = p * 3;
    for (let c = 0; c < 3; c++) I[c] = pixels[p * channels + c]! / 255;
    const keep = () => {
      foreground[o] = I[0]!;
      foreground[o + 1] = I[1]!;
      foreground[o + 2] = I[2]!;
    };
    const sf = fShare[p]!;
    const sb = bShare[p]!;
    // No product or no background in reach: nothing to say the colour is a mix; keep it.
    if (sf < 1e-3 || sb < 1e-3) {
      keep();
      continue;
    }
    let dd = 0;
    let dot = 0;
    for (let c = 0; c < 3; c++) {
      Fl[c] = fSum[c]![p]! / sf;
      Bl[c] = bSum[c]![p]! / sb;
      const d = Fl[c]! - Bl[c]!;
      dd += d * d;
      dot += (I[c]! - Bl[c]!) * d;
    }
    const contrast = Math.sqrt(dd);
    if (contrast < g.minContrast) {
      keep();
      continue;
    }
    const t = Math.min(1, Math.max(0, dot / dd));
    let res = 0;
    for (let c = 0; c < 3; c++) {
      const r = I[c]! - Bl[c]! - t * (Fl[c]! - Bl[c]!);
      res += r * r;
    }
    res = Math.sqrt(res);
    const tol = g.tolerance + g.slope * contrast;
    const explained = res <= tol ? 1 : res >= 2 * tol ? 0 : 2 - res / tol;
    // The colours must also agree with alpha on how much background there is: a solid product
    // pixel at a soft mask edge whose own colour is darker or lighter than the product nearby
    // (shading, a rim) lies on the segment too, but at a share alpha does not confirm.
    const gap = Math.abs(t - a);
    const agreed = gap <= g.agreement ? 1 : gap >= 2 * g.agreement ? 0 : 2 - gap / g.agreement;
    const cap = g.maxAlpha;
    const mostlyClear = a <= cap - 0.1 ? 1 : a >= cap + 0.1 ? 0 : (cap + 0.1 - a) / 0.2;
    const weight = explained * agreed * mostlyClear;
    const share = Math.max(a, t);
    if (weight === 0 || share >= 1) {
      keep();
      continue;
    }
    for (let c = 0; c < 3; c++) {
      // Alpha trusted (the colours say no more product than alpha): the estimate as solved.
      // Otherwise unmix with the colours' own share, which removes less background.
      const target = t <= a ? foreground[o + c]! : (I[c]! - (1 - share) * Bl[c]!) / share;
      const f = I[c]! + weight * (target - I[c]!);
      foreground[o + c] = f < 0 ? 0 : f > 1 ? 1 : f;
    }
  }
  return foreground;
}
