import type { FastifyInstance } from 'fastify';
import { AssetStore } from '../records/asset-store.js';
import { ingestInto } from '../api/routes/ingest.js';
import { buildApp } from '../api/app.js';
import type { ApiDeps } from '../api/deps.js';
import { TenantStore } from '../api/tenants.js';
import { TemplateStore } from '../records/template-store.js';
import { TemplateUsage } from '../workers/template-usage.js';
import { assertS3Region, createStorage } from '../cdn/create-storage.js';
import { onDemandBaseFor, publicUrlFor } from '../cdn/public-url.js';
import { SigningTokens } from '../api/on-demand/signing-tokens.js';
import type { AppConfig } from '../api/deps.js';
import { loadConfig } from './config.js';
import type { Env } from '../lib/env.js';
import { createLogger, type DestinationStream, type Logger } from '../lib/logger.js';
import { assertRedisReachable, createRedis } from '../lib/redis.js';
import type { QueueKind } from '../workers/config.js';
import { createInvalidator } from '../cdn/invalidation/create-invalidator.js';
import { PurgeOutbox, type PurgeRequestEntry } from '../workers/purge-outbox.js';
import { restrictImageLoaders } from '../lib/image-policy.js';
import { createMetrics } from '../lib/metrics.js';
import { serveMetrics } from '../lib/metrics-server.js';
import { createQueues, queueProbes, schedulePurge } from '../workers/queues.js';
import { scheduleAssetIndexRebuild } from '../workers/tenant-jobs.js';
import { TenantDeletionStore } from '../records/tenant-deletions.js';
import { RunStore } from '../workers/run-store.js';
import { stepDeps } from '../workers/jobs/deps.js';
import { fetchWarmModels, warmModels } from '../workers/warm-models.js';
import { startWorkers, type WorkerHost } from '../workers/worker-host.js';
import { startInferenceChildren } from '../workers/inference-children.js';
import type { BatchEventSink } from '../workers/batches/events.js';
import { createBatchLane } from './batch-lane.js';
import { createConnectors } from '../workers/webhooks/connectors.js';
import { webhookBatchSink } from '../workers/webhooks/batch-sink.js';
import { createInbox, type Inbox } from '../workers/inbox.js';

export interface Service {
  config: AppConfig;
  /** Present when the HTTP API runs in this process. */
  app?: FastifyInstance;
  /** Base URL the API listens on, e.g. http://127.0.0.1:3000 */
  url?: string;
  /** Base URL of /metrics in a worker-only process with WORKER_METRICS_PORT set. */
  metricsUrl?: string;
  workers: WorkerHost;
  /** The bucket inbox poller, when INBOX_PREFIX is set and this process runs the API or publish workers. */
  inbox?: Inbox;
  logger: Logger;
  /** Graceful, idempotent shutdown: HTTP first, then workers, then queues, then Redis. */
  close(): Promise<void>;
}

/** In-flight responses get this long to finish on shutdown; then their connections are cut. */
const HTTP_GRACE_MS = 10_000;

/** Close the HTTP server (new requests get 503 meanwhile) without waiting forever on a slow client. */
async function closeHttp(app: FastifyInstance): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), HTTP_GRACE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}

export interface ServiceOptions {
  env: Env;
  /** Run the HTTP API (default true). */
  api?: boolean;
  /** Queue kinds whose workers run in this process (default: WORKER_QUEUES from the environment). */
  workerQueues?: QueueKind[];
  /** Where this process's log lines go (default stdout; sandboxed children always use stdout). */
  logDestination?: DestinationStream;
  /** Where batch events go; by default to the tenant's webhooks. */
  batchEvents?: BatchEventSink;
}

