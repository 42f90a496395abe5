import { availableParallelism } from 'node:os';
import sharp, { type AvifOptions, type JpegOptions, type ResizeOptions, type WebpOptions } from 'sharp';
import { AppError } from '../../lib/errors.js';
import { widestRendition } from './encoder-limits.js';
import { computePlaceholder } from './placeholder.js';
import {
  OUTPUT_FORMATS,
  type DecodedImage,
  type EncodedVariant,
  type OutputFormat,
  type RenderOptions,
  type ResponsiveSet,
} from './types.js';

/**
 * Every setting that changes the bytes of a rendition. The whole object (version included) goes
 * into content-addressed rendition keys, so bump `version` whenever anything here changes:
 * `responsive-set.test.ts` pins a fingerprint of the settings to the version to enforce that.
 *
 * Tuned with `bench/responsive-set.ts` against a naive sharp baseline (AVIF effort 4 q50, WebP
 * q80, JPEG q80, one decode per variant); see BENCHMARKS.md for the figures behind each choice.
 */
export const ENCODER_SETTINGS = {
  version: 'responsive-set/2',
  resize: { kernel: 'lanczos3' },
  /**
   * A width is resized from the smallest width of the set already made that is at least this many
   * times wider, else from the decoded image: lanczos3 from twice the size scored the same SSIM
   * (±0.001) and a 320 px resize from 640 px costs 2 ms where one from a 3000 px photo costs 35.
   */
  resizeFromWiderBy: 2,
  // Effort 3 (aom speed 6) costs about a fifth of effort 4's CPU at 1920–2560px for −2…+17%
  // bytes and the same SSIM. 4:2:0 like WebP and JPEG: 10–30% less CPU than 4:4:4, 1–10% fewer
  // bytes, and luma (what SSIM and eyes weigh most) untouched.
  avif: { quality: 50, effort: 3, chromaSubsampling: '4:2:0' },
  /**
   * From this width up AVIF is encoded at effort 2: a quarter less CPU than effort 3 where the
   * encodes cost most, for 3–5% more bytes and still no worse SSIM than the baseline's effort 4.
   * Below it effort 2 fell up to 0.005 SSIM behind on granite texture (d10), so those keep 3.
   */
  avifWide: { minWidth: 1920, effort: 2 },
  // libwebp's defaults: lower effort saved CPU but cost 2–6% bytes; smartSubsample doubled the time.
  webp: { quality: 80, effort: 4, smartSubsample: false },
  // mozjpeg's quantisation table without its two slow passes: trellis quantisation and optimised
  // progressive scans each cost as much CPU as the rest of the encode (2560 px: 510 ms with both,
  // about 100 without) for 5-8% of the bytes; at q82 the result scores the same SSIM as the full
  // mozjpeg at q84 did, and is still smaller than libjpeg q80 with the same SSIM.
  jpeg: {
    quality: 82,
    mozjpeg: true,
    trellisQuantisation: false,
    optimiseScans: false,
    overshootDeringing: false,
    chromaSubsampling: '4:2:0',
  },
  /** JPEG has no alpha: transparent sources are composited onto this colour. */
  jpegBackground: '#ffffff',
} as const satisfies {
  version: string;
  resize: ResizeOptions;
  resizeFromWiderBy: number;
  avif: AvifOptions;
  avifWide: { minWidth: number; effort: number };
  webp: WebpOptions;
  jpeg: JpegOptions;
  jpegBackground: string;
};

/**
 * How many encodes one render runs at once. sharp sets libvips' thread pool to 1 on glibc Linux
 * without jemalloc (as on our 2-core hosts), and aom encodes single-threaded there, so each sharp
 * call keeps about one core busy: one encode per core. More would only add memory. Capped at 4,
 * the size of libuv's default pool, which sharp shares with fs and dns.
 */
export const RENDER_PARALLELISM = Math.max(1, Math.min(4, availableParallelism()));

/**
 * The widths actually rendered for a source of this size: each requested width is capped at the
 * source width (never upscaled) and at the widest rendition the formats' encoders can hold (a tall
 * image is made narrower, see {@link widestRendition}), then de-duplicated and sorted ascending.
 * When every requested width exceeds the cap the result is exactly `[cap]`.
 *
 * @throws AppError `INVALID_RECIPE` when a width is not a positive integer or none is given;
 *   `EXTREME_ASPECT_RATIO` when no rendition of the image fits the encoders.
 */
export function planWidths(
  source: { width: number; height: number },
  widths: readonly number[],
  formats: readonly OutputFormat[] = OUTPUT_FORMATS,
): number[] {
  if (widths.length === 0) throw new AppError('INVALID_RECIPE', 'at least one width is required');
  const bad = widths.find((w) => !Number.isInteger(w) || w <= 0);
  if (bad !== undefined) throw new AppError('INVALID_RECIPE', `width ${bad} is not a positive integer`);
  const cap = widestRendition(source, formats);
  return [...new Set(widths.map((w) => Math.min(w, cap)))].sort((a, b) => a - b);
}

