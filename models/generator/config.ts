import { z } from 'zod';
import { parseEnv, type Env } from '../../lib/env.js';
import { EXECUTION_PROVIDERS } from '../config.js';

/** Where the operator-supplied generator model lives and where it runs. */
export interface GeneratorConfig {
  /** Path of the ONNX file (see docs/generator.md for the contract it must meet). */
  modelPath: string;
  /** `cpu`, `cuda` or `webgpu`; an unavailable provider falls back to cpu with a warning. */
  executionProvider: string;
}

const schema = z.object({
  GENERATOR_MODEL_PATH: z.string().trim().optional(),
  GENERATOR_EXECUTION_PROVIDER: z.enum(EXECUTION_PROVIDERS).optional(),
  ORT_EXECUTION_PROVIDER: z.enum(EXECUTION_PROVIDERS).optional(),
});

/**
 * The generator's configuration, or `undefined` when no model is configured (generation then
 * uses templates only). The provider defaults to the one the other models use.
 */
export function generatorConfigFromEnv(env: Env): GeneratorConfig | undefined {
  const e = parseEnv(schema, env, 'generator');
  if (!e.GENERATOR_MODEL_PATH) return undefined;
  return { modelPath: e.GENERATOR_MODEL_PATH, executionProvider: e.GENERATOR_EXECUTION_PROVIDER ?? e.ORT_EXECUTION_PROVIDER ?? 'cpu' };
}
