/**
 * Colourways: the same product in another colour. The product (inside its alpha mask) is moved to
 * the target colour in OKLab while its own shading and texture are kept:
 *
 * - lightness: shifted so the product's mean L lands on the target's L, each pixel keeping its
 *   offset from the mean (local contrast unchanged); only values pushed past black or white are
 *   rolled off smoothly instead of clipped (a light colourway of a dark glossy product keeps its
 *   highlights white and gives up some of their spread).
 * - colour: the (a, b) plane is mapped by one complex affine map z' = k·z + c chosen so the mean
 *   colour lands exactly on the target. For a coloured product k = target / mean (a rotation to the
 *   new hue and a chroma scale), which keeps neutral highlights neutral and turns hue variation
 *   (two-tone glaze, reflections) with it; for a near-grey product k shrinks to 0 and the target
 *   colour is simply laid over the texture.
 * - edges: the result is blended with the original by alpha, so soft and antialiased edges fade;
 *   pixels with alpha 0 are never touched.
 */
import { AppError } from '../lib/errors.js';
import { nameTable } from '../lib/own-keys.js';
import { oklabToSrgb, srgbToOklab } from './colourway-oklab.js';

/** 8-bit RGBA, row-major, straight (not premultiplied) alpha. */
export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

/** The named colours a template or recipe may use, as `#rrggbb`. */
export const NAMED_COLOURS: Readonly<Record<string, string>> = nameTable({
  black: '#1b1b1d',
  charcoal: '#36393e',
  graphite: '#55585d',
  grey: '#8c8f93',
  silver: '#c3c6ca',
  white: '#f3f2ee',
  cream: '#efe6cf',
  sand: '#d6c3a0',
  camel: '#c19a6b',
  tan: '#a8825a',
  brown: '#6b4429',
  chocolate: '#4a2e1f',
  burgundy: '#6d1a2a',
  red: '#c0262d',
  coral: '#ec6f5a',
  orange: '#e37a1f',
  mustard: '#d2a02a',
  yellow: '#f2cc3d',
  olive: '#6f6b2e',
  sage: '#9bab87',
  forest: '#2c5a3a',
  green: '#3a8f4b',
  teal: '#1f7a7a',
  sky: '#8cbbe2',
  blue: '#2f5fb0',
  navy: '#1f2a48',
  lilac: '#b9a5d3',
  purple: '#5d3f8e',
  plum: '#6e2f5b',
  pink: '#e9a3b7',
  blush: '#e8c4bd',
});

const HEX = /^#[0-9a-f]{6}$/i;

