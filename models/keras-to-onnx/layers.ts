import { attr, type GraphBuilder } from './graph-builder.js';
import type { KerasLayer, Weight } from './read-layers-model.js';

/**
 * One Keras layer to ONNX nodes. Tensors inside the graph are NCHW (see `convert.ts` for why),
 * so every layer that names an axis or a kernel layout translates it from channels-last here.
 */
export interface LayerContext {
  g: GraphBuilder;
  layer: KerasLayer;
  /** The layer's Keras name; node names and weight look-ups derive from it. */
  name: string;
  /** Names of the (NCHW) tensors feeding this layer, in Keras order. */
  inputs: string[];
  /** A weight of this layer by its short name (`kernel`, `bias`), or undefined when absent. */
  weight(short: string): Weight | undefined;
}

/** Returns the name of the layer's (NCHW) output tensor. */
export type LayerConverter = (ctx: LayerContext) => string;

/** Keras channels-last axis → our NCHW axis, for the rank-4 image tensors these models carry. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

function num(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number') throw new Error(`expected a number for ${key}, got ${JSON.stringify(v)}`);
  return v;
}

function pair(config: Record<string, unknown>, key: string, fallback: [number, number]): [number, number] {
  const v = config[key] ?? fallback;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  throw new Error(`expected one or two numbers for ${key}, got ${JSON.stringify(v)}`);
}

function channelsLast(ctx: LayerContext): void {
  const format = ctx.layer.config.data_format ?? 'channels_last';
  if (format !== 'channels_last') throw new Error(`layer ${ctx.name}: data_format ${String(format)} is not supported (only channels_last)`);
}

function single(ctx: LayerContext): string {
  if (ctx.inputs.length !== 1) throw new Error(`layer ${ctx.name} (${ctx.layer.class_name}) expects one input, got ${ctx.inputs.length}`);
  return ctx.inputs[0]!;
}

/** A Keras activation by name, applied to `x`. `linear` adds nothing. */
export function activation(g: GraphBuilder, x: string, name: unknown, hint: string): string {
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', [x], hint);
    case 'relu6':
      return g.node('Clip', [x, g.floatScalar(0), g.floatScalar(6)], hint);
    case 'sigmoid':
      return g.node('Sigmoid', [x], hint);
    case 'hard_sigmoid':
      return g.node('HardSigmoid', [x], hint, { alpha: attr.float(0.2), beta: attr.float(0.5) });
    case 'tanh':
      return g.node('Tanh', [x], hint);
    case 'elu':
      return g.node('Elu', [x], hint, { alpha: attr.float(1) });
    case 'selu':
      return g.node('Selu', [x], hint);
    case 'softplus':
      return g.node('Softplus', [x], hint);
    case 'softsign':
      return g.node('Softsign', [x], hint);
    case 'exponential':
      return g.node('Exp', [x], hint);
    case 'swish':
    case 'silu':
      return g.node('Mul', [x, g.node('Sigmoid', [x], `${hint}_sigmoid`)], hint);
    case 'softmax':
      return g.node('Softmax', [x], hint, { axis: attr.int(1) });
    default:
      throw new Error(`activation "${String(name)}" is not supported`);
  }
}

/** Keras `[kh, kw, in, out]` kernel → ONNX `[out, in, kh, kw]`. */
export function kernelToOihw(w: Weight): Weight {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) out[((o * cin + c) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + c) * cout + o]!;
  return { shape: [cout, cin, kh, kw], values: out };
}

const conv2d: LayerConverter = (ctx) => {
  channelsLast(ctx);
  const c = ctx.layer.config;
  const x = single(ctx);
  const kernel = ctx.weight('kernel');
  if (!kernel || kernel.shape.length !== 4) throw new Error(`layer ${ctx.name}: missing 4-D kernel weight`);
  const [kh, kw] = pair(c, 'kernel_size', [kernel.shape[0]!, kernel.shape[1]!]);
  const strides = pair(c, 'strides', [1, 1]);
  const dilations = pair(c, 'dilation_rate', [1, 1]);
  const groups = num(c, 'groups', 1);
  const oihw = kernelToOihw(kernel);
  const inputs = [x, ctx.g.floatTensor(`${ctx.name}_W`, oihw.shape, oihw.values)];
  if (c.use_bias !== false) {
    const bias = ctx.weight('bias');
    if (!bias) throw new Error(`layer ${ctx.name}: use_bias is set but there is no bias weight`);
    inputs.push(ctx.g.floatTensor(`${ctx.name}_B`, bias.shape, bias.values));
  }
  const attributes = {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    group: attr.int(groups),
  };
  const padding = c.padding ?? 'valid';
  let pads: Record<string, ReturnType<typeof attr.ints> | ReturnType<typeof attr.string>>;
  if (padding === 'valid') pads = { pads: attr.ints([0, 0, 0, 0]) };
  else if (padding === 'same' && strides[0] === 1 && strides[1] === 1) {
    // TensorFlow's SAME pads (k-1)·d in total and puts the odd pixel at the end; explicit pads
    // keep the graph independent of the input size.
    const th = (kh - 1) * dilations[0];
    const tw = (kw - 1) * dilations[1];
    pads = { pads: attr.ints([th >> 1, tw >> 1, th - (th >> 1), tw - (tw >> 1)]) };
  } else if (padding === 'same') {
    // With strides the padding depends on the input size; SAME_UPPER is TensorFlow's rule.
    pads = { auto_pad: attr.string('SAME_UPPER') };
  } else throw new Error(`layer ${ctx.name}: padding "${String(padding)}" is not supported`);
  const conv = ctx.g.node('Conv', inputs, ctx.name, { ...attributes, ...pads });
  return activation(ctx.g, conv, c.activation, `${ctx.name}_act`);
};

