import { open, readFile } from 'node:fs/promises';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { AppError } from '../lib/errors.js';
import { decodeHeic } from '../lib/heic/decode-heic.js';
import { sniffFormat, type SourceFormat } from '../lib/image-format.js';
import { uploadChecks, type UploadCheckPool } from './upload-checks.js';
import { withTimeout } from '../lib/deadline.js';

export interface InspectedImage {
  format: SourceFormat;
  width: number;
  height: number;
}

export interface InspectLimits {
  maxPixels: number;
  /** Frames (pages) of animated or multi-page input; only the first is used, but each costs parsing. */
  maxFrames: number;
  /** Seconds a decode may take before the file counts as too costly. */
  decodeTimeoutSeconds: number;
}

/** libvips sample formats we decode: 8 and 16 bits per channel. Floating point and complex are refused. */
const ACCEPTED_DEPTHS = new Set(['uchar', 'char', 'ushort', 'short']);

/**
 * Check an uploaded file before anything is stored or enqueued: a format we accept, a pixel count
 * within the limit (read from the header, before any decoding), and a body that decodes to the end
 * (a truncated or corrupt file fails here, not later in a worker).
 *
 * The cheap checks come first, the decode last: `beforeDecode` gets the header's dimensions, so a
 * caller refuses a recipe this image cannot run (output size, encoder limits) before any pixel is
 * decoded. The decode then waits for its share of memory and a slot in the upload checks' pool
 * (`api/upload-checks.ts`), by what it will need as estimated from the header.
 *
 * @throws AppError `UNSUPPORTED_MEDIA_TYPE`, `CORRUPT_IMAGE`, `IMAGE_TOO_LARGE` (permanent);
 *   503 `SERVICE_UNAVAILABLE` when too many checks already wait; whatever `beforeDecode` throws.
 */
