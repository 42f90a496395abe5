import sharp, { type Sharp, type SharpOptions } from 'sharp';
import type { CropChoice, OnDemandFormat, OnDemandParams } from '../../cdn/imgix-params.js';
import { AppError } from '../../lib/errors.js';
import { decodeHeic } from '../../lib/heic/decode-heic.js';
import { heicSharpInput } from '../../lib/heic/sharp-input.js';
import { sniffFormat } from '../../lib/image-format.js';
import { ENCODER_SETTINGS } from '../steps/responsive-set.js';

/**
 * One on-demand rendering: an imgix-style transform of a published master (or an original) with
 * sharp. libvips decodes, resizes and encodes on libuv's threads, so the API's event loop only
 * waits; the caller bounds how many run at once and the memory they hold (api/on-demand/).
 */

/** Limits shared with the render step: MAX_INPUT_PIXELS, MAX_OUTPUT_PIXELS, DECODE_TIMEOUT_SECONDS. */
export interface TransformLimits {
  maxInputPixels: number;
  maxOutputPixels: number;
  timeoutSeconds: number;
}

/** A source's header: its size as shown (EXIF orientation applied) and whether it has alpha. */
export interface SourceInfo {
  width: number;
  height: number;
  hasAlpha: boolean;
}

/** imgix's `auto=compress` quality when `q` is absent. */
const COMPRESS_QUALITY = 45;
/** Bytes per pixel libvips may hold per image it materialises (RGBA, 8 bit), and a margin per transform. */
const BYTES_PER_PIXEL = 4;
const FIXED_BYTES = 16 * 1024 * 1024;

/** Stored bytes as sharp input: as they are, or (HEVC-coded HEIC originals, which libvips cannot read) decoded first. */
export interface PreparedSource {
  input: Buffer;
  options: SharpOptions;
}

const open = (source: PreparedSource, limits: TransformLimits) =>
  sharp(source.input, { failOn: 'error', limitInputPixels: limits.maxInputPixels, autoOrient: true, pages: 1, ...source.options });

/**
 * Make stored bytes readable by sharp. An iPhone's HEIC original goes through libheif in the
 * decoder's own thread pool (lib/heic), under the same pixel limit, as the render step does.
 */
export async function prepareSource(bytes: Buffer, limits: TransformLimits): Promise<PreparedSource> {
  if (sniffFormat(bytes) !== 'heic') return { input: bytes, options: {} };
  const heic = await decodeHeic(bytes, { maxPixels: limits.maxInputPixels, timeoutSeconds: limits.timeoutSeconds }, { pixels: true });
  return heicSharpInput({ ...heic, rgba: heic.rgba! });
}

/** Read the header only (cheap): what planning and the memory estimate need. */
export async function inspectSource(source: PreparedSource, limits: TransformLimits): Promise<SourceInfo> {
  try {
    const meta = await open(source, limits).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const width = meta.autoOrient?.width ?? (swap ? meta.height : meta.width);
    const height = meta.autoOrient?.height ?? (swap ? meta.width : meta.height);
    if (!width || !height) throw new Error('no dimensions');
    if (width * height > limits.maxInputPixels) throw new AppError('IMAGE_TOO_LARGE', 'The source has more pixels than MAX_INPUT_PIXELS.');
    return { width, height, hasAlpha: meta.hasAlpha === true };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('CORRUPT_IMAGE', 'The stored source cannot be read.', { reason: String(err).slice(0, 200) });
  }
}

/** Memory one transform of this source may hold: decoded source plus output, RGBA, and a margin. */
export function transformMemoryBytes(source: SourceInfo, params: OnDemandParams): number {
  const out = (params.w ?? source.width) * (params.h ?? source.height);
  return FIXED_BYTES + (source.width * source.height + 2 * out) * BYTES_PER_PIXEL;
}

interface Plan {
  /** Applied in order after rect/trim; the last size is the output size before padding. */
  ops: Array<(img: Sharp) => Sharp>;
  width: number;
  height: number;
}

const bad = (param: string, message: string) => new AppError('BAD_REQUEST', `Parameter ${param}: ${message}`, { param });

const toColor = (hex: string) => ({
  r: parseInt(hex.slice(1, 3), 16),
  g: parseInt(hex.slice(3, 5), 16),
  b: parseInt(hex.slice(5, 7), 16),
  alpha: parseInt(hex.slice(7, 9), 16) / 255,
});
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

