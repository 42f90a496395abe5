import sharp from 'sharp';
import type { Canvas } from './backdrop.js';
import type { Placement } from './layout.js';
import { blurPlane, type RgbaImage } from './raster.js';
import type { Template } from './schema.js';

type Shadows = Template['shadows'];

/** The product's alpha as one 8-bit plane. */
export function alphaPlane8(product: RgbaImage): Uint8Array {
  const out = new Uint8Array(product.width * product.height);
  for (let i = 0; i < out.length; i++) out[i] = product.data[i * 4 + 3]!;
  return out;
}

async function resizePlane(plane: Uint8Array, w: number, h: number, tw: number, th: number): Promise<Uint8Array> {
  const data = await sharp(Buffer.from(plane.buffer, plane.byteOffset, plane.byteLength), { raw: { width: w, height: h, channels: 1 } })
    .resize(Math.max(1, tw), Math.max(1, th), { fit: 'fill' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return new Uint8Array(data);
}

/** Paint `src` (sw×sh) into `plane` at (left, top), keeping the larger value, clipped to the canvas. */
function stamp(plane: Uint8Array, width: number, height: number, src: Uint8Array, sw: number, sh: number, left: number, top: number): void {
  for (let y = 0; y < sh; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= height) continue;
    for (let x = 0; x < sw; x++) {
      const cx = left + x;
      if (cx < 0 || cx >= width) continue;
      const v = src[y * sw + x]!;
      if (v > plane[cy * width + cx]!) plane[cy * width + cx] = v;
    }
  }
}

/**
 * Where the light throws the drop shadow: opposite the light's azimuth (counter-clockwise from
 * the right, image y pointing down), longer as the light gets lower.
 */
export function dropShadowOffset(azimuthDeg: number, elevationDeg: number, size: number): { dx: number; dy: number } {
  const a = (azimuthDeg * Math.PI) / 180;
  const e = (Math.max(5, Math.min(90, elevationDeg)) * Math.PI) / 180;
  const length = Math.min(0.6, (0.15 * Math.cos(e)) / Math.sin(e)) * size;
  return { dx: -Math.cos(a) * length, dy: Math.sin(a) * length };
}

/**
 * How much each canvas pixel is darkened (0..1) by the template's contact and drop shadows, both
 * made from the product's alpha mask: the contact shadow is the mask squashed flat under the
 * product's base; the drop shadow is the mask grown by `spread`, moved away from the light and blurred.
 */
export async function shadowDarkness(
  product: RgbaImage,
  place: Placement,
  canvas: { width: number; height: number },
  shadows: Shadows,
): Promise<Float32Array | undefined> {
  if (!shadows.contact && !shadows.drop) return undefined;
  const { width, height } = canvas;
  const alpha = alphaPlane8(product);
  const darkness = new Float32Array(width * height);
  const add = (plane: Uint8Array, opacity: number) => {
    for (let i = 0; i < darkness.length; i++) {
      const d = (plane[i]! / 255) * opacity;
      if (d > 0) darkness[i] = 1 - (1 - darkness[i]!) * (1 - d);
    }
  };
  if (shadows.contact) {
    const c = shadows.contact;
    const sw = Math.max(1, Math.round(place.width * c.spread));
    const sh = Math.max(2, Math.round(place.height * 0.06));
    const squashed = await resizePlane(alpha, product.width, product.height, sw, sh);
    const plane = new Uint8Array(width * height);
    const base = place.top + place.height;
    stamp(plane, width, height, squashed, sw, sh, Math.round(place.left + place.width / 2 - sw / 2), Math.round(base - sh * 0.6));
    add(await blurPlane(plane, width, height, Math.max(0.5, c.softness * place.width * 0.08)), c.opacity);
  }
  if (shadows.drop) {
    const d = shadows.drop;
    const size = Math.max(place.width, place.height);
    const sw = Math.max(1, Math.round(place.width * (1 + d.spread)));
    const sh = Math.max(1, Math.round(place.height * (1 + d.spread)));
    const grown = await resizePlane(alpha, product.width, product.height, sw, sh);
    const { dx, dy } = dropShadowOffset(d.azimuth, d.elevation, size);
    const plane = new Uint8Array(width * height);
    stamp(
      plane,
      width,
      height,
      grown,
      sw,
      sh,
      Math.round(place.left + place.width / 2 + dx - sw / 2),
      Math.round(place.top + place.height / 2 + dy - sh / 2),
    );
    add(await blurPlane(plane, width, height, Math.max(0.5, d.softness * size * 0.08)), d.opacity);
  }
  return darkness;
}

/** Darken the canvas by a darkness plane (a shadow is less light, whatever the backdrop colour). */
export function applyDarkness(canvas: Canvas, darkness: Float32Array): void {
  for (let i = 0; i < darkness.length; i++) {
    const keep = 1 - darkness[i]!;
    if (keep === 1) continue;
    canvas.rgb[i * 3] = canvas.rgb[i * 3]! * keep;
    canvas.rgb[i * 3 + 1] = canvas.rgb[i * 3 + 1]! * keep;
    canvas.rgb[i * 3 + 2] = canvas.rgb[i * 3 + 2]! * keep;
  }
}

/**
 * A floor reflection: the product mirrored under its base after `gap`, its opacity fading to
 * nothing over `fade` of the product's height.
 */
export function paintReflection(
  canvas: Canvas,
  product: RgbaImage,
  place: Placement,
  reflection: NonNullable<Shadows['reflection']>,
): void {
  const gap = Math.round(reflection.gap * place.height);
  const length = Math.max(1, Math.round(reflection.fade * place.height));
  for (let ry = 0; ry < Math.min(length, product.height); ry++) {
    const y = place.top + place.height + gap + ry;
    if (y < 0 || y >= canvas.height) continue;
    const srcRow = product.height - 1 - ry;
    const fade = reflection.opacity * (1 - ry / length);
    for (let x = 0; x < product.width; x++) {
      const cx = place.left + x;
      if (cx < 0 || cx >= canvas.width) continue;
      const s = (srcRow * product.width + x) * 4;
      const a = (product.data[s + 3]! / 255) * fade;
      if (a <= 0) continue;
      const d = (y * canvas.width + cx) * 3;
      for (let k = 0; k < 3; k++) canvas.rgb[d + k] = canvas.rgb[d + k]! * (1 - a) + product.data[s + k]! * a;
    }
  }
}
