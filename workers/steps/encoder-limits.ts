import { AppError } from '../../lib/errors.js';
import type { OutputFormat } from './types.js';

/**
 * The longest side each encoder can write, as built into sharp (measured: libwebp refuses 16384,
 * libheif/aom 16385, libjpeg 65501). A rendition past one of these fails in every attempt, so the
 * render step never asks for one (see {@link widestRendition}) and the API refuses at upload the
 * images no rendition of which could fit.
 */
export const ENCODER_MAX_SIDE: Readonly<Record<OutputFormat, number>> = { avif: 16384, webp: 16383, jpeg: 65500 };

/**
 * The widest rendition of a `width`×`height` image, aspect ratio kept, whose both sides every one of
 * `formats` can encode: the smallest limit among them binds, so one set has the same widths in every
 * format (a `<picture>` offers them side by side). An 800×17000 infographic is rendered at most
 * 770×16362 when the set holds WebP; JPEG alone would keep it whole.
 *
 * @throws AppError 422 `EXTREME_ASPECT_RATIO` when even a rendition one pixel across would pass the
 *   limit (a 1×20000 strip): nothing faithful can be made, so it is refused before anything is kept.
 */
export function widestRendition(image: { width: number; height: number }, formats: readonly OutputFormat[]): number {
  const maxSide = Math.min(...formats.map((f) => ENCODER_MAX_SIDE[f]));
  // floor keeps the height, width·H/W, at most maxSide whichever way the resizer rounds it.
  const widest = Math.min(image.width, maxSide, Math.floor((maxSide * image.width) / image.height));
  if (widest < 1) {
    throw new AppError(
      'EXTREME_ASPECT_RATIO',
      `A ${image.width}x${image.height} image cannot be rendered: its height is more than ${maxSide} times its width, the most that ${formats.join(', ')} can encode.`,
      {
        width: image.width,
        height: image.height,
        maxSide,
        formats: [...formats],
      },
    );
  }
  return widest;
}
