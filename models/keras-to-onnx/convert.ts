import { attr, GraphBuilder } from './graph-builder.js';
import { converterFor } from './layers.js';
import type { KerasLayer, LayersModel, Weight } from './read-layers-model.js';
import { canFuse, subpixelConv } from './subpixel.js';
import { writeOnnx, type ModelMetadata } from './write-onnx.js';

/** Options of `kerasToOnnx`. */
export interface ConvertOptions {
  /** Stored in the ONNX file's metadata (e.g. the npm package and path the weights came from). */
  properties?: Record<string, string>;
  docString?: string;
  /**
   * Rewrite `UpSampling2D(nearest) → Conv2D` pairs as a low-resolution conv + DepthToSpace
   * (`subpixel.ts`). Exact up to float rounding; on by default. Off gives the literal graph.
   */
  fuseUpsampleConv?: boolean;
}

/**
 * Convert a TensorFlow.js Keras layers model (already read by `readLayersModel`) to ONNX bytes.
 *
 * Layout: the ONNX graph takes and returns NHWC tensors exactly like the Keras model (same input
 * and output names, height and width dynamic so tiles of any size run), and works in NCHW inside,
 * with one Transpose after the input and one before the output. ONNX's Conv, Resize and
 * DepthToSpace are defined on NCHW only, and ONNX Runtime's CPU kernels (and its NCHWc layout
 * pass) are built for it; an NHWC graph would need a Transpose pair around every one of the
 * ~150 convolutions of the largest model, while two edge transposes cost almost nothing.
 *
 * Deterministic: the same model gives byte-identical output, so specs can pin its sha256.
 */
export function kerasToOnnx(model: LayersModel, options: ConvertOptions = {}): Uint8Array {
  const graph = buildGraph(model, { fuseUpsampleConv: options.fuseUpsampleConv ?? true });
  const meta: ModelMetadata = {
    producerName: 'product-image-pipeline keras-to-onnx',
    producerVersion: '1',
    ...(options.docString ? { docString: options.docString } : {}),
    ...(options.properties ? { properties: options.properties } : {}),
  };
  return writeOnnx(graph, meta);
}

interface Topology {
  name: string;
  layers: Map<string, KerasLayer>;
  /** Each layer's inbound layer names (one call per layer). */
  inbound: Map<string, string[]>;
  inputs: string[];
  outputs: string[];
}

/** Exposed for tests; most callers want `kerasToOnnx`. */
export function buildGraph(model: LayersModel, options: { fuseUpsampleConv: boolean }): ReturnType<GraphBuilder['build']> {
  const topo = topology(model);
  const fused = options.fuseUpsampleConv ? fusablePairs(topo) : new Map<string, number>();
  const g = new GraphBuilder(topo.name);
  const tensors = new Map<string, string>();
  for (const outputName of topo.outputs) g.reserve(outputName);

  for (const inputName of topo.inputs) {
    const layer = topo.layers.get(inputName)!;
    if (layer.class_name !== 'InputLayer') throw new Error(`model input ${inputName} is a ${layer.class_name}, expected an InputLayer`);
    const shape = (layer.config.batch_input_shape ?? layer.config.batch_shape) as Array<number | null> | undefined;
    if (!shape || shape.length !== 4)
      throw new Error(`input ${inputName}: only rank-4 image inputs [batch, height, width, channels] are supported`);
    const channels = shape[3];
    if (typeof channels !== 'number') throw new Error(`input ${inputName}: the channel count must be fixed`);
    const dims: Array<number | string> = [shape[0] ?? 'batch', shape[1] ?? 'height', shape[2] ?? 'width', channels];
    g.addInput(inputName, dims);
    tensors.set(inputName, g.node('Transpose', [inputName], `${inputName}_nchw`, { perm: attr.ints([0, 3, 1, 2]) }));
  }

  for (const name of order(topo)) {
    if (tensors.has(name)) continue;
    const layer = topo.layers.get(name)!;
    const inputs = topo.inbound.get(name)!.map((i) => {
      const t = tensors.get(i);
      if (!t) throw new Error(`layer ${name} reads ${i}, which has not been computed`);
      return t;
    });
    const ctx = { g, layer, name, inputs, weight: (short: string) => findWeight(model.weights, name, short) };
    const scale = fused.get(name);
    if (scale === 0)
      tensors.set(name, inputs[0]!); // a fused upsample: its conv reads the low-res tensor
    else if (scale !== undefined) tensors.set(name, subpixelConv(ctx, scale));
    else tensors.set(name, converterFor(layer)(ctx));
  }

  for (const outputName of topo.outputs) {
    const nchw = tensors.get(outputName)!;
    // NCHW back to the model's NHWC, under the Keras output layer's own name.
    const out = g.node('Transpose', [nchw], `${outputName}_nhwc`, { perm: attr.ints([0, 2, 3, 1]) });
    g.rename(out, outputName);
    g.addOutput(outputName, ['batch', 'out_height', 'out_width', 'channels']);
  }
  return g.build();
}

