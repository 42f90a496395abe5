/**
 * Every layer type and option the converter handles, on small synthetic models, against the
 * same models run by TensorFlow.js (cpu backend): the ONNX graph must compute what Keras does.
 * Needs the `@tensorflow/tfjs` dev dependency (or TFJS_DIR); fails with the install hint without it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kerasToOnnx } from './convert.js';
import { readLayersModel } from './read-layers-model.js';
import { seededRandom, writeSyntheticModel, type SyntheticLayer } from './testing/synthetic-model.js';
import { loadTfjs, loadTfjsModel, runTfjs, type Tfjs } from './testing/tfjs-reference.js';

let tf: Tfjs;
let dir: string;

beforeAll(async () => {
  tf = await loadTfjs('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'keras-to-onnx-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conv = (name: string, input: string, inChannels: number, filters: number, config: Record<string, unknown> = {}): SyntheticLayer => ({
  class_name: 'Conv2D',
  name,
  inputs: [input],
  inChannels,
  config: { filters, kernel_size: [3, 3], ...config },
});

/** Max |ONNX − tfjs| over the output, for the model in `file`, on a seeded random NHWC input. */
async function compare(file: string, h: number, w: number, c: number, options: { fuseUpsampleConv?: boolean } = {}) {
  const rand = seededRandom(7);
  const x = Float32Array.from({ length: h * w * c }, () => rand(1));
  const bytes = kerasToOnnx(await readLayersModel(file), options);
  const session = await ort.InferenceSession.create(bytes);
  const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, h, w, c]) }))[session.outputNames[0]!]!;
  const ref = await runTfjs(tf, await loadTfjsModel(tf, file), x, [1, h, w, c]);
  expect(out.dims).toEqual(ref.shape);
  const got = out.data as Float32Array;
  let max = 0;
  for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - ref.data[i]!));
  return { max, bytes, refMagnitude: Math.max(...Array.from(ref.data, Math.abs)) };
}

describe('keras-to-onnx on synthetic models (vs TensorFlow.js cpu)', () => {
  // One graph through every supported layer and option the shipped models use, and more.
  const everyLayer: SyntheticLayer[] = [
    conv('strided', 'in', 3, 6, { strides: [2, 2] }), // SAME with strides: TF's SAME_UPPER rule
    conv('c1', 'strided', 6, 8, { activation: 'relu' }),
    { class_name: 'Activation', name: 'sig', inputs: ['c1'], config: { activation: 'sigmoid' } },
    conv('even', 'c1', 8, 8, { kernel_size: [2, 2], activation: 'tanh' }), // even kernel: asymmetric pad
    { class_name: 'Concatenate', name: 'cat', inputs: ['sig', 'even'], config: { axis: -1 } },
    conv('dilated', 'cat', 16, 8, { dilation_rate: [2, 2] }),
    { class_name: 'MultiplyBeta', name: 'beta', inputs: ['dilated'], config: { beta: 0.2 } },
    { class_name: 'Add', name: 'add3', inputs: ['c1', 'beta', 'dilated'] },
    { class_name: 'LeakyReLU', name: 'leaky', inputs: ['add3'], config: { alpha: 0.1 } },
    { class_name: 'ReLU', name: 'relu6', inputs: ['leaky'], config: { max_value: 0.5 } },
    { class_name: 'Multiply', name: 'mul', inputs: ['relu6', 'c1'] },
    { class_name: 'UpSampling2D', name: 'up_fused', inputs: ['mul'], config: { size: [2, 2], interpolation: 'nearest' } },
    conv('after_up', 'up_fused', 8, 12), // read only by this conv: rewritten as sub-pixel
    { class_name: 'UpSampling2D', name: 'up_plain', inputs: ['mul'], config: { size: [2, 2] } },
    { class_name: 'Concatenate', name: 'cat2', inputs: ['up_plain', 'after_up'], config: { axis: 3 } }, // upsample kept
    conv('pre_shuffle', 'cat2', 20, 12, { kernel_size: [5, 5] }),
    { class_name: 'PixelShuffle2x', name: 'shuffle', inputs: ['pre_shuffle'], config: { scale: 2 } },
    conv('valid', 'shuffle', 3, 3, { padding: 'valid', kernel_size: [1, 3] }),
  ];

  it('matches TensorFlow.js through every layer type, fused and literal', async () => {
    const file = await writeSyntheticModel(path.join(dir, 'every'), 3, everyLayer);
    for (const fuseUpsampleConv of [true, false]) {
      // Even sizes make the strided SAME conv pad asymmetrically (1 pixel, at the end in TF).
      const { max, refMagnitude } = await compare(file, 10, 12, 3, { fuseUpsampleConv });
      expect(refMagnitude).toBeGreaterThan(0.05); // the output is not trivially zero
      expect(max).toBeLessThan(1e-5);
    }
  });

  it.each([
    [2, 3],
    [3, 3],
    [4, 3],
    [8, 3],
    [2, 5],
    [3, 5],
  ])('rewrites UpSampling2D(%i) + a Conv2D of kernel %i as an exact sub-pixel convolution', async (scale, k) => {
    const file = await writeSyntheticModel(path.join(dir, `up${scale}k${k}`), 3, [
      conv('feat', 'in', 3, 6, { activation: 'relu' }),
      { class_name: 'UpSampling2D', name: 'up', inputs: ['feat'], config: { size: [scale, scale] } },
      conv('out', 'up', 6, 3, { kernel_size: [k, k] }),
    ]);
    const { max } = await compare(file, 5, 7, 3);
    expect(max).toBeLessThan(1e-5);
  });

  it('orders PixelShuffle channels as TensorFlow depth_to_space does, at 3×', async () => {
    const file = await writeSyntheticModel(path.join(dir, 'shuffle3'), 3, [
      conv('pre', 'in', 3, 27),
      { class_name: 'PixelShuffle3x', name: 'ps', inputs: ['pre'], config: { scale: 3 } },
    ]);
    expect((await compare(file, 4, 5, 3)).max).toBeLessThan(1e-5);
  });

  it('writes byte-identical ONNX for the same model', async () => {
    const file = await writeSyntheticModel(path.join(dir, 'det'), 3, everyLayer);
    const a = kerasToOnnx(await readLayersModel(file));
    const b = kerasToOnnx(await readLayersModel(file));
    expect(createHash('sha256').update(a).digest('hex')).toBe(createHash('sha256').update(b).digest('hex'));
  });

  it('refuses layers it cannot translate, naming them', async () => {
    const lambda = await writeSyntheticModel(path.join(dir, 'lambda'), 3, [
      { class_name: 'Lambda', name: 'py', inputs: ['in'], config: {} },
    ]);
    await expect(convertFile(lambda)).rejects.toThrow(/unsupported Keras layer Lambda \("py"\).*Python/);
    const bilinear = await writeSyntheticModel(path.join(dir, 'bilinear'), 3, [
      { class_name: 'UpSampling2D', name: 'up', inputs: ['in'], config: { size: [2, 2], interpolation: 'bilinear' } },
    ]);
    await expect(convertFile(bilinear)).rejects.toThrow(/interpolation "bilinear" is not supported/);
    const bn = await writeSyntheticModel(path.join(dir, 'bn'), 3, [
      { class_name: 'BatchNormalization', name: 'bn', inputs: ['in'], config: {} },
    ]);
    await expect(convertFile(bn)).rejects.toThrow(/unsupported Keras layer BatchNormalization.*supported layers: Conv2D/);
  });
});

const convertFile = async (file: string) => kerasToOnnx(await readLayersModel(file));
