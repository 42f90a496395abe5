/**
 * Conversions between interleaved 8-bit pixels and the float tensors models take and give. Kept
 * apart from the steps so every model (background removal, upscaling) normalises the same way.
 */

/** `(x / 255 - mean) / std` per channel, as a model's `TensorSpec.normalisation` states it. */
export interface Normalisation {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Interleaved 8-bit pixels (HWC, `channels` per pixel, only the first three read) to a planar
 * float32 NCHW tensor body of 3 planes, normalised per channel.
 *
 * One lookup table per channel turns the per-element divide and subtract into a load: this runs
 * on 3 million values per 1024² image.
 */
export function hwcToChw(pixels: Uint8Array, width: number, height: number, channels: number, norm: Normalisation): Float32Array {
  const plane = width * height;
  if (pixels.length < plane * channels || channels < 3) {
    throw new RangeError(`expected ${plane} pixels of ≥3 channels, got ${pixels.length} bytes for ${channels} channels`);
  }
  const out = new Float32Array(plane * 3);
  const lut = [0, 1, 2].map((c) => {
    const table = new Float32Array(256);
    const mean = norm.mean[c] ?? 0;
    const std = norm.std[c] ?? 1;
    for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std;
    return table;
  });
  const [r, g, b] = lut as [Float32Array, Float32Array, Float32Array];
  for (let p = 0, i = 0; p < plane; p++, i += channels) {
    out[p] = r[pixels[i]!]!;
    out[plane + p] = g[pixels[i + 1]!]!;
    out[2 * plane + p] = b[pixels[i + 2]!]!;
  }
  return out;
}

/**
 * Probabilities (0..1, one plane) to 8-bit grey, rounding and clamping. (The ISNet reference
 * inference also stretches min..max to 0..1; ISNet's sigmoid output already spans 0..1 on every
 * render we measured, so that changed nothing and is left out.)
 */
export function probabilitiesToBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    // Uint8Array stores modulo 256, so clamp here; NaN fails both tests and becomes 0.
    const v = values[i]! * 255 + 0.5;
    out[i] = v >= 255 ? 255 : v > 0 ? v : 0;
  }
  return out;
}

/**
 * Rec. 601 luma (0..1) of interleaved 8-bit RGB(A), the grey guide image for edge-aware filters.
 * Luma rather than one channel so edges between colours of equal brightness in one channel still
 * show; Rec. 601 because it is what JPEG and most matting code use for "grey".
 */
export function luma(pixels: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(n);
  const kr = 0.299 / 255;
  const kg = 0.587 / 255;
  const kb = 0.114 / 255;
  for (let p = 0, i = 0; p < n; p++, i += channels) {
    out[p] = kr * pixels[i]! + kg * pixels[i + 1]! + kb * pixels[i + 2]!;
  }
  return out;
}
