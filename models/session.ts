import * as ort from 'onnxruntime-node';
import type { Logger } from '../lib/logger.js';
import type { ExecutionProvider, ModelsConfig } from './config.js';
import { ensureModel } from './ensure-model.js';
import type { ModelSpec } from './spec.js';

/** A loaded model, ready to run. One per model per process (see `getSession`). */
export interface ModelSession {
  readonly spec: ModelSpec;
  /** The provider actually in use (after any fallback to cpu). */
  readonly provider: ExecutionProvider;
  /** Run with one input tensor; only the spec's output is fetched. */
  run(input: ort.Tensor, signal?: AbortSignal): Promise<ort.Tensor>;
}

const sessions = new Map<string, Promise<ModelSession>>();

/**
 * The process-wide session of a model, created on first use: fetched and verified, loaded on the
 * configured execution provider, falling back to cpu (with a warning) when that provider is not
 * available on this machine.
 */
export function getSession(spec: ModelSpec, config: ModelsConfig, logger: Logger): Promise<ModelSession> {
  const key = `${spec.name}:${config.executionProvider}:${config.intraOpThreads}`;
  let session = sessions.get(key);
  if (!session) {
    session = createSession(spec, config, logger);
    session.catch(() => sessions.delete(key));
    sessions.set(key, session);
  }
  return session;
}

async function createSession(spec: ModelSpec, config: ModelsConfig, logger: Logger): Promise<ModelSession> {
  const file = await ensureModel(spec, config);
  const options = (provider: ExecutionProvider): ort.InferenceSession.SessionOptions => ({
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // The CPU arena keeps the peak of every run's activations for the session's life: ISNet at
    // 1024² left 900 MB resident in every inference process (bench/memory.ts). Without it they are
    // freed after each run; inference time was the same within this machine's noise (±10%).
    enableCpuMemArena: false,
    ...(config.intraOpThreads > 0 ? { intraOpNumThreads: config.intraOpThreads } : {}),
  });
  const started = Date.now();
  let provider = config.executionProvider;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, options(provider));
  } catch (err) {
    if (provider === 'cpu') throw err;
    logger.warn({ model: spec.name, provider, err: (err as Error).message }, 'execution provider unavailable; falling back to cpu');
    provider = 'cpu';
    session = await ort.InferenceSession.create(file, options(provider));
  }
  logger.info({ model: spec.name, provider, ms: Date.now() - started }, 'model session ready');
  return {
    spec,
    provider,
    async run(input, signal) {
      signal?.throwIfAborted();
      const result = await session.run({ [spec.input.name]: input }, [spec.output.name]);
      return result[spec.output.name]!;
    },
  };
}

/**
 * Run a model once on zeros (dynamic dimensions as 64) so the first real job does not pay for
 * lazy initialisation. Returns the milliseconds it took.
 */
export async function warmUp(session: ModelSession): Promise<number> {
  const shape = session.spec.input.shape.map((d) => (d > 0 ? d : 64));
  const input = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const started = performance.now();
  await session.run(input);
  return Math.round(performance.now() - started);
}

export { ort };
