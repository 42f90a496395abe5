import type { OutputFormat } from '../../cdn/formats.js';

// The formats are the publishing side's vocabulary; steps use them as they are.
export { CONTENT_TYPES, OUTPUT_FORMATS, type OutputFormat } from '../../cdn/formats.js';

/** One encoded rendition, still in memory. */
export interface EncodedVariant {
  format: OutputFormat;
  width: number;
  height: number;
  data: Buffer;
}

/** Everything the render step produces from one source image. */
export interface ResponsiveSet {
  /** Dimensions of the normalised source (after EXIF orientation). */
  width: number;
  height: number;
  hasAlpha: boolean;
  variants: EncodedVariant[];
  /** ThumbHash of the image, base64; decodes to a ~32px blurred preview in the browser. */
  thumbhash: string;
  /** Dominant colour as `#rrggbb`, for a background while the image loads. */
  dominantColor: string;
}

/** Options of the render step, as accepted in a recipe. */
export interface RenderOptions {
  /** Target widths; each is capped at the source width (never upscaled) and de-duplicated. */
  widths: number[];
  formats: OutputFormat[];
}

export const DEFAULT_WIDTHS = [320, 640, 960, 1280, 1920, 2560];

/**
 * A source decoded once and normalised (EXIF orientation applied, sRGB, 8 bits per channel, no
 * metadata): raw interleaved pixels, row-major, no padding. Every later step starts from this, so
 * no step ever decodes the original again.
 */
export interface DecodedImage {
  /** `width * height * channels` bytes, RGB or RGBA. */
  data: Buffer;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  /** True when the source has an alpha channel with at least one pixel that is not fully opaque. */
  hasAlpha: boolean;
}
