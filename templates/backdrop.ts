import { resizeRgba, toRgb, type RgbaImage } from './raster.js';
import type { Backdrop } from './schema.js';

/** A canvas being composed: RGB floats in sRGB 0..255, row-major. */
export interface Canvas {
  rgb: Float32Array;
  width: number;
  height: number;
}

const smoothstep = (a: number, b: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
};

/** A photo (backplate, generated background) scaled to cover the canvas, centred. */
export async function photoCanvas(photo: RgbaImage, width: number, height: number): Promise<Canvas> {
  const covered = await resizeRgba(photo, width, height, 'cover');
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = covered.data[i * 4]!;
    rgb[i * 3 + 1] = covered.data[i * 4 + 1]!;
    rgb[i * 3 + 2] = covered.data[i * 4 + 2]!;
  }
  return { rgb, width, height };
}

/**
 * Paint a procedural backdrop (solid, sweep, gradient). Photo backdrops (backplate, generator)
 * come through {@link photoCanvas}.
 */
export function paintBackdrop(backdrop: Exclude<Backdrop, { type: 'backplate' | 'generator' }>, width: number, height: number): Canvas {
  const rgb = new Float32Array(width * height * 3);
  const put = (i: number, r: number, g: number, b: number) => {
    rgb[i * 3] = r;
    rgb[i * 3 + 1] = g;
    rgb[i * 3 + 2] = b;
  };
  if (backdrop.type === 'solid') {
    // One pixel, then doubling copies: a 2000 px canvas fills in a few milliseconds.
    rgb.set(toRgb(backdrop.colour), 0);
    for (let filled = 3; filled < rgb.length; filled *= 2) rgb.copyWithin(filled, 0, Math.min(filled, rgb.length - filled));
  } else if (backdrop.type === 'gradient') {
    const from = toRgb(backdrop.from);
    const to = toRgb(backdrop.to);
    const a = (backdrop.angle * Math.PI) / 180;
    const dx = Math.cos(a);
    const dy = Math.sin(a); // y grows downwards: 90° runs top to bottom
    const half = 0.5 * (Math.abs(dx) + Math.abs(dy));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const t = ((x / Math.max(1, width - 1) - 0.5) * dx + (y / Math.max(1, height - 1) - 0.5) * dy + half) / (2 * half);
        put(y * width + x, from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t, from[2] + (to[2] - from[2]) * t);
      }
    }
  } else {
    // A paper sweep: the wall brightens a little towards the top, curves into a slightly darker
    // floor through a soft band, and the corners fall off (the light is aimed at the middle).
    const wall = toRgb(backdrop.colour);
    const floor = backdrop.floorColour ? toRgb(backdrop.floorColour) : (wall.map((c) => c * 0.86) as [number, number, number]);
    const band = backdrop.softness / 2;
    for (let y = 0; y < height; y++) {
      const v = y / Math.max(1, height - 1);
      const t = smoothstep(backdrop.horizon - band, backdrop.horizon + band, v);
      const wallLift = 1 + 0.06 * (1 - v / backdrop.horizon);
      const floorLift = 0.96 + 0.06 * ((v - backdrop.horizon) / (1 - backdrop.horizon));
      const row = [0, 1, 2].map((k) => wall[k]! * wallLift * (1 - t) + floor[k]! * floorLift * t) as [number, number, number];
      for (let x = 0; x < width; x++) {
        const u = x / Math.max(1, width - 1) - 0.5;
        const vignette = 1 - backdrop.vignette * (u * u + (v - 0.5) * (v - 0.5)) * 2;
        put(y * width + x, Math.min(255, row[0] * vignette), Math.min(255, row[1] * vignette), Math.min(255, row[2] * vignette));
      }
    }
  }
  return { rgb, width, height };
}
