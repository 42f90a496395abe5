/**
 * Test support: small Keras functional models written to disk as TensorFlow.js layers models
 * (model.json + one shard), with seeded random weights, so every layer type and option the
 * converter handles can be checked against TensorFlow.js without the big real models.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KerasLayer, WeightEntry } from '../read-layers-model.js';

export interface SyntheticLayer {
  class_name: string;
  name: string;
  config?: Record<string, unknown>;
  inputs: string[];
  /** Conv2D only: input channels (to size the kernel). */
  inChannels?: number;
}

/** Seeded uniform values in [-amplitude, amplitude] (mulberry32), so failures reproduce. */
export function seededRandom(seed: number): (amplitude?: number) => number {
  let a = seed >>> 0;
  return (amplitude = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return (u * 2 - 1) * amplitude;
  };
}

const CONV_DEFAULTS = {
  strides: [1, 1],
  padding: 'same',
  data_format: 'channels_last',
  dilation_rate: [1, 1],
  groups: 1,
  activation: 'linear',
  use_bias: true,
};

/**
 * Write a functional model with input `in` ([null, null, null, channels]) and the given layers
 * (the last is the output) into `dir`; returns the path of its model.json.
 */
export async function writeSyntheticModel(dir: string, channels: number, layers: SyntheticLayer[], seed = 1): Promise<string> {
  const rand = seededRandom(seed);
  const weights: WeightEntry[] = [];
  const chunks: Float32Array[] = [];
  const keras: KerasLayer[] = [
    {
      class_name: 'InputLayer',
      name: 'in',
      config: { name: 'in', batch_input_shape: [null, null, null, channels], dtype: 'float32' },
      inbound_nodes: [],
    },
  ];
  for (const l of layers) {
    let config: Record<string, unknown> = { name: l.name, trainable: true, dtype: 'float32', ...l.config };
    if (l.class_name === 'Conv2D') {
      config = { ...CONV_DEFAULTS, ...config };
      const [kh, kw] = config.kernel_size as [number, number];
      const filters = config.filters as number;
      const cin = l.inChannels!;
      // Scaled like Glorot so activations stay O(1) through the test stacks.
      const amp = Math.sqrt(6 / (kh * kw * (cin + filters)));
      const kernel = Float32Array.from({ length: kh * kw * cin * filters }, () => rand(amp));
      weights.push({ name: `${l.name}/kernel`, shape: [kh, kw, cin, filters], dtype: 'float32' });
      chunks.push(kernel);
      if (config.use_bias) {
        weights.push({ name: `${l.name}/bias`, shape: [filters], dtype: 'float32' });
        chunks.push(Float32Array.from({ length: filters }, () => rand(0.1)));
      }
    }
    keras.push({
      class_name: l.class_name,
      name: l.name,
      config,
      inbound_nodes: [l.inputs.map((i) => [i, 0, 0, {}] as [string, number, number, Record<string, unknown>])],
    });
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras-to-onnx tests',
    convertedBy: null,
    modelTopology: {
      keras_version: '2.10.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Functional',
        config: { name: 'synthetic', layers: keras, input_layers: [['in', 0, 0]], output_layers: [[layers.at(-1)!.name, 0, 0]] },
      },
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }],
  };
  await mkdir(dir, { recursive: true });
  const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), bytes);
  const file = path.join(dir, 'model.json');
  await writeFile(file, JSON.stringify(modelJson));
  return file;
}
