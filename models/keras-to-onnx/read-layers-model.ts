import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { halvesToFloats } from '../half-float.js';

/** One Keras layer as saved by `model.to_json()` inside a TensorFlow.js layers model. */
export interface KerasLayer {
  class_name: string;
  /** Layer-specific settings (`filters`, `kernel_size`, `axis`, `size`, …). */
  config: Record<string, unknown> & { name?: string };
  /** Functional models: the layer's name in the graph (the config also holds it). */
  name?: string;
  /**
   * Functional models: one entry per call of the layer; each is a list of
   * `[inboundLayerName, nodeIndex, tensorIndex, kwargs]`.
   */
  inbound_nodes?: Array<Array<[string, number, number, Record<string, unknown>?]>>;
}

/** The `model_config` of a layers model: a functional graph or a plain stack. */
export interface KerasModelConfig {
  class_name: string;
  config: {
    name?: string;
    layers: KerasLayer[];
    input_layers?: Array<[string, number, number]>;
    output_layers?: Array<[string, number, number]>;
  };
}

/** One weight of the manifest, in the order its bytes appear in the concatenated shards. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  /** Post-training quantisation by the tfjs converter (`--quantize_uint8` etc.). */
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; original_dtype?: string };
}

/** A weight decoded to float32, shape as Keras stores it (Conv2D kernels are `[kh, kw, in, out]`). */
export interface Weight {
  shape: number[];
  values: Float32Array;
}

/** A parsed layers model: its topology and every weight by its Keras name (`layer/kernel`). */
export interface LayersModel {
  format: string | undefined;
  modelConfig: KerasModelConfig;
  weights: Map<string, Weight>;
}

interface ModelJson {
  format?: string;
  modelTopology: { model_config?: KerasModelConfig } & Partial<KerasModelConfig>;
  weightsManifest: Array<{ paths: string[]; weights: WeightEntry[] }>;
}

/**
 * Read a TensorFlow.js layers model (`model.json` and the weight shards it names, relative to it)
 * from disk.
 */
export async function readLayersModel(modelJsonPath: string): Promise<LayersModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  const dir = path.dirname(modelJsonPath);
  const groups = await Promise.all(
    json.weightsManifest.map(async (group) => ({
      entries: group.weights,
      shards: await Promise.all(group.paths.map((p) => readFile(path.join(dir, p)))),
    })),
  );
  return parseLayersModel(json, groups);
}

/**
 * Parse an already-loaded `model.json` and its shards (one list of shard buffers per manifest
 * group, in the manifest's order). Split from the file reading so tests can feed synthetic models.
 */
export function parseLayersModel(json: unknown, groups: Array<{ entries: WeightEntry[]; shards: Uint8Array[] }>): LayersModel {
  const model = json as ModelJson;
  if (model.format !== undefined && model.format !== 'layers-model') {
    throw new Error(`expected a TensorFlow.js layers model, got format "${model.format}" (graph models are not Keras layers)`);
  }
  const topology = model.modelTopology;
  // Older converters put the model config at the top of modelTopology instead of under model_config.
  const modelConfig = topology?.model_config ?? (topology?.class_name ? (topology as KerasModelConfig) : undefined);
  if (!modelConfig?.config?.layers) throw new Error('model.json has no modelTopology.model_config.config.layers');

  const weights = new Map<string, Weight>();
  for (const group of groups) {
    // A group's shards are one byte stream cut into files; weights are laid end to end in it.
    const bytes = concat(group.shards);
    let offset = 0;
    for (const entry of group.entries) {
      const { weight, byteLength } = decodeWeight(entry, bytes, offset);
      weights.set(entry.name, weight);
      offset += byteLength;
    }
    if (offset !== bytes.byteLength) {
      throw new Error(`weights manifest describes ${offset} bytes but its shards hold ${bytes.byteLength}`);
    }
  }
  return { format: model.format, modelConfig, weights };
}

function decodeWeight(entry: WeightEntry, bytes: Uint8Array, offset: number): { weight: Weight; byteLength: number } {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const q = entry.quantization;
  const kind = q ? q.dtype : entry.dtype;
  const width = ({ uint8: 1, uint16: 2, float16: 2, float32: 4, int32: 4 } as Record<string, number>)[kind];
  if (!width || (q && kind !== 'uint8' && kind !== 'uint16' && kind !== 'float16')) {
    throw new Error(`weight ${entry.name}: unsupported ${q ? 'quantisation ' : ''}dtype "${String(kind)}"`);
  }
  const byteLength = count * width;
  if (offset + byteLength > bytes.byteLength) throw new Error(`weight ${entry.name} runs past the end of its shards`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, byteLength);
  const values = new Float32Array(count);
  if (kind === 'uint8' || kind === 'uint16') {
    // Affine quantisation: value = q * scale + min.
    if (q?.scale === undefined || q.min === undefined) throw new Error(`weight ${entry.name}: ${kind} quantisation without scale/min`);
    for (let i = 0; i < count; i++) values[i] = (width === 2 ? view.getUint16(i * 2, true) : view.getUint8(i)) * q.scale + q.min;
  } else if (kind === 'float16') {
    values.set(halvesToFloats(view, count));
  } else if (kind === 'float32') {
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
  } else {
    for (let i = 0; i < count; i++) values[i] = view.getInt32(i * 4, true);
  }
  return { weight: { shape: [...entry.shape], values }, byteLength };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
