/**
 * The ncnn → ONNX converter on a small synthetic graph holding every layer type and option the
 * Real-ESRGAN graphs use (fp16- and fp32-tagged weights, raw biases and slopes, fused leaky ReLU,
 * Split, Eltwise with coefficients, Concat, PReLU, PixelShuffle, Interp nearest, BinaryOp),
 * against a direct evaluation of ncnn's layer semantics; and every way the input can be refused.
 * The real models against ncnn itself: `equivalence.test.ts`.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../keras-to-onnx/testing/synthetic-model.js';
import { ncnnToOnnx } from './convert.js';
import { floatToHalf as toHalf, halfToFloat } from '../half-float.js';
import { readParam } from './read-param.js';
import { blob, concat, conv, map, nearest, pixelShuffle, zip } from './testing/ncnn-reference.js';

const PARAM = `7767517
11 14
Input            in    0 1 data
Split            sp    1 2 data d0 d1
Convolution      c1    1 1 d0 a 0=6 1=3 4=1 5=1 6=162 9=2 -23310=1,2.000000e-01
Split            sp2   1 3 a a0 a1 a2
Convolution      c2    1 1 a0 b 0=6 1=1 5=1 6=36
Eltwise          e     2 1 b a1 e 0=1 -23301=2,2.000000e-01,1.000000e+00
Concat           cat   2 1 e a2 f
PReLU            p     1 1 f g 0=12
PixelShuffle     ps    1 1 g h 0=2
Interp           up    1 1 d1 u 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         add   2 1 h u out 0=0
`;

const rand = seededRandom(11);
const values = (n: number, amplitude = 0.5) => Array.from({ length: n }, () => rand(amplitude));
const w1 = values(162).map((v) => halfToFloat(toHalf(v))); // exactly representable in fp16
const b1 = values(6);
const w2 = values(36);
const b2 = values(6);
const slopes = values(12);

/** The weight blob in the order the layers read it, with the storage tags ncnn writes. */
function weightBlob(tags: { c1: number; c2: number } = { c1: 0x01306b47, c2: 0 }): Uint8Array {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const f32 = (xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);
  parts.push(u32(tags.c1), Buffer.from(Uint16Array.from(w1, toHalf).buffer), f32(b1));
  parts.push(u32(tags.c2), f32(w2), f32(b2));
  parts.push(f32(slopes));
  return new Uint8Array(Buffer.concat(parts));
}

function reference(x: ReturnType<typeof blob>) {
  const a = map(conv(x, w1, b1, 6, 3, 1), (v) => (v > 0 ? v : v * 0.2));
  const b = conv(a, w2, b2, 6, 1, 0);
  const e = zip(b, a, (p, q) => 0.2 * p + q);
  const g = map(concat([e, a]), (v, c) => (v > 0 ? v : v * slopes[c]!));
  return zip(pixelShuffle(g, 2), nearest(x, 2), (p, q) => p + q);
}

describe('ncnnToOnnx', () => {
  it('computes what ncnn computes, layer by layer, on a synthetic graph', async () => {
    const [h, w] = [5, 7];
    const x = blob(3, h, w, values(3 * h * w, 1));
    const nhwc = new Float32Array(h * w * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) nhwc[i * 3 + c] = x.data[c * h * w + i]!;

    const session = await ort.InferenceSession.create(ncnnToOnnx(PARAM, weightBlob()));
    const out = (await session.run({ input: new ort.Tensor('float32', nhwc, [1, h, w, 3]) })).output!;
    const ref = reference(x);
    expect(out.dims).toEqual([1, 2 * h, 2 * w, 3]);
    const got = out.data as Float32Array;
    let max = 0;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < ref.h * ref.w; i++) max = Math.max(max, Math.abs(got[i * 3 + c]! - ref.data[c * ref.h * ref.w + i]!));
    expect(max).toBeLessThan(1e-5);
    await session.release();
  });

  it('is deterministic: the same files give the same bytes', () => {
    expect(Buffer.from(ncnnToOnnx(PARAM, weightBlob())).equals(Buffer.from(ncnnToOnnx(PARAM, weightBlob())))).toBe(true);
  });

  it('refuses an unsupported layer, naming it and its type', () => {
    const param = PARAM.replace('Interp           up', 'Deconvolution    up');
    expect(() => ncnnToOnnx(param, weightBlob())).toThrow(/ncnn layer up has type Deconvolution, which the converter does not support/);
  });

  it('refuses int8 and lookup-table weights by their storage tag', () => {
    expect(() => ncnnToOnnx(PARAM, weightBlob({ c1: 0x000d4b38, c2: 0 }))).toThrow(
      /c1 weights: int8 weights \(storage tag 0x000d4b38\) are not supported/,
    );
    expect(() => ncnnToOnnx(PARAM, weightBlob({ c1: 0x01306b47, c2: 0x00000101 }))).toThrow(
      /c2 weights: quantised \(lookup table\) weights/,
    );
  });

  it('refuses a weight blob that does not match the param file', () => {
    const blobBytes = weightBlob();
    expect(() => ncnnToOnnx(PARAM, blobBytes.subarray(0, blobBytes.length - 4))).toThrow(
      /ncnn bin ends at byte \d+, reading p slopes needs/,
    );
    expect(() => ncnnToOnnx(PARAM, new Uint8Array([...blobBytes, 0, 0, 0, 0]))).toThrow(/4 bytes left after the last layer/);
  });

  it('refuses a file that is not an ncnn param, or whose layer count is wrong', () => {
    expect(() => readParam('{"format": "layers-model"}')).toThrow(/not an ncnn param file/);
    expect(() => readParam(PARAM.replace('11 14', '12 14'))).toThrow(/declares 12 layers and holds 11/);
  });

  it('reads ints, floats and array params as ncnn does', () => {
    const conv1 = readParam(PARAM).layers[2]!;
    expect(conv1.params.get(0)).toBe(6);
    expect(conv1.params.get(10)).toEqual([0.2]);
    expect(() => readParam(PARAM.replace('-23310=1,', '-23310=2,'))).toThrow(/declares 2 values and holds 1/);
  });

  it('widens float16 exactly', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555].map(halfToFloat)).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.333251953125]);
  });
});
