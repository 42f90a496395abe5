import type { Canvas } from './backdrop.js';
import { linearToSrgb, SRGB_TO_LINEAR, type RgbaImage } from './raster.js';

const LUMA = [0.2126, 0.7152, 0.0722] as const;

/** Mean linear RGB of a canvas. */
function canvasMean(canvas: Canvas): [number, number, number] {
  const sum = [0, 0, 0];
  const n = canvas.width * canvas.height;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < 3; k++) sum[k]! += SRGB_TO_LINEAR[Math.round(Math.min(255, Math.max(0, canvas.rgb[i * 3 + k]!)))]!;
  return sum.map((s) => s / n) as [number, number, number];
}

/** Alpha-weighted mean linear RGB of a cut-out. */
function productMean(product: RgbaImage): [number, number, number] {
  const sum = [0, 0, 0];
  let weight = 0;
  for (let i = 0; i < product.width * product.height; i++) {
    const a = product.data[i * 4 + 3]! / 255;
    if (a === 0) continue;
    weight += a;
    for (let k = 0; k < 3; k++) sum[k]! += SRGB_TO_LINEAR[product.data[i * 4 + k]!]! * a;
  }
  return sum.map((s) => s / Math.max(weight, 1e-6)) as [number, number, number];
}

const luma = (c: readonly number[]) => LUMA[0] * c[0]! + LUMA[1] * c[1]! + LUMA[2] * c[2]!;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The per-channel gains {@link matchLight} applies, for tests and logs. */
export function lightMatchGains(product: RgbaImage, backplate: Canvas, strength: number): [number, number, number] {
  const bg = canvasMean(backplate);
  const fg = productMean(product);
  const bgLuma = Math.max(luma(bg), 1e-4);
  // Mean luminance: bring the product's towards the scene's, within reason (a white product on a
  // dark table stays lighter than the table).
  const lumaGain = clamp((bgLuma / Math.max(luma(fg), 1e-4)) ** (strength * 0.5), 0.5, 1.6);
  // White balance, grey world: the scene's average is taken as its light's colour, and the
  // product (shot under neutral light) is tinted by it.
  return [0, 1, 2].map((k) => lumaGain * clamp((bg[k]! / bgLuma) ** strength, 0.6, 1.6)) as [number, number, number];
}

/**
 * Relight a cut-out for a backplate in linear light: match its mean luminance and its white
 * balance (grey world) to the photo's, by `strength` (0: untouched, 1: fully). Alpha is kept.
 */
export function matchLight(product: RgbaImage, backplate: Canvas, strength: number): RgbaImage {
  if (strength <= 0) return product;
  const gains = lightMatchGains(product, backplate, strength);
  const luts = gains.map((g) => Uint8Array.from({ length: 256 }, (_, v) => Math.round(linearToSrgb(SRGB_TO_LINEAR[v]! * g))));
  const data = Buffer.from(product.data);
  for (let i = 0; i < product.width * product.height; i++) {
    for (let k = 0; k < 3; k++) data[i * 4 + k] = luts[k]![data[i * 4 + k]!]!;
  }
  return { ...product, data };
}
