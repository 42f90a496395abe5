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

/** Hosts only this machine reaches: the only ones where the fs origin's default URL is right. */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/**
 * Without PUBLIC_BASE_URL, local-disk storage publishes `http://localhost:<port>/files/…` in every
 * manifest: right on a laptop, useless to every client once the API listens beyond loopback (in a
 * container, HOST=0.0.0.0). Refuse to start then, rather than write manifests nobody can follow.
 */
function checkPublicBaseUrl(api: ApiConfig, cdn: CdnConfig): void {
  if (cdn.driver !== 'fs' || cdn.publicBaseUrl || LOOPBACK_HOST.test(api.host)) return;
  throw new Error(
    'Invalid cdn configuration:\n  PUBLIC_BASE_URL: required when HOST is not loopback ' +
      `(${api.host}) and storage is local disk: manifests would name http://localhost:${api.port}/files/..., ` +
      'which no other machine can fetch; set it to the URL clients use (your CDN, or http://<public host>:<port>/files)',
  );
}

/** Read and validate every folder's configuration once, at boot. Throws naming each bad variable. */
export function loadConfig(env: Env): AppConfig {
  const api = loadApiConfig(env);
  const cdn = loadCdnConfig(env);
  checkPublicBaseUrl(api, cdn);
  return {
    api,
    workers: loadWorkersConfig(env),
    cdn,
    models: loadModelsConfig(env),
    generator: generatorConfigFromEnv(env),
    logLevel: parseEnv(logSchema, env, 'logging').LOG_LEVEL,
  };
}