/** A target given as `#rrggbb` or a `NAMED_COLOURS` name (any case), as [r, g, b]; 422 otherwise. */
export function parseColour(target: string): [number, number, number] {
  const value = typeof target === 'string' ? target.trim() : '';
  const hex = HEX.test(value) ? value : NAMED_COLOURS[value.toLowerCase()];
  if (!hex) {
    const names = Object.keys(NAMED_COLOURS);
    throw new AppError('INVALID_COLOUR', `colour "${String(target)}" is neither #rrggbb nor a known name (${names.join(', ')})`, {
      colour: String(target),
      names,
    });
  }
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Below this chroma a product counts as grey: its hue is noise, so the target is laid over it. */
const GREY_CHROMA = 0.03;
/** Largest chroma gain, so a faintly tinted product does not turn its noise into confetti. */
const MAX_CHROMA_GAIN = 4;
/** Where the lightness roll-off starts, near black and near white. */
const TOE = 0.06;
const SHOULDER = 0.94;

/** Recolour the product inside `image`'s alpha mask to `target`; see the module comment. */
export function recolour(image: RgbaImage, target: string): RgbaImage {
  const [tr, tg, tb] = parseColour(target);
  const { data, width, height } = image;
  if (image.channels !== 4 || data.length !== width * height * 4) {
    throw new RangeError(`recolour: expected ${width}x${height} RGBA (${width * height * 4} bytes), got ${data.length} bytes`);
  }
  const out = Buffer.from(data);
  const goal = srgbToOklab(tr, tg, tb);

  // Pass 1: OKLab of every product pixel and the alpha-weighted mean.
  const n = width * height;
  const L = new Float32Array(n);
  const A = new Float32Array(n);
  const B = new Float32Array(n);
  let weight = 0;
  let sumL = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < n; i++) {
    const alpha = data[i * 4 + 3]!;
    if (alpha === 0) continue;
    const lab = srgbToOklab(data[i * 4]!, data[i * 4 + 1]!, data[i * 4 + 2]!);
    L[i] = lab.L;
    A[i] = lab.a;
    B[i] = lab.b;
    const w = alpha / 255;
    weight += w;
    sumL += w * lab.L;
    sumA += w * lab.a;
    sumB += w * lab.b;
  }
  if (weight === 0) return { data: out, width, height, channels: 4 };
  const meanL = sumL / weight;
  const [meanA, meanB] = [sumA / weight, sumB / weight];

  // z' = k z + c in the (a, b) plane, with k = goal / mean regularised for near-grey products.
  const m2 = meanA * meanA + meanB * meanB;
  let kRe = (goal.a * meanA + goal.b * meanB) / (m2 + GREY_CHROMA * GREY_CHROMA);
  let kIm = (goal.b * meanA - goal.a * meanB) / (m2 + GREY_CHROMA * GREY_CHROMA);
  const gain = Math.hypot(kRe, kIm);
  if (gain > MAX_CHROMA_GAIN) [kRe, kIm] = [(kRe * MAX_CHROMA_GAIN) / gain, (kIm * MAX_CHROMA_GAIN) / gain];
  const cA = goal.a - (kRe * meanA - kIm * meanB);
  const cB = goal.b - (kIm * meanA + kRe * meanB);
  const shiftL = lightnessShift(L, data, goal.L, meanL);

  // Pass 2: map, convert back, blend by alpha.
  const rgb = new Uint8Array(3);
  for (let i = 0; i < n; i++) {
    const alpha = data[i * 4 + 3]!;
    if (alpha === 0) continue;
    const a = A[i]!;
    const b = B[i]!;
    oklabToSrgb(rollOff(L[i]! + shiftL), kRe * a - kIm * b + cA, kIm * a + kRe * b + cB, rgb);
    const w = alpha / 255;
    for (let c = 0; c < 3; c++) {
      const before = data[i * 4 + c]!;
      out[i * 4 + c] = Math.round(before + w * (rgb[c]! - before));
    }
  }
  return { data: out, width, height, channels: 4 };
}

/**
 * The lightness shift whose result, after the roll-off, has the target's mean L. Without roll-off
 * it is simply target - mean; with it (a light colourway of a dark glossy product) the shift is
 * found by bisection on an alpha-weighted histogram of L, the mean being monotone in the shift.
 */
function lightnessShift(L: Float32Array, rgba: Buffer, targetL: number, meanL: number): number {
  const bins = 1024;
  const histogram = new Float64Array(bins);
  for (let i = 0; i < L.length; i++) {
    const alpha = rgba[i * 4 + 3]!;
    if (alpha > 0) histogram[Math.min(bins - 1, Math.max(0, Math.floor(L[i]! * bins)))]! += alpha;
  }
  const total = histogram.reduce((s, w) => s + w, 0);
  const meanAfter = (shift: number) => {
    let sum = 0;
    for (let j = 0; j < bins; j++) if (histogram[j]) sum += histogram[j]! * rollOff((j + 0.5) / bins + shift);
    return sum / total;
  };
  let lo = targetL - meanL - 1;
  let hi = targetL - meanL + 1;
  for (let i = 0; i < 32; i++) {
    const mid = (lo + hi) / 2;
    if (meanAfter(mid) < targetL) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Identity between TOE and SHOULDER; beyond them an exponential roll-off into 0..1 (slope 1 at the knee, so no banding). */
function rollOff(l: number): number {
  if (l > SHOULDER) return SHOULDER + (1 - SHOULDER) * (1 - Math.exp(-(l - SHOULDER) / (1 - SHOULDER)));
  if (l < TOE) return TOE * Math.exp((l - TOE) / TOE);
  return l;
}