function cover(sw: number, sh: number, w: number, h: number, crop: CropChoice): Plan {
  if (crop.kind !== 'focalpoint') {
    const position = crop.kind === 'entropy' ? sharp.strategy.entropy : crop.gravity;
    return { ops: [(img) => img.resize({ width: w, height: h, fit: 'cover', position })], width: w, height: h };
  }
  // Scale to cover the box, then keep the window centred on the focal point, clamped inside.
  const scale = Math.max(w / sw, h / sh);
  const rw = Math.max(w, Math.round(sw * scale));
  const rh = Math.max(h, Math.round(sh * scale));
  const left = Math.min(Math.max(0, Math.round(crop.x * rw - w / 2)), rw - w);
  const top = Math.min(Math.max(0, Math.round(crop.y * rh - h / 2)), rh - h);
  return {
    ops: [(img) => img.resize({ width: rw, height: rh, fit: 'fill' }), (img) => img.extract({ left, top, width: w, height: h })],
    width: w,
    height: h,
  };
}

/** imgix's fit modes over a `sw`×`sh` source and the box `w`×`h` (either may be absent). */
export function planResize(sw: number, sh: number, p: Pick<OnDemandParams, 'w' | 'h' | 'fit' | 'crop' | 'bg' | 'fillColor'>): Plan {
  const { w, h, fit } = p;
  const exact = (width: number, height: number): Plan => ({
    ops: width === sw && height === sh ? [] : [(img) => img.resize({ width, height, fit: 'fill' })],
    width,
    height,
  });
  const scaled = (s: number) => exact(Math.max(1, Math.round(sw * s)), Math.max(1, Math.round(sh * s)));
  if (w === undefined && h === undefined) return exact(sw, sh);
  const noUpscale = fit === 'max' || fit === 'min';
  if (w === undefined || h === undefined) {
    const s = w !== undefined ? w / sw : h! / sh;
    return scaled(noUpscale ? Math.min(s, 1) : s);
  }
  switch (fit) {
    case 'scale':
      return exact(w, h);
    case 'clip':
      return scaled(Math.min(w / sw, h / sh));
    case 'max':
      return scaled(Math.min(w / sw, h / sh, 1));
    case 'fill': {
      const background = p.fillColor ?? p.bg;
      const fill = (img: Sharp) =>
        img.resize({ width: w, height: h, fit: 'contain', background: background ? toColor(background) : TRANSPARENT });
      return { ops: [fill], width: w, height: h };
    }
    case 'crop':
      return cover(sw, sh, w, h, p.crop);
    case 'min': {
      // Never larger than the source: the box shrinks, aspect kept, until it fits inside it.
      const f = Math.min(1, sw / w, sh / h);
      return cover(sw, sh, Math.max(1, Math.round(w * f)), Math.max(1, Math.round(h * f)), p.crop);
    }
  }
}

/**
 * libwebp method of a provisional answer (see {@link transformImage}): about half the encode time
 * of the final method 4, for 2–6% more bytes at the same quality setting (BENCHMARKS.md).
 */
export const PROVISIONAL_WEBP_EFFORT = 2;

/** The formats whose encode has a cheaper provisional setting. */
export const hasProvisionalEncode = (format: OnDemandFormat): boolean => format === 'webp';

function encode(img: Sharp, format: OnDemandFormat, p: OnDemandParams, provisional = false): Sharp {
  const q = (fallback: number) => p.q ?? (p.autoCompress ? COMPRESS_QUALITY : fallback);
  switch (format) {
    case 'avif':
      return img.avif({ ...ENCODER_SETTINGS.avif, quality: q(ENCODER_SETTINGS.avif.quality) });
    case 'webp':
      return img.webp({
        ...ENCODER_SETTINGS.webp,
        quality: q(ENCODER_SETTINGS.webp.quality),
        ...(provisional ? { effort: PROVISIONAL_WEBP_EFFORT } : {}),
      });
    case 'jpg':
      return img.jpeg({ ...ENCODER_SETTINGS.jpeg, quality: q(ENCODER_SETTINGS.jpeg.quality) });
    case 'png':
      // Lossless unless auto=compress or q asks for a palette (imgix's PNG compression).
      return p.autoCompress || p.q !== undefined
        ? img.png({ palette: true, quality: q(80), compressionLevel: 6 })
        : img.png({ compressionLevel: 6, adaptiveFiltering: false });
  }
}

/** A transform's output; `final` is set when `data` is a provisional encode. */
export interface TransformOutput {
  data: Buffer;
  width: number;
  height: number;
  /** The final encode of the same pixels (byte for byte what a one-step transform makes). */
  final?: () => Promise<Buffer>;
}

