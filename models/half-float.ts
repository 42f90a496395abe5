/**
 * IEEE 754 binary16 to a JS number (subnormals, infinities and NaN included). One decoder for every
 * converter that reads fp16 weights: ncnn blobs, TensorFlow.js shards, fp16 ONNX initializers.
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** `count` little-endian binary16 values from `view` as float32. */
export function halvesToFloats(view: DataView, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  return out;
}

/** The float16 bit pattern nearest to `v` (round to nearest even; normal range only, enough for weights in ±8). */
export function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (v === 0) return sign;
  if (exponent <= 0 || exponent >= 31) throw new Error(`floatToHalf: ${v} is outside the normal float16 range`);
  const rounded = mantissa >>> 13;
  const rest = mantissa & 0x1fff;
  mantissa = rounded + (rest > 0x1000 || (rest === 0x1000 && rounded & 1) ? 1 : 0);
  return sign | ((exponent << 10) + mantissa);
}
