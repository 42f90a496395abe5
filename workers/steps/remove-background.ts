import sharp, { type ResizeOptions } from 'sharp';
import { AppError } from '../../lib/errors.js';
import type { ModelSession } from '../../models/session.js';
import { estimateForeground } from './foreground.js';
import { gateForeground } from './foreground-gate.js';
import { guidedFilter } from './guided-filter.js';
import { predictSquare, QUALITY_VIEWS, type ModelView } from './isnet-views.js';
import { luma, probabilitiesToBytes } from './tensor.js';
import { removeBackgroundOptionsSchema, type RemoveBackgroundOptions } from './remove-background-options.js';
import { productBox, type Box } from '../../templates/trim.js';
import type { DecodedImage } from './types.js';

/**
 * Every setting that changes the output pixels, tuned with `bench/background-removal.ts` on the
 * ten rendered product shots (see BENCHMARKS.md).
 */
export const REMOVE_BACKGROUND_SETTINGS = {
  version: 'remove-background/3',
  /*
   * Into the model: see `photoToSquare` (shrinking axes through libvips' anti-aliased linear
   * reduction, as ISNet's training loader resizes bilinearly; growing axes interpolated in float,
   * sample centres aligned). Which views the model sees: `QUALITY_VIEWS`.
   */
  /** 1024² probabilities back to the photo's size; lanczos3 and cubic tie, linear is a hair worse. */
  maskKernel: 'lanczos3' as NonNullable<ResizeOptions['kernel']>,
  /**
   * Guided-filter window radius per 1024 px of the photo's longer side, at least 2 px (2 px at
   * 640²). Radii 1–3 at 640² scored within 0.0003 IoU of each other; 2 was best.
   */
  radiusPer1024: 3,
  /**
   * Luma variance (0..1 scale) below which a window counts as flat. 1e-4 and 1e-3 tie on the
   * renders; 1e-3 is less eager to copy sensor noise of real photos into the mask. 1e-2 blurred.
   */
  eps: 1e-3,
  /**
   * Contrast around 0.5 after filtering: `(α − 0.5)·k + 0.5`. The filter alone softens edges
   * (edge-band error went up, 0.126 → 0.138); 1.5 restores crisp edges on the photo's real
   * boundary (0.103); 2 and 3 gave no further gain (0.104, 0.107).
   */
  contrast: 1.5,
  /** Largest working grid for the guided filter's coefficients (longer side, px). */
  maxGuidedSide: 1536,
  /**
   * Trimming: product is alpha ≥ 0.5 (as the IoU scores it) in blobs of at least 1% of the
   * largest blob's area (isnet-small leaves specks up to alpha 0.7 on wood grain); the box then
   * grows by the guided filter's radius + 1 to keep the soft edge.
   */
  trim: { threshold: 0.5, minFraction: 0.01 },
  /**
   * Largest region (px) whose foreground colours are estimated at full resolution. The estimate
   * holds about 36 bytes a pixel plus a pyramid whose top level is half the side: a 64 MP photo's
   * product box took it past 1.4 GB. Larger regions are estimated on a grid of k×k block averages
   * (k the smallest integer that fits) and each edge pixel takes its block's colour: foreground
   * colour varies slowly along an edge, and the mask itself is untouched.
   */
  maxForegroundPixels: 4_000_000,
  /**
   * How far (px per 1024 px of the photo's longer side) `gateForeground` looks for the product and
   * background colours a partly transparent pixel may be a mix of.
   */
  gateRadiusPer1024: 8,
} as const;

/**
 * Remove the background of a decoded photo with ISNet.
 *
 * 1. Resize to 1024×1024 (ISNet's training size, aspect ignored as in the reference inference),
 *    normalise, run the model (`session`: an ISNet session, e.g. `getSession(removeBackgroundModel(o), …)`).
 * 2. Resize the probability map back to the photo's size.
 * 3. `refine`: guided filter on the full-resolution luma, so the mask follows the photo's real
 *    edges rather than a 1024² upsampled outline; then estimate the foreground colour of edge
 *    pixels (Germer et al. 2020), so no background colour is left around the product.
 * 4. A source alpha channel, if any, is multiplied in: what was transparent stays transparent.
 *
 * @returns `cutout` and `trim`: RGBA (`hasAlpha` unless nothing was removed); `mask`: the matte as
 *   opaque grey RGB.
 * @throws AppError `INVALID_RECIPE` for bad options; `INTERNAL` when the session is not an ISNet
 *   model; the signal's reason when aborted (checked before and after inference and between phases).
 */
