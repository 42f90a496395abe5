/**
 * Every shipped upscaling model: the ONNX we build must (1) have exactly the sha256 its spec pins
 * (the converter is deterministic) and (2) compute what the ORIGINAL Keras model computes when
 * TensorFlow.js runs it (pure-JS cpu backend) on the same random input, within 1e-3 of the 0..1
 * pixel range. Downloads the four @upscalerjs packages once into MODELS_DIR/packages (~125 MB).
 * Needs the `@tensorflow/tfjs` dev dependency (or TFJS_DIR); fails with the install hint without it.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelsConfig } from '../config.js';
import { UPSCALE_MODELS } from '../esrgan.js';
import type { ModelSpec } from '../spec.js';
import { cachedSourcesOf } from './testing/package-cache.js';
import { seededRandom } from './testing/synthetic-model.js';
import { loadTfjs, loadTfjsModel, runTfjs, type Tfjs } from './testing/tfjs-reference.js';

const TOLERANCE = 1e-3;
let tf: Tfjs;
let sources: Map<ModelSpec, string>;
const measured: string[] = [];

beforeAll(async () => {
  tf = await loadTfjs('cpu');
  sources = await cachedSourcesOf(loadModelsConfig(process.env), UPSCALE_MODELS);
}, 600_000);

afterAll(() => {
  if (measured.length) console.log(`max |ONNX − tfjs| on a 0..1 scale:\n${measured.join('\n')}`);
});

describe('converted upscaling models against the TensorFlow.js originals', () => {
  it.each(UPSCALE_MODELS.map((s) => [s.name, s] as const))('%s', async (_name, spec) => {
    const bytes = await spec.build(sources.get(spec)!);
    expect(createHash('sha256').update(bytes).digest('hex'), `${spec.name}: converted bytes differ from the pinned sha256`).toBe(
      spec.sha256,
    );

    // Pixel range of the model (0..255 for the RDNs, 0..1 for thick), from its spec.
    const range = 1 / spec.input.normalisation!.std[0]!;
    // thick is ~10× the compute of the others, and tfjs's cpu backend is plain JavaScript.
    const [h, w] = spec.name.includes('thick') ? [8, 9] : [12, 13];
    const rand = seededRandom(42);
    const x = Float32Array.from({ length: h * w * 3 }, () => ((rand() + 1) / 2) * range);

    const session = await ort.InferenceSession.create(bytes);
    const ours = (await session.run({ [spec.input.name]: new ort.Tensor('float32', x, [1, h, w, 3]) }))[spec.output.name]!;
    const model = await loadTfjsModel(tf, path.join(sources.get(spec)!, spec.source.files[0]!));
    try {
      const ref = await runTfjs(tf, model, x, [1, h, w, 3]);
      expect(ours.dims).toEqual([1, h * spec.scale!, w * spec.scale!, 3]);
      expect(ref.shape).toEqual([...ours.dims]);
      const got = ours.data as Float32Array;
      let max = 0;
      for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - ref.data[i]!) / range);
      measured.push(`  ${spec.name.padEnd(22)} ${max.toExponential(2)}`);
      expect(max).toBeLessThan(TOLERANCE);
    } finally {
      model.dispose();
      await session.release();
    }
  });
});