const nary =
  (op: string): LayerConverter =>
  (ctx) => {
    if (ctx.inputs.length < 2) throw new Error(`layer ${ctx.name} (${ctx.layer.class_name}) needs at least two inputs`);
    // Sum/Max/Min are variadic in ONNX; Add/Mul/Sub are binary, so chain those.
    if (['Sum', 'Max', 'Min'].includes(op)) return ctx.g.node(op, ctx.inputs, ctx.name);
    let acc = ctx.inputs[0]!;
    for (let i = 1; i < ctx.inputs.length; i++) {
      acc = ctx.g.node(op, [acc, ctx.inputs[i]!], i === ctx.inputs.length - 1 ? ctx.name : `${ctx.name}_${i}`);
    }
    return acc;
  };

const passThrough: LayerConverter = (ctx) => single(ctx);

const CONVERTERS: Record<string, LayerConverter> = {
  Conv2D: conv2d,
  Activation: (ctx) => {
    const out = activation(ctx.g, single(ctx), ctx.layer.config.activation, ctx.name);
    return out === ctx.inputs[0] ? ctx.g.node('Identity', [out], ctx.name) : out;
  },
  ReLU: (ctx) => {
    const c = ctx.layer.config;
    if (num(c, 'threshold', 0) !== 0) throw new Error(`layer ${ctx.name}: ReLU with a threshold is not supported`);
    const slope = num(c, 'negative_slope', 0);
    let y =
      slope === 0
        ? ctx.g.node('Relu', [single(ctx)], ctx.name)
        : ctx.g.node('LeakyRelu', [single(ctx)], ctx.name, { alpha: attr.float(slope) });
    if (c.max_value !== null && c.max_value !== undefined)
      y = ctx.g.node('Clip', [y, '', ctx.g.floatScalar(num(c, 'max_value'))], `${ctx.name}_max`);
    return y;
  },
  LeakyReLU: (ctx) => ctx.g.node('LeakyRelu', [single(ctx)], ctx.name, { alpha: attr.float(num(ctx.layer.config, 'alpha', 0.3)) }),
  Add: nary('Add'),
  Subtract: nary('Sub'),
  Multiply: nary('Mul'),
  Maximum: nary('Max'),
  Minimum: nary('Min'),
  Concatenate: (ctx) => {
    const axis = num(ctx.layer.config, 'axis', -1);
    const nchw = NHWC_TO_NCHW_AXIS[axis < 0 ? axis + 4 : axis];
    if (nchw === undefined) throw new Error(`layer ${ctx.name}: concatenation axis ${axis} is out of range for an image tensor`);
    return ctx.g.node('Concat', ctx.inputs, ctx.name, { axis: attr.int(nchw) });
  },
  UpSampling2D: (ctx) => {
    channelsLast(ctx);
    const interpolation = ctx.layer.config.interpolation ?? 'nearest';
    if (interpolation !== 'nearest')
      throw new Error(`layer ${ctx.name}: UpSampling2D interpolation "${String(interpolation)}" is not supported (only nearest)`);
    const [sh, sw] = pair(ctx.layer.config, 'size', [2, 2]);
    // asymmetric + floor: output pixel i copies input pixel floor(i / s), as TensorFlow does.
    const scales = ctx.g.floatTensor(`${ctx.name}_scales`, [4], Float32Array.of(1, 1, sh, sw));
    return ctx.g.node('Resize', [single(ctx), '', scales], ctx.name, {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
  },
  // UpscalerJS's ESRGAN-thick residual scaling: x · beta (beta is 0.2 in every shipped model).
  MultiplyBeta: (ctx) => ctx.g.node('Mul', [single(ctx), ctx.g.floatScalar(num(ctx.layer.config, 'beta', 0.2))], ctx.name),
  Dropout: passThrough,
  SpatialDropout2D: passThrough,
  GaussianNoise: passThrough,
  GaussianDropout: passThrough,
  ActivityRegularization: passThrough,
};

/**
 * UpscalerJS's `PixelShuffle{N}x` is `tf.depthToSpace(x, N, 'NHWC')`: output[h·N+i, w·N+j, c] =
 * input[h, w, (i·N + j)·C + c]. ONNX `DepthToSpace` in DCR mode on NCHW reads channel
 * (i·N + j)·C + c for the same pixel, so the two agree (the equivalence test checks it).
 */
const pixelShuffle =
  (fromName: number): LayerConverter =>
  (ctx) =>
    ctx.g.node('DepthToSpace', [single(ctx)], ctx.name, {
      blocksize: attr.int(num(ctx.layer.config, 'scale', fromName)),
      mode: attr.string('DCR'),
    });

/** Layer classes the converter knows, for error messages. */
export const SUPPORTED_LAYERS = [...Object.keys(CONVERTERS), 'InputLayer', 'PixelShuffle{N}x'];

/** The converter of a Keras layer class, or a clear error naming what is supported. */
export function converterFor(layer: KerasLayer): LayerConverter {
  const shuffle = /^PixelShuffle(\d+)x$/.exec(layer.class_name);
  if (shuffle) return pixelShuffle(Number(shuffle[1]));
  const converter = CONVERTERS[layer.class_name];
  if (converter) return converter;
  const why =
    layer.class_name === 'Lambda'
      ? 'Lambda layers hold serialised Python code that cannot be translated'
      : ['Functional', 'Model', 'Sequential'].includes(layer.class_name)
        ? 'nested models are not supported; flatten the model first'
        : `supported layers: ${SUPPORTED_LAYERS.join(', ')}`;
  throw new Error(`unsupported Keras layer ${layer.class_name} ("${layer.config.name ?? layer.name}"): ${why}`);
}
