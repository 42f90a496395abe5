import onnxProto from 'onnx-proto';
import { int, ints, node, str, tensorInfo } from './onnx-builders.js';
import { int64Tensor } from '../tensors.js';
import { seeded } from './quantised-graph.js';
import { floatToHalf } from '../../half-float.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

const halfTensor = (name: string, dims: number[], values: number[]) => ({
  name,
  dims,
  dataType: T.FLOAT16,
  rawData: new Uint8Array(Uint16Array.from(values, floatToHalf).buffer),
});

/**
 * A small graph laid out as the published fp16 ISNet: float32 `x` [1,2,side,side] cast to fp16,
 * a 3×3 stride-2 conv with fp16 weights and bias → Relu → Resize to constant sizes → Concat with
 * it, cast back to float32 as `out`; plus a second output `side` (a sigmoid) that nothing else
 * needs. As in the published file, the casts come last in the node list (not in topological order).
 */
export function halfGraph(side = 8): Uint8Array {
  const rand = seeded(5);
  const half = Math.ceil(side / 2);
  const graph = {
    name: 'half-test',
    node: [
      node('Conv', ['x_half', 'w', 'b'], ['conv'], [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])]),
      node('Relu', ['conv'], ['relu']),
      node('Resize', ['relu', '', '', 'up_sizes'], ['up'], [str('mode', 'linear'), str('coordinate_transformation_mode', 'half_pixel')]),
      node('Concat', ['up', 'relu'], ['out_half'], [int('axis', 1)]),
      node('Sigmoid', ['conv'], ['side_half']),
      node('Cast', ['x'], ['x_half'], [int('to', T.FLOAT16)]),
      node('Cast', ['out_half'], ['out'], [int('to', T.FLOAT)]),
      node('Cast', ['side_half'], ['side'], [int('to', T.FLOAT)]),
    ],
    initializer: [
      halfTensor(
        'w',
        [4, 2, 3, 3],
        Array.from({ length: 72 }, () => rand() - 0.5),
      ),
      halfTensor('b', [4], [0.1, -0.2, 0.3, 0]),
      int64Tensor('up_sizes', [1, 4, half, half]),
    ],
    input: [tensorInfo('x', [1, 2, side, side])],
    output: [tensorInfo('out', [1, 8, half, half]), tensorInfo('side', [1, 4, half, half])],
    valueInfo: [tensorInfo('relu', [1, 4, half, half], T.FLOAT16)],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 15 }], graph })).finish();
}
