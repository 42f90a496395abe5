import onnxProto from 'onnx-proto';
import { int, ints, node, str, tensorInfo } from './onnx-builders.js';
import { floatTensor, int64Tensor } from '../tensors.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** A seeded pseudo-random generator (mulberry32), so test graphs and inputs are the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A small graph laid out as onnxruntime's `quantize_dynamic` writes ISNet (`ConvInteger` format),
 * with ISNet's shape pattern: `x` [1,2,side,side] → quantised 3×3 stride-2 conv (uint8 weights,
 * zero point 128, bias through a Reshape) → Relu → 2×2 max-pool with ceil_mode → Resize to constant
 * sizes ("upsample like" the conv output) → Concat with it → `out`; plus a second output `side`
 * (a sigmoid of the conv output) that nothing else needs.
 */
export function quantisedGraph(side = 8): Uint8Array {
  const rand = seeded(3);
  const wq = Uint8Array.from({ length: 4 * 2 * 9 }, () => Math.floor(rand() * 256));
  const half = Math.ceil(side / 2);
  const graph = {
    name: 'quantised-test',
    node: [
      node('Reshape', ['bias', 'bias_shape'], ['bias_reshaped']),
      node('DynamicQuantizeLinear', ['x'], ['x_q', 'x_scale', 'x_zp']),
      node(
        'ConvInteger',
        ['x_q', 'w_q', 'x_zp', 'w_zp'],
        ['conv_int'],
        [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2]), int('group', 1)],
      ),
      node('Cast', ['conv_int'], ['conv_cast'], [int('to', T.FLOAT)]),
      node('Mul', ['x_scale', 'w_scale'], ['scales']),
      node('Mul', ['conv_cast', 'scales'], ['conv_scaled']),
      node('Add', ['conv_scaled', 'bias_reshaped'], ['conv']),
      node('Relu', ['conv'], ['relu']),
      node('MaxPool', ['relu'], ['pool'], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2]), int('ceil_mode', 1)]),
      node('Resize', ['pool', '', '', 'up_sizes'], ['up'], [str('mode', 'linear'), str('coordinate_transformation_mode', 'half_pixel')]),
      node('Concat', ['up', 'relu'], ['out'], [int('axis', 1)]),
      node('Sigmoid', ['conv'], ['side']),
    ],
    initializer: [
      { name: 'w_q', dims: [4, 2, 3, 3], dataType: T.UINT8, rawData: wq },
      { name: 'w_zp', dims: [], dataType: T.UINT8, int32Data: [128] },
      { name: 'w_scale', dims: [], dataType: T.FLOAT, floatData: [0.02] },
      floatTensor('bias', [4], Float32Array.of(0.1, -0.2, 0.3, 0)),
      int64Tensor('bias_shape', [1, 4, 1, 1]),
      int64Tensor('up_sizes', [1, 4, half, half]),
    ],
    input: [tensorInfo('x', [1, 2, side, side])],
    output: [tensorInfo('out', [1, 8, half, half]), tensorInfo('side', [1, 4, half, half])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 15 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
