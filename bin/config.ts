import { loadApiConfig, type ApiConfig } from '../api/config.js';
import type { AppConfig } from '../api/deps.js';
import { loadCdnConfig, type CdnConfig } from '../cdn/config.js';
import { loadModelsConfig } from '../models/config.js';
import { generatorConfigFromEnv } from '../models/generator/index.js';
import { loadBatchConfig } from '../workers/batches/config.js';
import { loadWorkersConfig } from '../workers/config.js';
import { loadConnectorsConfig } from '../workers/webhooks/config.js';
import type { Env } from '../lib/env.js';
import { logLevelFromEnv } from '../lib/logger.js';

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

/**
 * Read and validate every folder's configuration once per process, at boot: the composition root
 * (bin/) aggregates the folders' loaders, so lib/ stays below them. Throws naming each bad variable.
 */
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
    batch: loadBatchConfig(env),
    connectors: loadConnectorsConfig(env),
    logLevel: logLevelFromEnv(env),
  };
}
