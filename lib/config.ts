import { z } from 'zod';
import { loadApiConfig, type ApiConfig } from '../api/config.js';
import { loadCdnConfig, type CdnConfig } from '../cdn/config.js';
import { loadModelsConfig, type ModelsConfig } from '../models/config.js';
import { generatorConfigFromEnv, type GeneratorConfig } from '../models/generator/index.js';
import { loadWorkersConfig, type WorkersConfig } from '../workers/config.js';
import { parseEnv, type Env } from './env.js';

export interface AppConfig {
  api: ApiConfig;
  workers: WorkersConfig;
  cdn: CdnConfig;
  models: ModelsConfig;
  /** The operator's scene generator; absent when `GENERATOR_MODEL_PATH` is not set. */
  generator: GeneratorConfig | undefined;
  logLevel: string;
}

const logSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Read and validate every folder's configuration once, at boot. Throws naming each bad variable. */
export function loadConfig(env: Env): AppConfig {
  return {
    api: loadApiConfig(env),
    workers: loadWorkersConfig(env),
    cdn: loadCdnConfig(env),
    models: loadModelsConfig(env),
    generator: generatorConfigFromEnv(env),
    logLevel: parseEnv(logSchema, env, 'logging').LOG_LEVEL,
  };
}
