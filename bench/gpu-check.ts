/**
 * GPU check: does a model we converted run on a GPU execution provider through our session code,
 * and does it give the CPU's answer? Prints one JSON line per provider: the provider actually used
 * (after any fallback), the median time of a 256×256 ×4 upscale, and the largest difference from
 * the CPU output. Run on a GPU machine with the model already in MODELS_DIR:
 *   ORT_PROVIDERS=cpu,webgpu,cuda npx tsx bench/gpu-check.ts
 * GPU_CHECK_MODEL picks the model (default esrgan-medium-x4; `realesrgan-x4plus` for the GPU path
 * of the Real-ESRGAN models), and each line gives its time per input megapixel too.
 */
import { loadModelsConfig, type ExecutionProvider } from '../models/config.js';
import { modelByName } from '../models/model-list.js';
import { getSession, ort } from '../models/session.js';
import { createLogger } from '../lib/logger.js';

const MODEL = process.env.GPU_CHECK_MODEL ?? 'esrgan-medium-x4';
const SIDE = 256;
const RUNS = 5;
const providers = (process.env.ORT_PROVIDERS ?? 'cpu,webgpu').split(',') as ExecutionProvider[];
const logger = createLogger('warn');

const pixels = new Float32Array(SIDE * SIDE * 3);
for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 256) / 255; // fixed pseudo-random
let reference: Float32Array | undefined;

for (const provider of providers) {
  const config = loadModelsConfig({ ...process.env, ORT_EXECUTION_PROVIDER: provider });
  const session = await getSession(modelByName(MODEL), config, logger);
  const input = new ort.Tensor(
    'float32',
    pixels.map((v) => (session.spec.input.normalisation?.std[0] === 1 ? v : v * 255)),
    [1, SIDE, SIDE, 3],
  );
  await session.run(input); // warm-up
  const times: number[] = [];
  let output: Float32Array | undefined;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    output = (await session.run(input)).data as Float32Array;
    times.push(performance.now() - started);
  }
  reference ??= output;
  let maxDiff = 0;
  for (let i = 0; i < output!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(output![i]! - reference![i]!));
  times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      asked: provider,
      used: session.provider,
      model: MODEL,
      side: SIDE,
      medianMs: Math.round(times[RUNS >> 1]!),
      msPerInputMegapixel: Math.round(times[RUNS >> 1]! / ((SIDE * SIDE) / 1e6)),
      maxAbsDiffVsFirst: maxDiff,
    }),
  );
}
