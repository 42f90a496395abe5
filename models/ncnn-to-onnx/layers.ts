import { attr, type GraphBuilder } from '../keras-to-onnx/graph-builder.js';
import { paramsOf, type NcnnLayer } from './read-param.js';
import type { WeightReader } from './read-bin.js';

/** What a layer converter gets: the graph, the layer, its inputs' ONNX names, the weight stream. */
export interface LayerContext {
  g: GraphBuilder;
  layer: NcnnLayer;
  inputs: string[];
  weights: WeightReader;
}

/** Emits the layer's nodes and returns the ONNX names of its outputs, one per ncnn output blob. */
type LayerConverter = (ctx: LayerContext) => string[];

/**
 * The layer types of Real-ESRGAN's ncnn graphs (RRDBNet: Convolution with fused LeakyReLU,
 * Concat, Eltwise sum with coefficients, BinaryOp, Interp nearest; SRVGGNetCompact: PReLU,
 * PixelShuffle), plus the plain ReLU. Params follow ncnn's `src/layer/<type>.cpp` `load_param`.
 */
const CONVERTERS: Record<string, LayerConverter> = {
  // Split fans a blob out to several readers; ONNX tensors can be read any number of times.
  Split: ({ layer, inputs }) => layer.outputs.map(() => one(inputs, layer)),
  Convolution: convolution,
  PReLU: ({ g, layer, inputs, weights }) => {
    const n = paramsOf(layer).int(0, 0);
    const slopes = weights.raw(n, `${layer.name} slopes`);
    // [C,1,1] broadcasts over NCHW; one slope shared by every channel is a scalar.
    const slope = g.floatTensor(`${layer.name}_slope`, n === 1 ? [1] : [n, 1, 1], slopes);
    return [g.node('PRelu', [one(inputs, layer), slope], layer.name)];
  },
  ReLU: ({ g, layer, inputs }) => {
    const slope = paramsOf(layer).float(0, 0);
    return [
      slope === 0
        ? g.node('Relu', [one(inputs, layer)], layer.name)
        : g.node('LeakyRelu', [one(inputs, layer)], layer.name, { alpha: attr.float(slope) }),
    ];
  },
  Eltwise: ({ g, layer, inputs }) => {
    const p = paramsOf(layer);
    const op = p.int(0, 1);
    const coeffs = p.array(1);
    if (op === 0) return [chain(g, 'Mul', inputs, layer.name)];
    if (op === 2) return [chain(g, 'Max', inputs, layer.name)];
    if (op !== 1) throw new Error(`Eltwise layer ${layer.name}: operation ${op} is not supported (0 product, 1 sum, 2 max)`);
    if (coeffs.length && coeffs.length !== inputs.length)
      throw new Error(`Eltwise layer ${layer.name}: ${coeffs.length} coefficients for ${inputs.length} inputs`);
    // ncnn: sum of coeff_i · input_i (all 1 without coefficients).
    const terms = inputs.map((x, i) =>
      coeffs.length && coeffs[i] !== 1 ? g.node('Mul', [x, g.floatScalar(coeffs[i]!)], `${layer.name}_term${i}`) : x,
    );
    return [chain(g, 'Add', terms, layer.name)];
  },
  BinaryOp: ({ g, layer, inputs }) => {
    const p = paramsOf(layer);
    const op = BINARY_OPS[p.int(0, 0)];
    if (!op) throw new Error(`BinaryOp layer ${layer.name}: operation ${p.int(0, 0)} is not supported (0 add, 1 sub, 2 mul, 3 div)`);
    const operands = p.int(1, 0) ? [one(inputs, layer), g.floatScalar(p.float(2, 0))] : two(inputs, layer);
    return [g.node(op, operands, layer.name)];
  },
  Concat: ({ g, layer, inputs }) => {
    // ncnn's axis counts over (c, h, w) without the batch; ONNX's over (n, c, h, w).
    const axis = paramsOf(layer).int(0, 0);
    return [g.node('Concat', inputs, layer.name, { axis: attr.int((axis < 0 ? axis + 3 : axis) + 1) })];
  },
  Interp: ({ g, layer, inputs }) => {
    const p = paramsOf(layer);
    const type = p.int(0, 0);
    if (type !== 1) throw new Error(`Interp layer ${layer.name}: resize type ${type} is not supported (only 1, nearest)`);
    if (p.int(3, 0) || p.int(4, 0) || p.int(5, 0))
      throw new Error(`Interp layer ${layer.name}: a fixed or dynamic output size is not supported, only scales`);
    // ncnn's nearest reads source pixel floor(x / scale): ONNX's asymmetric + floor.
    const scales = g.floatTensor(`${layer.name}_scales`, [4], Float32Array.of(1, 1, p.float(1, 1), p.float(2, 1)));
    return [
      g.node('Resize', [one(inputs, layer), '', scales], layer.name, {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      }),
    ];
  },
  PixelShuffle: ({ g, layer, inputs }) => {
    const p = paramsOf(layer);
    // mode 0 is PyTorch's pixel_shuffle (channel, then row, then column: ONNX's CRD); 1 is DCR.
    const mode = p.int(1, 0);
    if (mode !== 0 && mode !== 1) throw new Error(`PixelShuffle layer ${layer.name}: mode ${mode} is not supported`);
    return [
      g.node('DepthToSpace', [one(inputs, layer)], layer.name, {
        blocksize: attr.int(p.int(0, 1)),
        mode: attr.string(mode === 0 ? 'CRD' : 'DCR'),
      }),
    ];
  },
};

