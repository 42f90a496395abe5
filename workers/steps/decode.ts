import sharp, { type OutputInfo, type SharpOptions } from 'sharp';
import { AppError } from '../../lib/errors.js';
import { decodeHeic } from '../../lib/heic/decode-heic.js';
import { heicSharpInput } from '../../lib/heic/sharp-input.js';
import { sniffFormat } from '../../lib/image-format.js';
import type { DecodedImage } from './types.js';

/** Limits applied while decoding untrusted input. */
export interface DecodeLimits {
  /**
   * Largest accepted `width * height`, checked against the header before any pixel is decoded,
   * so a decompression bomb fails fast instead of exhausting memory.
   */
  maxPixels: number;
  /** Seconds a decode may take (0 or absent: no limit); a slower file counts as too costly. */
  timeoutSeconds?: number;
  /** Most frames (pages) an input may hold: checked when an original is admitted, not by a step. */
  maxFrames?: number;
}

/**
 * Decodes an uploaded image once and normalises it for every later step: EXIF orientation
 * applied, colour converted to sRGB from any embedded ICC profile, 8 bits per channel, alpha kept
 * only when some pixel is not fully opaque. The result is raw pixels, so no EXIF, GPS, XMP or ICC
 * data can reach an output built from it.
 *
 * @throws AppError `CORRUPT_IMAGE` (truncated or broken pixel data, bad metadata),
 *   `IMAGE_TOO_LARGE` (over `limits.maxPixels`), `UNSUPPORTED_MEDIA_TYPE` (not an image format
 *   libvips reads), `EMPTY_UPLOAD` (no bytes); all permanent, so jobs must not retry them.
 * @throws the signal's reason when `signal` is aborted before or after decoding.
 */
export async function decodeSource(input: Buffer, limits: DecodeLimits, signal?: AbortSignal): Promise<DecodedImage> {
  signal?.throwIfAborted();
  if (input.length === 0) throw new AppError('EMPTY_UPLOAD', 'the image is empty');

  // libvips reads AV1-coded HEIF only; HEVC-coded HEIF (iPhone photos) is decoded by libheif and
  // then goes through the same normalisation as everything else.
  const source = sniffFormat(input) === 'heic' ? await decodeHeicSource(input, limits, signal) : { input, options: {} };

  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(source.input, {
      ...source.options,
      // 'error' rather than the default 'warning': libjpeg warns about harmless quirks that real
      // cameras and editors produce (extraneous bytes before a marker), while truncation and
      // decoder errors mean pixels are missing and the output would be silently grey.
      failOn: 'error',
      limitInputPixels: limits.maxPixels,
      autoOrient: true,
      // Only the first frame of animated/multi-page input: catalogue images are stills.
      pages: 1,
    })
      // Without keepIccProfile/keepMetadata sharp converts from the embedded profile to sRGB;
      // toColourspace makes that explicit and also turns grey, CMYK and 16-bit input into 8-bit RGB.
      .toColourspace('srgb')
      .timeout({ seconds: limits.timeoutSeconds ?? 0 })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw toAppError(err);
  }
  signal?.throwIfAborted();

  const { width, height, channels } = decoded.info;
  if (channels !== 3 && channels !== 4) {
    // toColourspace('srgb') always yields RGB(A); anything else is a libvips surprise, not bad input.
    throw new AppError('INTERNAL', `decoder produced ${channels} channels`);
  }
  if (channels === 4 && isOpaque(decoded.data)) {
    // PNG exports often carry an alpha channel that is 255 everywhere. Dropping it lets JPEG skip
    // flattening and saves AVIF/WebP an alpha plane.
    return { data: dropAlpha(decoded.data, width * height), width, height, channels: 3, hasAlpha: false };
  }
  return { data: decoded.data, width, height, channels, hasAlpha: channels === 4 };
}

async function decodeHeicSource(
  input: Buffer,
  limits: DecodeLimits,
  signal?: AbortSignal,
): Promise<{ input: Buffer; options: SharpOptions }> {
  const heic = await decodeHeic(
    input,
    { maxPixels: limits.maxPixels, ...(limits.timeoutSeconds ? { timeoutSeconds: limits.timeoutSeconds } : {}) },
    { pixels: true, ...(signal ? { signal } : {}) },
  );
  return heicSharpInput({ ...heic, rgba: heic.rgba! });
}

/** Maps a sharp/libvips decode failure to a permanent AppError with a stable code. */
function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new AppError('IMAGE_TOO_LARGE', 'the image has more pixels than allowed', { reason: message });
  }
  if (/timeout/i.test(message)) {
    return new AppError('IMAGE_TOO_LARGE', 'the image takes too long to decode', { reason: message });
  }
  if (/unsupported image format/i.test(message)) {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'the file is not an image format we can read');
  }
  // Everything else libvips reports while reading (premature end, bad Huffman code, CRC error,
  // invalid header) is a property of the bytes: retrying cannot fix it.
  return new AppError('CORRUPT_IMAGE', 'the image is corrupt or truncated', { reason: message });
}

/** True when every alpha byte of interleaved RGBA data is 255. */
function isOpaque(rgba: Buffer): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

/** RGBA → RGB, one pass. */
function dropAlpha(rgba: Buffer, pixels: number): Buffer {
  const rgb = Buffer.allocUnsafe(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 4, o += 3) {
    rgb[o] = rgba[i]!;
    rgb[o + 1] = rgba[i + 1]!;
    rgb[o + 2] = rgba[i + 2]!;
  }
  return rgb;
}
