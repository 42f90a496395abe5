import sharp from 'sharp';
import type { z } from 'zod';
import { intermediateKey, stepOutputId } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { missingObject } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ModelsConfig } from '../../models/config.js';
import { getSession, type ModelSession } from '../../models/session.js';
import type { ModelSpec } from '../../models/spec.js';
import type { StepOutput, InferenceJobData } from '../catalogue.js';
import { decodeSource, type DecodeLimits } from '../steps/decode.js';
import type { DecodedImage } from '../steps/types.js';

/** An AI step as the inference queue runs it: its options, the model they pick, and the step itself. */
export interface InferenceStep<O = Record<string, unknown>> {
  /** Changes whenever the step's code changes its output, so stored results made before are not reused. */
  version: string;
  optionsSchema: z.ZodType<O>;
  model(options: O): ModelSpec;
  run(image: DecodedImage, session: ModelSession, options: O, context: StepContext): Promise<DecodedImage>;
}

/** What an AI step is handed besides its image: progress, cancellation, and the output limit. */
export interface StepContext {
  onProgress(fraction: number): void;
  signal?: AbortSignal | undefined;
  /** MAX_OUTPUT_PIXELS: an upscale refuses to make more. */
  maxOutputPixels: number;
  /** UPSCALE_CPU_MAX_SECONDS: an upscale on cpu refuses work it estimates to take longer. */
  cpuMaxSeconds: number;
}

export interface InferenceDeps {
  storage: ObjectStorage;
  models: ModelsConfig;
  logger: Logger;
  decodeLimits: DecodeLimits;
  maxOutputPixels: number;
}

/** Where each part of an inference job's time went, reported with its result. */
export interface InferenceTimings {
  decodeMs: number;
  inferenceMs: number;
  encodeMs: number;
}

/**
 * Run one AI step: read its input, run the model, store the output losslessly for the next step.
 * The output's key names how it was made, so an identical step done before is found and skipped.
 */
export async function processInference<O>(
  name: string,
  step: InferenceStep<O>,
  data: InferenceJobData,
  input: { key: string; id: string },
  deps: InferenceDeps,
  reportProgress: (percent: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<StepOutput & { timings?: InferenceTimings; model: string }> {
  const options = step.optionsSchema.parse(data.options);
  const spec = step.model(options);
  const id = stepOutputId({ inputId: input.id, step: `${name}@${step.version}`, options, modelSha256: spec.sha256 });
  const key = intermediateKey(data.tenantId, id);

  const done = await deps.storage.head(key);
  if (done?.metadata?.width && done.metadata.height) {
    return { key, id, width: Number(done.metadata.width), height: Number(done.metadata.height), model: spec.name };
  }

  let mark = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - mark);
    mark = now;
    return ms;
  };
  const bytes = await deps.storage.get(input.key);
  if (!bytes) throw missingObject(input.key);
  const image = await decodeSource(bytes, deps.decodeLimits, signal);
  const decodeMs = lap();
  await reportProgress(5);

  const session = await getSession(spec, deps.models, deps.logger);
  let lastReported = 0;
  const onProgress = (fraction: number) => {
    const percent = 5 + Math.floor(fraction * 85);
    // Progress goes through Redis: report whole steps of 5% at most.
    if (percent - lastReported >= 5) {
      lastReported = percent;
      // Not awaited (the model runs on); a lost progress report must not become an unhandled rejection.
      reportProgress(percent).catch((err: unknown) => deps.logger.warn({ err }, 'could not report progress'));
    }
  };
  const output = await step.run(image, session, options, {
    onProgress,
    signal,
    maxOutputPixels: deps.maxOutputPixels,
    cpuMaxSeconds: deps.models.upscaleCpuMaxSeconds,
  });
  const inferenceMs = lap();

  const png = await sharp(output.data, { raw: { width: output.width, height: output.height, channels: output.channels } })
    // Intermediates are read once by the next step: fast, lossless compression beats small files.
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
  await deps.storage.put(key, png, {
    contentType: 'image/png',
    cacheControl: 'private, no-store',
    metadata: { width: String(output.width), height: String(output.height) },
  });
  const encodeMs = lap();
  await reportProgress(100);
  return { key, id, width: output.width, height: output.height, model: spec.name, timings: { decodeMs, inferenceMs, encodeMs } };
}
