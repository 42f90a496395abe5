import type { ObjectStorage } from '../cdn/storage.js';
import type { Env } from '../lib/env.js';
import type { Logger } from '../lib/logger.js';
import { generatorConfigFromEnv, loadGenerator } from '../models/generator/index.js';
import type { GenerateDeps } from './processors/generate.js';
import type { DecodeLimits } from './steps/decode.js';

/**
 * The generate step's dependencies: storage, decode limits and, when `GENERATOR_MODEL_PATH` is
 * set, the operator's generator, loaded on first use (the render queue never loads it).
 */
export function generateDeps(storage: ObjectStorage, decodeLimits: DecodeLimits, env: Env, logger: Logger): GenerateDeps {
  const config = generatorConfigFromEnv(env);
  return { storage, decodeLimits, ...(config ? { generator: () => loadGenerator(config, logger) } : {}) };
}
