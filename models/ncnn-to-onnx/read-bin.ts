/**
 * ncnn's weight blob (`.bin`): every weighted layer's arrays one after the other, in layer order,
 * with no index. A layer reads its arrays in a fixed order (Convolution: weights, then bias), each
 * either *tagged* (ncnn `ModelBin::load(n, 0)`: a 4-byte storage tag, then the values) or *raw*
 * (`load(n, 1)`: n float32, no tag). Tags: `0x00000000` float32; `0x01306B47` float16, padded to
 * 4 bytes; `0x000D4B38` int8 and any other non-zero tag (a 256-entry lookup table) are quantised
 * weights, which the converter refuses rather than guessing their scales.
 */

import { halvesToFloats } from '../half-float.js';

const TAG_FP32 = 0x00000000;
const TAG_FP16 = 0x01306b47;
const TAG_INT8 = 0x000d4b38;

export class WeightReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** A tagged array of `count` values (`ModelBin::load(count, 0)`), as float32. */
  tagged(count: number, what: string): Float32Array {
    const tag = this.view(4, what).getUint32(0, true);
    this.offset += 4;
    if (tag === TAG_FP32) return this.raw(count, what);
    if (tag === TAG_FP16) {
      const out = halvesToFloats(this.view(count * 2, what), count);
      this.offset += Math.ceil((count * 2) / 4) * 4;
      return out;
    }
    const kind = tag === TAG_INT8 ? 'int8' : 'quantised (lookup table)';
    throw new Error(
      `${what}: ${kind} weights (storage tag 0x${tag.toString(16).padStart(8, '0')}) are not supported; convert the model with fp32 or fp16 weights`,
    );
  }

  /** An untagged float32 array (`ModelBin::load(count, 1)`). */
  raw(count: number, what: string): Float32Array {
    const view = this.view(count * 4, what);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    this.offset += count * 4;
    return out;
  }

  /** Throws unless every byte was read: a leftover means the param and bin files do not match. */
  end(): void {
    if (this.offset !== this.bytes.length)
      throw new Error(`ncnn bin: ${this.bytes.length - this.offset} bytes left after the last layer; the param and bin files do not match`);
  }

  private view(length: number, what: string): DataView {
    if (this.offset + length > this.bytes.length)
      throw new Error(
        `ncnn bin ends at byte ${this.bytes.length}, reading ${what} needs ${this.offset + length}; the param and bin files do not match`,
      );
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, length);
  }
}
