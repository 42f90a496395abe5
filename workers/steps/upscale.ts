import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { AppError } from '../../lib/errors.js';
import { ort, type ModelSession } from '../../models/session.js';
import { axisWeights, BlendBuffer, planTiles, reflect101 } from './tiling.js';
import { CPU_SECONDS_PER_MEGAPIXEL, UPSCALE_DEFAULTS, type UpscaleOptions } from './upscale-options.js';
import type { DecodedImage } from './types.js';

/**
 * Upscale an image by `options.factor`: RGB through the model tile by tile (overlapping tiles,
 * feathered blend), alpha (if any) resized separately with lanczos3, since the models only know
 * RGB. A model whose own factor is larger (Real-ESRGAN is ×4 only) runs at its factor and the RGB
 * is then brought down to the asked size with lanczos3, as Upscayl does: its ×4 intermediate is
 * 16/factor² times the output's pixels (4× at ×2), 3 bytes each. Checks the output size before
 * any work, reports progress after each tile and checks `signal` between tiles.
 */
export async function upscale(
  image: DecodedImage,
  session: ModelSession,
  options: UpscaleOptions,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<DecodedImage> {
  const scale = options.factor;
  const native = session.spec.scale ?? scale;
  if (native < scale) throw new Error(`upscale: session ${session.spec.name} is ×${native}, options ask for ×${scale}`);
  const outWidth = image.width * scale;
  const outHeight = image.height * scale;
  const maxOutputPixels = options.maxOutputPixels ?? UPSCALE_DEFAULTS.maxOutputPixels;
  if (outWidth * outHeight > maxOutputPixels) {
    throw new AppError(
      'IMAGE_TOO_LARGE',
      `Upscaling ${image.width}×${image.height} by ${scale} gives ${outWidth}×${outHeight} (${mp(outWidth * outHeight)} MP), above the ${mp(maxOutputPixels)} MP limit`,
      { width: image.width, height: image.height, factor: scale, outputWidth: outWidth, outputHeight: outHeight, maxOutputPixels },
    );
  }
  if (session.provider === 'cpu') refuseIfTooSlow(image, session.spec.name, options.cpuMaxSeconds);
  signal?.throwIfAborted();

  const channels = image.channels;
  let out: Buffer;
  if (native === scale) {
    out = Buffer.alloc(outWidth * outHeight * channels);
    await runTiles(image, session, options, out, channels, onProgress, signal);
  } else {
    const rgb = Buffer.alloc(image.width * native * image.height * native * 3);
    await runTiles(image, session, options, rgb, 3, onProgress, signal);
    out = await downscaleRgb(rgb, image.width * native, image.height * native, outWidth, outHeight, channels);
  }
  if (channels === 4) await upscaleAlpha(image, out, outWidth, outHeight);
  return { data: out, width: outWidth, height: outHeight, channels, hasAlpha: image.hasAlpha };
}

/** The model over every tile at its own factor, blended into `out` (`outChannels` per pixel; RGB written). */
async function runTiles(
  image: DecodedImage,
  session: ModelSession,
  options: UpscaleOptions,
  out: Buffer,
  outChannels: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const scale = session.spec.scale ?? options.factor;
  const outWidth = image.width * scale;
  const outHeight = image.height * scale;
  const tiles = planTiles(image.width, image.height, options.tileSize, options.overlap);
  const { width: tw, height: th } = tiles[0]!;
  const pad = session.spec.prepadding ?? 0;
  const [pw, ph] = [tw + 2 * pad, th + 2 * pad];
  const blend = new BlendBuffer(out, outWidth, outHeight, outChannels, th * scale);
  const toModel = affine(session.spec.input.normalisation, 'in');
  const fromModel = affine(session.spec.output.normalisation, 'out');
  // One input buffer (and, with prepadding, one cropped output) for every tile: all tiles have the same size.
  const input = new Float32Array(pw * ph * 3);
  const cropped = pad > 0 ? new Float32Array(tw * scale * th * scale * 3) : undefined;

  let done = 0;
  for (const tile of tiles) {
    signal?.throwIfAborted();
    blend.flushUntil(tile.y * scale);
    readTile(image, tile.x - pad, tile.y - pad, pw, ph, input, toModel);
    const result = await session.run(new ort.Tensor('float32', input, [1, ph, pw, 3]), signal);
    let values = result.data as Float32Array;
    if (values.length !== pw * scale * ph * scale * 3)
      throw new Error(`model ${session.spec.name} returned ${result.dims.join('×')}, expected 1×${ph * scale}×${pw * scale}×3`);
    if (cropped) values = cropRows(values, pw * scale, pad * scale, tw * scale, th * scale, cropped);
    toPixels(values, fromModel);
    const wx = axisWeights(tile.x, tw, image.width, options.overlap, scale);
    const wy = axisWeights(tile.y, th, image.height, options.overlap, scale);
    blend.add(values, tile.x * scale, tile.y * scale, tw * scale, th * scale, wx, wy);
    result.dispose();
    onProgress?.(++done, tiles.length);
  }
  blend.flushUntil(outHeight);
}

/** The `width × height` RGB window at (`margin`, `margin`) of an NHWC output `fullWidth` wide, into `into`. */
function cropRows(
  values: Float32Array,
  fullWidth: number,
  margin: number,
  width: number,
  height: number,
  into: Float32Array,
): Float32Array {
  for (let y = 0; y < height; y++) {
    const from = ((y + margin) * fullWidth + margin) * 3;
    into.set(values.subarray(from, from + width * 3), y * width * 3);
  }
  return into;
}

/** RGB at the model's size down to the output's with lanczos3, into a buffer of `channels` per pixel. */
async function downscaleRgb(
  rgb: Buffer,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  channels: number,
): Promise<Buffer> {
  const small = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(outWidth, outHeight, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  if (channels === 3) return small;
  const out = Buffer.alloc(outWidth * outHeight * channels);
  for (let p = 0, s = 0, d = 0; p < outWidth * outHeight; p++, s += 3, d += channels) small.copy(out, d, s, s + 3);
  return out;
}

const mp = (pixels: number) => (pixels / 1e6).toFixed(1);

/**
 * A worker without a GPU refuses, before running, an upscale it estimates to take longer than
 * its limit (x4plus on a large photo: about 4 minutes per input megapixel on 2 cores), rather than
 * holding the job for an hour or timing out unexplained. Bad input for this worker: not retried.
 */
function refuseIfTooSlow(image: DecodedImage, model: string, maxSeconds: number | undefined): void {
  const cost = CPU_SECONDS_PER_MEGAPIXEL[model];
  if (!cost || maxSeconds === undefined) return;
  const seconds = Math.ceil((((image.width * image.height) / 1e6) * cost) / availableParallelism());
  if (seconds <= maxSeconds) return;
  throw new AppError(
    'IMAGE_TOO_LARGE',
    `Upscaling ${image.width}×${image.height} with ${model} on this worker's CPU would take about ${Math.ceil(seconds / 60)} min, above its ${maxSeconds} s limit (UPSCALE_CPU_MAX_SECONDS); use realesrgan-x4fast, a smaller image, or a GPU worker`,
    { width: image.width, height: image.height, model, estimatedSeconds: seconds, cpuMaxSeconds: maxSeconds },
  );
}

/** Per-channel `v·a + b`. */
interface Affine {
  a: [number, number, number];
  b: [number, number, number];
}

/**
 * Per-channel map between 0..255 pixels and the model's range, from the spec's normalisation
 * (`(x/255 - mean) / std` in; `(y·std + mean)·255` out).
 */
function affine(n: { mean: number[]; std: number[] } | undefined, direction: 'in' | 'out'): Affine {
  const mean = n?.mean ?? [0, 0, 0];
  const std = n?.std ?? [1, 1, 1];
  const per = (f: (c: number) => number): [number, number, number] => [f(0), f(1), f(2)];
  return direction === 'in'
    ? { a: per((c) => 1 / (255 * std[c]!)), b: per((c) => -mean[c]! / std[c]!) }
    : { a: per((c) => std[c]! * 255), b: per((c) => mean[c]! * 255) };
}

/** Model output (NHWC RGB) to 0..255 floats, in place; nothing to do for the 0..255 models. */
function toPixels(values: Float32Array, { a, b }: Affine): void {
  if (a.every((x) => Math.abs(x - 1) < 1e-9) && b.every((x) => x === 0)) return;
  const [a0, a1, a2] = a;
  const [b0, b1, b2] = b;
  for (let i = 0; i < values.length; i += 3) {
    values[i] = values[i]! * a0 + b0;
    values[i + 1] = values[i + 1]! * a1 + b1;
    values[i + 2] = values[i + 2]! * a2 + b2;
  }
}

/**
 * Copy the `tw × th` window at (`x0`, `y0`) of the image's RGB into the model's NHWC float input.
 * The window may reach past the image (a model's prepadding): those pixels are mirrored back in.
 */
function readTile(image: DecodedImage, x0: number, y0: number, tw: number, th: number, into: Float32Array, { a, b }: Affine): void {
  const ch = image.channels;
  const [a0, a1, a2] = a;
  const [b0, b1, b2] = b;
  const columns = Int32Array.from({ length: tw }, (_, x) => reflect101(x0 + x, image.width) * ch);
  for (let y = 0; y < th; y++) {
    const row = reflect101(y0 + y, image.height) * image.width * ch;
    let d = y * tw * 3;
    for (let x = 0; x < tw; x++, d += 3) {
      const s = row + columns[x]!;
      into[d] = image.data[s]! * a0 + b0;
      into[d + 1] = image.data[s + 1]! * a1 + b1;
      into[d + 2] = image.data[s + 2]! * a2 + b2;
    }
  }
}

/** Alpha through lanczos3 at the exact output size (or all opaque when the source has none to keep). */
async function upscaleAlpha(image: DecodedImage, out: Buffer, width: number, height: number): Promise<void> {
  const pixels = width * height;
  if (!image.hasAlpha) {
    for (let p = 0; p < pixels; p++) out[p * 4 + 3] = 255;
    return;
  }
  const alpha = Buffer.alloc(image.width * image.height);
  for (let p = 0; p < alpha.length; p++) alpha[p] = image.data[p * 4 + 3]!;
  const big = await sharp(alpha, { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  for (let p = 0; p < pixels; p++) out[p * 4 + 3] = big[p]!;
}
