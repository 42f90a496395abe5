/**
 * Test support: a direct, loop-by-loop float64 evaluation of the ncnn layer semantics the
 * converter claims (as ncnn's `src/layer/*.cpp` define them), on planar (c, h, w) arrays, so the
 * converter's ONNX can be checked on small synthetic graphs without ncnn. Slow and obvious on
 * purpose; it shares no code with the converter.
 */

/** A planar blob: `data[(c·h + y)·w + x]`. */
export interface Blob {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

export const blob = (c: number, h: number, w: number, data?: ArrayLike<number>): Blob => ({
  c,
  h,
  w,
  data: data ? Float64Array.from(data) : new Float64Array(c * h * w),
});
const at = (b: Blob, c: number, y: number, x: number) => b.data[(c * b.h + y) * b.w + x]!;

/** 2-D convolution, stride 1, symmetric zero padding `pad`, weights [out][in][k][k]. */
export function conv(x: Blob, weights: ArrayLike<number>, bias: ArrayLike<number> | undefined, out: number, k: number, pad: number): Blob {
  const h = x.h + 2 * pad - k + 1;
  const w = x.w + 2 * pad - k + 1;
  const y = blob(out, h, w);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let s = bias ? bias[o]! : 0;
        for (let c = 0; c < x.c; c++)
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const yy = i + u - pad;
              const xx = j + v - pad;
              if (yy >= 0 && yy < x.h && xx >= 0 && xx < x.w) s += weights[((o * x.c + c) * k + u) * k + v]! * at(x, c, yy, xx);
            }
        y.data[(o * h + i) * w + j] = s;
      }
  return y;
}

export const map = (x: Blob, f: (v: number, c: number) => number): Blob => {
  const y = blob(x.c, x.h, x.w);
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]!, Math.floor(i / (x.h * x.w)));
  return y;
};

export const zip = (a: Blob, b: Blob, f: (p: number, q: number) => number): Blob => {
  const y = blob(a.c, a.h, a.w);
  for (let i = 0; i < a.data.length; i++) y.data[i] = f(a.data[i]!, b.data[i]!);
  return y;
};

/** Channel concatenation (ncnn Concat axis 0). */
export const concat = (blobs: Blob[]): Blob => {
  const out = blob(
    blobs.reduce((n, b) => n + b.c, 0),
    blobs[0]!.h,
    blobs[0]!.w,
  );
  let offset = 0;
  for (const b of blobs) {
    out.data.set(b.data, offset);
    offset += b.data.length;
  }
  return out;
};

/** ncnn Interp type 1: out(y, x) = in(floor(y / s), floor(x / s)). */
export const nearest = (x: Blob, s: number): Blob => {
  const y = blob(x.c, x.h * s, x.w * s);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < y.h; i++)
      for (let j = 0; j < y.w; j++) y.data[(c * y.h + i) * y.w + j] = at(x, c, Math.floor(i / s), Math.floor(j / s));
  return y;
};

/** ncnn PixelShuffle mode 0 (PyTorch): out(c, y·r + i, x·r + j) = in(c·r² + i·r + j, y, x). */
export const pixelShuffle = (x: Blob, r: number): Blob => {
  const y = blob(x.c / (r * r), x.h * r, x.w * r);
  for (let c = 0; c < y.c; c++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++)
        for (let yy = 0; yy < x.h; yy++)
          for (let xx = 0; xx < x.w; xx++) y.data[(c * y.h + yy * r + i) * y.w + xx * r + j] = at(x, c * r * r + i * r + j, yy, xx);
  return y;
};
