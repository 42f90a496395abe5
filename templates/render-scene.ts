import { AppError } from '../lib/errors.js';
import { paintBackdrop, photoCanvas, type Canvas } from './backdrop.js';
import { placeProduct, type Placement } from './layout.js';
import { matchLight } from './light-match.js';
import { resizeRgba, toRgba, trimToProduct, type RgbaImage } from './raster.js';
import type { Template } from './schema.js';
import { applyDarkness, paintReflection, shadowDarkness } from './shadows.js';

/** What an ONNX scene generator returns (see `models/generator`). */
export interface GeneratedImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** `background`: composed under the product with the template's shadows; `scene`: used as is. */
  kind: 'background' | 'scene';
}

export interface SceneRequest {
  /** The product: an RGBA cut-out (an opaque photo works too: it is then the whole product). */
  cutout: RgbaImage;
  template: Template;
  /** One canvas per channel; the product is trimmed once and laid out on each. */
  sizes: Array<{ width: number; height: number }>;
  /** The decoded backplate photo, for `backplate` templates. */
  backplate?: RgbaImage;
  /** Runs the generator on the product already laid out on a transparent canvas (`generator` templates). */
  generate?: (placed: RgbaImage, signal?: AbortSignal) => Promise<GeneratedImage>;
  signal?: AbortSignal;
}

/**
 * Render a template around a product for each requested canvas size: backdrop, shadows and
 * reflection from the product's alpha, then the product itself. Pure: raw pixels in, raw opaque
 * RGBA out; nothing is read or written.
 */
export async function renderScenes(request: SceneRequest): Promise<RgbaImage[]> {
  const { template, signal } = request;
  const backdrop = template.backdrop;
  if (backdrop.type === 'backplate' && !request.backplate) {
    throw new AppError(
      'INVALID_TEMPLATE',
      'backdrop.assetId: a backplate template needs a backplate photo (template backdrop.assetId or params.backplate).',
      {
        issues: [{ path: 'backdrop.assetId', message: 'required' }],
      },
    );
  }
  if (backdrop.type === 'generator' && !request.generate) {
    throw new AppError(
      'GENERATOR_NOT_CONFIGURED',
      'This template needs the scene generator, and none is configured (GENERATOR_MODEL_PATH).',
    );
  }
  const product = template.layout.trim ? trimToProduct(request.cutout) : request.cutout;
  const out: RgbaImage[] = [];
  for (const size of request.sizes) {
    signal?.throwIfAborted();
    out.push(await renderOne(request, product, size));
  }
  return out;
}

async function renderOne(request: SceneRequest, product: RgbaImage, size: { width: number; height: number }): Promise<RgbaImage> {
  const { template } = request;
  const place = placeProduct(product, size, template.layout);
  let scaled = await resizeRgba(product, place.width, place.height);
  let canvas: Canvas;
  const b = template.backdrop;
  if (b.type === 'backplate') {
    canvas = await photoCanvas(request.backplate!, size.width, size.height);
    if (b.matchLight) scaled = matchLight(scaled, canvas, b.matchLight.strength);
  } else if (b.type === 'generator') {
    const generated = await request.generate!(placeOnTransparent(scaled, place, size), request.signal);
    const photo = toRgba(generated);
    if (generated.kind === 'scene') return opaque(await resizeRgba(photo, size.width, size.height, 'cover'));
    canvas = await photoCanvas(photo, size.width, size.height);
  } else {
    canvas = paintBackdrop(b, size.width, size.height);
  }
  const darkness = await shadowDarkness(scaled, place, size, template.shadows);
  if (darkness) applyDarkness(canvas, darkness);
  if (template.shadows.reflection) paintReflection(canvas, scaled, place, template.shadows.reflection);
  paintProduct(canvas, scaled, place);
  return toImage(canvas);
}

/** Alpha-composite the product over the canvas. */
function paintProduct(canvas: Canvas, product: RgbaImage, place: Placement): void {
  for (let y = 0; y < product.height; y++) {
    const cy = place.top + y;
    if (cy < 0 || cy >= canvas.height) continue;
    for (let x = 0; x < product.width; x++) {
      const cx = place.left + x;
      if (cx < 0 || cx >= canvas.width) continue;
      const s = (y * product.width + x) * 4;
      const a = product.data[s + 3]! / 255;
      if (a === 0) continue;
      const d = (cy * canvas.width + cx) * 3;
      for (let k = 0; k < 3; k++) canvas.rgb[d + k] = canvas.rgb[d + k]! * (1 - a) + product.data[s + k]! * a;
    }
  }
}

/** The product laid out on a transparent canvas: what a generator is asked to build a scene around. */
function placeOnTransparent(product: RgbaImage, place: Placement, size: { width: number; height: number }): RgbaImage {
  const data = Buffer.alloc(size.width * size.height * 4);
  for (let y = 0; y < product.height; y++) {
    const cy = place.top + y;
    if (cy < 0 || cy >= size.height) continue;
    for (let x = 0; x < product.width; x++) {
      const cx = place.left + x;
      if (cx < 0 || cx >= size.width) continue;
      product.data.copy(data, (cy * size.width + cx) * 4, (y * product.width + x) * 4, (y * product.width + x) * 4 + 4);
    }
  }
  return { data, width: size.width, height: size.height, channels: 4 };
}

function opaque(image: RgbaImage): RgbaImage {
  for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255;
  return image;
}

function toImage(canvas: Canvas): RgbaImage {
  const n = canvas.width * canvas.height;
  // A clamped array rounds and clamps on assignment, with no per-pixel Math calls.
  const out = new Uint8ClampedArray(n * 4);
  const rgb = canvas.rgb;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const o = i * 4;
    out[o] = rgb[j]!;
    out[o + 1] = rgb[j + 1]!;
    out[o + 2] = rgb[j + 2]!;
    out[o + 3] = 255;
  }
  return { data: Buffer.from(out.buffer, out.byteOffset, out.byteLength), width: canvas.width, height: canvas.height, channels: 4 };
}
