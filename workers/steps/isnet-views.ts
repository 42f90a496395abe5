import { ISNET_SIZE } from '../../models/isnet.js';
import { ort, type ModelSession } from '../../models/session.js';
import { photoToSquare, resizeBilinear } from './model-input.js';
import type { DecodedImage } from './types.js';

/**
 * One way of showing the photo to the model: mirrored left to right or not, and the share of the
 * model's input square the photo fills (below 1 it sits in the middle, the rest filled by
 * repeating its edge pixels), so the model sees the product smaller, with more context per pixel.
 */
export interface ModelView {
  flip: boolean;
  scale: number;
}

/**
 * The views each quality runs, their probabilities fused (test-time augmentation, see `fuse`).
 *
 * `standard`: the photo filling the square, as ISNet was trained. `best`: also the photo at 80%
 * and at 70% of the square in a margin of repeated edge pixels, and the per-pixel median of the
 * three. ISNet's answer on a scene can flip with the framing (on the dev set a wine glass scores
 * IoU 0.69 filling the square and 0.995 at 70%, a pair of glasses 0.995 and 0.68), and no single
 * framing wins: on the dev set (medium model, refined; bench/renders/README.md) mean IoU / alpha
 * MAE is 0.9516 / 0.0069 filling it, 0.9506 / 0.0081 at 80%, 0.9356 / 0.0089 at 70%; the median
 * of the three 0.9597 / 0.0078, where a median of mirrored or 80–90% views stays at 0.951. The
 * holdout and shared renders were scored once with these settings (BENCHMARKS.md).
 */
export const QUALITY_VIEWS: Record<'standard' | 'best', readonly ModelView[]> = {
  standard: [{ flip: false, scale: 1 }],
  best: [
    { flip: false, scale: 1 },
    { flip: false, scale: 0.8 },
    { flip: false, scale: 0.7 },
  ],
};

/**
 * ISNet's foreground probability on its `side × side` grid (the photo stretched to the square),
 * each view's output mapped back onto that grid and fused (see `fuse`).
 */
export async function predictSquare(
  image: DecodedImage,
  session: ModelSession,
  views: readonly ModelView[],
  signal?: AbortSignal,
): Promise<{ probabilities: Float32Array; side: number }> {
  const spec = session.spec;
  const [, , inH = ISNET_SIZE, inW = ISNET_SIZE] = spec.input.shape;
  if (inH !== inW) throw new RangeError(`${spec.name}: expected a square input, got ${inW}×${inH}`);
  const side = inW;
  const base = await photoToSquare(image.data, image.width, image.height, image.channels, side);
  signal?.throwIfAborted();
  const norm = spec.input.normalisation ?? { mean: [0, 0, 0], std: [1, 1, 1] };
  const planes: Float32Array[] = [];
  for (const view of views) {
    const inner = Math.round(side * view.scale);
    const offset = (side - inner) >> 1;
    const rgb = inner === side ? base : resizeBilinear(base, side, side, 3, inner, inner);
    const input = new ort.Tensor('float32', toTensor(rgb, inner, side, offset, view.flip, norm), [1, 3, side, side]);
    const output = await session.run(input, signal);
    signal?.throwIfAborted();
    const [, , outH, outW] = output.dims;
    if (outH !== side || outW !== side) throw new RangeError(`${spec.name}: output ${outW}×${outH}, expected ${side}²`);
    let probabilities = output.data as Float32Array;
    if (view.flip) probabilities = mirror(probabilities, side);
    if (inner !== side) probabilities = resizeBilinear(crop(probabilities, side, offset, inner), inner, inner, 1, side, side);
    planes.push(probabilities);
  }
  return { probabilities: fuse(planes), side };
}

/**
 * Per-pixel median of the planes (of two: their mean): one view that goes wrong (the model takes
 * a busy floor for product in one of them) is outvoted instead of averaged in.
 */
function fuse(planes: Float32Array[]): Float32Array {
  if (planes.length === 1) return planes[0]!;
  const n = planes[0]!.length;
  const out = new Float32Array(n);
  // Three views (`best`): the median without sorting, min/max only.
  if (planes.length === 3) {
    const [a, b, c] = planes as [Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      out[i] = Math.max(Math.min(x, y), Math.min(Math.max(x, y), c[i]!));
    }
    return out;
  }
  const values = new Float32Array(planes.length);
  const mid = planes.length >> 1;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < planes.length; k++) values[k] = planes[k]![i]!;
    values.sort();
    out[i] = planes.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  }
  return out;
}

/**
 * `inner²` interleaved RGB (0..255) placed at `offset` in a `side²` planar tensor, normalised, edges
 * repeated into the margin, optionally mirrored left to right.
 */
function toTensor(
  rgb: Float32Array,
  inner: number,
  side: number,
  offset: number,
  flip: boolean,
  norm: { mean: readonly number[]; std: readonly number[] },
): Float32Array {
  const plane = side * side;
  const out = new Float32Array(plane * 3);
  const scale = [0, 1, 2].map((c) => 1 / (255 * (norm.std[c] ?? 1)));
  const shift = [0, 1, 2].map((c) => (norm.mean[c] ?? 0) / (norm.std[c] ?? 1));
  for (let y = 0; y < side; y++) {
    const sy = Math.min(Math.max(y - offset, 0), inner - 1);
    for (let x = 0; x < side; x++) {
      const tx = flip ? side - 1 - x : x;
      const sx = Math.min(Math.max(tx - offset, 0), inner - 1);
      const i = (sy * inner + sx) * 3;
      const p = y * side + x;
      for (let c = 0; c < 3; c++) out[c * plane + p] = rgb[i + c]! * scale[c]! - shift[c]!;
    }
  }
  return out;
}

/** The `inner²` square at (`offset`, `offset`) of a `side²` plane. */
function crop(plane: Float32Array, side: number, offset: number, inner: number): Float32Array {
  const out = new Float32Array(inner * inner);
  for (let y = 0; y < inner; y++) out.set(plane.subarray((y + offset) * side + offset, (y + offset) * side + offset + inner), y * inner);
  return out;
}

/** A `side²` plane mirrored left to right. */
function mirror(plane: Float32Array, side: number): Float32Array {
  const out = new Float32Array(plane.length);
  for (let y = 0; y < side; y++) {
    const row = y * side;
    for (let x = 0; x < side; x++) out[row + x] = plane[row + side - 1 - x]!;
  }
  return out;
}