/**
 * Renders every planned width in every requested format from one decoded image, plus the
 * placeholder (ThumbHash and dominant colour). Each width is resized once from the decoded
 * pixels and its formats are encoded from that; encodes run {@link RENDER_PARALLELISM} at a time,
 * largest first so the long AVIF encodes do not end up alone on one core at the end.
 *
 * Outputs carry no metadata at all (they are built from raw pixels), and are sRGB.
 *
 * @returns variants ordered by format (as in `OUTPUT_FORMATS`) then width ascending.
 * @throws AppError `INVALID_RECIPE` for bad widths or no formats; the signal's reason on abort
 *   (checked before each resize and encode).
 */
export async function renderResponsiveSet(image: DecodedImage, options: RenderOptions, signal?: AbortSignal): Promise<ResponsiveSet> {
  signal?.throwIfAborted();
  const formats = OUTPUT_FORMATS.filter((f) => options.formats.includes(f));
  if (formats.length === 0) throw new AppError('INVALID_RECIPE', 'at least one output format is required');
  const widths = planWidths(image, options.widths, formats);

  // One resize per width, shared by its formats; started lazily by the first encode that needs it,
  // from a wider width of the set when one is wide enough (see `resizeFromWiderBy`). The widths run
  // widest first, so that one is already under way.
  const resized = new Map<number, Promise<Resized>>();
  const resizeOnce = (width: number): Promise<Resized> => {
    let pending = resized.get(width);
    if (!pending) {
      const from = widths.find((w) => w >= width * ENCODER_SETTINGS.resizeFromWiderBy);
      // The height from the decoded image's proportions, not the wider width's rounded ones.
      const height = Math.max(1, Math.round((width * image.height) / image.width));
      pending = from === undefined ? resize(image, width) : resizeOnce(from).then((wider) => resize(wider, width, height));
      resized.set(width, pending);
    }
    return pending;
  };

  const jobs: Array<() => Promise<EncodedVariant>> = [];
  for (const width of [...widths].reverse()) {
    for (const format of formats) {
      jobs.push(async () => encode(await resizeOnce(width), format));
    }
  }
  // allSettled, not all: on failure, wait for the other branch too so no sharp call outlives the step.
  const [encoded, placeheld] = await Promise.allSettled([runLimited(jobs, RENDER_PARALLELISM, signal), computePlaceholder(image, signal)]);
  if (encoded.status === 'rejected') throw encoded.reason;
  if (placeheld.status === 'rejected') throw placeheld.reason;
  const variants = encoded.value;
  const placeholder = placeheld.value;

  variants.sort((a, b) => OUTPUT_FORMATS.indexOf(a.format) - OUTPUT_FORMATS.indexOf(b.format) || a.width - b.width);
  return {
    width: image.width,
    height: image.height,
    hasAlpha: image.hasAlpha,
    variants,
    thumbhash: placeholder.thumbhash,
    dominantColor: placeholder.dominantColor,
  };
}

/** Raw pixels at one target width (same channel layout as the decoded image). */
interface Resized {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

async function resize(image: Resized, width: number, height?: number): Promise<Resized> {
  const { channels } = image;
  if (width === image.width) return { data: image.data, width, height: image.height, channels };
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } })
    .resize({ width, ...(height ? { height, fit: 'fill' as const } : {}), ...ENCODER_SETTINGS.resize })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels };
}

async function encode(img: Resized, format: OutputFormat): Promise<EncodedVariant> {
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  let data: Buffer;
  switch (format) {
    case 'avif':
      data = await s
        .avif(
          img.width >= ENCODER_SETTINGS.avifWide.minWidth
            ? { ...ENCODER_SETTINGS.avif, effort: ENCODER_SETTINGS.avifWide.effort }
            : ENCODER_SETTINGS.avif,
        )
        .toBuffer();
      break;
    case 'webp':
      data = await s.webp(ENCODER_SETTINGS.webp).toBuffer();
      break;
    case 'jpeg':
      // Keyed on channels, not hasAlpha: JPEG must never be handed a fourth channel.
      data = await (img.channels === 4 ? s.flatten({ background: ENCODER_SETTINGS.jpegBackground }) : s)
        .jpeg(ENCODER_SETTINGS.jpeg)
        .toBuffer();
      break;
  }
  return { format, width: img.width, height: img.height, data };
}

/**
 * Runs `jobs` at most `limit` at a time, preserving order in the result. On the first failure or
 * abort no further job starts; jobs already running are awaited before rejecting, so no sharp
 * call outlives the step.
 */
async function runLimited<T>(jobs: Array<() => Promise<T>>, limit: number, signal?: AbortSignal): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < jobs.length) {
      const i = next++;
      try {
        signal?.throwIfAborted();
        results[i] = await jobs[i]!();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
