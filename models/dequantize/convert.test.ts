import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { floatVariant, widenedVariant } from './convert.js';
import { scaledSide } from './input-size.js';
import { halfGraph } from './testing/half-graph.js';
import { quantisedGraph } from './testing/quantised-graph.js';

const { onnx } = onnxProto;

/**
 * An input on the 8-bit grid DynamicQuantizeLinear picks for it: values (k − 128)/64 with every
 * k in 0..255 present, so its scale is exactly 1/64, its zero point 128, and quantising loses
 * nothing. On such an input the quantised graph and its float version must agree to float rounding.
 */
function gridInput(side: number): ort.Tensor {
  const n = 2 * side * side;
  const x = Float32Array.from({ length: n }, (_, i) => (((i * 97) % 256) - 128) / 64);
  x[0] = -2;
  x[1] = 127 / 64;
  return new ort.Tensor('float32', x, [1, 2, side, side]);
}

async function run(model: Uint8Array, input: ort.Tensor) {
  const session = await ort.InferenceSession.create(model);
  try {
    return { outputs: session.outputNames, out: (await session.run({ x: input }, ['out'])).out! };
  } finally {
    await session.release();
  }
}

const maxDiff = (a: ort.Tensor, b: ort.Tensor) => {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  return max;
};

describe('floatVariant (ConvInteger → float Conv)', () => {
  it('computes what the quantised graph computes, with float convolutions only and the unused output gone', async () => {
    const quantised = quantisedGraph(8);
    const float = floatVariant(quantised, { outputs: ['out'], source: 'test' });
    const ops = onnx.ModelProto.decode(float).graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(['Conv', 'Relu', 'MaxPool', 'Resize', 'Concat']);

    const q = await run(quantised, gridInput(8));
    const f = await run(float, gridInput(8));
    expect(q.outputs).toEqual(['out', 'side']);
    expect(f.outputs).toEqual(['out']);
    expect(f.out.dims).toEqual([1, 8, 4, 4]);
    expect(maxDiff(q.out, f.out)).toBeLessThan(1e-5);
    // Not vacuous: the convolution half of the output is not all zeros after its ReLU.
    expect(Math.max(...(f.out.data as Float32Array))).toBeGreaterThan(0.1);
  });

  it('differs from the quantised graph off the grid only by the 8-bit rounding of activations', async () => {
    const float = floatVariant(quantisedGraph(8), { outputs: ['out'], source: 'test' });
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * 1.7) * 1.3),
      [1, 2, 8, 8],
    );
    const d = maxDiff((await run(quantisedGraph(8), x)).out, (await run(float, x)).out);
    // Input scale 2.6/255 ≈ 0.0102: each of 18 taps off by at most half of it, times |w| ≤ 128·0.02.
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(18 * 0.0051 * 2.56);
  });

  it('rebuilds the graph for another input side: same result as a graph built for that side', async () => {
    const resized = floatVariant(quantisedGraph(8), { outputs: ['out'], inputSide: { from: 8, to: 6 }, source: 'test' });
    const native = await run(quantisedGraph(6), gridInput(6));
    const got = await run(resized, gridInput(6));
    expect(got.out.dims).toEqual([1, 8, 3, 3]);
    expect(maxDiff(native.out, got.out)).toBeLessThan(1e-5);
  });

  it('is deterministic (the result is pinned by sha256) and records its source', () => {
    const a = floatVariant(quantisedGraph(8), { outputs: ['out'], source: 'pkg@1 /model' });
    expect(Buffer.from(floatVariant(quantisedGraph(8), { outputs: ['out'], source: 'pkg@1 /model' })).equals(Buffer.from(a))).toBe(true);
    expect(onnx.ModelProto.decode(a).metadataProps).toContainEqual(expect.objectContaining({ key: 'source', value: 'pkg@1 /model' }));
  });

  it('refuses a graph without quantised convolutions and an output the graph does not have', () => {
    const float = floatVariant(quantisedGraph(8), { outputs: ['out'], source: 'test' });
    expect(() => floatVariant(float, { outputs: ['out'], source: 'test' })).toThrow(/no ConvInteger/);
    expect(() => floatVariant(quantisedGraph(8), { outputs: ['nope'], source: 'test' })).toThrow(/no output nope/);
  });
});

describe('widenedVariant (fp16 → float32)', () => {
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * 1.7)),
    [1, 2, 8, 8],
  );

  it('computes what the fp16 graph computes, in float32 throughout, with the unused output gone', async () => {
    const widened = widenedVariant(halfGraph(8), { outputs: ['out'], source: 'test' });
    const graph = onnx.ModelProto.decode(widened).graph!;
    const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
    expect(graph.initializer!.filter((t) => t.dataType === FLOAT16)).toEqual([]);
    expect(graph.valueInfo!.filter((v) => v.type?.tensorType?.elemType === FLOAT16)).toEqual([]);
    expect(graph.node!.filter((n) => n.attribute!.some((a) => a.name === 'to' && Number(a.i) === FLOAT16))).toEqual([]);
    // The side output's Sigmoid and Cast are gone; the input and output casts are no-ops now.
    expect(graph.node!.map((n) => n.opType).sort()).toEqual(['Cast', 'Cast', 'Concat', 'Conv', 'Relu', 'Resize']);

    const h = await run(halfGraph(8), input);
    const f = await run(widened, input);
    expect(h.outputs).toEqual(['out', 'side']);
    expect(f.outputs).toEqual(['out']);
    expect(f.out.dims).toEqual([1, 8, 4, 4]);
    // The same weights; the fp16 graph rounds its input and activations to 11 significant bits.
    const d = maxDiff(h.out, f.out);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(5e-3);
    expect(Math.max(...(f.out.data as Float32Array))).toBeGreaterThan(0.1);
  });

  it('is deterministic and refuses a graph with nothing in fp16', () => {
    const a = widenedVariant(halfGraph(8), { outputs: ['out'], source: 'pkg@1 /model' });
    expect(Buffer.from(widenedVariant(halfGraph(8), { outputs: ['out'], source: 'pkg@1 /model' })).equals(Buffer.from(a))).toBe(true);
    expect(() => widenedVariant(a, { outputs: ['out'], source: 'test' })).toThrow(/no float16/);
  });
});

describe('scaledSide', () => {
  it('follows ceil halving from the new side', () => {
    expect([1024, 512, 256, 8, 4].map((d) => scaledSide(d, 1024, 768))).toEqual([768, 384, 192, 6, 3]);
    expect([512, 16, 8, 4].map((d) => scaledSide(d, 1024, 640))).toEqual([320, 10, 5, 3]);
    expect(() => scaledSide(300, 1024, 768)).toThrow(/not 1024 halved/);
  });
});
