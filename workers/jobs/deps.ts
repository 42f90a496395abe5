import { loadCdnConfig } from '../../cdn/config.js';
import { createStorage } from '../../cdn/create-storage.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import type { Env } from '../../lib/env.js';
import { createLogger, logLevelFromEnv, type Logger } from '../../lib/logger.js';
import { loadModelsConfig, type ModelsConfig } from '../../models/config.js';
import { loadWorkersConfig, type WorkersConfig } from '../config.js';
import { generateDeps } from '../generate-deps.js';
import { renderDeps } from '../processors/render.js';
import type { StepDeps } from './types.js';

/** What a process has already built that the recipe steps need. */
export interface StepParts {
  storage: ObjectStorage;
  workers: Pick<WorkersConfig, 'decodeLimits' | 'maxOutputPixels'>;
  models: ModelsConfig;
  /** Where the operator's generator is named (GENERATOR_MODEL_PATH). */
  env: Env;
  logger: Logger;
}

/** The recipe steps' dependencies, built one way in every process that runs steps (worker host, children, command line). */
export function stepDeps(parts: StepParts): StepDeps {
  const { storage, workers, logger } = parts;
  return {
    render: renderDeps(storage, workers.decodeLimits),
    generate: generateDeps(storage, workers.decodeLimits, parts.env, logger),
    inference: { storage, models: parts.models, logger, decodeLimits: workers.decodeLimits, maxOutputPixels: workers.maxOutputPixels },
  };
}

/**
 * A child process's steps (a sandboxed processor, a catalog step child), from the environment its
 * parent handed it: the same configuration loaders and the same {@link stepDeps} as the parent.
 */
export function childStepDeps(env: Env, processName: string): { steps: StepDeps; models: ModelsConfig; logger: Logger } {
  const workers = loadWorkersConfig(env);
  const cdn = loadCdnConfig(env);
  const models = loadModelsConfig(env);
  // The child's stdout is piped into its parent's, so these JSON lines join the worker's own log.
  const logger = createLogger(logLevelFromEnv(env), { process: processName });
  return { steps: stepDeps({ storage: createStorage(cdn), workers, models, env, logger }), models, logger };
}