/**
 * Transform `source` as `params` say into `format`. The output has no metadata (sharp strips it).
 * With `provisional` (and a format that has a cheaper encode), the pixels are made once and
 * encoded cheaply for the answer; `final` then encodes the same pixels with the final settings.
 *
 * @throws AppError 400 `BAD_REQUEST` when `rect` lies outside the source, the box leaves no room for
 *   `pad`, or the output would pass `maxOutputPixels`; 422 `IMAGE_TOO_LARGE` past the decode time.
 */
export async function transformImage(
  source: PreparedSource,
  info: SourceInfo,
  params: OnDemandParams,
  format: OnDemandFormat,
  limits: TransformLimits,
  options: { provisional?: boolean } = {},
): Promise<TransformOutput> {
  let input = source;
  let { width: sw, height: sh } = info;
  let pre: (img: Sharp) => Sharp = (img) => img;
  if (params.rect) {
    const [x, y, rw, rh] = params.rect;
    if (x >= sw || y >= sh) throw bad('rect', `starts outside the ${sw}x${sh} source`);
    const region = { left: x, top: y, width: Math.min(rw, sw - x), height: Math.min(rh, sh - y) };
    pre = (img) => img.extract(region);
    [sw, sh] = [region.width, region.height];
  }
  if (params.trim) {
    // Trim changes the size the plan needs: materialise it once, as raw RGBA.
    const trimmed = await run(() => pre(open(input, limits)).trim().ensureAlpha().raw().toBuffer({ resolveWithObject: true }), limits);
    input = { input: trimmed.data, options: { raw: { width: trimmed.info.width, height: trimmed.info.height, channels: 4 } } };
    [sw, sh] = [trimmed.info.width, trimmed.info.height];
    pre = (img) => img;
  }
  const pad = params.pad;
  const box = {
    w: params.w === undefined ? undefined : params.w - 2 * pad,
    h: params.h === undefined ? undefined : params.h - 2 * pad,
  };
  if ((box.w ?? 1) < 1 || (box.h ?? 1) < 1) throw bad('pad', 'leaves no room for the image inside w×h');
  const plan = planResize(sw, sh, { ...params, ...box });
  const outW = plan.width + 2 * pad;
  const outH = plan.height + 2 * pad;
  if (outW * outH > limits.maxOutputPixels)
    throw bad('w', `the output (${outW}x${outH}) exceeds MAX_OUTPUT_PIXELS (${limits.maxOutputPixels})`);

  const opaqueBg = params.bg?.endsWith('ff') ? params.bg : undefined;
  const needsFlatten = opaqueBg !== undefined || format === 'jpg';
  const pixels = () => {
    let img = pre(open(input, limits));
    if (needsFlatten) img = img.flatten({ background: toColor(opaqueBg ?? '#ffffffff') });
    for (const op of plan.ops) img = op(img);
    if (pad > 0)
      img = img.extend({ top: pad, bottom: pad, left: pad, right: pad, background: params.bg ? toColor(params.bg) : TRANSPARENT });
    return img.timeout({ seconds: limits.timeoutSeconds });
  };
  if (!options.provisional || !hasProvisionalEncode(format)) {
    const data = await run(() => encode(pixels(), format, params).toBuffer(), limits);
    return { data, width: outW, height: outH };
  }
  const made = await run(() => pixels().raw().toBuffer({ resolveWithObject: true }), limits);
  const again = () =>
    sharp(made.data, { raw: { width: made.info.width, height: made.info.height, channels: made.info.channels } }).timeout({
      seconds: limits.timeoutSeconds,
    });
  const data = await run(() => encode(again(), format, params, true).toBuffer(), limits);
  return { data, width: outW, height: outH, final: () => run(() => encode(again(), format, params).toBuffer(), limits) };
}

async function run<T>(work: () => Promise<T>, limits: TransformLimits): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/timeout/i.test(message)) throw new AppError('IMAGE_TOO_LARGE', `The transform took longer than ${limits.timeoutSeconds} s.`);
    if (/pixel limit/i.test(message)) throw new AppError('IMAGE_TOO_LARGE', 'The source has more pixels than MAX_INPUT_PIXELS.');
    if (err instanceof AppError) throw err;
    throw new AppError('CORRUPT_IMAGE', 'The stored source cannot be transformed.', { reason: message.slice(0, 200) });
  }
}
