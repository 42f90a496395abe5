import sharp from 'sharp';
import type { Colour } from './schema.js';
import { productBox, type Box } from './trim.js';

/** Raw, interleaved, 8-bit RGBA pixels, row-major (the same shape as the colourway module's). */
export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

/** `"#rrggbb"` or `[r, g, b]` → `[r, g, b]`. */
export function toRgb(colour: Colour): [number, number, number] {
  if (Array.isArray(colour)) return [colour[0], colour[1], colour[2]];
  const n = Number.parseInt(colour.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Any 3- or 4-channel raw image as RGBA (opaque when it had no alpha). */
export function toRgba(image: { data: Buffer; width: number; height: number; channels: number }): RgbaImage {
  if (image.channels === 4) return { data: image.data, width: image.width, height: image.height, channels: 4 };
  if (image.channels !== 3) throw new Error(`expected 3 or 4 channels, got ${image.channels}`);
  const n = image.width * image.height;
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = image.data[i * 3]!;
    out[i * 4 + 1] = image.data[i * 3 + 1]!;
    out[i * 4 + 2] = image.data[i * 3 + 2]!;
    out[i * 4 + 3] = 255;
  }
  return { data: out, width: image.width, height: image.height, channels: 4 };
}

/** Alpha as 0..1 floats. */
export function alphaOf(image: RgbaImage): Float32Array {
  const out = new Float32Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) out[i] = image.data[i * 4 + 3]! / 255;
  return out;
}

export function crop(image: RgbaImage, box: Box): RgbaImage {
  const out = Buffer.alloc(box.width * box.height * 4);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * image.width + box.left) * 4;
    image.data.copy(out, y * box.width * 4, from, from + box.width * 4);
  }
  return { data: out, width: box.width, height: box.height, channels: 4 };
}

/** What counts as product when trimming: faint specks a segmentation leaves are not. */
const TRIM = { threshold: 0.05, minFraction: 0.02, grow: 0 };

/**
 * Crop a cut-out to its product (everything outside the box is dropped, specks included), so
 * layout rules apply to the product and not to the photo it came from.
 */
export function trimToProduct(image: RgbaImage): RgbaImage {
  const box = productBox(alphaOf(image), image.width, image.height, TRIM);
  return box ? crop(image, box) : image;
}

/** Resize RGBA; sharp premultiplies alpha while resampling, so edges keep their colour. */
export async function resizeRgba(image: RgbaImage, width: number, height: number, fit: 'fill' | 'cover' = 'fill'): Promise<RgbaImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } })
    .resize(width, height, { fit, kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { data, width, height, channels: 4 };
}

/**
 * Gaussian blur of one 8-bit plane. Wide blurs run on a smaller copy and are scaled back: the
 * result is smooth anyway, and a 2000 px canvas with a 100 px sigma would otherwise take seconds.
 */
export async function blurPlane(plane: Uint8Array, width: number, height: number, sigma: number): Promise<Uint8Array> {
  if (sigma < 0.3) return plane;
  const factor = Math.max(1, Math.floor(sigma / 6));
  const input = sharp(Buffer.from(plane.buffer, plane.byteOffset, plane.byteLength), { raw: { width, height, channels: 1 } });
  if (factor === 1) return new Uint8Array(await input.blur(sigma).extractChannel(0).raw().toBuffer());
  const sw = Math.max(1, Math.round(width / factor));
  const sh = Math.max(1, Math.round(height / factor));
  const small = await input
    .resize(sw, sh, { fit: 'fill', kernel: 'linear' })
    .blur(Math.max(0.3, sigma / factor))
    .extractChannel(0)
    .raw()
    .toBuffer();
  const back = await sharp(small, { raw: { width: sw, height: sh, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return new Uint8Array(back);
}

/** sRGB 8-bit → linear light, as a table. */
export const SRGB_TO_LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** Linear light → sRGB 0..255 (float). */
export function linearToSrgb(v: number): number {
  const c = v <= 0 ? 0 : v >= 1 ? 1 : v;
  return 255 * (c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055);
}