export async function removeBackground(
  image: DecodedImage,
  session: ModelSession,
  options: Partial<RemoveBackgroundOptions> = {},
  signal?: AbortSignal,
): Promise<DecodedImage> {
  const parsed = removeBackgroundOptionsSchema.safeParse(options);
  if (!parsed.success) throw new AppError('INVALID_RECIPE', `remove-background: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const opts = parsed.data;
  if (session.spec.task !== 'background-removal') {
    throw new AppError('INTERNAL', `remove-background was given the ${session.spec.name} session`);
  }
  signal?.throwIfAborted();

  const { width, height } = image;
  let alpha = toUnit(await predictAlpha(image, session, signal, QUALITY_VIEWS[opts.quality]));
  if (opts.refine) {
    signal?.throwIfAborted();
    alpha = refineAlpha(image, alpha);
  }
  if (image.hasAlpha && image.channels === 4) {
    for (let p = 0; p < alpha.length; p++) alpha[p]! *= image.data[p * 4 + 3]! / 255;
  }
  signal?.throwIfAborted();

  if (opts.output === 'mask') return maskImage(alpha, width, height);
  let box: Box = { left: 0, top: 0, width, height };
  let pad = 0;
  if (opts.output === 'trim') {
    const found = productBox(alpha, width, height, { ...REMOVE_BACKGROUND_SETTINGS.trim, grow: guidedRadius(width, height) + 1 });
    // Nothing to trim to (no product found): return the full, fully transparent cut-out rather
    // than fail; "nothing to do" is a success.
    if (found) {
      box = found;
      pad = opts.padding < 1 ? Math.round(opts.padding * Math.max(found.width, found.height)) : Math.round(opts.padding);
    }
  }
  return cutout(image, alpha, box, pad, opts.refine);
}

/** 8-bit alpha on 0..1 (a separate function, so the 8-bit plane is garbage as soon as it returns). */
function toUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

/**
 * ISNet's foreground probability for every pixel of `image`, as 8-bit alpha at the image's size.
 * Exported for measuring the model's own mask, before refinement.
 */
export async function predictAlpha(
  image: DecodedImage,
  session: ModelSession,
  signal?: AbortSignal,
  views: readonly ModelView[] = QUALITY_VIEWS.standard,
): Promise<Uint8Array> {
  const { probabilities, side } = await predictSquare(image, session, views, signal);
  const bytes = probabilitiesToBytes(probabilities);
  const { data } = await sharp(bytes, { raw: { width: side, height: side, channels: 1 } })
    .resize(image.width, image.height, { fit: 'fill', kernel: REMOVE_BACKGROUND_SETTINGS.maskKernel })
    // Without this libvips hands one-channel input back as sRGB, three bytes per pixel.
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== image.width * image.height) throw new AppError('INTERNAL', `mask resize gave ${data.length} bytes`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * Guided filter of the mask by the photo's luma, then a mild contrast to keep edges crisp. The
 * radius follows the photo's size because the model sees it at 1024²: a 4000 px photo's mask edge
 * is blurred over ~4× more pixels than a 1000 px one's. Large photos compute the coefficients on a
 * coarser grid (fast guided filter). `alpha` is refined in place and returned.
 */
export function refineAlpha(image: DecodedImage, alpha: Float32Array): Float32Array {
  const { width, height } = image;
  const s = REMOVE_BACKGROUND_SETTINGS;
  const side = Math.max(width, height);
  const radius = guidedRadius(width, height);
  const subsample = Math.max(1, Math.ceil(side / s.maxGuidedSide));
  const guide = luma(image.data, width, height, image.channels);
  // In place: the unrefined mask is not needed afterwards, and a second full-size plane is 256 MB at 64 MP.
  const out = guidedFilter(guide, alpha, width, height, { radius, eps: s.eps, subsample }, alpha);
  const k = s.contrast;
  for (let i = 0; i < out.length; i++) {
    const v = (out[i]! - 0.5) * k + 0.5;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

function guidedRadius(width: number, height: number): number {
  return Math.max(2, Math.round((REMOVE_BACKGROUND_SETTINGS.radiusPer1024 * Math.max(width, height)) / 1024));
}

/** The matte as opaque grey RGB: what a mask is when stored as an image. */
function maskImage(alpha: Float32Array, width: number, height: number): DecodedImage {
  const data = Buffer.allocUnsafe(width * height * 3);
  for (let p = 0, o = 0; p < alpha.length; p++, o += 3) {
    const v = Math.round(alpha[p]! * 255);
    data[o] = v;
    data[o + 1] = v;
    data[o + 2] = v;
  }
  return { data, width, height, channels: 3, hasAlpha: false };
}

/**
 * RGBA of `box` (grown by `pad` transparent pixels on each side). With `decontaminate`, partly
 * transparent pixels take the estimated foreground colour where their colour is a mix of the
 * product's and the local background's (`gateForeground`), the photo's elsewhere; opaque pixels keep
 * the photo's colour exactly (for them `I = F` holds without estimation).
 */
export function cutout(image: DecodedImage, alpha: Float32Array, box: Box, pad: number, decontaminate: boolean): DecodedImage {
  const { width: W, channels: C } = image;
  // Estimate foreground colours on the box plus a margin, not the whole photo: the estimate at
  // the box's edge needs some context, but not the far background.
  const m = decontaminate ? 16 : 0;
  const ex = Math.max(0, box.left - m);
  const ey = Math.max(0, box.top - m);
  const ew = Math.min(W, box.left + box.width + m) - ex;
  const eh = Math.min(image.height, box.top + box.height + m) - ey;
  // Block size of the grid the colours are estimated on (1: every pixel).
  const k = Math.max(1, Math.ceil(Math.sqrt((ew * eh) / REMOVE_BACKGROUND_SETTINGS.maxForegroundPixels)));
  const fw = Math.ceil(ew / k);
  let F: Float32Array | undefined;
  if (decontaminate) {
    const fh = Math.ceil(eh / k);
    let px: Uint8Array;
    let a: Float32Array;
    let pc = C;
    if (k > 1) {
      ({ pixels: px, alpha: a } = blockAverages(image, alpha, { left: ex, top: ey, width: ew, height: eh }, k));
      pc = 3;
    } else if (ew === W && eh === image.height) {
      px = image.data;
      a = alpha;
    } else {
      px = new Uint8Array(ew * eh * C);
      a = new Float32Array(ew * eh);
      for (let y = 0; y < eh; y++) {
        const src = ((ey + y) * W + ex) * C;
        px.set(image.data.subarray(src, src + ew * C), y * ew * C);
        a.set(alpha.subarray((ey + y) * W + ex, (ey + y) * W + ex + ew), y * ew);
      }
    }
    F = estimateForeground(px, pc, a, fw, fh).foreground;
    const gateRadius = Math.max(2, Math.round((REMOVE_BACKGROUND_SETTINGS.gateRadiusPer1024 * Math.max(W, image.height)) / 1024 / k));
    gateForeground(px, pc, a, fw, fh, F, gateRadius);
  }

  const ow = box.width + 2 * pad;
  const oh = box.height + 2 * pad;
  const data = Buffer.alloc(ow * oh * 4);
  let opaque = pad === 0;
  for (let y = 0; y < box.height; y++) {
    const sy = box.top + y;
    for (let x = 0, o = ((y + pad) * ow + pad) * 4; x < box.width; x++, o += 4) {
      const sx = box.left + x;
      const p = sy * W + sx;
      const a = Math.round(alpha[p]! * 255);
      if (a < 255) opaque = false;
      if (a === 0) continue; // fully transparent: colour meaningless; zeros compress best
      const i = p * C;
      if (F && a < 255) {
        const f = k === 1 ? ((sy - ey) * ew + (sx - ex)) * 3 : ((((sy - ey) / k) | 0) * fw + (((sx - ex) / k) | 0)) * 3;
        data[o] = Math.round(F[f]! * 255);
        data[o + 1] = Math.round(F[f + 1]! * 255);
        data[o + 2] = Math.round(F[f + 2]! * 255);
      } else {
        data[o] = image.data[i]!;
        data[o + 1] = image.data[i + 1]!;
        data[o + 2] = image.data[i + 2]!;
      }
      data[o + 3] = a;
    }
  }
  // DecodedImage's contract: hasAlpha only when some pixel is not fully opaque.
  return { data, width: ow, height: oh, channels: 4, hasAlpha: !opaque };
}

/**
 * Mean RGB and alpha of each `k × k` block of `region` (partial blocks at the right and bottom
 * average what they hold): the grid large regions' foreground colours are estimated on.
 */
function blockAverages(image: DecodedImage, alpha: Float32Array, region: Box, k: number): { pixels: Uint8Array; alpha: Float32Array } {
  const { width: W, channels: C } = image;
  const fw = Math.ceil(region.width / k);
  const fh = Math.ceil(region.height / k);
  const sums = new Float64Array(fw * 4);
  const pixels = new Uint8Array(fw * fh * 3);
  const a = new Float32Array(fw * fh);
  for (let by = 0; by < fh; by++) {
    sums.fill(0);
    const y0 = region.top + by * k;
    const y1 = Math.min(region.top + region.height, y0 + k);
    for (let y = y0; y < y1; y++) {
      for (let x = 0; x < region.width; x++) {
        const p = y * W + region.left + x;
        const s = ((x / k) | 0) * 4;
        sums[s]! += image.data[p * C]!;
        sums[s + 1]! += image.data[p * C + 1]!;
        sums[s + 2]! += image.data[p * C + 2]!;
        sums[s + 3]! += alpha[p]!;
      }
    }
    for (let bx = 0; bx < fw; bx++) {
      const count = (y1 - y0) * (Math.min(region.width, (bx + 1) * k) - bx * k);
      const o = (by * fw + bx) * 3;
      pixels[o] = Math.round(sums[bx * 4]! / count);
      pixels[o + 1] = Math.round(sums[bx * 4 + 1]! / count);
      pixels[o + 2] = Math.round(sums[bx * 4 + 2]! / count);
      a[by * fw + bx] = sums[bx * 4 + 3]! / count;
    }
  }
  return { pixels, alpha: a };
}
