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