export async function inspectImage(
  path: string,
  limits: InspectLimits,
  beforeDecode?: (image: InspectedImage) => unknown,
  pool: UploadCheckPool = uploadChecks,
): Promise<InspectedImage> {
  const head = await readHead(path, 64);
  const format = sniffFormat(head);
  if (!format) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'The upload is not an image in a supported format (JPEG, PNG, WebP, AVIF, HEIC, TIFF, GIF).',
    );
  }
  // HEIC decodes in its own bounded thread pool (lib/heic), header and pixels in one go.
  if (format === 'heic') return inspectHeic(path, limits, beforeDecode);
  // The same strictness as the worker's decoder (workers/steps/decode.ts), so what we accept, it can render.
  const options = { failOn: 'error' as const, limitInputPixels: limits.maxPixels, pages: 1 };
  let meta: Metadata;
  try {
    // Header only, so no pixel limit here: sharp would refuse an oversized image as "exceeds pixel
    // limit" before we could read (and report) its dimensions; the limit is checked just below.
    meta = await sharp(path, { ...options, limitInputPixels: false }).metadata();
  } catch {
    throw new AppError('CORRUPT_IMAGE', `The ${format.toUpperCase()} file could not be read: it is corrupt or truncated.`);
  }
  const { width, height, pages = 1, channels = 0, depth = 'uchar' } = meta;
  if (!width || !height) throw new AppError('CORRUPT_IMAGE', 'The image has no dimensions.');
  if (pages > limits.maxFrames) {
    throw new AppError('IMAGE_TOO_LARGE', `The image has ${pages} frames; the limit is ${limits.maxFrames}.`, {
      frames: pages,
      maxFrames: limits.maxFrames,
    });
  }
  if (channels > 4 || !ACCEPTED_DEPTHS.has(depth)) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Images with ${channels} channels of ${depth} samples are not supported: use 1-4 channels of 8 or 16 bits.`,
      { channels, depth },
    );
  }
  if (width * height > limits.maxPixels) {
    throw new AppError('IMAGE_TOO_LARGE', `The image has ${width}x${height} pixels; the limit is ${limits.maxPixels} pixels.`, {
      width,
      height,
      maxPixels: limits.maxPixels,
    });
  }
  const image: InspectedImage = { format, width, height };
  // The recipe sees the image as the worker will, turned upright by its EXIF orientation.
  await beforeDecode?.({ format, width: meta.autoOrient?.width ?? width, height: meta.autoOrient?.height ?? height });
  await pool.run(decodeMemory(format, meta), () => checkDecodes(path, format, options, limits));
  return image;
}

/** Bytes per sample of the libvips sample formats we accept. */
const SAMPLE_BYTES: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2 };

/**
 * What decoding this file to a thumbnail holds in memory at its peak, from the header alone. Most
 * loaders stream rows into the shrink, so only a window of rows is held; the exceptions hold the
 * whole image: interlaced PNG (Adam7 needs every pass), progressive JPEG (libjpeg keeps every DCT
 * coefficient, 2 bytes each, until the last scan), AVIF (the whole frame, plus libheif's own YUV
 * planes), GIF (the canvas), and WebP and TIFF (libwebp decodes whole frames; a TIFF may be one
 * strip), all counted at full size since the header cannot tell more.
 */
export function decodeMemory(
  format: SourceFormat,
  meta: Pick<Metadata, 'width' | 'height' | 'channels' | 'depth' | 'isProgressive'>,
): number {
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const channels = meta.channels ?? 4;
  const whole = width * height * channels * (SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 2);
  // libvips' sequential loaders work in strips of a few dozen rows; 256 rows covers the shrink's window.
  const streamed = width * Math.min(height, 256) * channels * 2;
  switch (format) {
    case 'png':
      return meta.isProgressive ? whole : streamed;
    case 'jpeg':
      return meta.isProgressive ? width * height * channels * 2 : streamed;
    case 'avif':
      return whole * 2;
    case 'gif':
      return width * height * 4;
    case 'webp':
    case 'tiff':
    case 'heic':
      return Math.max(whole, width * height * 4);
  }
}

async function checkDecodes(path: string, format: SourceFormat, options: SharpOptions, limits: InspectLimits): Promise<void> {
  try {
    // Decoding to a thumbnail reads the whole compressed stream (so truncation is caught) while
    // JPEG shrink-on-load keeps it cheap. libvips checks its time limit only when an output strip
    // is done, and a 32-pixel thumbnail is one strip, so the limit could never fire before the
    // whole decode ended: 256 pixels gives it strips to stop at (JPEG still shrinks 8x on load
    // from 2048 px up). Our own deadline answers on time even while libvips winds down.
    const decode = sharp(path, options)
      .timeout({ seconds: limits.decodeTimeoutSeconds })
      .resize(256, 256, { fit: 'inside' })
      .raw()
      .toBuffer();
    await withTimeout(decode, limits.decodeTimeoutSeconds * 1000, () => DEADLINE);
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err === DEADLINE || /timeout/i.test((err as Error).message)) {
      throw new AppError('IMAGE_TOO_LARGE', `The image takes longer than ${limits.decodeTimeoutSeconds} s to decode.`, {
        decodeTimeoutSeconds: limits.decodeTimeoutSeconds,
      });
    }
    throw new AppError('CORRUPT_IMAGE', `The ${format.toUpperCase()} file is corrupt or truncated.`);
  }
}

/**
 * HEIC goes through libheif (libvips here reads AV1-coded HEIF only), with the same checks: the
 * pixel and image-count limits from the header first, then a full decode within the time limit.
 */
async function inspectHeic(
  path: string,
  limits: InspectLimits,
  beforeDecode?: (image: InspectedImage) => unknown,
): Promise<InspectedImage> {
  // libheif checks the header's pixel and image counts before it decodes; its check decode and the
  // dimensions (after the file's rotation) come in one call, so the recipe is checked after it.
  const heic = await decodeHeic(
    await readFile(path),
    {
      maxPixels: limits.maxPixels,
      maxImages: limits.maxFrames,
      timeoutSeconds: limits.decodeTimeoutSeconds,
    },
    { pixels: false },
  );
  const image: InspectedImage = { format: 'heic', width: heic.width, height: heic.height };
  await beforeDecode?.(image);
  return image;
}

const DEADLINE = new Error('timeout');

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
