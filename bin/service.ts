import type { FastifyInstance } from 'fastify';
import { AssetStore } from '../api/asset-store.js';
import { buildApp } from '../api/app.js';
import type { ApiDeps } from '../api/deps.js';
import { TenantStore } from '../api/tenants.js';
import { createStorage } from '../cdn/create-storage.js';
import { publicUrlFor } from '../cdn/public-url.js';
import { loadConfig, type AppConfig } from '../lib/config.js';
import type { Env } from '../lib/env.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { assertRedisReachable, createRedis } from '../lib/redis.js';
import type { QueueKind } from '../workers/config.js';
import { createQueues } from '../workers/queues.js';
import { RunStore } from '../workers/run-store.js';
import { startWorkers, type WorkerHost } from '../workers/worker-host.js';

export interface Service {
  config: AppConfig;
  /** Present when the HTTP API runs in this process. */
  app?: FastifyInstance;
  /** Base URL the API listens on, e.g. http://127.0.0.1:3000 */
  url?: string;
  workers: WorkerHost;
  logger: Logger;
  /** Graceful, idempotent shutdown: HTTP first, then workers, then queues, then Redis. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  env: Env;
  /** Run the HTTP API (default true). */
  api?: boolean;
  /** Queue kinds whose workers run in this process (default: WORKER_QUEUES from the environment). */
  workerQueues?: QueueKind[];
}

/** The composition root: build every part from the environment, once, and wire them together. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const config = loadConfig(options.env);
  const logger = createLogger(config.logLevel);
  await assertRedisReachable(config.workers.redisUrl);

  const redis = createRedis(config.workers.redisUrl, 'api');
  const workerRedis = createRedis(config.workers.redisUrl, 'workers');
  const storage = createStorage(config.cdn);
  const runs = new RunStore(redis, config.workers.queuePrefix);
  const queues = createQueues(redis, config.workers.queuePrefix);

  let app: FastifyInstance | undefined;
  let url: string | undefined;
  const wantApi = options.api ?? true;
  // The fs origin's URL depends on the port we actually bind, so listen first when it is 0.
  const urlFor = (key: string) => publicUrlFor(config.cdn, boundPort ?? config.api.port)(key);
  let boundPort: number | undefined;

  const workers = startWorkers(
    {
      config: config.workers,
      connection: workerRedis,
      runs,
      render: { storage, maxInputPixels: config.workers.maxInputPixels },
      publish: { storage, runs, urlFor, imgix: config.cdn.imgix },
      logger,
      childEnv: options.env,
    },
    options.workerQueues ?? config.workers.queues,
  );

  if (wantApi) {
    const deps: ApiDeps = { config, redis, storage, tenants: new TenantStore(redis, config.workers.queuePrefix), assets: new AssetStore(storage), runs, queues, urlFor };
    app = await buildApp(deps, logger);
    await app.listen({ port: config.api.port, host: config.api.host });
    const address = app.server.address();
    boundPort = typeof address === 'object' && address ? address.port : config.api.port;
    url = `http://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${boundPort}`;
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (app) await app.close();
      await workers.close();
      await queues.close();
      await Promise.all([redis.quit(), workerRedis.quit()]);
    })());
  return { config, app, url, workers, logger, close };
}
