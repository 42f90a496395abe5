import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import type { DecodedImage } from './types.js';

/** What a page shows while the real image loads. */
export interface Placeholder {
  /** ThumbHash, base64 (standard alphabet, padded); the browser decodes it to a ~32px preview. */
  thumbhash: string;
  /** Most common colour, `#rrggbb`, lower case. */
  dominantColor: string;
}

/** ThumbHash refuses inputs larger than 100×100. */
const THUMBHASH_MAX = 100;

/** Colour used when every pixel is fully transparent: there is nothing to be dominant. */
const TRANSPARENT_FALLBACK = '#ffffff';

/**
 * Computes the ThumbHash and dominant colour of a decoded image from one ≤100px thumbnail.
 * Both are cheap at that size, and a thumbnail is all either needs.
 */
export async function computePlaceholder(image: DecodedImage, signal?: AbortSignal): Promise<Placeholder> {
  signal?.throwIfAborted();
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .resize({ width: THUMBHASH_MAX, height: THUMBHASH_MAX, fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  signal?.throwIfAborted();

  const thumbhash = Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
  return { thumbhash, dominantColor: dominantColor(data) };
}

/**
 * Dominant colour of interleaved RGBA: a 16×16×16 histogram weighted by alpha (so transparent
 * backdrops of cut-out products do not win), then the mean colour of the fullest bin rather
 * than its centre, so flat colours come back exact.
 */
export function dominantColor(rgba: Uint8Array): string {
  const BINS = 16 * 16 * 16;
  const weight = new Float64Array(BINS);
  const sums = new Float64Array(BINS * 3);
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    if (a === 0) continue;
    const r = rgba[i]!;
    const g = rgba[i + 1]!;
    const b = rgba[i + 2]!;
    const bin = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    weight[bin]! += a;
    sums[bin * 3]! += r * a;
    sums[bin * 3 + 1]! += g * a;
    sums[bin * 3 + 2]! += b * a;
  }
  let best = -1;
  let bestWeight = 0;
  for (let bin = 0; bin < BINS; bin++) {
    if (weight[bin]! > bestWeight) {
      bestWeight = weight[bin]!;
      best = bin;
    }
  }
  if (best < 0) return TRANSPARENT_FALLBACK;
  const hex = (v: number) =>
    Math.round(v / bestWeight)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(sums[best * 3]!)}${hex(sums[best * 3 + 1]!)}${hex(sums[best * 3 + 2]!)}`;
}