/**
 * Conv2D layers fed only by an UpSampling2D that nothing else reads: conv name → scale, and the
 * upsample's name → 0 (emit nothing for it).
 */
function fusablePairs(topo: Topology): Map<string, number> {
  const readers = new Map<string, number>();
  for (const deps of topo.inbound.values()) for (const d of deps) readers.set(d, (readers.get(d) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const [name, deps] of topo.inbound) {
    const up = deps.length === 1 ? topo.layers.get(deps[0]!) : undefined;
    const conv = topo.layers.get(name)!;
    if (!up || readers.get(deps[0]!) !== 1 || topo.outputs.includes(deps[0]!) || !canFuse(up, conv)) continue;
    out.set(deps[0]!, 0);
    out.set(name, (up.config.size as number[])[0]!);
  }
  return out;
}

function findWeight(weights: Map<string, Weight>, layer: string, short: string): Weight | undefined {
  // tfjs names weights `layer/kernel`; some exports prefix the model name or suffix `:0`.
  const exact = weights.get(`${layer}/${short}`);
  if (exact) return exact;
  for (const [key, w] of weights) {
    const bare = key.replace(/:0$/, '');
    if (bare === `${layer}/${short}` || bare.endsWith(`/${layer}/${short}`)) return w;
  }
  return undefined;
}

function topology(model: LayersModel): Topology {
  const mc = model.modelConfig;
  const layers = new Map<string, KerasLayer>();
  const inbound = new Map<string, string[]>();
  const name = mc.config.name ?? 'model';
  if (mc.class_name === 'Sequential') {
    // A stack: each layer reads the one before; the first carries the input shape.
    let previous: string | undefined;
    const inputs: string[] = [];
    mc.config.layers.forEach((layer, i) => {
      const layerName = layer.config.name ?? `layer_${i}`;
      if (i === 0 && layer.class_name !== 'InputLayer') {
        const input: KerasLayer = {
          class_name: 'InputLayer',
          config: { name: `${layerName}_input`, batch_input_shape: layer.config.batch_input_shape },
        };
        layers.set(input.config.name!, input);
        inbound.set(input.config.name!, []);
        inputs.push(input.config.name!);
        previous = input.config.name!;
      }
      if (layer.class_name === 'InputLayer') inputs.push(layerName);
      layers.set(layerName, layer);
      inbound.set(layerName, previous ? [previous] : []);
      previous = layerName;
    });
    return { name, layers, inbound, inputs, outputs: previous ? [previous] : [] };
  }
  if (mc.class_name !== 'Functional' && mc.class_name !== 'Model') throw new Error(`unsupported model class ${mc.class_name}`);
  for (const layer of mc.config.layers) {
    const layerName = layer.name ?? layer.config.name;
    if (!layerName) throw new Error('a layer has no name');
    const nodes = layer.inbound_nodes ?? [];
    if (nodes.length > 1) throw new Error(`layer ${layerName} is called ${nodes.length} times; shared layers are not supported`);
    const refs = nodes[0] ?? [];
    for (const [from, nodeIndex, tensorIndex] of refs) {
      if (nodeIndex !== 0 || tensorIndex !== 0)
        throw new Error(
          `layer ${layerName} reads output ${nodeIndex}/${tensorIndex} of ${from}; only single-output, single-call layers are supported`,
        );
    }
    layers.set(layerName, layer);
    inbound.set(
      layerName,
      refs.map((r) => r[0]),
    );
  }
  const ends = (list: Array<[string, number, number]> | undefined, what: string) => {
    if (!list?.length) throw new Error(`model has no ${what}`);
    return list.map(([n]) => {
      if (!layers.has(n)) throw new Error(`model ${what} ${n} is not one of its layers`);
      return n;
    });
  };
  return {
    name,
    layers,
    inbound,
    inputs: ends(mc.config.input_layers, 'input_layers'),
    outputs: ends(mc.config.output_layers, 'output_layers'),
  };
}

/** Layers needed by the outputs, each after everything it reads (depth-first, iterative). */
function order(topo: Topology): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  for (const root of topo.outputs) {
    const stack: Array<[string, boolean]> = [[root, false]];
    const onPath = new Set<string>();
    while (stack.length) {
      const [name, expanded] = stack.pop()!;
      if (expanded) {
        onPath.delete(name);
        if (!done.has(name)) {
          done.add(name);
          out.push(name);
        }
        continue;
      }
      if (done.has(name)) continue;
      if (onPath.has(name)) throw new Error(`the model graph has a cycle through ${name}`);
      onPath.add(name);
      stack.push([name, true]);
      const deps = topo.inbound.get(name);
      if (!deps) throw new Error(`layer ${name} is referenced but not defined`);
      for (const d of [...deps].reverse()) if (!done.has(d)) stack.push([d, false]);
    }
  }
  return out;
}