/** The composition root: build every part from the environment, once, and wire them together. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const config = loadConfig(options.env);
  restrictImageLoaders();
  const logger = createLogger(config.logLevel, {}, options.logDestination);
  await assertS3Region(config.cdn);
  await assertRedisReachable(config.workers.redis);

  const redis = createRedis(config.workers.redis, 'api');
  const workerRedis = createRedis(config.workers.redis, 'workers');
  // Log connection errors (ioredis reconnects by itself) instead of ioredis's "Unhandled error event".
  for (const r of [redis, workerRedis]) r.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const storage = createStorage(config.cdn);
  const runs = new RunStore(redis, config.workers.queuePrefix);
  const queues = createQueues(redis, config.workers.queuePrefix, (err) =>
    logger.warn({ err: err.message }, 'queue connection error; retrying'),
  );
  const outbox = new PurgeOutbox(redis, config.workers.queuePrefix);
  const metrics = createMetrics(() => queueProbes(queues));
  const connectors = createConnectors({
    redis,
    prefix: config.workers.queuePrefix,
    publishQueue: queues.queues.publish,
    config: config.connectors,
    logger,
  });

  let app: FastifyInstance | undefined;
  let url: string | undefined;
  const wantApi = options.api ?? true;
  // The fs origin's URL depends on the port we actually bind, so listen first when it is 0.
  const urlFor = (key: string) => publicUrlFor(config.cdn, boundPort ?? config.api.port)(key);
  let boundPort: number | undefined;

  const workerQueues = options.workerQueues ?? config.workers.queues;
  const steps = stepDeps({ storage, workers: config.workers, models: config.models, env: options.env, logger });
  if (workerQueues.includes('inference')) {
    // Before taking jobs: the models must be here and verified (fetched with a progress bar on
    // first start). Sandboxed children open and warm their sessions as they start, below.
    await fetchWarmModels(config.models);
    if (!config.workers.sandboxed) await warmModels(config.models, logger);
  }
  const templateUsage = new TemplateUsage(redis, config.workers.queuePrefix);
  // The one asset store of the API and the tenant jobs: a large tenant's lost index is rebuilt by a queued job.
  const assets = new AssetStore(storage, redis, config.workers.queuePrefix, {
    scheduleIndexRebuild: (tenantId) => scheduleAssetIndexRebuild(queues, tenantId),
    inlineRebuildKeys: config.api.assetIndexInlineRebuildKeys,
  });
  const tenants = new TenantStore(redis, config.workers.queuePrefix);
  const tenantDeletions = new TenantDeletionStore(redis, config.workers.queuePrefix);
  const signingTokens = new SigningTokens(storage);
  const publish = {
    storage,
    runs,
    templateUsage,
    urlFor,
    imgix: config.cdn.imgix,
    // Manifests offer /img/ URLs on the endpoint's own ladder, signed with the tenant's current token.
    onDemand: async (tenantId: string) => {
      const baseUrl = onDemandBaseFor(config.cdn, boundPort ?? config.api.port);
      if (!baseUrl) return undefined;
      return { baseUrl, widths: config.api.onDemand.widths, token: await signingTokens.get(tenantId) };
    },
    purging: config.cdn.invalidation.driver !== 'none',
    requestPurge: async (purge: PurgeRequestEntry) => {
      await outbox.push(purge);
      await schedulePurge(queues);
    },
  };
  const batches = createBatchLane({
    env: options.env,
    config,
    redis,
    storage,
    queues,
    runs,
    publish,
    logger,
    events: options.batchEvents ?? webhookBatchSink(connectors.publisher),
    withWorker: workerQueues.includes('batch'),
    connectors: connectors.config,
  });
  const workers = startWorkers(
    {
      config: config.workers,
      connection: workerRedis,
      runs,
      jobs: {
        steps,
        publish,
        ...(batches.worker ? { batch: batches.worker } : {}),
        purge: { outbox, invalidator: createInvalidator(config.cdn.invalidation), runs, schedule: () => schedulePurge(queues), metrics },
        delivery: connectors.delivery,
        records: {
          assets,
          takedown: publish,
          deletions: tenantDeletions,
          deleteTenantRecord: (tenantId: string) => tenants.deleteTenant(tenantId),
        },
      },
      publisher: connectors.publisher,
      metrics,
      logger,
      childEnv: options.env,
    },
    workerQueues,
  );
  await startInferenceChildren(workers, config.workers, config.models.warm, logger);

  const inboxConfig = connectors.config.inbox;
  const inbox =
    inboxConfig && (wantApi || workerQueues.includes('publish'))
      ? createInbox({
          storage,
          maxUploadBytes: config.api.maxUploadBytes,
          ingest: ingestInto({
            config,
            storage,
            assets: new AssetStore(storage, redis, config.workers.queuePrefix),
            runs,
            queues,
            templates: new TemplateStore(redis, config.workers.queuePrefix, config.api.maxTemplatesPerTenant),
          }),
          redis,
          prefix: config.workers.queuePrefix,
          folder: inboxConfig.folder,
          pollMs: inboxConfig.pollMs,
          logger,
        })
      : undefined;

  if (wantApi) {
    const deps: ApiDeps = {
      config,
      redis,
      storage,
      tenants,
      tenantDeletions,
      assets,
      runs,
      queues,
      urlFor,
      metrics,
      templates: new TemplateStore(redis, config.workers.queuePrefix, config.api.maxTemplatesPerTenant),
      templateUsage,
      connectors,
      batches: batches.api,
      takedown: publish,
    };
    app = await buildApp(deps, logger);
    await app.listen({ port: config.api.port, host: config.api.host });
    const address = app.server.address();
    boundPort = typeof address === 'object' && address ? address.port : config.api.port;
    url = `http://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${boundPort}`;
  }

  // The API serves /metrics itself; a worker-only process does so on its own port when asked.
  const metricsServer =
    !wantApi && config.workers.metricsPort !== undefined
      ? await serveMetrics(metrics, config.api.host, config.workers.metricsPort)
      : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (app) await closeHttp(app);
      await metricsServer?.close();
      await inbox?.close();
      await workers.close();
      await batches.close();
      await queues.close();
      // A connection that already dropped cannot QUIT: close it instead of failing the shutdown.
      await Promise.all([redis, workerRedis].map((r) => r.quit().catch(() => r.disconnect())));
    })());
  return { config, app, url, ...(metricsServer ? { metricsUrl: metricsServer.url } : {}), workers, inbox, logger, close };
}
