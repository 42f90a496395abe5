/**
 * The GPU path of the converted Real-ESRGAN models: onnxruntime-node's bundled `webgpu` execution
 * provider (Dawn over Vulkan on Linux) must give the CPU provider's output within a quarter of one
 * 8-bit level, for x4fast on a 64² input and x4plus on a 24² one.
 *
 * Where no WebGPU adapter exists the tests skip and say why. That includes this project's CI:
 * Dawn refuses Debian 12's Mesa llvmpipe (22.3.6) while initialising the adapter ("Vulkan
 * shaderUniform*ArrayDynamicIndexing required": llvmpipe reports no dynamic indexing of sampled
 * and storage image arrays), so ONNX Runtime fails with "Failed to get a WebGPU adapter: No
 * supported adapters". On a GPU machine, `bench/gpu-check.ts` gives the times.
 */
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelsConfig } from '../config.js';
import { ensureModel } from '../ensure-model.js';
import { modelByName } from '../model-list.js';
import type { RealEsrganName } from '../realesrgan.js';

/** A quarter of one 8-bit level, in the models' 0..1 range. */
const TOLERANCE = 0.25 / 255;
const NO_ADAPTER = /Failed to get a WebGPU adapter/;
const config = loadModelsConfig(process.env);
let noAdapter: string | undefined;

beforeAll(async () => {
  // The smallest model there is: a one-node graph would need its own file; x4fast is 5 MB.
  const file = await ensureModel(modelByName('realesrgan-x4fast'), config, { quiet: true });
  try {
    await (await ort.InferenceSession.create(file, { executionProviders: ['webgpu'] })).release();
  } catch (err) {
    const message = (err as Error).message;
    if (!NO_ADAPTER.test(message)) throw err;
    noAdapter = `no WebGPU adapter on this machine (${message.slice(message.indexOf('Failed'))})`;
  }
}, 600_000);

async function compare(name: RealEsrganName, side: number): Promise<number> {
  const file = await ensureModel(modelByName(name), config, { quiet: true });
  // A fixed pseudo-random image: every channel value, no flat areas for both providers to agree on trivially.
  const pixels = Float32Array.from({ length: side * side * 3 }, (_, i) => ((i * 2654435761) % 256) / 255);
  const outputs: Float32Array[] = [];
  for (const provider of ['cpu', 'webgpu']) {
    const session = await ort.InferenceSession.create(file, { executionProviders: [provider], graphOptimizationLevel: 'all' });
    const result = await session.run({ input: new ort.Tensor('float32', pixels, [1, side, side, 3]) });
    expect(result.output!.dims).toEqual([1, side * 4, side * 4, 3]);
    outputs.push(result.output!.data as Float32Array);
    await session.release();
  }
  let max = 0;
  for (let i = 0; i < outputs[0]!.length; i++) max = Math.max(max, Math.abs(outputs[0]![i]! - outputs[1]![i]!));
  return max;
}

describe('converted Real-ESRGAN models on the webgpu execution provider', () => {
  it('realesrgan-x4fast gives the CPU output on a 64² input', async (ctx) => {
    if (noAdapter) return ctx.skip(noAdapter);
    expect(await compare('realesrgan-x4fast', 64)).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);

  it('realesrgan-x4plus gives the CPU output on a 24² input', async (ctx) => {
    if (noAdapter) return ctx.skip(noAdapter);
    expect(await compare('realesrgan-x4plus', 24)).toBeLessThanOrEqual(TOLERANCE);
  }, 600_000);
});