const BINARY_OPS: Record<number, string> = { 0: 'Add', 1: 'Sub', 2: 'Mul', 3: 'Div' };

/** The converter of a layer type; an unsupported one is an error naming the layer. */
export function converterFor(layer: NcnnLayer): LayerConverter {
  const convert = Object.hasOwn(CONVERTERS, layer.type) ? CONVERTERS[layer.type] : undefined;
  if (!convert)
    throw new Error(
      `ncnn layer ${layer.name} has type ${layer.type}, which the converter does not support (supported: Input, ${Object.keys(CONVERTERS).join(', ')})`,
    );
  return convert;
}

function convolution({ g, layer, inputs, weights }: LayerContext): string[] {
  const p = paramsOf(layer);
  const out = p.int(0, 0);
  const kw = p.int(1, 0);
  const kh = p.int(11, kw);
  const dw = p.int(2, 1);
  const sw = p.int(3, 1);
  const [left, top] = [p.int(4, 0), p.int(14, p.int(4, 0))];
  const [right, bottom] = [p.int(15, left), p.int(16, top)];
  const size = p.int(6, 0);
  if (left < 0 || top < 0) throw new Error(`Convolution layer ${layer.name}: automatic (SAME) padding ${left} is not supported`);
  if (p.float(18, 0) !== 0) throw new Error(`Convolution layer ${layer.name}: a non-zero pad value is not supported`);
  if (p.int(8, 0)) throw new Error(`Convolution layer ${layer.name}: int8 convolutions are not supported`);
  if (p.int(19, 0)) throw new Error(`Convolution layer ${layer.name}: dynamic weights are not supported`);
  const inChannels = size / (out * kh * kw);
  if (!Number.isInteger(inChannels) || inChannels < 1)
    throw new Error(`Convolution layer ${layer.name}: ${size} weights do not fit ${out} outputs of ${kh}×${kw}`);

  // ncnn stores weights as [out][in][kh][kw], ONNX's Conv layout; the bias is untagged float32.
  const w = g.floatTensor(`${layer.name}_w`, [out, inChannels, kh, kw], weights.tagged(size, `${layer.name} weights`));
  const b = p.int(5, 0) ? [g.floatTensor(`${layer.name}_b`, [out], weights.raw(out, `${layer.name} bias`))] : [];
  const y = g.node('Conv', [one(inputs, layer), w, ...b], `${layer.name}_conv`, {
    kernel_shape: attr.ints([kh, kw]),
    dilations: attr.ints([p.int(12, dw), dw]),
    strides: attr.ints([p.int(13, sw), sw]),
    pads: attr.ints([top, left, bottom, right]),
  });
  return [activation(g, layer, y, p.int(9, 0), p.array(10))];
}

/** ncnn's fused activation (`activation_type`, `activation_params`) as an ONNX node. */
function activation(g: GraphBuilder, layer: NcnnLayer, x: string, type: number, params: number[]): string {
  switch (type) {
    case 0:
      return x;
    case 1:
      return g.node('Relu', [x], layer.name);
    case 2:
      return g.node('LeakyRelu', [x], layer.name, { alpha: attr.float(params[0] ?? 0) });
    case 3:
      return g.node('Clip', [x, g.floatScalar(params[0] ?? -Infinity), g.floatScalar(params[1] ?? Infinity)], layer.name);
    case 4:
      return g.node('Sigmoid', [x], layer.name);
    default:
      throw new Error(
        `${layer.type} layer ${layer.name}: fused activation type ${type} is not supported (0 none, 1 relu, 2 leaky relu, 3 clip, 4 sigmoid)`,
      );
  }
}

function one(inputs: string[], layer: NcnnLayer): string {
  if (inputs.length !== 1) throw new Error(`${layer.type} layer ${layer.name} takes 1 input, has ${inputs.length}`);
  return inputs[0]!;
}

function two(inputs: string[], layer: NcnnLayer): [string, string] {
  if (inputs.length !== 2) throw new Error(`${layer.type} layer ${layer.name} takes 2 inputs, has ${inputs.length}`);
  return [inputs[0]!, inputs[1]!];
}

/** `op(op(a, b), c)…` for an n-ary ncnn operation over ONNX's binary ones. */
function chain(g: GraphBuilder, op: string, xs: string[], name: string): string {
  if (xs.length < 2) throw new Error(`layer ${name}: ${op} needs at least 2 inputs`);
  let acc = xs[0]!;
  for (let i = 1; i < xs.length; i++) acc = g.node(op, [acc, xs[i]!], i === xs.length - 1 ? name : `${name}_${i}`);
  return acc;
}
